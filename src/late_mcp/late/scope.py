"""Profile limits on Late requests: what a profile-limited token may read and change.

`LateClient.request` calls `admit()` before sending anything, so every tool's every Late request is
decided here, from the request alone. For a caller limited to profiles P, first, on every route:

- each id named in the query or the JSON body must be P's: `profileId` and `queuedFromProfile` in
  P; `accountId`, `accountIds` and `platforms[].accountId` accounts of P; `postId` a post of P.

Then per route:

| request                                          | rule                                              |
|--------------------------------------------------|---------------------------------------------------|
| GET v1/profiles                                  | list filtered to P                                |
| GET/PUT/DELETE v1/profiles/{id}                  | id in P                                           |
| GET v1/accounts, v1/accounts/health, v1/posts,   | lists: narrowed to P's profile when P has one,    |
| v1/platform-invites, v1/inbox/comments           | filtered to P's (see below)                       |
| DELETE v1/accounts/{id}                          | the account belongs to P                          |
| GET v1/connect/{platform}, v1/queue/*,           | a profile of P named (narrowed when P has one;    |
| PUT v1/queue/slots, GET v1/analytics[/best-time] | PUT v1/queue/slots: in the body)                  |
| GET v1/accounts/follower-stats                   | a profile or accounts of P named; list filtered   |
| GET/POST v1/inbox/comments/{post},               | accountId named; the post is one of P's (found in |
| POST v1/inbox/comments/{post}/{comment}/hide     | that account's inbox, or a Late post of P); the   |
|                                                  | comment (path or body `commentId`) is on the post |
| POST v1/platform-invites                         | profileId named                                   |
| DELETE v1/platform-invites?id=                   | the invite belongs to P                           |
| POST v1/posts                                    | accounts named (each P's, checked above)          |
| GET/PUT/DELETE v1/posts/{id}, POST .../retry,    | every account of the post belongs to P            |
| POST .../review,                                 |                                                   |
| GET v1/posts/{id}/logs                           |                                                   |
| GET v1/usage-stats                               | the plan-wide profile count is left out           |
| POST v1/tools/validate/post, v1/media/presign,   | allowed (no client's data)                        |
| POST/GET v1/media/upload-token                   |                                                   |
| anything else                                    | refused                                           |

A list whose request names nothing of P's (a caller with several profiles, which Late's single
`profileId` filter cannot express) comes back with P's items only and none of Late's counts
(pagination, summary, meta): those count every client. The same when the filter dropped anything.

A refusal is a `NotFoundError` that does not say whether the thing exists. Lookups made to decide
(which profile an account, invite, post or comment belongs to) run unscoped through the same client
and never reach the caller.
"""

from __future__ import annotations

import re
from collections.abc import Awaitable, Callable, Iterator
from typing import Any, NamedTuple

from late_mcp.auth.principal import current_profiles, principal_var
from late_mcp.late.errors import LateAPIError, NotFoundError, RequestValidationError

Filter = Callable[[Any], Any]
# The client's request function (`LateClient.request`): the lookups go through it, unscoped.
Send = Callable[..., Awaitable[Any]]
_ONE = re.compile(r"^v1/(profiles|accounts|posts)/([^/]+)(/retry|/review|/logs)?$")
_COMMENTS = re.compile(r"^v1/inbox/comments/([^/]+)(?:/([^/]+)/(hide))?$")
OPEN = {
    ("POST", "v1/tools/validate/post"),
    ("POST", "v1/media/presign"),
    ("POST", "v1/media/upload-token"),
    ("GET", "v1/media/upload-token"),
}
# Reads and writes that must name one of the caller's profiles (query, or body for PUT).
BY_PROFILE = {
    ("GET", "v1/queue/next-slot"),
    ("GET", "v1/queue/slots"),
    ("PUT", "v1/queue/slots"),
    ("GET", "v1/queue/preview"),
    ("GET", "v1/analytics"),
    ("GET", "v1/analytics/best-time"),
}
# Lists: path -> (the key of their items, what makes an item the caller's: its profile, its
# account, or for a post every account it goes to).
LISTS = {
    "v1/accounts": ("accounts", "profile"),
    "v1/accounts/health": ("accounts", "profile"),
    "v1/platform-invites": ("invites", "profile"),
    "v1/posts": ("posts", "post"),
    "v1/inbox/comments": ("data", "account"),
}
NAMING = ("profileId", "accountId", "accountIds")
LOOKUP_PAGES = 10  # pages of 100 searched for a post in an account's inbox, or a comment on a post


class Admitted(NamedTuple):
    """What may be sent: the query (narrowed to the caller's profile where a list allows it) and the
    filter for the answer (None: the answer goes back as Late sent it)."""

    query: dict[str, Any]
    keep: Filter | None = None


def _ref(value: Any) -> str | None:
    """An id given either as a string or as a populated object with `_id`."""
    if isinstance(value, dict):
        value = value.get("_id") or value.get("id")
    return value if isinstance(value, str) else None


def refused(kind: str, ident: object) -> NotFoundError:
    return NotFoundError(
        f"{kind} {ident} was not found among the profiles this access token may use.", status=404
    )


def _keep(key: str, keep: Callable[[dict[str, Any]], bool], *, named: bool) -> Filter:
    """Keep the caller's items. Late's counts stay only when the request named the caller's own
    profile or accounts and nothing was dropped: otherwise they count other clients' items."""

    def apply(body: Any) -> Any:
        if not isinstance(body, dict) or not isinstance(body.get(key), list):
            return body
        kept = [item for item in body[key] if isinstance(item, dict) and keep(item)]
        if named and len(kept) == len(body[key]):
            return body
        return {key: kept}

    return apply


def _without_profile_count(body: Any) -> Any:
    """Usage stats without the number of profiles: it counts every client of the Late account."""
    if isinstance(body, dict) and isinstance(body.get("usage"), dict):
        body = {**body, "usage": {k: v for k, v in body["usage"].items() if k != "profiles"}}
    return body


def _target_accounts(body: dict[str, Any]) -> list[str | None]:
    """The account of each `platforms[]` entry of a post body (None where an entry names none)."""
    targets = body.get("platforms")
    if not isinstance(targets, list):
        return []
    return [_ref(t.get("accountId")) if isinstance(t, dict) else None for t in targets]


def _comment_ids(items: Any) -> Iterator[str]:
    """Ids of comments and, nested in them, their replies."""
    for item in items if isinstance(items, list) else []:
        if isinstance(item, dict):
            if isinstance(item.get("id"), str):
                yield item["id"]
            yield from _comment_ids(item.get("replies"))


def _next_cursor(body: Any) -> str | None:
    pagination = body.get("pagination") if isinstance(body, dict) else None
    if not isinstance(pagination, dict) or not pagination.get("hasMore"):
        return None
    cursor = pagination.get("nextCursor") or pagination.get("cursor")
    return cursor if isinstance(cursor, str) and cursor else None


class Scope:
    """The decisions for one request of a caller limited to `profiles`."""

    def __init__(self, send: Send, profiles: frozenset[str]) -> None:
        self.send = send
        self.profiles = profiles
        self._accounts: set[str] | None = None

    async def _unscoped(self, method: str, path: str, **kwargs: Any) -> Any:
        reset = principal_var.set(None)
        try:
            return await self.send(method, path, **kwargs)
        finally:
            principal_var.reset(reset)

    async def accounts(self) -> set[str]:
        """The ids of the caller's accounts (looked up once per request)."""
        if self._accounts is None:
            body = await self._unscoped("GET", "v1/accounts")
            items = body.get("accounts", []) if isinstance(body, dict) else []
            self._accounts = {
                str(_ref(a))
                for a in items
                if isinstance(a, dict) and _ref(a.get("profileId")) in self.profiles
            }
        return self._accounts

    def profile(self, value: Any, kind: str = "Profile") -> None:
        if value is not None and value not in self.profiles:
            raise refused(kind, value)

    async def account(self, value: Any) -> None:
        if value is not None and value not in await self.accounts():
            raise refused("Account", value)

    def post_in_scope(self, post: dict[str, Any], accounts: set[str]) -> bool:
        targets = [_ref(t.get("accountId")) for t in post.get("platforms", []) if isinstance(t, dict)]
        return bool(targets) and all(t in accounts for t in targets)

    def narrowed(self, query: dict[str, Any]) -> dict[str, Any]:
        """A query that names nothing, narrowed to the caller's profile when it has exactly one:
        then Late filters, and its counts are the caller's."""
        if len(self.profiles) == 1 and not any(query.get(k) for k in NAMING):
            return {**query, "profileId": next(iter(self.profiles))}
        return query

    def needs_profile(self, given: Any) -> None:
        """Routes that answer for one profile: a caller with several must say which."""
        if given is None:
            raise RequestValidationError(
                f"This access token is limited to {len(self.profiles)} profiles and Late answers this "
                "for one profile at a time: pass profile_id.",
                hint="profiles_list shows the profiles this access token may use.",
            )

    async def admit(self, method: str, path: str, query: dict[str, Any], json: Any) -> Admitted:
        path = path.strip("/")
        await self._named(query, json)
        if (method, path) in OPEN:
            return Admitted(query)
        if (method, path) == ("GET", "v1/usage-stats"):
            return Admitted(query, _without_profile_count)
        if (method, path) == ("GET", "v1/profiles"):
            return Admitted(query, _keep("profiles", lambda p: _ref(p) in self.profiles, named=False))
        if method == "GET" and path in LISTS:
            return await self._list(path, self.narrowed(query))
        if (method, path) in BY_PROFILE or (method == "GET" and path.startswith("v1/connect/")):
            if method == "PUT":
                self.needs_profile(json.get("profileId") if isinstance(json, dict) else None)
                return Admitted(query)
            query = self.narrowed(query)
            self.needs_profile(query.get("profileId"))
            return Admitted(query)
        if (method, path) == ("GET", "v1/accounts/follower-stats"):
            query = self.narrowed(query)
            if not query.get("accountIds"):
                self.needs_profile(query.get("profileId"))
            accounts = await self.accounts()
            named = bool(query.get("profileId") or query.get("accountIds"))
            return Admitted(query, _keep("accounts", lambda a: _ref(a) in accounts, named=named))
        if path == "v1/platform-invites" and method in {"POST", "DELETE"}:
            await self._invite(method, query, json)
            return Admitted(query)
        if (method, path) == ("POST", "v1/posts"):
            targets = _target_accounts(json if isinstance(json, dict) else {})
            if not targets or None in targets:
                raise refused("Account", "(none given)")
            return Admitted(query)  # every account and profile it names was checked above
        comments = _COMMENTS.match(path)
        if comments is not None:
            post, comment, suffix = comments.groups()
            if (method, suffix) not in {("GET", None), ("POST", None), ("POST", "hide")}:
                raise refused("Resource", "v1/inbox/comments")
            await self._comment_route(post, comment, query, json)
            return Admitted(query)
        match = _ONE.match(path)
        if match is not None:
            await self._one(method, match.group(1), match.group(2), match.group(3) or "")
            return Admitted(query)
        raise refused("Resource", path)

    async def _named(self, query: dict[str, Any], json: Any) -> None:
        """Every profile, account and post the request names, wherever it names them."""
        body = json if isinstance(json, dict) else {}
        for source in (query, body):
            self.profile(source.get("profileId"))
            await self.account(source.get("accountId"))
        self.profile(body.get("queuedFromProfile"))
        for listed in str(query.get("accountIds") or "").split(","):
            await self.account(listed or None)
        for target in _target_accounts(body):
            await self.account(target)  # None (an entry without an account) is judged by the route
        if query.get("postId") is not None:
            await self._late_post(str(query["postId"]))

    async def _list(self, path: str, query: dict[str, Any]) -> Admitted:
        key, by = LISTS[path]
        named = any(query.get(k) for k in NAMING)
        if by == "profile":
            return Admitted(
                query, _keep(key, lambda i: _ref(i.get("profileId")) in self.profiles, named=named)
            )
        accounts = await self.accounts()
        if by == "account":
            return Admitted(query, _keep(key, lambda i: _ref(i.get("accountId")) in accounts, named=named))
        return Admitted(query, _keep(key, lambda p: self.post_in_scope(p, accounts), named=named))

    async def _invite(self, method: str, query: dict[str, Any], json: Any) -> None:
        if method == "POST":
            self.needs_profile(json.get("profileId") if isinstance(json, dict) else None)
            return
        body = await self._unscoped("GET", "v1/platform-invites")
        invites = body.get("invites", []) if isinstance(body, dict) else []
        ident = query.get("id")
        if not any(_ref(i) == ident and _ref(i.get("profileId")) in self.profiles for i in invites):
            raise refused("Invite", ident)

    async def _late_post(self, ident: str) -> None:
        """The post is a Late post whose every account is the caller's."""
        if not await self._is_late_post_of_ours(ident):
            raise refused("Post", ident)

    async def _is_late_post_of_ours(self, ident: str) -> bool:
        try:
            body = await self._unscoped("GET", f"v1/posts/{ident}")
        except LateAPIError as exc:
            if exc.status in {400, 404}:  # not a Late post id (a platform's own post id, or nothing)
                return False
            raise
        post = body.get("post", body) if isinstance(body, dict) else {}
        return isinstance(post, dict) and self.post_in_scope(post, await self.accounts())

    async def _comment_route(self, post: str, comment: str | None, query: dict[str, Any], json: Any) -> None:
        """A post's comments: the account is the caller's (checked above), the post is that
        account's (or a Late post of the caller's), and a named comment is on that post."""
        body = json if isinstance(json, dict) else {}
        account = query.get("accountId") or body.get("accountId")
        if not account:
            raise refused("Account", "(none given)")
        if not await self._in_inbox(post, account) and not await self._is_late_post_of_ours(post):
            raise refused("Post", post)
        comment = comment or body.get("commentId")
        if comment and not await self._on_post(post, account, str(comment)):
            raise refused("Comment", comment)

    async def _in_inbox(self, post: str, account: str) -> bool:
        """Whether the post is among the commented posts Late's inbox lists for the account."""
        cursor: str | None = None
        for _ in range(LOOKUP_PAGES):
            params = {"accountId": account, "limit": 100, "cursor": cursor}
            listed = await self._unscoped("GET", "v1/inbox/comments", params=params)
            items = listed.get("data", []) if isinstance(listed, dict) else []
            if any(
                isinstance(i, dict) and i.get("id") == post and i.get("accountId") == account for i in items
            ):
                return True
            cursor = _next_cursor(listed)
            if cursor is None:
                return False
        return False

    async def _on_post(self, post: str, account: str, comment: str) -> bool:
        """Whether the comment (or a reply) is among the post's comments as Late lists them."""
        cursor: str | None = None
        for _ in range(LOOKUP_PAGES):
            params = {"accountId": account, "limit": 100, "cursor": cursor}
            found = await self._unscoped("GET", f"v1/inbox/comments/{post}", params=params)
            if comment in _comment_ids(found.get("comments") if isinstance(found, dict) else None):
                return True
            cursor = _next_cursor(found)
            if cursor is None:
                return False
        return False

    async def _one(self, method: str, kind: str, ident: str, suffix: str) -> None:
        if suffix and kind != "posts":
            raise refused("Resource", f"v1/{kind}")
        if kind == "profiles" and method in {"GET", "PUT", "DELETE"}:
            self.profile(ident)
            return
        if kind == "accounts" and method == "DELETE":
            await self.account(ident)
            return
        allowed = {"": {"GET", "PUT", "DELETE"}, "/retry": {"POST"}, "/review": {"POST"}, "/logs": {"GET"}}
        if kind == "posts" and method in allowed.get(suffix, set()):
            await self._late_post(ident)
            return
        raise refused("Resource", f"v1/{kind}")


async def admit(send: Send, method: str, path: str, query: dict[str, Any], json: Any) -> Admitted:
    """What may be sent for the current caller; raises when refused. A caller who is not limited
    gets the query as given and no filter. Lookups go through `send` with no caller set."""
    profiles = current_profiles()
    if profiles is None:
        return Admitted(query)
    return await Scope(send, profiles).admit(method, path, query, json)
