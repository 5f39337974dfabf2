"""A Starlette app that serves a `SandboxState` the way Late's REST API does, under /api/v1.

Besides the API it serves the storage host of presigned uploads (`/sandbox-uploads/...`,
`/sandbox-media/...`) and the pages a person would open: the OAuth page behind a connect
authUrl (`/sandbox/oauth/{platform}`) and an invite link (`/api/v1/platform-invites/{token}/connect`).
"""

from __future__ import annotations

import hashlib
import hmac
import json
import logging
import re
import secrets
from collections.abc import Awaitable, Callable, Mapping
from typing import Any
from urllib.parse import urlencode

from starlette.applications import Starlette
from starlette.datastructures import Headers, MutableHeaders
from starlette.exceptions import HTTPException
from starlette.middleware import Middleware
from starlette.requests import Request
from starlette.responses import JSONResponse, RedirectResponse, Response
from starlette.routing import Route
from starlette.types import ASGIApp, Message, Receive, Scope, Send

from late_mcp.sandbox.after_routes import ROUTES
from late_mcp.sandbox.common import SandboxError
from late_mcp.sandbox.state import SandboxState
from late_mcp.sandbox.upload_tokens import (
    create_upload_token,
    upload_page,
    upload_through_page,
    upload_token_status,
)
from late_mcp.sandbox.validate import validate_post as check_post

logger = logging.getLogger(__name__)

Handler = Callable[[Request, SandboxState], Awaitable[Response]]

# Opened by the invited client, who has no API key: the token in the path is the credential.
_OPEN_API_PATHS = re.compile(r"^/api/v1/platform-invites/[^/]+/connect/?$")


def _error(status: int, message: str, headers: Mapping[str, str] | None = None) -> JSONResponse:
    return JSONResponse({"error": message}, status_code=status, headers=headers)


def _origin(request: Request) -> str:
    return f"{request.url.scheme}://{request.url.netloc}"


async def _body(request: Request) -> dict[str, Any]:
    """The request's JSON object body ({} when empty); 400 when it is not a JSON object."""
    raw = await request.body()
    if not raw.strip():
        return {}
    try:
        data = json.loads(raw)
    except (ValueError, UnicodeDecodeError) as exc:
        raise SandboxError(400, "Request body must be valid JSON") from exc
    if not isinstance(data, dict):
        raise SandboxError(400, "Request body must be a JSON object")
    return data


class _FrontDoor:
    """ASGI middleware: request log, API-key check, X-Request-Id and rate-limit headers, last-resort 500."""

    def __init__(self, app: ASGIApp, *, api_key: str | None, state: SandboxState) -> None:
        self.app = app
        self.api_key = api_key
        self.state = state

    def _authorized(self, scope: Scope) -> bool:
        path: str = scope["path"]
        if (
            self.api_key is None
            or not (path == "/api" or path.startswith("/api/"))
            or _OPEN_API_PATHS.match(path)
        ):
            return True
        sent = Headers(scope=scope).get("authorization", "")
        return hmac.compare_digest(sent.encode(), f"Bearer {self.api_key}".encode())

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http":
            await self.app(scope, receive, send)
            return
        request_id = Headers(scope=scope).get("x-request-id", "")[:200] or f"req_{secrets.token_hex(12)}"
        extra = {"X-Request-Id": request_id, "X-RateLimit-Limit": str(self.state.rate_limit)}
        started = False

        async def send_with_headers(message: Message) -> None:
            nonlocal started
            if message["type"] == "http.response.start":
                started = True
                headers = MutableHeaders(scope=message)
                for name, value in extra.items():
                    headers[name] = value
            await send(message)

        try:
            self.state.requests.append((scope["method"], scope["path"]))
            remaining, reset = self.state.take_rate_token()
            extra.update({"X-RateLimit-Remaining": str(max(remaining, 0)), "X-RateLimit-Reset": str(reset)})
            if not self._authorized(scope):
                await _error(401, "Invalid or missing API key")(scope, receive, send_with_headers)
                return
            if remaining < 0 and scope["path"].startswith("/api/"):
                wait = max(1, reset - int(self.state.clock().timestamp()))
                extra["Retry-After"] = str(wait)
                await _error(429, "Rate limit exceeded")(scope, receive, send_with_headers)
                return
            await self.app(scope, receive, send_with_headers)
        except Exception:
            logger.exception("sandbox: unhandled error for %s %s", scope["method"], scope["path"])
            if not started:
                await _error(500, "Sandbox internal error")(scope, receive, send_with_headers)


def _endpoint(handler: Handler) -> Callable[[Request], Awaitable[Response]]:
    """Wrap a handler: hand it the state, turn SandboxError into its JSON error, anything else into 500."""

    async def endpoint(request: Request) -> Response:
        try:
            return await handler(request, request.app.state.late)
        except SandboxError as exc:
            return _error(exc.status, exc.message)
        except Exception:
            logger.exception("sandbox: handler failed for %s %s", request.method, request.url.path)
            return _error(500, "Sandbox internal error")

    return endpoint


async def _http_error(request: Request, exc: Exception) -> Response:
    """Unknown routes and wrong methods answer JSON like the rest of the API."""
    status = exc.status_code if isinstance(exc, HTTPException) else 500
    if status == 404:
        return _error(404, f"Not found: no sandbox route for {request.method} {request.url.path}")
    if status == 405:
        headers = exc.headers if isinstance(exc, HTTPException) else None
        return _error(405, f"Method {request.method} is not allowed on {request.url.path}", headers)
    detail = exc.detail if isinstance(exc, HTTPException) else "Sandbox internal error"
    return _error(status, detail)


# -- profiles, accounts, connect, invites -------------------------------------------------------------


async def list_profiles(request: Request, st: SandboxState) -> Response:
    return JSONResponse({"profiles": st.list_profiles()})


async def create_profile(request: Request, st: SandboxState) -> Response:
    profile = st.create_profile(await _body(request))
    return JSONResponse({"message": "Profile created", "profile": profile}, status_code=201)


async def get_profile(request: Request, st: SandboxState) -> Response:
    return JSONResponse({"profile": st.get_profile(request.path_params["profileId"])})


async def update_profile(request: Request, st: SandboxState) -> Response:
    profile = st.update_profile(request.path_params["profileId"], await _body(request))
    return JSONResponse({"message": "Profile updated", "profile": profile})


async def delete_profile(request: Request, st: SandboxState) -> Response:
    st.delete_profile(request.path_params["profileId"])
    return JSONResponse({"message": "Profile deleted"})


def _profile_filter(request: Request, st: SandboxState) -> str | None:
    """The profileId a list was asked for, or None when the sandbox plays a Late that ignores it."""
    return None if st.ignores_profile_filter else request.query_params.get("profileId") or None


async def list_accounts(request: Request, st: SandboxState) -> Response:
    accounts = st.list_accounts(_profile_filter(request, st))
    return JSONResponse({"accounts": accounts, "hasAnalyticsAccess": False})


async def delete_account(request: Request, st: SandboxState) -> Response:
    st.delete_account(request.path_params["accountId"])
    return JSONResponse({"message": "Account disconnected"})


async def account_health(request: Request, st: SandboxState) -> Response:
    q = request.query_params
    return JSONResponse(st.account_health(_profile_filter(request, st), q.get("platform"), q.get("status")))


async def start_connect(request: Request, st: SandboxState) -> Response:
    q = request.query_params
    platform = request.path_params["platform"]
    return JSONResponse(
        st.start_connect(platform, q.get("profileId"), q.get("redirect_url"), _origin(request))
    )


async def oauth_page(request: Request, st: SandboxState) -> Response:
    """The simulated provider page behind an authUrl: connects the account, then redirects if asked."""
    result = st.complete_connect(request.query_params.get("state", ""))
    account = result["account"]
    if result["redirectUrl"]:
        params = {
            "connected": account["platform"],
            "profileId": account["profileId"]["_id"],
            "accountId": account["_id"],
            "username": account["username"],
        }
        separator = "&" if "?" in result["redirectUrl"] else "?"
        return RedirectResponse(result["redirectUrl"] + separator + urlencode(params), status_code=302)
    return JSONResponse({"message": result["message"], "account": account})


async def create_invite(request: Request, st: SandboxState) -> Response:
    return JSONResponse({"invite": st.create_invite(await _body(request), _origin(request))})


async def list_invites(request: Request, st: SandboxState) -> Response:
    return JSONResponse({"invites": st.list_invites(_profile_filter(request, st))})


async def delete_invite(request: Request, st: SandboxState) -> Response:
    st.delete_invite(request.query_params.get("id"))
    return JSONResponse({"message": "Invite revoked"})


async def accept_invite(request: Request, st: SandboxState) -> Response:
    return JSONResponse(st.accept_invite(request.path_params["token"]))


# -- posts, queue, usage ---------------------------------------------------------------------------


async def list_posts(request: Request, st: SandboxState) -> Response:
    q = request.query_params
    return JSONResponse(
        st.list_posts(
            page=q.get("page"),
            limit=q.get("limit"),
            status=None if st.ignores_status_filter else q.get("status"),
            platform=q.get("platform"),
            profile_id=_profile_filter(request, st),
            date_from=None if st.ignores_date_filter else q.get("dateFrom"),
            date_to=None if st.ignores_date_filter else q.get("dateTo"),
        )
    )


async def create_post(request: Request, st: SandboxState) -> Response:
    post, replayed = st.create_post_keyed(await _body(request), request.headers.get("Idempotency-Key"))
    headers = {"Idempotent-Replayed": "true"} if replayed else None
    return JSONResponse({"message": "Post created", "post": post}, status_code=201, headers=headers)


async def get_post(request: Request, st: SandboxState) -> Response:
    return JSONResponse({"post": st.get_post(request.path_params["postId"])})


async def update_post(request: Request, st: SandboxState) -> Response:
    post = st.update_post(request.path_params["postId"], await _body(request))
    return JSONResponse({"message": "Post updated", "post": post})


async def delete_post(request: Request, st: SandboxState) -> Response:
    st.delete_post(request.path_params["postId"])
    return JSONResponse({"message": "Post deleted"})


async def retry_post(request: Request, st: SandboxState) -> Response:
    post = st.retry_post(request.path_params["postId"])
    return JSONResponse({"message": "Post retried and published", "post": post})


async def review_post(request: Request, st: SandboxState) -> Response:
    post = st.review_post(request.path_params["postId"], await _body(request))
    message = "Post approved" if post["status"] != "draft" else "Post rejected"
    return JSONResponse({"message": message, "post": post})


async def validate_post(request: Request, st: SandboxState) -> Response:
    return JSONResponse(check_post(await _body(request)))


async def next_slot(request: Request, st: SandboxState) -> Response:
    q = request.query_params
    return JSONResponse(st.next_slot(q.get("profileId"), q.get("queueId")))


async def usage_stats(request: Request, st: SandboxState) -> Response:
    return JSONResponse(st.usage_stats())


# -- media: presign, and the storage host -----------------------------------------------------------


async def presign(request: Request, st: SandboxState) -> Response:
    return JSONResponse(st.presign(await _body(request), _origin(request)))


async def upload(request: Request, st: SandboxState) -> Response:
    """PUT to a presigned URL: no credentials allowed; the body is hashed as it streams in."""
    if "authorization" in request.headers:
        raise SandboxError(400, "Presigned uploads must not carry credentials")
    key = request.path_params["key"]
    st.begin_upload(key, request.query_params.get("X-Expires"), request.headers.get("content-type"))
    length = request.headers.get("content-length")
    if length is None:
        raise SandboxError(411, "Content-Length header is required for presigned uploads")
    if not length.isdigit():
        raise SandboxError(400, f"Content-Length must be a whole number of bytes (got {length!r})")
    digest, received = hashlib.sha256(), 0
    async for chunk in request.stream():
        digest.update(chunk)
        received += len(chunk)
    if received != int(length):
        raise SandboxError(400, f"Content-Length says {length} bytes but {received} bytes were received")
    st.record_upload(key, size=received, sha256=digest.hexdigest())
    return Response(status_code=200, headers=_STORAGE_CORS)


# Like a storage bucket that lets browsers upload (the upload picker app PUTs from its frame):
# any origin may PUT with a Content-Type; nothing else, and no credentials.
_STORAGE_CORS = {"Access-Control-Allow-Origin": "*"}


async def upload_preflight(request: Request, st: SandboxState) -> Response:
    """The browser's CORS preflight of a presigned PUT."""
    return Response(
        status_code=204,
        headers={
            **_STORAGE_CORS,
            "Access-Control-Allow-Methods": "PUT",
            "Access-Control-Allow-Headers": "Content-Type",
            "Access-Control-Max-Age": "600",
        },
    )


async def media(request: Request, st: SandboxState) -> Response:
    return JSONResponse(st.media_info(request.path_params["key"]))


def _routes() -> list[Route]:
    table: list[tuple[str, str, Handler]] = [
        ("/api/v1/profiles", "GET", list_profiles),
        ("/api/v1/profiles", "POST", create_profile),
        ("/api/v1/profiles/{profileId}", "GET", get_profile),
        ("/api/v1/profiles/{profileId}", "PUT", update_profile),
        ("/api/v1/profiles/{profileId}", "DELETE", delete_profile),
        ("/api/v1/accounts", "GET", list_accounts),
        ("/api/v1/accounts/health", "GET", account_health),
        ("/api/v1/accounts/{accountId}", "DELETE", delete_account),
        ("/api/v1/connect/{platform}", "GET", start_connect),
        ("/api/v1/platform-invites", "GET", list_invites),
        ("/api/v1/platform-invites", "POST", create_invite),
        ("/api/v1/platform-invites", "DELETE", delete_invite),
        ("/api/v1/platform-invites/{token}/connect", "GET", accept_invite),
        ("/api/v1/posts", "GET", list_posts),
        ("/api/v1/posts", "POST", create_post),
        ("/api/v1/posts/{postId}", "GET", get_post),
        ("/api/v1/posts/{postId}", "PUT", update_post),
        ("/api/v1/posts/{postId}", "DELETE", delete_post),
        ("/api/v1/posts/{postId}/retry", "POST", retry_post),
        ("/api/v1/posts/{postId}/review", "POST", review_post),
        ("/api/v1/tools/validate/post", "POST", validate_post),
        ("/api/v1/media/presign", "POST", presign),
        ("/api/v1/media/upload-token", "POST", create_upload_token),
        ("/api/v1/media/upload-token", "GET", upload_token_status),
        ("/api/v1/queue/next-slot", "GET", next_slot),
        ("/api/v1/usage-stats", "GET", usage_stats),
        *ROUTES,
        ("/sandbox/oauth/{platform}", "GET", oauth_page),
        ("/sandbox-uploads/{key:path}", "PUT", upload),
        ("/sandbox-uploads/{key:path}", "OPTIONS", upload_preflight),
        ("/sandbox/upload/{token}", "GET", upload_page),
        ("/sandbox/upload/{token}", "POST", upload_through_page),
        ("/sandbox-media/{key:path}", "GET", media),
    ]
    paths: dict[str, list[tuple[str, Handler]]] = {}
    for path, method, handler in table:
        paths.setdefault(path, []).append((method, handler))
    return [_route(path, handlers) for path, handlers in paths.items()]


def _route(path: str, handlers: list[tuple[str, Handler]]) -> Route:
    """One route per path, dispatching on the method (so a wrong method answers 405, not 404)."""
    by_method = {method: _endpoint(handler) for method, handler in handlers}

    async def dispatch(request: Request) -> Response:
        endpoint = by_method.get(request.method) or by_method["GET"]  # HEAD is served as GET
        return await endpoint(request)

    return Route(path, dispatch, methods=list(by_method))


def create_sandbox_app(api_key: str | None = None, *, state: SandboxState | None = None) -> Starlette:
    """The sandbox as an ASGI app; `app.state.late` is its `SandboxState`.

    With `api_key`, every /api request must send `Authorization: Bearer <api_key>`; without, any
    request is accepted.
    """
    late = state if state is not None else SandboxState()
    app = Starlette(
        routes=_routes(),
        middleware=[Middleware(_FrontDoor, api_key=api_key, state=late)],
        exception_handlers={HTTPException: _http_error},
    )
    app.state.late = late
    return app
