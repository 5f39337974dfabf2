"""LateClient's calls for what happens after a post: analytics, follower stats, comments, logs.

A mixin so client.py stays about sending requests; every call still goes through `request`.
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import TYPE_CHECKING, Any

from late_mcp.late.insights import (
    AnalyticsPage,
    BestTimes,
    CommentedPosts,
    Comments,
    FollowerStats,
    Hidden,
    PostLogs,
    Reply,
)
from late_mcp.late.wire import ModelT, path_segment

Params = Mapping[str, str | int | bool | None]


class AfterPostCalls:
    """Typed calls to /v1/analytics, /v1/accounts/follower-stats, /v1/inbox/comments and post logs."""

    if TYPE_CHECKING:

        async def _get_model(
            self, model: type[ModelT], method: str, path: str, key: str | None, **kwargs: Any
        ) -> ModelT: ...

    async def analytics(self, params: Params) -> AnalyticsPage:
        return await self._get_model(AnalyticsPage, "GET", "v1/analytics", None, params=params)

    async def best_times(self, params: Params) -> BestTimes:
        return await self._get_model(BestTimes, "GET", "v1/analytics/best-time", None, params=params)

    async def follower_stats(self, params: Params) -> FollowerStats:
        return await self._get_model(FollowerStats, "GET", "v1/accounts/follower-stats", None, params=params)

    async def commented_posts(self, params: Params) -> CommentedPosts:
        return await self._get_model(CommentedPosts, "GET", "v1/inbox/comments", None, params=params)

    async def post_comments(self, post_id: str, account_id: str, limit: int) -> Comments:
        return await self._get_model(
            Comments,
            "GET",
            f"v1/inbox/comments/{path_segment(post_id)}",
            None,
            params={"accountId": account_id, "limit": limit},
        )

    async def reply_to_comment(
        self, post_id: str, account_id: str, comment_id: str | None, text: str
    ) -> Reply:
        body: dict[str, Any] = {"accountId": account_id, "message": text}
        if comment_id:
            body["commentId"] = comment_id
        return await self._get_model(
            Reply, "POST", f"v1/inbox/comments/{path_segment(post_id)}", None, json=body
        )

    async def hide_comment(self, post_id: str, comment_id: str, account_id: str) -> Hidden:
        path = f"v1/inbox/comments/{path_segment(post_id)}/{path_segment(comment_id)}/hide"
        # Hiding twice leaves it hidden: safe to resend.
        return await self._get_model(
            Hidden, "POST", path, None, json={"accountId": account_id}, idempotent=True
        )

    async def post_logs(self, post_id: str, limit: int) -> PostLogs:
        return await self._get_model(
            PostLogs, "GET", f"v1/posts/{path_segment(post_id)}/logs", None, params={"limit": limit}
        )
