"""How requests and answers look on the wire: auth, request ids, error statuses, body shapes."""

from __future__ import annotations

import email.utils
import json
import re
import secrets
import time
from collections.abc import AsyncIterator, Awaitable, Callable, Generator, Mapping
from pathlib import Path
from typing import Any, BinaryIO, TypeVar

import anyio
import httpx2
from pydantic import BaseModel, ValidationError

from late_mcp.core.outside import quoted
from late_mcp.late.errors import (
    MESSAGE_SHOWN,
    LateAPIError,
    LateError,
    MalformedResponseError,
    RateLimitedError,
    TransportError,
    error_class_for_status,
)
from late_mcp.late.keyscrub import KeyScrubber

ModelT = TypeVar("ModelT", bound=BaseModel)
UPLOAD_CHUNK = 1024 * 1024
# Failures after which the request may have reached Late and been acted on.
MAYBE_SENT = (
    httpx2.ReadTimeout,
    httpx2.WriteTimeout,
    httpx2.ReadError,
    httpx2.WriteError,
    httpx2.RemoteProtocolError,
)


class ScopedBearerAuth(httpx2.Auth):
    """Adds `Authorization: Bearer …` only to requests under the API base URL."""

    def __init__(self, api_key: str | None, base_url: str) -> None:
        self._api_key = api_key
        self._prefix = base_url.rstrip("/") + "/"

    def __repr__(self) -> str:  # never show the key
        return f"<ScopedBearerAuth for {self._prefix}>"

    def auth_flow(self, request: httpx2.Request) -> Generator[httpx2.Request, httpx2.Response, None]:
        if self._api_key and str(request.url).startswith(self._prefix):
            request.headers["Authorization"] = f"Bearer {self._api_key}"
        yield request


def transport_error(exc: httpx2.TransportError, peer: str, request_id: str | None) -> TransportError:
    """No usable answer: say whether the request may have landed (answer lost) or not (never sent)."""
    what = "did not answer in time" if isinstance(exc, httpx2.TimeoutException) else "could not be reached"
    return TransportError(
        f"{peer[0].upper()}{peer[1:]} {what} ({type(exc).__name__}).",
        outcome_unknown=isinstance(exc, MAYBE_SENT),
        request_id=request_id,
    )


def new_request_id() -> str:
    return "lm_" + secrets.token_hex(10)


def retry_after(response: httpx2.Response) -> float | None:
    raw = response.headers.get("Retry-After")
    if raw:
        try:
            return max(0.0, float(raw))
        except ValueError:
            try:
                return max(0.0, email.utils.parsedate_to_datetime(raw).timestamp() - time.time())
            except (TypeError, ValueError):
                pass
    reset = response.headers.get("X-RateLimit-Reset")
    if reset and reset.isdigit():
        return max(0.0, int(reset) - time.time())
    return None


class Scrubber:
    """Takes the API key, in every form `KeyScrubber` knows (cut short, another case, base64), out
    of whatever comes back from Late (error texts, parsed bodies, header values) before it can
    reach tool results, the journal or logs, and repairs lone surrogates. Everything derived from
    an answer passes through here; nothing else needs to care."""

    def __init__(self, secret: str | None) -> None:
        self._scrub = KeyScrubber([secret])

    def text(self, value: str) -> str:
        return self._scrub(value)

    def body(self, value: Any) -> Any:
        """Parsed JSON with the key redacted and lone surrogates replaced, keys included."""
        if isinstance(value, str):
            return self._scrub(without_lone_surrogates(value))
        if isinstance(value, dict):
            return {self.body(k): self.body(v) for k, v in value.items()}
        if isinstance(value, list):
            return [self.body(item) for item in value]
        return value

    def json_body(self, response: httpx2.Response) -> Any:
        """The response's parsed JSON, scrubbed (ValueError when it is not JSON). When the UTF-8
        text holds no secret and no `\\u` or `\\/` escape (which could spell one out, or a lone
        surrogate), no string parsed from that text can hold one either: then one scan of the
        text replaces the walk over every string in it."""
        try:
            raw = response.content.decode("utf-8-sig")
            body = json.loads(raw)
        except ValueError:  # UTF-16 or -32 JSON (json.loads of the bytes knows them), or not JSON
            return self.body(response.json())
        if "\\u" in raw or "\\/" in raw or self._scrub(raw) is not raw:
            return self.body(body)
        return body

    def header(self, response: httpx2.Response, name: str) -> str | None:
        value = response.headers.get(name)
        return None if value is None else self._scrub(value)


def api_message(response: httpx2.Response, scrub: Scrubber) -> str | None:
    try:
        body = response.json()
    except ValueError:
        return None
    if isinstance(body, dict):
        for key in ("error", "message", "detail"):
            value = body.get(key)
            if isinstance(value, str) and value:
                return scrub.body(value)[:500]  # type: ignore[no-any-return]
    return None


# A 404 on a path with ids: (pattern, the tool arguments its groups are, the tool that lists them).
_ID_ROUTES: tuple[tuple[re.Pattern[str], tuple[str, ...], str], ...] = (
    (re.compile(r"v1/profiles/([^/]+)"), ("profile_id",), "profiles_list shows the profiles"),
    (
        re.compile(r"v1/accounts/(?!health$|follower-stats$)([^/]+)(?:/health)?"),
        ("account_id",),
        "accounts_list shows the accounts",
    ),
    (
        re.compile(r"v1/posts/([^/]+)(?:/retry|/logs|/unpublish|/review)?"),
        ("post_id",),
        "posts_list shows the posts",
    ),
    (
        re.compile(r"v1/inbox/comments/([^/]+)/([^/]+)/hide"),
        ("post_id", "comment_id"),
        "comments_list(post_id=...) shows the comments",
    ),
    (re.compile(r"v1/inbox/comments/([^/]+)"), ("post_id",), "comments_list shows the posts with comments"),
)
# A 404 on a path without ids that, per Late's spec, means an id in the query was not found.
_QUERY_ID_ROUTES: dict[tuple[str | None, str], tuple[str, str, str]] = {
    (None, "v1/queue/slots"): ("profileId", "profile_id", "profiles_list shows the profiles"),
    (None, "v1/queue/preview"): ("profileId", "profile_id", "profiles_list shows the profiles"),
    (None, "v1/queue/next-slot"): ("profileId", "profile_id", "profiles_list shows the profiles"),
    (None, "v1/connect/telegram"): ("profileId", "profile_id", "profiles_list shows the profiles"),
    ("DELETE", "v1/platform-invites"): ("id", "invite_id", "invites_list shows the open invites"),
    ("GET", "v1/media/upload-token"): (
        "token",
        "token",
        "it may have expired; media_browser_upload_start starts a new upload",
    ),
}
# What a route without ids offers, for "this Late deployment or account does not offer …".
_FEATURES: dict[str, str] = {
    "v1/media/upload-token": "browser uploads (media_browser_upload_start)",
    "v1/media/presign": "media uploads",
    "v1/analytics": "analytics",
    "v1/analytics/best-time": "best posting times",
    "v1/accounts/follower-stats": "follower statistics",
    "v1/accounts/health": "account health",
    "v1/inbox/comments": "comments",
    "v1/usage-stats": "usage statistics",
    "v1/tools/validate/post": "post validation",
    "v1/platform-invites": "platform invites",
    "v1/queue/slots": "queues",
}


def not_found_meaning(method: str, path: str, query: Mapping[str, str | int]) -> tuple[str, str | None]:
    """What a 404 on `method path?query` means: (the hint, the route Late lacks or None).

    With an id in the path or a query id the spec names, that id was not found; on any other
    route this Late deployment or account does not have the feature."""
    path = path.strip("/")
    for pattern, names, lister in _ID_ROUTES:
        found = pattern.fullmatch(path)
        if found:
            ids = " or ".join(
                f"{name} {quoted(value, 100)}" for name, value in zip(names, found.groups(), strict=True)
            )
            return f"{ids} was not found; {lister}.", None
    for key in ((method, path), (None, path)):
        if key in _QUERY_ID_ROUTES:
            param, name, lister = _QUERY_ID_ROUTES[key]
            if param in query:
                return f"{name} {quoted(str(query[param]), 100)} was not found; {lister}.", None
    connect = re.fullmatch(r"v1/connect/([^/]+)", path)
    if connect and "profileId" in query and connect.group(1) != "telegram":
        return (
            f"profile_id {quoted(str(query['profileId']), 100)} was not found, or Late cannot connect "
            f"{quoted(connect.group(1), 40)} accounts; profiles_list shows the profiles.",
            None,
        )
    feature = _FEATURES.get(path) or _FEATURES.get(path.rpartition("/")[0]) or f"{method} /{path}"
    return (
        f"This Late deployment or account does not offer {feature} (Late has no route for "
        f"{method} /{path}); check LATE_BASE_URL points at Late's API and that the plan includes it.",
        path,
    )


def status_error(
    response: httpx2.Response,
    where: str,
    request_id: str,
    scrub: Scrubber,
    *,
    not_found_hint: str | None = None,
) -> LateAPIError:
    """The error for an error status; `not_found_hint` (from `not_found_meaning`) for a 404."""
    status = response.status_code
    cls = error_class_for_status(status)
    said = api_message(response, scrub)
    words = said or scrub.text(response.reason_phrase or "")  # Late's words: quoted, as outside text
    message = f"Late refused {where}: {quoted(words, MESSAGE_SHOWN) if words else 'error'}."
    if status == 404 and not_found_hint is not None:
        return cls(message, status=status, api_message=said, request_id=request_id, hint=not_found_hint)
    if cls is RateLimitedError:
        return RateLimitedError(
            message,
            retry_after=retry_after(response),
            status=status,
            api_message=said,
            request_id=request_id,
        )
    return cls(message, status=status, api_message=said, request_id=request_id)


def parse(model: type[ModelT], body: Any, key: str | None, where: str) -> ModelT:
    """Validate `body[key]` (or `body`) as `model`; a wrong shape becomes MalformedResponseError."""
    data = body.get(key) if key is not None and isinstance(body, dict) else body
    try:
        return model.model_validate(data)
    except ValidationError as exc:
        fields = ", ".join(sorted({".".join(str(p) for p in e["loc"]) or "(body)" for e in exc.errors()}))
        raise MalformedResponseError(
            f"Late's answer to {where} did not have the expected shape (problem with: {fields})."
        ) from None


_LONE_SURROGATE = re.compile("[\ud800-\udfff]")


def without_lone_surrogates(value: Any) -> Any:
    """`value` (parsed JSON) with every lone UTF-16 surrogate replaced by U+FFFD.

    JSON may carry half an emoji (`"\\ud83d"`); Python keeps it as a lone surrogate, which cannot
    be encoded as UTF-8, so it would crash whatever writes it out (stdio, the journal, logs)."""
    if isinstance(value, str):
        return value if value.isascii() else _LONE_SURROGATE.sub("\ufffd", value)
    if isinstance(value, dict):
        return {without_lone_surrogates(k): without_lone_surrogates(v) for k, v in value.items()}
    if isinstance(value, list):
        return [without_lone_surrogates(item) for item in value]
    return value


def query_value(value: str | int | bool) -> str | int:
    return ("true" if value else "false") if isinstance(value, bool) else value


Progress = Callable[[int], Awaitable[None]]  # bytes sent so far


async def file_chunks(source: Path | BinaryIO, progress: Progress | None = None) -> AsyncIterator[bytes]:
    """The file in 1 MiB chunks, read in a worker thread; an open handle is read from where it is
    and left open (its owner closes it). `progress` hears the running total after each chunk."""
    sent = 0
    handle = open(source, "rb") if isinstance(source, Path) else source  # noqa: SIM115, ASYNC230
    try:
        while chunk := await anyio.to_thread.run_sync(handle.read, UPLOAD_CHUNK):
            yield chunk
            sent += len(chunk)
            if progress is not None:
                await progress(sent)
    finally:
        if isinstance(source, Path):
            handle.close()


def path_segment(value: str) -> str:
    """One URL path segment: ids never contain '/', so a value that does is refused here."""
    if not value or "/" in value or value in {".", ".."} or any(c in value for c in "?#\\"):
        raise LateError(f"{value!r} is not a valid id.", hint="Ids are the 'id' values other tools return.")
    return value
