"""Profile limits on Late requests: what a profile-limited token may read and change.

`LateClient.request` calls `admit()` before sending anything. For a caller limited to profiles P:

| request                                        | rule                                                |
|------------------------------------------------|-----------------------------------------------------|
| GET v1/profiles                                | list filtered to P                                  |
| GET/PUT/DELETE v1/profiles/{id}                | id in P                                             |
| GET v1/accounts, v1/accounts/health            | profileId (if given) in P; list filtered to P       |
| DELETE v1/accounts/{id}                        | the account belongs to P                            |
| GET v1/connect/{platform}, v1/queue/*,        | profileId in P (PUT v1/queue/slots: in the body)    |
| PUT v1/queue/slots                             |                                                     |
| GET v1/analytics, v1/analytics/best-time       | profileId in P                                      |
| GET v1/accounts/follower-stats                 | profileId in P; accountIds (if given) belong to P   |
| GET v1/inbox/comments                          | profileId in P, or accountId belongs to P           |
| GET/POST v1/inbox/comments/{post}[/...]        | accountId (query or body) belongs to P              |
| POST v1/platform-invites                       | profileId in P                                      |
| GET v1/platform-invites                        | profileId (if given) in P; list filtered to P       |
| DELETE v1/platform-invites?id=                 | the invite belongs to P                             |
| POST v1/posts                                  | every target account belongs to P                   |
| GET v1/posts                                   | profileId (if given) in P; posts on P's accounts    |
| GET/PUT/DELETE v1/posts/{id}, POST .../retry,  | every account of the post belongs to P              |
| GET v1/posts/{id}/logs                         |                                                     |
| POST v1/tools/validate/post, v1/media/presign, |                                                     |
| GET v1/usage-stats, POST/GET v1/media/upload-token | allowed (no client's data)                      |
| anything else                                  | refused                                             |

A refusal is a `NotFoundError` that does not say whether the thing exists. Lookups made to decide
(which profile an account, invite or post belongs to) run unscoped through the same client.
"""

from __future__ import annotations

import re
from collections.abc import Callable
from typing import TYPE_CHECKING, Any

from late_mcp.late.errors import NotFoundError
from late_mcp.principal import current_profiles, principal_var

if TYPE_CHECKING:
    from late_mcp.late.client import LateClient

Filter = Callable[[Any], Any]
_ONE = re.compile(r"^v1/(profiles|accounts|posts)/([^/]+)(/retry|/logs)?$")
OPEN = {
    ("POST", "v1/tools/validate/post"),
    ("POST", "v1/media/presign"),
    ("GET", "v1/usage-stats"),
    ("POST", "v1/media/upload-token"),
    ("GET", "v1/media/upload-token"),
}
# Reads and writes whose profileId (query, or body for PUT) must be one of the caller's.
BY_PROFILE = {
    ("GET", "v1/queue/next-slot"),
    ("GET", "v1/queue/slots"),
    ("PUT", "v1/queue/slots"),
    ("GET", "v1/queue/preview"),
    ("GET", "v1/analytics"),
    ("GET", "v1/analytics/best-time"),
}


def _ref(value: Any) -> str | None:
    """An id given either as a string or as a populated object with `_id`."""
    if isinstance(value, dict):
        value = value.get("_id") or value.get("id")
    return value if isinstance(value, str) else None


def refused(kind: str, ident: object) -> NotFoundError:
    return NotFoundError(
        f"{kind} {ident} was not found among the profiles this access token may use.", status=404
    )


def _keep(key: str, keep: Callable[[dict[str, Any]], bool]) -> Filter:
    def apply(body: Any) -> Any:
        if isinstance(body, dict) and isinstance(body.get(key), list):
            kept = [item for item in body[key] if isinstance(item, dict) and keep(item)]
            if len(kept) < len(body[key]):  # counts over every profile would tell what is hidden
                body = {k: v for k, v in body.items() if k not in {"summary", "pagination"}}
            body = {**body, key: kept}
        return body

    return apply


class Scope:
    """The decisions for one request of a caller limited to `profiles`."""

    def __init__(self, client: LateClient, profiles: frozenset[str]) -> None:
        self.client = client
        self.profiles = profiles

    async def _unscoped(self, method: str, path: str, **kwargs: Any) -> Any:
        reset = principal_var.set(None)
        try:
            return await self.client.request(method, path, **kwargs)
        finally:
            principal_var.reset(reset)

    async def accounts(self) -> set[str]:
        body = await self._unscoped("GET", "v1/accounts")
        items = body.get("accounts", []) if isinstance(body, dict) else []
        return {
            str(_ref(a)) for a in items if isinstance(a, dict) and _ref(a.get("profileId")) in self.profiles
        }

    def profile(self, value: Any, kind: str = "Profile") -> None:
        if value is not None and value not in self.profiles:
            raise refused(kind, value)

    def post_in_scope(self, post: dict[str, Any], accounts: set[str]) -> bool:
        targets = [_ref(t.get("accountId")) for t in post.get("platforms", []) if isinstance(t, dict)]
        return bool(targets) and all(t in accounts for t in targets)

    async def admit(self, method: str, path: str, query: dict[str, Any], json: Any) -> Filter | None:
        path = path.strip("/")
        wanted = query.get("profileId")
        if (method, path) in OPEN:
            return None
        if (method, path) == ("GET", "v1/profiles"):
            return _keep("profiles", lambda p: _ref(p) in self.profiles)
        if (method, path) in {("GET", "v1/accounts"), ("GET", "v1/accounts/health")}:
            self.profile(wanted)
            return _keep("accounts", lambda a: _ref(a.get("profileId")) in self.profiles)
        if (method, path) in BY_PROFILE or (method == "GET" and path.startswith("v1/connect/")):
            given = json.get("profileId") if method == "PUT" and isinstance(json, dict) else wanted
            self.profile(given)
            if given is None:
                raise refused("Profile", "(none given)")
            return None
        if path == "v1/accounts/follower-stats" or path.startswith("v1/inbox/comments"):
            return await self._by_account(method, path, query, json)
        if path == "v1/platform-invites":
            return await self._invites(method, query, json)
        if path == "v1/posts":
            self.profile(wanted)
            return await self._posts(method, json)
        match = _ONE.match(path)
        if match is not None:
            return await self._one(method, match.group(1), match.group(2), match.group(3) or "")
        raise refused("Resource", path)

    async def _invites(self, method: str, query: dict[str, Any], json: Any) -> Filter | None:
        if method == "POST":
            self.profile(json.get("profileId") if isinstance(json, dict) else None)
            if not isinstance(json, dict) or json.get("profileId") is None:
                raise refused("Profile", "(none given)")
            return None
        if method == "GET":
            self.profile(query.get("profileId"))
            return _keep("invites", lambda i: _ref(i.get("profileId")) in self.profiles)
        if method == "DELETE":
            body = await self._unscoped("GET", "v1/platform-invites")
            invites = body.get("invites", []) if isinstance(body, dict) else []
            ident = query.get("id")
            if not any(_ref(i) == ident and _ref(i.get("profileId")) in self.profiles for i in invites):
                raise refused("Invite", ident)
            return None
        raise refused("Resource", "v1/platform-invites")

    async def _posts(self, method: str, json: Any) -> Filter | None:
        accounts = await self.accounts()
        if method == "GET":
            return _keep("posts", lambda p: self.post_in_scope(p, accounts))
        if method == "POST" and isinstance(json, dict):
            self.profile(json.get("queuedFromProfile"))
            for target in json.get("platforms", []):
                ident = _ref(target.get("accountId")) if isinstance(target, dict) else None
                if ident not in accounts:
                    raise refused("Account", ident)
            return None
        raise refused("Resource", "v1/posts")

    async def _by_account(self, method: str, path: str, query: dict[str, Any], json: Any) -> Filter | None:
        """Follower stats and comments: the profile, or every account named, must be the caller's."""
        body = json if isinstance(json, dict) else {}
        named = [
            query.get("accountId"),
            body.get("accountId"),
            *str(query.get("accountIds") or "").split(","),
        ]
        named = [a for a in named if a]
        wanted = query.get("profileId")
        if wanted is None and not named:
            raise refused("Profile", "(none given)")
        self.profile(wanted)
        if named:
            accounts = await self.accounts()
            for ident in named:
                if ident not in accounts:
                    raise refused("Account", ident)
        if method == "GET" and path == "v1/inbox/comments" and wanted is None:
            accounts = await self.accounts()
            return _keep("posts", lambda p: _ref(p.get("accountId")) in accounts)
        return None

    async def _one(self, method: str, kind: str, ident: str, suffix: str) -> Filter | None:
        if suffix and kind != "posts":
            raise refused("Resource", f"v1/{kind}")
        if kind == "profiles" and method in {"GET", "PUT", "DELETE"}:
            self.profile(ident)
            return None
        if kind == "accounts" and method == "DELETE":
            if ident not in await self.accounts():
                raise refused("Account", ident)
            return None
        allowed = {"": {"GET", "PUT", "DELETE"}, "/retry": {"POST"}, "/logs": {"GET"}}
        if kind == "posts" and method in allowed.get(suffix, set()):
            try:
                body = await self._unscoped("GET", f"v1/posts/{ident}")
            except NotFoundError:
                raise refused("Post", ident) from None
            post = body.get("post", body) if isinstance(body, dict) else {}
            if not isinstance(post, dict) or not self.post_in_scope(post, await self.accounts()):
                raise refused("Post", ident)
            return None
        raise refused("Resource", f"v1/{kind}")


async def admit(
    client: LateClient, method: str, path: str, query: dict[str, Any], json: Any
) -> Filter | None:
    """None when the caller is not limited (or the request needs no filtering); raises when refused."""
    profiles = current_profiles()
    if profiles is None:
        return None
    return await Scope(client, profiles).admit(method, path, query, json)
