"""A post created awaiting the client's approval (`posts_create(requires_approval=true)`).

Late keeps such a post as `pending_approval` and never publishes it until `POST
/v1/posts/{postId}/review` approves it (posts_review). Late needs its time (`scheduledFor`) and
refuses it with isDraft, publishNow or a queue, so: a scheduled post keeps its time; a post "now"
is sent for a moment just after the call (`NOW_MARGIN`) without publishNow, is published by
nobody now, and publishes within minutes of its approval; drafts and queue posts are refused with
what to give instead.
"""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

from late_mcp.tools._common import ToolInputError
from late_mcp.tools._plan import PostPlan

PENDING = "pending_approval"
# How far after the call a "now" post awaiting approval is timed (Late wants a time to come).
NOW_MARGIN = timedelta(minutes=2)


def await_approval(plan: PostPlan, now: datetime | None = None) -> None:
    """Turn the plan's request into one for a post awaiting approval; raises ToolInputError for a
    draft or a queue post."""
    if plan.mode == "is_draft":
        raise ToolInputError(
            "requires_approval cannot go with is_draft: a post awaiting approval is not a draft. "
            "Nothing was sent. Give scheduled_for (or publish_now) with requires_approval=true."
        )
    if plan.mode == "use_queue":
        raise ToolInputError(
            "requires_approval cannot go with use_queue: Late needs the time of a post awaiting "
            "approval. Nothing was sent. Give scheduled_for instead (queue_preview(profile_id) shows "
            "the queue's next free times)."
        )
    if plan.mode == "publish_now":
        del plan.body["publishNow"]
        moment = (now or datetime.now(UTC)) + NOW_MARGIN
        plan.body["scheduledFor"] = moment.replace(microsecond=0).isoformat()
    plan.body["requiresApproval"] = True
