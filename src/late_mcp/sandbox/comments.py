"""Comments of the sandbox (the inbox API): seeded comments on the published history, replies,
hiding where the platform allows it. Mixed into `SandboxState`."""

from __future__ import annotations

import copy
from collections.abc import Mapping
from datetime import datetime, timedelta
from typing import Any

from late_mcp.sandbox.common import Clock, Json, SandboxError, bad, int_param, iso, new_id, opt_str

INBOX_PLATFORMS = ("facebook", "instagram", "twitter", "bluesky", "threads", "youtube", "linkedin", "reddit")
HIDE_PLATFORMS = ("facebook", "instagram", "threads")
# Longest reply each platform takes (characters).
REPLY_MAX = {"twitter": 280, "bluesky": 300, "threads": 500, "instagram": 2200, "linkedin": 1250,
             "facebook": 8000, "youtube": 10_000, "reddit": 10_000}  # fmt: skip
_VOICES = (
    ("Maya Jensen", "mayaj", "Love this! Are you open on Sunday?"),
    ("Tom Becker", "tbecker", "Ordered twice already, great quality."),
    ("Lena Ortiz", "lena.o", "Do you ship to Belgium?"),
    ("Sam Patel", "sampatel", "The photo looks amazing."),
)


class CommentsMixin:
    clock: Clock
    accounts: dict[str, Json]
    history: dict[str, Json]
    comments: dict[str, list[Json]]

    def _seed_comments(self, now: datetime) -> None:
        """Comments on the three newest history posts of each account on an inbox platform."""
        by_account: dict[str, list[Json]] = {}
        for item in sorted(self.history.values(), key=lambda i: i["publishedAt"], reverse=True):
            if item["platform"] in INBOX_PLATFORMS:
                by_account.setdefault(item["accountId"], []).append(item)
        for items in by_account.values():
            for k, item in enumerate(items[:3]):
                published = datetime.fromisoformat(item["publishedAt"])
                self.comments[item["_id"]] = [
                    self._comment(item, name, user, text, published + timedelta(hours=1 + n), n)
                    for n, (name, user, text) in enumerate(_VOICES[: 3 - k])
                ]

    def _comment(self, item: Json, name: str, user: str, text: str, when: datetime, n: int) -> Json:
        return {
            "id": f"{item['_id']}_c{n + 1}",
            "message": text,
            "createdTime": iso(min(when, self.clock())),
            "from": {"id": f"u_{user}", "name": name, "username": user, "isOwner": False},
            "likeCount": n,
            "replyCount": 0,
            "platform": item["platform"],
            "replies": [],
            "canReply": True,
            "canDelete": True,
            "canHide": item["platform"] in HIDE_PLATFORMS,
            "canLike": item["platform"] in ("facebook", "twitter", "bluesky", "reddit"),
            "isHidden": False,
        }

    def _commented(self, post_id: str) -> Json:
        item = self.history.get(post_id)
        if item is None:
            raise SandboxError(404, "Post not found")
        return item

    def _check_account(self, item: Json, account_id: str | None) -> None:
        if not account_id:
            raise bad("accountId is required")
        if account_id not in self.accounts:
            raise SandboxError(404, "Account not found")
        if account_id != item["accountId"]:
            raise bad(f"Post {item['_id']} does not belong to account {account_id}")

    def commented_posts(self, q: Mapping[str, str]) -> Json:
        """GET /v1/inbox/comments: posts with their comment counts, newest first."""
        minimum = int(q.get("minComments") or 0)
        data = []
        for post_id, comments in self.comments.items():
            item = self.history[post_id]
            if (q.get("profileId") and item["profileId"] != q["profileId"]) or (
                q.get("accountId") and item["accountId"] != q["accountId"]
            ):
                continue
            if (q.get("platform") and item["platform"] != q["platform"]) or len(comments) < minimum:
                continue
            data.append(
                {"id": post_id, "platform": item["platform"], "accountId": item["accountId"],
                 "accountUsername": item["username"], "content": item["content"],
                 "permalink": item["platformPostUrl"], "createdTime": item["publishedAt"],
                 "commentCount": len(comments), "likeCount": item["analytics"]["likes"]}
            )  # fmt: skip
        data.sort(key=lambda d: d["createdTime"], reverse=True)
        limit = int_param(q.get("limit"), "limit", 50, maximum=100)
        accounts = {d["accountId"] for d in data}
        return {
            "data": data[:limit],
            "pagination": {"hasMore": len(data) > limit, "nextCursor": None},
            "meta": {"accountsQueried": len(accounts), "accountsFailed": 0, "lastUpdated": iso(self.clock())},
        }

    def post_comments(self, post_id: str, account_id: str | None, limit: str | None) -> Json:
        """GET /v1/inbox/comments/{postId}?accountId=..."""
        item = self._commented(post_id)
        self._check_account(item, account_id)
        n = int_param(limit, "limit", 25, maximum=100)
        comments = copy.deepcopy(self.comments.get(post_id, [])[:n])
        meta = {"platform": item["platform"], "postId": post_id, "accountId": account_id}
        return {"status": "success", "comments": comments, "pagination": {"hasMore": False, "cursor": None},
                "meta": {**meta, "lastUpdated": iso(self.clock())}}  # fmt: skip

    def reply(self, post_id: str, body: Mapping[str, Any]) -> Json:
        """POST /v1/inbox/comments/{postId}: a reply to the post or to one comment."""
        item = self._commented(post_id)
        account_id, message = opt_str(body, "accountId"), opt_str(body, "message")
        self._check_account(item, account_id)
        if not message or not message.strip():
            raise bad("message is required")
        limit = REPLY_MAX.get(item["platform"], 2000)
        if len(message) > limit:
            raise bad(
                f"message is too long for {item['platform']}: {len(message)} characters, at most {limit}"
            )
        comments = self.comments.setdefault(post_id, [])
        parent_id = opt_str(body, "commentId")
        parent = next((c for c in comments if c["id"] == parent_id), None)
        if parent_id and parent is None:
            raise SandboxError(404, f"Comment {parent_id} not found on post {post_id}")
        account = self.accounts[item["accountId"]]
        reply = {
            "id": f"{post_id}_r{new_id()[:8]}",
            "message": message,
            "createdTime": iso(self.clock()),
            "from": {
                "id": account["_id"],
                "name": account["displayName"],
                "username": account["username"],
                "isOwner": True,
            },
            "platform": item["platform"],
            "parentId": parent_id,
        }
        if parent is not None:
            parent["replies"].append(reply)
            parent["replyCount"] += 1
        else:
            comments.append({**reply, "likeCount": 0, "replyCount": 0, "replies": [], "canReply": True})
        return {"success": True, "data": {"commentId": reply["id"], "isReply": parent is not None}}

    def hide(self, post_id: str, comment_id: str, body: Mapping[str, Any]) -> Json:
        """POST /v1/inbox/comments/{postId}/{commentId}/hide (Facebook, Instagram, Threads only)."""
        item = self._commented(post_id)
        self._check_account(item, opt_str(body, "accountId"))
        if item["platform"] not in HIDE_PLATFORMS:
            raise bad(f"Platform does not support hiding comments ({item['platform']})")
        comment = next((c for c in self.comments.get(post_id, []) if c["id"] == comment_id), None)
        if comment is None:
            raise SandboxError(404, f"Comment {comment_id} not found on post {post_id}")
        comment["isHidden"] = True
        return {"status": "success", "commentId": comment_id, "hidden": True, "platform": item["platform"]}
