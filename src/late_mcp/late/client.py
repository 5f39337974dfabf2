"""The one async client every tool uses to talk to Late.

One `httpx2.AsyncClient` per server lifetime (connection pooling). httpx2 rather than httpx: the
MCP SDK already depends on and imports httpx2, so the Late client adds no second HTTP stack to
install or import. The API key is attached by an auth hook that only signs requests to the
configured API base URL: a presigned upload URL (another host) never receives the key.
"""

from __future__ import annotations

import logging
from collections.abc import Callable, Mapping
from contextvars import ContextVar
from dataclasses import dataclass
from pathlib import Path
from typing import Any, BinaryIO

import anyio
import httpx2
from tenacity import AsyncRetrying, RetryCallState

from late_mcp import __version__
from late_mcp.config.settings import Settings
from late_mcp.core.outside import quoted, word
from late_mcp.late import scope
from late_mcp.late.after_api import AfterPostCalls
from late_mcp.late.errors import (
    LateError,
    MalformedResponseError,
    NotFoundError,
    RateLimitedError,
    error_class_for_status,
)
from late_mcp.late.logscrub import redact_in_http_logs
from late_mcp.late.models import (
    Account,
    ConnectLink,
    HealthReport,
    Invite,
    Post,
    PostPage,
    PresignedUpload,
    Profile,
    QueuePreview,
    QueueSlot,
    QueueState,
    TelegramCode,
    UploadToken,
    UploadTokenStatus,
    UsageStats,
)
from late_mcp.late.ratelimit import RateLimiter, SharedBudget
from late_mcp.late.retry import (
    IDEMPOTENT_METHODS,
    SEND_AGAIN_IF_IDEMPOTENT,
    SEND_AGAIN_IF_WRITE,
    RetryPolicy,
    outcome_unknown,
)
from late_mcp.late.wire import (
    ModelT,
    Progress,
    ScopedBearerAuth,
    Scrubber,
    api_message,
    file_chunks,
    new_request_id,
    not_found_meaning,
    parse,
    path_segment,
    query_value,
    status_error,
    transport_error,
)

log = logging.getLogger(__name__)


@dataclass
class _Request:
    """One request as its retry loop sees it: what to send, and what the sends so far showed."""

    method: str
    path: str
    query: dict[str, str | int]
    json: Any
    headers: Mapping[str, str] | None
    keep: Callable[[Any], Any] | None  # the scope's filter of the answer, if any
    sent: int = 0
    maybe_applied: bool = False  # an earlier send's answer was lost: it may have been applied


class LateClient(AfterPostCalls):
    """Typed access to the Late endpoints late-mcp uses. Raises `LateError` subclasses only."""

    def __init__(self, settings: Settings, *, transport: httpx2.AsyncBaseTransport | None = None) -> None:
        self.settings = settings
        self.retry_policy = RetryPolicy(
            attempts=settings.retry_attempts,
            base_delay=settings.retry_base_delay,
            max_delay=settings.retry_max_delay,
            deadline=settings.call_deadline,
        )
        # Built once; each request runs on a copy (a tenacity Retrying keeps per-run state).
        self._retrying = AsyncRetrying(
            stop=self.retry_policy.stop(),
            wait=self.retry_policy.backoff,
            before_sleep=self._before_sleep,
            sleep=anyio.sleep,
            reraise=True,
        )
        self.rate_limiter = RateLimiter(shared=_shared_budget(settings))
        # Everything derived from Late's answers goes through this before anyone sees it.
        self.scrub = Scrubber(settings.api_key)
        redact_in_http_logs(settings.api_key, settings.base_url)
        # The request id of the last write answered in this task: the journal keeps it.
        self.last_request_id: ContextVar[str | None] = ContextVar("late_last_request_id", default=None)
        # The Date header of Late's latest answer: `late-mcp doctor` checks the clock against it.
        self.server_date: str | None = None
        # Routes (v1/...) this Late deployment answered 404 on: features it does not offer.
        self.lacking_routes: set[str] = set()
        self._http = httpx2.AsyncClient(
            base_url=settings.base_url + "/",
            auth=ScopedBearerAuth(settings.api_key, settings.base_url),
            headers={"User-Agent": f"late-mcp/{__version__}", "Accept": "application/json"},
            timeout=httpx2.Timeout(settings.read_timeout, connect=settings.connect_timeout),
            transport=transport,
            follow_redirects=False,
        )

    async def aclose(self) -> None:
        await self._http.aclose()
        if self.rate_limiter.shared is not None:
            await self.rate_limiter.shared.aclose()

    async def __aenter__(self) -> LateClient:
        return self

    async def __aexit__(self, *exc: object) -> None:
        await self.aclose()

    # -- the one place requests go through -------------------------------------------------

    async def request(
        self,
        method: str,
        path: str,
        *,
        params: Mapping[str, str | int | bool | None] | None = None,
        json: Any = None,
        idempotent: bool | None = None,
        headers: Mapping[str, str] | None = None,
    ) -> Any:
        """Send a request to `<base>/<path>` and return the parsed JSON body.

        Idempotent requests (GET, DELETE unless told otherwise) are retried on transient faults;
        writes only when Late certainly did not act on them (see late.retry)."""
        is_idempotent = method in IDEMPOTENT_METHODS if idempotent is None else idempotent
        query = {k: query_value(v) for k, v in (params or {}).items() if v is not None}
        # A caller limited to some profiles (scoped access token) gets only their data.
        query, keep = await scope.admit(self.request, method, path, query, json)
        call = _Request(method, path, query, json, headers, keep)
        send_again = SEND_AGAIN_IF_IDEMPOTENT if is_idempotent else SEND_AGAIN_IF_WRITE
        return await self._retrying.copy(retry=send_again)(self._attempt, call)

    async def _attempt(self, call: _Request) -> Any:
        """Send `call` once; the retry loop decides whether a failure is sent again."""
        call.sent += 1
        try:
            body = await self._send_once(call.method, call.path, call.query, call.json, call.headers)
            return body if call.keep is None else call.keep(body)
        except LateError as exc:
            if call.method == "DELETE" and call.maybe_applied and isinstance(exc, NotFoundError):
                return {}  # an earlier send whose answer was lost already deleted it
            call.maybe_applied = call.maybe_applied or outcome_unknown(exc)
            if call.sent > 1:
                raise exc.with_context(attempts=call.sent) from exc
            raise

    def _before_sleep(self, state: RetryCallState) -> None:
        call: _Request = state.args[0]
        exc = state.outcome.exception() if state.outcome else None
        log.info(
            "retrying %s /%s in %.2fs after %s (attempt %d)",
            call.method,
            call.path,
            state.upcoming_sleep,
            type(exc).__name__,
            state.attempt_number,
        )
        if isinstance(exc, RateLimitedError):
            self.rate_limiter.block_for(state.upcoming_sleep)

    async def _send_once(
        self,
        method: str,
        path: str,
        query: dict[str, str | int],
        json: Any,
        headers: Mapping[str, str] | None = None,
    ) -> Any:
        request_id = new_request_id()
        where = f"{method} /{path.lstrip('/')}"
        if method != "GET":
            self.last_request_id.set(request_id)  # known even if the answer is lost
        await self.rate_limiter.acquire()
        try:
            response = await self._http.request(
                method,
                path.lstrip("/"),
                params=query or None,
                json=json,
                headers={**(headers or {}), "X-Request-Id": request_id},
            )
        except httpx2.TransportError as exc:
            raise transport_error(exc, f"Late for {where}", request_id) from None
        self.rate_limiter.observe(response.headers)
        await self.rate_limiter.share(response.headers)
        self.server_date = self.scrub.header(response, "Date") or self.server_date
        request_id = (self.scrub.header(response, "X-Request-Id") or request_id)[:200]
        if response.status_code == 404:
            hint, lacking = not_found_meaning(method, path, query)
            if lacking is not None:
                self.lacking_routes.add(lacking)
            raise status_error(response, where, request_id, self.scrub, not_found_hint=hint)
        if response.status_code >= 400:
            raise status_error(response, where, request_id, self.scrub)
        if response.status_code == 204 or not response.content:
            return {}
        try:
            return self.scrub.json_body(response)
        except ValueError:
            kind = self.scrub.header(response, "Content-Type")
            raise MalformedResponseError(
                f"Late answered {where} with something that is not JSON "
                f"({word(kind, 100) if kind else 'no content type'}).",
                status=response.status_code,
                request_id=request_id,
            ) from None

    async def _get_model(
        self, model: type[ModelT], method: str, path: str, key: str | None, **kwargs: Any
    ) -> ModelT:
        body = await self.request(method, path, **kwargs)
        return parse(model, body, key, f"{method} /{path}")

    async def _get_list(self, model: type[ModelT], path: str, key: str, **kwargs: Any) -> list[ModelT]:
        body = await self.request("GET", path, **kwargs)
        items = body.get(key) if isinstance(body, dict) else None
        if not isinstance(items, list):
            raise MalformedResponseError(f"Late's answer to GET /{path} has no '{key}' list.")
        return [parse(model, item, None, f"GET /{path}") for item in items]

    # -- profiles ----------------------------------------------------------------------------

    async def list_profiles(self) -> list[Profile]:
        return await self._get_list(Profile, "v1/profiles", "profiles")

    async def get_profile(self, profile_id: str) -> Profile:
        return await self._get_model(Profile, "GET", f"v1/profiles/{path_segment(profile_id)}", "profile")

    async def create_profile(self, body: dict[str, Any]) -> Profile:
        return await self._get_model(Profile, "POST", "v1/profiles", "profile", json=body)

    async def update_profile(self, profile_id: str, body: dict[str, Any]) -> Profile:
        return await self._get_model(
            Profile, "PUT", f"v1/profiles/{path_segment(profile_id)}", "profile", json=body
        )

    async def delete_profile(self, profile_id: str) -> None:
        await self.request("DELETE", f"v1/profiles/{path_segment(profile_id)}")

    # -- accounts and connecting -------------------------------------------------------------

    # Lists asked for one profile keep only that profile's rows, whatever Late filtered: an
    # answer for one client never shows another's.

    async def list_accounts(self, profile_id: str | None = None) -> list[Account]:
        accounts = await self._get_list(Account, "v1/accounts", "accounts", params={"profileId": profile_id})
        return [a for a in accounts if profile_id is None or a.profile_id == profile_id]

    async def accounts_health(
        self, profile_id: str | None = None, platform: str | None = None
    ) -> HealthReport:
        report = await self._get_model(
            HealthReport,
            "GET",
            "v1/accounts/health",
            None,
            params={"profileId": profile_id, "platform": platform},
        )
        if profile_id is None:
            return report
        kept = [a for a in report.accounts if a.profile_id == profile_id]
        return report.model_copy(update={"accounts": kept})

    async def disconnect_account(self, account_id: str) -> None:
        await self.request("DELETE", f"v1/accounts/{path_segment(account_id)}")

    async def telegram_code(self, profile_id: str) -> TelegramCode:
        return await self._get_model(
            TelegramCode, "GET", "v1/connect/telegram", None, params={"profileId": profile_id}
        )

    async def connect_link(self, platform: str, profile_id: str, redirect_url: str | None) -> ConnectLink:
        return await self._get_model(
            ConnectLink,
            "GET",
            f"v1/connect/{path_segment(platform)}",
            None,
            params={"profileId": profile_id, "redirect_url": redirect_url},
        )

    # -- platform invites --------------------------------------------------------------------

    async def create_invite(self, profile_id: str, platform: str) -> Invite:
        return await self._get_model(
            Invite,
            "POST",
            "v1/platform-invites",
            "invite",
            json={"profileId": profile_id, "platform": platform},
        )

    async def list_invites(self, profile_id: str | None = None) -> list[Invite]:
        invites = await self._get_list(
            Invite, "v1/platform-invites", "invites", params={"profileId": profile_id}
        )
        return [i for i in invites if profile_id is None or i.profile_id == profile_id]

    async def revoke_invite(self, invite_id: str) -> None:
        await self.request("DELETE", "v1/platform-invites", params={"id": invite_id})

    # -- posts -------------------------------------------------------------------------------

    async def create_post(self, body: dict[str, Any], *, idempotency_key: str | None = None) -> Post:
        """Create a post. Every send of one create carries the same ``idempotency_key`` (Late's
        ``Idempotency-Key`` header): where Late honours it, a resend after a lost answer returns
        the post the first send made instead of making a second one."""
        headers = {"Idempotency-Key": idempotency_key} if idempotency_key else None
        return await self._get_model(Post, "POST", "v1/posts", "post", json=body, headers=headers)

    async def validate_post(self, body: dict[str, Any]) -> dict[str, Any]:
        """Late's own content check of a create body (`POST /v1/tools/validate/post`); sends nothing."""
        media = [
            {"url": m["url"], "type": "image" if m["type"] == "gif" else m["type"]}
            for m in body.get("mediaItems", [])
            if m["type"] in {"image", "gif", "video"}
        ]
        wire: dict[str, Any] = {
            "content": body.get("content", ""),
            "platforms": [
                {k: t[k] for k in ("platform", "customContent", "platformSpecificData") if k in t}
                for t in body["platforms"]
            ],
        }
        if media:
            wire["mediaItems"] = media
        answer = await self.request("POST", "v1/tools/validate/post", json=wire, idempotent=True)
        if not isinstance(answer, dict):
            raise MalformedResponseError("Late's answer to POST /v1/tools/validate/post is not an object.")
        return {k: answer[k] for k in ("valid", "message", "errors", "warnings") if k in answer}

    async def list_posts(self, params: Mapping[str, str | int | bool | None]) -> PostPage:
        return await self._get_model(PostPage, "GET", "v1/posts", None, params=params)

    async def get_post(self, post_id: str) -> Post:
        return await self._get_model(Post, "GET", f"v1/posts/{path_segment(post_id)}", "post")

    async def update_post(self, post_id: str, body: dict[str, Any]) -> Post:
        return await self._get_model(Post, "PUT", f"v1/posts/{path_segment(post_id)}", "post", json=body)

    async def delete_post(self, post_id: str) -> None:
        await self.request("DELETE", f"v1/posts/{path_segment(post_id)}")

    async def retry_post(self, post_id: str) -> Post:
        return await self._get_model(Post, "POST", f"v1/posts/{path_segment(post_id)}/retry", "post")

    async def review_post(self, post_id: str, decision: str) -> Post:
        """Approve or reject a post awaiting approval (`POST /v1/posts/{postId}/review`, newer than
        the seed OpenAPI spec): `approve` schedules it (published within minutes when its time has
        passed), `reject` returns it to draft; Late answers 409 when it is not pending_approval.
        Late answers `{message, post}`; without the post it is read back."""
        path = f"v1/posts/{path_segment(post_id)}"
        body = await self.request("POST", f"{path}/review", json={"decision": decision})
        if isinstance(body, dict) and isinstance(body.get("post"), dict):
            return parse(Post, body, "post", f"POST /{path}/review")
        return await self.get_post(post_id)

    # -- media, queue, usage -----------------------------------------------------------------

    async def presign(self, filename: str, content_type: str, size: int | None) -> PresignedUpload:
        body: dict[str, Any] = {"filename": filename, "contentType": content_type}
        if size is not None:
            body["size"] = size
        return await self._get_model(PresignedUpload, "POST", "v1/media/presign", None, json=body)

    async def upload_file(
        self,
        upload_url: str,
        source: Path | BinaryIO,
        content_type: str,
        size: int,
        *,
        name: str | None = None,
        progress: Progress | None = None,
    ) -> None:
        """Stream a file (a path, or an open handle the caller closes) to a presigned URL with a
        PUT; the file is never held in memory whole. `progress` hears the bytes sent so far."""
        name = name or (source.name if isinstance(source, Path) else "the file")
        try:
            response = await self._http.put(
                upload_url,
                content=file_chunks(source, progress),
                headers={"Content-Type": content_type, "Content-Length": str(size)},
                timeout=httpx2.Timeout(self.settings.upload_timeout, connect=self.settings.connect_timeout),
            )
        except httpx2.TransportError as exc:
            raise transport_error(exc, f"the storage service for {quoted(name)}", None) from None
        if response.status_code >= 300:
            raise error_class_for_status(response.status_code)(
                f"The storage service refused the upload of {quoted(name)} (HTTP {response.status_code}).",
                status=response.status_code,
                api_message=api_message(response, self.scrub),
                hint="Request a new upload link (they expire after 1 hour) and try again.",
            )

    @property
    def offers_browser_uploads(self) -> bool:
        """False once Late answered 404 on its upload-token route (media_browser_upload_start)."""
        return "v1/media/upload-token" not in self.lacking_routes

    async def create_upload_token(self) -> UploadToken:
        """A browser upload page for a person (Late's upload-token flow). Retried like a read: an
        extra unused token is harmless and expires by itself."""
        return await self._get_model(UploadToken, "POST", "v1/media/upload-token", None, idempotent=True)

    async def upload_token_status(self, token: str) -> UploadTokenStatus:
        return await self._get_model(
            UploadTokenStatus, "GET", "v1/media/upload-token", None, params={"token": token}
        )

    async def next_queue_slot(self, profile_id: str) -> QueueSlot:
        return await self._get_model(
            QueueSlot, "GET", "v1/queue/next-slot", None, params={"profileId": profile_id}
        )

    async def queue_slots(self, profile_id: str) -> QueueState:
        return await self._get_model(
            QueueState, "GET", "v1/queue/slots", None, params={"profileId": profile_id}
        )

    async def set_queue_slots(
        self, profile_id: str, timezone: str, slots: list[dict[str, Any]]
    ) -> QueueState:
        """Replace the profile's default queue (PUT: sending it twice leaves the same schedule)."""
        body = {"profileId": profile_id, "timezone": timezone, "slots": slots}
        return await self._get_model(QueueState, "PUT", "v1/queue/slots", None, json=body, idempotent=True)

    async def queue_preview(self, profile_id: str, count: int) -> QueuePreview:
        return await self._get_model(
            QueuePreview, "GET", "v1/queue/preview", None, params={"profileId": profile_id, "count": count}
        )

    async def usage_stats(self) -> UsageStats:
        return await self._get_model(UsageStats, "GET", "v1/usage-stats", None)


def _shared_budget(settings: Settings) -> SharedBudget | None:
    if not settings.redis_url:
        return None
    from late_mcp.late.redis_budget import RedisRateBudget

    return RedisRateBudget(settings.redis_url)
