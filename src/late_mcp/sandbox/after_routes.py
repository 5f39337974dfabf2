"""HTTP handlers for queue set-up, analytics, comments and post logs (app.py adds `ROUTES`)."""

from __future__ import annotations

import json
from collections.abc import Awaitable, Callable
from typing import Any

from starlette.requests import Request
from starlette.responses import JSONResponse, Response

from late_mcp.sandbox.common import SandboxError
from late_mcp.sandbox.state import SandboxState

Handler = Callable[[Request, SandboxState], Awaitable[Response]]


async def _body(request: Request) -> dict[str, Any]:
    raw = await request.body()
    try:
        data = json.loads(raw) if raw.strip() else {}
    except (ValueError, UnicodeDecodeError) as exc:
        raise SandboxError(400, "Request body must be valid JSON") from exc
    if not isinstance(data, dict):
        raise SandboxError(400, "Request body must be a JSON object")
    return data


async def queue_get(request: Request, st: SandboxState) -> Response:
    return JSONResponse(st.queue_schedule(request.query_params.get("profileId")))


async def queue_put(request: Request, st: SandboxState) -> Response:
    return JSONResponse(st.replace_queue(await _body(request)))


async def queue_preview(request: Request, st: SandboxState) -> Response:
    q = request.query_params
    return JSONResponse(st.queue_preview(q.get("profileId"), q.get("count")))


async def analytics(request: Request, st: SandboxState) -> Response:
    return JSONResponse(st.analytics(dict(request.query_params)))


async def best_time(request: Request, st: SandboxState) -> Response:
    return JSONResponse(st.best_times(dict(request.query_params)))


async def follower_stats(request: Request, st: SandboxState) -> Response:
    return JSONResponse(st.follower_stats(dict(request.query_params)))


async def commented_posts(request: Request, st: SandboxState) -> Response:
    return JSONResponse(st.commented_posts(dict(request.query_params)))


async def post_comments(request: Request, st: SandboxState) -> Response:
    q = request.query_params
    return JSONResponse(st.post_comments(request.path_params["postId"], q.get("accountId"), q.get("limit")))


async def reply(request: Request, st: SandboxState) -> Response:
    return JSONResponse(st.reply(request.path_params["postId"], await _body(request)))


async def hide(request: Request, st: SandboxState) -> Response:
    p = request.path_params
    return JSONResponse(st.hide(p["postId"], p["commentId"], await _body(request)))


async def post_logs(request: Request, st: SandboxState) -> Response:
    return JSONResponse(st.get_post_logs(request.path_params["postId"], request.query_params.get("limit")))


ROUTES: list[tuple[str, str, Handler]] = [
    ("/api/v1/queue/slots", "GET", queue_get),
    ("/api/v1/queue/slots", "PUT", queue_put),
    ("/api/v1/queue/preview", "GET", queue_preview),
    ("/api/v1/analytics", "GET", analytics),
    ("/api/v1/analytics/best-time", "GET", best_time),
    ("/api/v1/accounts/follower-stats", "GET", follower_stats),
    ("/api/v1/inbox/comments", "GET", commented_posts),
    ("/api/v1/inbox/comments/{postId}", "GET", post_comments),
    ("/api/v1/inbox/comments/{postId}", "POST", reply),
    ("/api/v1/inbox/comments/{postId}/{commentId}/hide", "POST", hide),
    ("/api/v1/posts/{postId}/logs", "GET", post_logs),
]
