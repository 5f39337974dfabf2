"""The one async client every tool uses to talk to Late.

One `httpx2.AsyncClient` per server lifetime (connection pooling). httpx2 rather than httpx: the
MCP SDK already depends on and imports httpx2, so the Late client adds no second HTTP stack to
install or import. The API key is attached by an auth hook that only signs requests to the
configured API base URL: a presigned upload URL (another host) never receives the key.
"""

from __future__ import annotations

import email.utils
import logging
import secrets
import time
from collections.abc import AsyncIterator, Generator, Mapping
from pathlib import Path
from typing import Any, TypeVar

import anyio
import httpx2
from pydantic import BaseModel, ValidationError

from late_mcp import __version__
from late_mcp.config import Settings
from late_mcp.late.errors import (
    LateAPIError,
    LateError,
    MalformedResponseError,
    RateLimitedError,
    TransportError,
    error_class_for_status,
)
from late_mcp.late.models import (
    Account,
    ConnectLink,
    HealthReport,
    Invite,
    Post,
    PostPage,
    PresignedUpload,
    Profile,
    QueueSlot,
    UsageStats,
)

log = logging.getLogger(__name__)
ModelT = TypeVar("ModelT", bound=BaseModel)
UPLOAD_CHUNK = 1024 * 1024
# Failures after which the request may have reached Late and been acted on.
_MAYBE_SENT = (
    httpx2.ReadTimeout,
    httpx2.WriteTimeout,
    httpx2.ReadError,
    httpx2.WriteError,
    httpx2.RemoteProtocolError,
)


class _ScopedBearerAuth(httpx2.Auth):
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


def new_request_id() -> str:
    return "lm_" + secrets.token_hex(10)


def _retry_after(response: httpx2.Response) -> float | None:
    raw = response.headers.get("Retry-After")
    if raw:
        try:
            return max(0.0, float(raw))
        except ValueError:
            parsed = email.utils.parsedate_to_datetime(raw) if raw else None
            if parsed is not None:
                return max(0.0, parsed.timestamp() - time.time())
    reset = response.headers.get("X-RateLimit-Reset")
    if reset and reset.isdigit():
        return max(0.0, int(reset) - time.time())
    return None


def _api_message(response: httpx2.Response) -> str | None:
    try:
        body = response.json()
    except ValueError:
        return None
    if isinstance(body, dict):
        for key in ("error", "message", "detail"):
            value = body.get(key)
            if isinstance(value, str) and value:
                return value[:500]
    return None


class LateClient:
    """Typed access to the Late endpoints late-mcp uses. Raises `LateError` subclasses only."""

    def __init__(self, settings: Settings, *, transport: httpx2.AsyncBaseTransport | None = None) -> None:
        self.settings = settings
        self._http = httpx2.AsyncClient(
            base_url=settings.base_url + "/",
            auth=_ScopedBearerAuth(settings.api_key, settings.base_url),
            headers={"User-Agent": f"late-mcp/{__version__}", "Accept": "application/json"},
            timeout=httpx2.Timeout(settings.read_timeout, connect=settings.connect_timeout),
            transport=transport,
            follow_redirects=False,
        )

    async def aclose(self) -> None:
        await self._http.aclose()

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
    ) -> Any:
        """Send one request to `<base>/<path>` and return the parsed JSON body."""
        request_id = new_request_id()
        query = {k: _query_value(v) for k, v in (params or {}).items() if v is not None}
        where = f"{method} /{path.lstrip('/')}"
        try:
            response = await self._http.request(
                method,
                path.lstrip("/"),
                params=query or None,
                json=json,
                headers={"X-Request-Id": request_id},
            )
        except httpx2.TimeoutException as exc:
            raise TransportError(
                f"Late did not answer {where} in time ({type(exc).__name__}).",
                outcome_unknown=isinstance(exc, _MAYBE_SENT),
                request_id=request_id,
            ) from None
        except httpx2.TransportError as exc:
            raise TransportError(
                f"Could not reach Late for {where} ({type(exc).__name__}).",
                outcome_unknown=isinstance(exc, _MAYBE_SENT),
                request_id=request_id,
            ) from None
        request_id = response.headers.get("X-Request-Id", request_id)
        if response.status_code >= 400:
            raise self._status_error(response, where, request_id)
        if response.status_code == 204 or not response.content:
            return {}
        try:
            return response.json()
        except ValueError:
            raise MalformedResponseError(
                f"Late answered {where} with something that is not JSON "
                f"({response.headers.get('Content-Type', 'no content type')}).",
                status=response.status_code,
                request_id=request_id,
            ) from None

    @staticmethod
    def _status_error(response: httpx2.Response, where: str, request_id: str) -> LateAPIError:
        status = response.status_code
        cls = error_class_for_status(status)
        api_message = _api_message(response)
        message = f"Late refused {where}: {api_message or response.reason_phrase or 'error'}."
        if cls is RateLimitedError:
            return RateLimitedError(
                message,
                retry_after=_retry_after(response),
                status=status,
                api_message=api_message,
                request_id=request_id,
            )
        return cls(message, status=status, api_message=api_message, request_id=request_id)

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
        return await self._get_model(Profile, "GET", f"v1/profiles/{_seg(profile_id)}", "profile")

    async def create_profile(self, body: dict[str, Any]) -> Profile:
        return await self._get_model(Profile, "POST", "v1/profiles", "profile", json=body)

    async def update_profile(self, profile_id: str, body: dict[str, Any]) -> Profile:
        return await self._get_model(Profile, "PUT", f"v1/profiles/{_seg(profile_id)}", "profile", json=body)

    async def delete_profile(self, profile_id: str) -> None:
        await self.request("DELETE", f"v1/profiles/{_seg(profile_id)}")

    # -- accounts and connecting -------------------------------------------------------------

    async def list_accounts(self, profile_id: str | None = None) -> list[Account]:
        return await self._get_list(Account, "v1/accounts", "accounts", params={"profileId": profile_id})

    async def accounts_health(
        self, profile_id: str | None = None, platform: str | None = None
    ) -> HealthReport:
        return await self._get_model(
            HealthReport,
            "GET",
            "v1/accounts/health",
            None,
            params={"profileId": profile_id, "platform": platform},
        )

    async def disconnect_account(self, account_id: str) -> None:
        await self.request("DELETE", f"v1/accounts/{_seg(account_id)}")

    async def connect_link(self, platform: str, profile_id: str, redirect_url: str | None) -> ConnectLink:
        return await self._get_model(
            ConnectLink,
            "GET",
            f"v1/connect/{_seg(platform)}",
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
        return await self._get_list(
            Invite, "v1/platform-invites", "invites", params={"profileId": profile_id}
        )

    async def revoke_invite(self, invite_id: str) -> None:
        await self.request("DELETE", "v1/platform-invites", params={"id": invite_id})

    # -- posts -------------------------------------------------------------------------------

    async def create_post(self, body: dict[str, Any]) -> Post:
        return await self._get_model(Post, "POST", "v1/posts", "post", json=body)

    async def list_posts(self, params: Mapping[str, str | int | bool | None]) -> PostPage:
        return await self._get_model(PostPage, "GET", "v1/posts", None, params=params)

    async def get_post(self, post_id: str) -> Post:
        return await self._get_model(Post, "GET", f"v1/posts/{_seg(post_id)}", "post")

    async def update_post(self, post_id: str, body: dict[str, Any]) -> Post:
        return await self._get_model(Post, "PUT", f"v1/posts/{_seg(post_id)}", "post", json=body)

    async def delete_post(self, post_id: str) -> None:
        await self.request("DELETE", f"v1/posts/{_seg(post_id)}")

    async def retry_post(self, post_id: str) -> Post:
        return await self._get_model(Post, "POST", f"v1/posts/{_seg(post_id)}/retry", "post")

    # -- media, queue, usage -----------------------------------------------------------------

    async def presign(self, filename: str, content_type: str, size: int | None) -> PresignedUpload:
        body: dict[str, Any] = {"filename": filename, "contentType": content_type}
        if size is not None:
            body["size"] = size
        return await self._get_model(PresignedUpload, "POST", "v1/media/presign", None, json=body)

    async def upload_file(self, upload_url: str, path: Path, content_type: str, size: int) -> None:
        """Stream `path` to a presigned URL with a PUT; the file is never held in memory whole."""
        try:
            response = await self._http.put(
                upload_url,
                content=_file_chunks(path),
                headers={"Content-Type": content_type, "Content-Length": str(size)},
                timeout=httpx2.Timeout(self.settings.upload_timeout, connect=self.settings.connect_timeout),
            )
        except httpx2.TransportError as exc:
            raise TransportError(
                f"The upload of {path.name} failed ({type(exc).__name__}).",
                outcome_unknown=isinstance(exc, _MAYBE_SENT),
            ) from None
        if response.status_code >= 300:
            raise error_class_for_status(response.status_code)(
                f"The storage service refused the upload of {path.name} (HTTP {response.status_code}).",
                status=response.status_code,
                api_message=_api_message(response),
                hint="Request a new upload link (they expire after 1 hour) and try again.",
            )

    async def next_queue_slot(self, profile_id: str) -> QueueSlot:
        return await self._get_model(
            QueueSlot, "GET", "v1/queue/next-slot", None, params={"profileId": profile_id}
        )

    async def usage_stats(self) -> UsageStats:
        return await self._get_model(UsageStats, "GET", "v1/usage-stats", None)


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


def _seg(value: str) -> str:
    """One URL path segment: ids never contain '/', so a value that does is refused here."""
    if not value or "/" in value or value in {".", ".."} or any(c in value for c in "?#\\"):
        raise LateError(f"{value!r} is not a valid id.", hint="Ids are the 'id' values other tools return.")
    return value


def _query_value(value: str | int | bool) -> str | int:
    return ("true" if value else "false") if isinstance(value, bool) else value


async def _file_chunks(path: Path) -> AsyncIterator[bytes]:
    async with await anyio.open_file(path, "rb") as handle:
        while chunk := await handle.read(UPLOAD_CHUNK):
            yield chunk
