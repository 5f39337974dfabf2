"""Browser uploads in the sandbox: an upload token, the page a person opens, and the token's status.

Late's flow for people whose files are not on the server's machine: `POST /v1/media/upload-token`
gives a token and an `uploadUrl` the person opens in a browser to upload files; `GET
/v1/media/upload-token?token=...` then says pending, completed (with each file's public URL, name,
type and size) or expired. In the sandbox the page at `uploadUrl` explains itself on GET, and a
POST to it with `{"files": [{"filename", "mimeType", "size"}]}` stands in for the person
uploading (tests call `complete_browser_upload` directly).
"""

from __future__ import annotations

import json
import re
import secrets
from datetime import datetime, timedelta
from typing import Any

from starlette.requests import Request
from starlette.responses import HTMLResponse, JSONResponse, Response

from late_mcp.sandbox.common import Clock, Json, SandboxError, bad, iso

UPLOAD_TOKEN_TTL = timedelta(hours=1)
_KINDS = {"image": "image", "video": "video", "application": "document"}


class UploadTokensMixin:
    """Upload tokens and the uploads made through them; needs SandboxState's `clock`."""

    clock: Clock
    upload_tokens: dict[str, Json]

    def create_upload_token(self, origin: str) -> Json:
        now = self.clock()
        token = secrets.token_urlsafe(18)
        self.upload_tokens[token] = {
            "token": token,
            "status": "pending",
            "files": [],
            "createdAt": iso(now),
            "expiresAt": iso(now + UPLOAD_TOKEN_TTL),
            "__expires": now + UPLOAD_TOKEN_TTL,
        }
        return {
            "token": token,
            "uploadUrl": f"{origin}/sandbox/upload/{token}",
            "expiresAt": iso(now + UPLOAD_TOKEN_TTL),
            "status": "pending",
        }

    def _upload_token(self, token: str | None) -> Json:
        if not token:
            raise bad("token is required (from POST /v1/media/upload-token)")
        entry = self.upload_tokens.get(token)
        if entry is None:
            raise SandboxError(404, "Upload token not found")
        expires: datetime = entry["__expires"]
        if entry["status"] == "pending" and self.clock() >= expires:
            entry["status"] = "expired"
        return entry

    def upload_token_status(self, token: str | None) -> Json:
        entry = self._upload_token(token)
        return {k: v for k, v in entry.items() if not k.startswith("__")}

    def complete_browser_upload(self, token: str, files: list[Json], origin: str) -> Json:
        """What the person does on the upload page: the files are stored and the token completes."""
        entry = self._upload_token(token)
        if entry["status"] != "pending":
            raise SandboxError(
                410 if entry["status"] == "expired" else 409, f"Upload token is {entry['status']}"
            )
        if not files:
            raise bad("files must list at least one file")
        stored = []
        for item in files:
            name, mime, size = item.get("filename"), item.get("mimeType"), item.get("size")
            if not isinstance(name, str) or not isinstance(mime, str) or not isinstance(size, int):
                raise bad("each file needs filename, mimeType and size")
            safe = re.sub(r"[^A-Za-z0-9._-]", "_", name) or "file"
            stored.append(
                {
                    "type": _KINDS.get(mime.split("/")[0], "document"),
                    "url": f"{origin}/sandbox-media/browser/{secrets.token_hex(6)}/{safe}",
                    "filename": name,
                    "size": size,
                    "mimeType": mime,
                }
            )
        entry.update(files=stored, status="completed", completedAt=iso(self.clock()))
        return self.upload_token_status(token)

    def expire_browser_upload(self, token: str) -> None:
        """Let a token run out now (tests: the expired state without waiting an hour)."""
        self._upload_token(token)["__expires"] = self.clock()


# -- HTTP handlers (routed in app.py) ----------------------------------------------------------------


def _origin(request: Request) -> str:
    return f"{request.url.scheme}://{request.url.netloc}"


async def create_upload_token(request: Request, st: Any) -> Response:
    return JSONResponse(st.create_upload_token(_origin(request)))


async def upload_token_status(request: Request, st: Any) -> Response:
    return JSONResponse(st.upload_token_status(request.query_params.get("token")))


async def upload_page(request: Request, st: Any) -> Response:
    token = request.path_params["token"]
    status = st.upload_token_status(token)["status"]
    return HTMLResponse(
        "<!doctype html><title>Late sandbox upload</title><h1>Sandbox upload page</h1>"
        f"<p>This token is {status}. Late shows a drag-and-drop upload form here; in the sandbox, "
        'POST {"files": [{"filename", "mimeType", "size"}]} to this address to simulate it.</p>'
    )


async def upload_through_page(request: Request, st: Any) -> Response:
    try:
        body = json.loads(await request.body() or b"{}")
    except ValueError:
        raise bad("body must be JSON") from None
    files = body.get("files") if isinstance(body, dict) else None
    if not isinstance(files, list) or not all(isinstance(f, dict) for f in files):
        raise bad('body must be {"files": [{"filename", "mimeType", "size"}, ...]}')
    return JSONResponse(st.complete_browser_upload(request.path_params["token"], files, _origin(request)))
