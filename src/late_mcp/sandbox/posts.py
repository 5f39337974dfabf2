"""Posts and queues for the sandbox store (mixed into `SandboxState`)."""

from __future__ import annotations

import copy
import hashlib
import json
import math
import re
import secrets
from collections.abc import Mapping
from datetime import UTC, date, datetime, timedelta
from typing import TYPE_CHECKING, Any
from urllib.parse import quote

from late_mcp.sandbox.common import (
    EDITABLE_STATUSES,
    MEDIA_TYPES,
    PLAN_LIMITS,
    POST_STATUSES,
    POST_URLS,
    REVIEW_DECISIONS,
    SANDBOX_USER_ID,
    Clock,
    Json,
    SandboxError,
    bad,
    check_platform,
    int_param,
    is_http_url,
    iso,
    new_id,
    opt_bool,
    opt_str,
    parse_when,
    queue_slots,
    zone,
)

_ACCOUNT_FIELDS = ("_id", "platform", "username", "displayName", "isActive")
_ERROR_FIELDS = ("errorMessage", "errorCategory", "errorSource")
_PUBLISH_FIELDS = ("platformPostId", "platformPostUrl", "publishedAt")
IDEMPOTENCY_KEPT = timedelta(hours=24)  # how long Late keeps the answer to an Idempotency-Key
IDEMPOTENCY_KEY_MAX = 255


def _day_param(value: str | None, name: str) -> date | None:
    if not value:
        return None
    try:
        return date.fromisoformat(value)
    except ValueError:
        raise bad(f"{name} must be a date, YYYY-MM-DD (got {value!r})") from None


def _post_day(post: Json) -> date:
    """The UTC day of a post's scheduled, else published, else created time."""
    stamp = post.get("scheduledFor") or post.get("publishedAt") or post["createdAt"]
    return datetime.fromisoformat(stamp.replace("Z", "+00:00")).astimezone(UTC).date()


def _view(post: Json) -> Json:
    """A post as the API shows it: a copy without the store's private `__` keys."""
    return {k: copy.deepcopy(v) for k, v in post.items() if not k.startswith("__")}


def _media_items(value: Any) -> list[Json]:
    if value is None:
        return []
    if not isinstance(value, list):
        raise bad("mediaItems must be a list of {type, url} objects")
    for n, item in enumerate(value):
        if not isinstance(item, dict):
            raise bad(f"mediaItems[{n}] must be an object with type and url")
        if item.get("type") not in MEDIA_TYPES:
            raise bad(
                f"mediaItems[{n}].type must be one of: {', '.join(MEDIA_TYPES)} (got {item.get('type')!r})"
            )
        if not is_http_url(item.get("url")):
            raise bad(f"mediaItems[{n}].url must be an absolute http(s) URL (got {item.get('url')!r})")
    return copy.deepcopy(value)


class PostsMixin:
    """Posts and the posting queue; needs SandboxState's attributes."""

    clock: Clock
    profiles: dict[str, Json]
    accounts: dict[str, Json]
    queues: dict[str, Json]
    posts: dict[str, Json]
    post_keys: dict[str, tuple[str, datetime, Json]]  # Idempotency-Key -> body digest, when, answer
    uploads_used: int

    if TYPE_CHECKING:  # provided by LogsMixin

        def _log_attempts(self, post: Json, action: str, *, platforms: list[str] | None = None) -> None: ...

    def _profile(self, profile_id: str | None) -> Json:
        profile = self.profiles.get(profile_id or "")
        if profile is None:
            raise SandboxError(404, "Profile not found")
        return profile

    # -- queues -------------------------------------------------------------------------------------

    def set_queue(
        self, profile_id: str, timezone: str, slots: list[Json], *, queue_id: str | None = None
    ) -> Json:
        """Give a profile a default queue (test helper: the API's queue editing is not modelled)."""
        self._profile(profile_id)
        zone(timezone)
        for slot in slots:
            if slot.get("dayOfWeek") not in range(7) or not re.fullmatch(
                r"([01]\d|2[0-3]):[0-5]\d", str(slot.get("time"))
            ):
                raise bad(f"queue slots must look like {{dayOfWeek: 0-6, time: 'HH:mm'}} (got {slot!r})")
        now = iso(self.clock())
        self.queues[profile_id] = {
            "_id": queue_id or new_id(),
            "profileId": profile_id,
            "name": "Default queue",
            "timezone": timezone,
            "slots": copy.deepcopy(slots),
            "active": True,
            "isDefault": True,
            "createdAt": now,
            "updatedAt": now,
        }
        return copy.deepcopy(self.queues[profile_id])

    def _queue(self, profile_id: str, queue_id: str | None, status: int) -> Json:
        queue = self.queues.get(profile_id)
        if queue is None:
            raise SandboxError(
                status, f"Profile {profile_id} has no queue schedule; set up queue slots first"
            )
        if queue_id and queue_id != queue["_id"]:
            raise SandboxError(status, f"Queue {queue_id} not found for profile {profile_id}")
        return queue

    def _free_slot(self, profile_id: str, queue: Json, status: int) -> datetime:
        taken = {
            p.get("scheduledFor")
            for p in self.posts.values()
            if p["status"] == "scheduled" and profile_id in p["__profiles"]
        }
        for slot in queue_slots(queue, self.clock()):
            if iso(slot) not in taken:
                return slot
        raise SandboxError(status, f"No available queue slots for profile {profile_id}")

    def next_slot(self, profile_id: str | None, queue_id: str | None = None) -> Json:
        """The first slot of the profile's default queue after now that no scheduled post holds."""
        if not profile_id:
            raise bad("profileId query parameter is required")
        self._profile(profile_id)
        queue = self._queue(profile_id, queue_id, 404)
        slot = self._free_slot(profile_id, queue, 404)
        return {
            "profileId": profile_id,
            "nextSlot": iso(slot),
            "timezone": queue["timezone"],
            "queueId": queue["_id"],
            "queueName": queue["name"],
        }

    # -- posts --------------------------------------------------------------------------------------

    def _post(self, post_id: str) -> Json:
        post = self.posts.get(post_id)
        if post is None:
            raise SandboxError(404, "Post not found")
        return post

    def _targets(self, value: Any) -> tuple[list[Json], list[str]]:
        """Validated platform entries (account populated) and the profiles they belong to."""
        if not isinstance(value, list) or not value:
            raise bad("platforms must be a non-empty list of {platform, accountId} objects")
        entries: list[Json] = []
        profiles: list[str] = []
        for n, item in enumerate(value):
            if not isinstance(item, dict):
                raise bad(f"platforms[{n}] must be an object with platform and accountId")
            platform = check_platform(item.get("platform"), f"platforms[{n}].platform")
            ref = item.get("accountId")
            ref = ref.get("_id") if isinstance(ref, dict) else ref
            if not isinstance(ref, str) or not ref:
                raise bad(f"platforms[{n}].accountId is required (an account _id from GET /v1/accounts)")
            account = self.accounts.get(ref)
            if account is None:
                raise bad(f"platforms[{n}].accountId: account {ref} not found")
            if account["platform"] != platform:
                raise bad(f"platforms[{n}]: account {ref} is a {account['platform']} account, not {platform}")
            if any(e["accountId"]["_id"] == ref for e in entries):
                raise bad(f"platforms[{n}]: account {ref} is listed twice")
            entry: Json = {"platform": platform, "accountId": {k: account[k] for k in _ACCOUNT_FIELDS}}
            entry["status"] = "pending"
            entry.update(
                {k: copy.deepcopy(item[k]) for k in ("customContent", "platformSpecificData") if k in item}
            )
            entries.append(entry)
            if account["profileId"] not in profiles:
                profiles.append(account["profileId"])
        return entries, profiles

    @staticmethod
    def _publish(post: Json, now: datetime) -> None:
        """Mark every not-yet-published platform entry, and the post, published."""
        for entry in post["platforms"]:
            if entry["status"] == "published":
                continue
            for key in _ERROR_FIELDS:
                entry.pop(key, None)
            native_id = str(10**18 + secrets.randbelow(9 * 10**18))
            user = quote(str(entry["accountId"]["username"]), safe="@._-")
            entry.update(status="published", platformPostId=native_id, publishedAt=iso(now))
            entry["platformPostUrl"] = POST_URLS[entry["platform"]].format(u=user, id=native_id)
        post.update(status="published", publishedAt=iso(now), updatedAt=iso(now))

    def create_post(self, body: Mapping[str, Any]) -> Json:
        """Create a draft, scheduled (explicit time or next queue slot), immediately published or
        (`requiresApproval`, with a scheduledFor) pending_approval post."""
        now = self.clock()
        tz_name = body.get("timezone") or "UTC"
        tz = zone(tz_name)
        title, content = opt_str(body, "title"), opt_str(body, "content") or ""
        media = _media_items(body.get("mediaItems"))
        if not content.strip() and not media:
            raise bad("content is required (it may only be empty when mediaItems are attached)")
        entries, profiles = self._targets(body.get("platforms"))
        is_draft, publish_now = opt_bool(body, "isDraft"), opt_bool(body, "publishNow")
        when = parse_when(body["scheduledFor"], tz) if body.get("scheduledFor") is not None else None
        queued_from, queue_id = opt_str(body, "queuedFromProfile"), opt_str(body, "queueId")
        tags = body.get("tags") or []
        if not isinstance(tags, list) or not all(isinstance(t, str) for t in tags):
            raise bad("tags must be a list of strings")
        approval = opt_bool(body, "requiresApproval")
        if approval:
            clash = [f for f in ("isDraft", "publishNow", "queuedFromProfile", "queueId") if body.get(f)]
            if clash:
                raise bad(f"requiresApproval cannot be combined with {', '.join(clash)}")
            if when is None:
                raise bad("requiresApproval needs scheduledFor (the time the post publishes once approved)")
        queue = None
        if queued_from:
            if queued_from not in self.profiles:
                raise bad(f"queuedFromProfile: profile {queued_from} not found")
            profiles.append(queued_from)
        status = "draft"
        if is_draft:
            pass
        elif publish_now:
            status = "published"
        elif when is not None:
            if when <= now:
                raise bad(f"scheduledFor must be in the future (got {iso(when)}, now is {iso(now)})")
            status = "pending_approval" if approval else "scheduled"
        elif queued_from:
            queue = self._queue(queued_from, queue_id, 400)
            when, status = self._free_slot(queued_from, queue, 400), "scheduled"
        if self.uploads_used >= PLAN_LIMITS["uploads"]:
            raise SandboxError(
                403, f"Upload limit reached ({PLAN_LIMITS['uploads']} posts on the Sandbox plan)"
            )
        post: Json = {"_id": new_id(), "userId": SANDBOX_USER_ID}
        if title is not None:
            post["title"] = title
        post.update(
            content=content, mediaItems=media, platforms=entries, timezone=tz_name, status=status, tags=tags
        )
        if when is not None and status != "published":
            post["scheduledFor"] = iso(when)
        if queued_from:
            post["queuedFromProfile"] = queued_from
        if queue is not None:
            post["queueId"] = queue["_id"]
        post.update(createdAt=iso(now), updatedAt=iso(now))
        post["__profiles"] = sorted(set(profiles))  # private: the profiles this post belongs to
        if status == "published":
            self._publish(post, now)
            self._log_attempts(post, "publish")
        self.posts[post["_id"]] = post
        self.uploads_used += 1
        return _view(post)

    def create_post_keyed(self, body: Mapping[str, Any], key: str | None) -> tuple[Json, bool]:
        """POST /v1/posts with Late's optional Idempotency-Key header; returns (post, replayed).

        The first request with a key creates the post, and its answer is kept for 24 hours: a
        repeat with the same body gets that post again (replayed) and creates nothing; the same
        key with another body is refused (422). Requests without a key create a post each time.
        """
        if key is None:
            return self.create_post(body), False
        if not key.strip() or len(key) > IDEMPOTENCY_KEY_MAX:
            raise bad(f"Idempotency-Key must be 1 to {IDEMPOTENCY_KEY_MAX} characters")
        now = self.clock()
        sent = hashlib.sha256(json.dumps(body, sort_keys=True, separators=(",", ":")).encode()).hexdigest()
        kept = self.post_keys.get(key)
        if kept is not None and kept[1] > now - IDEMPOTENCY_KEPT:
            if kept[0] != sent:
                raise SandboxError(422, "Idempotency-Key was already used with a different request body")
            return copy.deepcopy(kept[2]), True
        post = self.create_post(body)
        self.post_keys[key] = (sent, now, copy.deepcopy(post))
        return post, False

    def get_post(self, post_id: str) -> Json:
        return _view(self._post(post_id))

    def list_posts(
        self,
        *,
        page: str | None = None,
        limit: str | None = None,
        status: str | None = None,
        platform: str | None = None,
        profile_id: str | None = None,
        date_from: str | None = None,
        date_to: str | None = None,
    ) -> Json:
        """One page of posts, newest created first, with {page, limit, total, pages}. dateFrom and
        dateTo (YYYY-MM-DD, inclusive) are UTC days of a post's scheduled, else published, else
        created time."""
        page_n, limit_n = int_param(page, "page", 1), int_param(limit, "limit", 10, maximum=100)
        first, last = _day_param(date_from, "dateFrom"), _day_param(date_to, "dateTo")
        if status and status not in POST_STATUSES:
            raise bad(f"status must be one of: {', '.join(POST_STATUSES)} (got {status!r})")
        if platform:
            check_platform(platform)
        found = [
            p
            for p in reversed(self.posts.values())
            if (not status or p["status"] == status)
            and (not platform or any(e["platform"] == platform for e in p["platforms"]))
            and (not profile_id or profile_id in p["__profiles"])
            and (first is None or first <= _post_day(p))
            and (last is None or _post_day(p) <= last)
        ]
        chunk = found[(page_n - 1) * limit_n : page_n * limit_n]
        pagination = {
            "page": page_n,
            "limit": limit_n,
            "total": len(found),
            "pages": math.ceil(len(found) / limit_n),
        }
        return {"posts": [_view(p) for p in chunk], "pagination": pagination}

    def update_post(self, post_id: str, body: Mapping[str, Any]) -> Json:
        """Edit content, title, scheduledFor or timezone of a draft, scheduled, failed or partial post."""
        post = self._post(post_id)
        if post["status"] not in EDITABLE_STATUSES:
            editable = "Only draft, scheduled, failed and partial posts can be edited"
            raise bad(f"{editable} (this post is {post['status']})")
        now = self.clock()
        tz_name = post["timezone"] if body.get("timezone") is None else body["timezone"]
        tz = zone(tz_name)
        title, content = opt_str(body, "title"), opt_str(body, "content")
        if content is not None and not content.strip() and not post["mediaItems"]:
            raise bad("content must not be empty for a post without mediaItems")
        when = parse_when(body["scheduledFor"], tz) if body.get("scheduledFor") is not None else None
        if when is not None and when <= now:
            raise bad(f"scheduledFor must be in the future (got {iso(when)}, now is {iso(now)})")
        post["timezone"] = tz_name
        if content is not None:
            post["content"] = content
        if title is not None:
            post["title"] = title
        if when is not None:
            post.update(scheduledFor=iso(when), status="scheduled")
            for entry in post["platforms"]:
                if entry["status"] == "failed":
                    entry["status"] = "pending"
                    for key in _ERROR_FIELDS:
                        entry.pop(key, None)
        elif "scheduledFor" in body and post["status"] == "scheduled":  # explicit null: back to draft
            post.pop("scheduledFor", None)
            post["status"] = "draft"
        post["updatedAt"] = iso(now)
        return _view(post)

    def review_post(self, post_id: str, body: Mapping[str, Any]) -> Json:
        """POST /v1/posts/{postId}/review: `approve` schedules a pending_approval post for its
        scheduledFor (published now when that time has passed), `reject` returns it to draft.
        A post that is not pending_approval (a second decision) is a 409."""
        decision = body.get("decision")
        if decision not in REVIEW_DECISIONS:
            raise bad(f"decision must be one of: {', '.join(REVIEW_DECISIONS)} (got {decision!r})")
        post = self._post(post_id)
        if post["status"] != "pending_approval":
            raise SandboxError(409, f"Post is not pending approval (it is {post['status']})")
        now = self.clock()
        if decision == "reject":
            post.update(status="draft", updatedAt=iso(now))
            return _view(post)
        post.update(status="scheduled", updatedAt=iso(now))
        if datetime.fromisoformat(post["scheduledFor"]) <= now:
            self._publish(post, now)
            self._log_attempts(post, "publish")
        return _view(post)

    def delete_post(self, post_id: str) -> None:
        """Delete an unpublished post; drafts and scheduled posts give their upload quota back."""
        post = self._post(post_id)
        if post["status"] == "published":
            raise bad("Published posts cannot be deleted")
        if post["status"] in ("draft", "pending_approval", "scheduled"):
            self.uploads_used = max(self.uploads_used - 1, 0)
        del self.posts[post_id]

    def retry_post(self, post_id: str) -> Json:
        """Publish the failed platform entries of a failed or partial post."""
        post = self._post(post_id)
        if post["status"] not in ("failed", "partial"):
            raise bad(f"Only failed or partial posts can be retried (this post is {post['status']})")
        failed = [e["platform"] for e in post["platforms"] if e["status"] != "published"]
        self._publish(post, self.clock())
        self._log_attempts(post, "retry", platforms=failed)
        return _view(post)

    def fail_post(self, post_id: str, error_message: str, *, platforms: list[str] | None = None) -> Json:
        """Test helper: mark the post's entries (all, or those of `platforms`) failed.

        The post becomes "failed", or "partial" when some entries are left published.
        """
        post = self._post(post_id)
        for entry in post["platforms"]:
            if platforms is None or entry["platform"] in platforms:
                for key in _PUBLISH_FIELDS:
                    entry.pop(key, None)
                entry.update(status="failed", errorMessage=error_message, errorCategory="platform_error")
                entry["errorSource"] = "platform"
        statuses = {e["status"] for e in post["platforms"]}
        post["status"] = "partial" if "published" in statuses else "failed"
        post["updatedAt"] = iso(self.clock())
        self._log_attempts(post, "publish", platforms=platforms)
        return _view(post)

    def publish_due(self) -> list[str]:
        """Test helper: publish every scheduled post whose time has come; returns their ids."""
        now, done = self.clock(), []
        for post in self.posts.values():
            if post["status"] == "scheduled" and datetime.fromisoformat(post["scheduledFor"]) <= now:
                self._publish(post, now)
                self._log_attempts(post, "publish")
                done.append(post["_id"])
        return done
