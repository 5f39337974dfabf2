"""Publishing logs of the sandbox: one entry per platform attempt, as GET /v1/posts/{id}/logs shows
them (mixed into `SandboxState`; posts.py calls `_log_attempts` when it publishes or fails)."""

from __future__ import annotations

import copy

from late_mcp.sandbox.common import SANDBOX_USER_ID, Clock, Json, SandboxError, int_param, iso, new_id


class LogsMixin:
    clock: Clock
    posts: dict[str, Json]
    post_logs: dict[str, list[Json]]

    def _log_attempts(self, post: Json, action: str, *, platforms: list[str] | None = None) -> None:
        """Record the current state of the post's entries (all, or those of `platforms`)."""
        logs = self.post_logs.setdefault(post["_id"], [])
        for entry in post["platforms"]:
            if platforms is not None and entry["platform"] not in platforms:
                continue
            failed = entry["status"] == "failed"
            attempt = 1 + sum(1 for e in logs if e["accountId"] == entry["accountId"]["_id"])
            log: Json = {
                "_id": new_id(),
                "postId": post["_id"],
                "userId": SANDBOX_USER_ID,
                "platform": entry["platform"],
                "accountId": entry["accountId"]["_id"],
                "accountUsername": entry["accountId"]["username"],
                "action": "retry" if attempt > 1 else action,
                "status": "failed" if failed else "success",
                "statusCode": 400 if failed else 200,
                "durationMs": 850 + 97 * len(logs),
                "attemptNumber": attempt,
                "createdAt": iso(self.clock()),
            }
            if failed:
                log["response"] = {
                    "errorMessage": entry.get("errorMessage", ""),
                    "errorCode": "PLATFORM_ERROR",
                }
            else:
                log["response"] = {k: entry[k] for k in ("platformPostId", "platformPostUrl") if k in entry}
            logs.append(log)

    def get_post_logs(self, post_id: str, limit: str | None) -> Json:
        """The post's log, newest first (404 for an unknown post)."""
        n = int_param(limit, "limit", 50, maximum=100)
        if post_id not in self.posts:
            raise SandboxError(404, "Post not found")
        logs = list(reversed(self.post_logs.get(post_id, [])))[:n]
        return {"logs": copy.deepcopy(logs), "count": len(logs), "postId": post_id}
