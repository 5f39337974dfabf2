"""The queue API of the sandbox: read, replace and preview a profile's default queue (mixed into
`SandboxState`; the queue store and slot arithmetic live in posts.py)."""

from __future__ import annotations

import copy
import itertools
from collections.abc import Mapping
from datetime import datetime
from typing import TYPE_CHECKING, Any

from late_mcp.sandbox.common import Clock, Json, bad, int_param, iso, opt_str, queue_slots


class QueuesMixin:
    """GET/PUT /v1/queue/slots and GET /v1/queue/preview; needs SandboxState's attributes."""

    clock: Clock
    queues: dict[str, Json]
    posts: dict[str, Json]

    if TYPE_CHECKING:  # provided by PostsMixin

        def _profile(self, profile_id: str | None) -> Json: ...

        def set_queue(
            self, profile_id: str, timezone: str, slots: list[Json], *, queue_id: str | None = None
        ) -> Json: ...

        def _queue(self, profile_id: str, queue_id: str | None, status: int) -> Json: ...

    def _free_slots(self, profile_id: str, queue: Json, count: int) -> list[datetime]:
        taken = {
            p.get("scheduledFor")
            for p in self.posts.values()
            if p["status"] == "scheduled" and profile_id in p["__profiles"]
        }
        free = (s for s in queue_slots(queue, self.clock()) if iso(s) not in taken)
        return list(itertools.islice(free, count))

    def queue_schedule(self, profile_id: str | None) -> Json:
        """{exists, schedule, nextSlots}: the profile's default queue, or exists=false without one."""
        if not profile_id:
            raise bad("profileId query parameter is required")
        self._profile(profile_id)
        queue = self.queues.get(profile_id)
        if queue is None:
            return {"exists": False, "schedule": None, "nextSlots": []}
        slots = [iso(s) for s in self._free_slots(profile_id, queue, 5)]
        return {"exists": True, "schedule": copy.deepcopy(queue), "nextSlots": slots}

    def replace_queue(self, body: Mapping[str, Any]) -> Json:
        """PUT: replace the default queue's zone and slots (creating the queue when there is none)."""
        profile_id, timezone = opt_str(body, "profileId"), opt_str(body, "timezone")
        if not profile_id:
            raise bad("profileId is required")
        if not timezone:
            raise bad("timezone is required (an IANA zone such as Europe/Amsterdam)")
        slots = body.get("slots")
        if not isinstance(slots, list) or not slots or not all(isinstance(s, dict) for s in slots):
            raise bad("slots must be a non-empty list of {dayOfWeek, time} objects")
        existing = self.queues.get(profile_id)
        queue = self.set_queue(profile_id, timezone, slots, queue_id=existing["_id"] if existing else None)
        if existing:
            queue["createdAt"] = existing["createdAt"]
            self.queues[profile_id]["createdAt"] = existing["createdAt"]
        next_slots = [iso(s) for s in self._free_slots(profile_id, self.queues[profile_id], 5)]
        return {"success": True, "schedule": queue, "nextSlots": next_slots, "reshuffledCount": 0}

    def queue_preview(self, profile_id: str | None, count: str | None) -> Json:
        """The next `count` free slots of the default queue (404 without a queue)."""
        if not profile_id:
            raise bad("profileId query parameter is required")
        n = int_param(count, "count", 20, maximum=100)
        self._profile(profile_id)
        queue = self._queue(profile_id, None, 404)
        slots = [iso(s) for s in self._free_slots(profile_id, queue, n)]
        return {"profileId": profile_id, "count": len(slots), "slots": slots}
