"""Presigned media uploads and plan usage for the sandbox store (mixed into `SandboxState`)."""

from __future__ import annotations

import re
import secrets
from collections.abc import Mapping
from datetime import UTC, datetime
from typing import Any

from late_mcp.sandbox.common import (
    MAX_UPLOAD_BYTES,
    PLAN_LIMITS,
    PRESIGN_TTL,
    PRESIGN_TYPES,
    Clock,
    Json,
    SandboxError,
    bad,
    iso,
)


class MediaMixin:
    """Presigned uploads, stored media and usage; needs SandboxState's attributes."""

    clock: Clock
    profiles: dict[str, Json]
    presigned: dict[str, Json]
    uploads: dict[str, Json]
    uploads_used: int
    signup_date: datetime

    # -- media --------------------------------------------------------------------------------------

    def presign(self, body: Mapping[str, Any], origin: str) -> Json:
        """A presigned upload URL plus the public URL the file will have."""
        filename = body.get("filename")
        if not isinstance(filename, str) or not filename.strip():
            raise bad("filename is required (for example photo.jpg)")
        content_type = body.get("contentType")
        allowed = ", ".join(PRESIGN_TYPES)
        if not isinstance(content_type, str) or not content_type:
            raise bad(f"contentType is required; one of: {allowed}")
        if content_type.lower() not in PRESIGN_TYPES:
            raise bad(f"contentType {content_type!r} is not supported; use one of: {allowed}")
        size = body.get("size")
        if size is not None and (isinstance(size, bool) or not isinstance(size, int) or size < 0):
            raise bad(f"size must be a whole number of bytes (got {size!r})")
        if size is not None and size > MAX_UPLOAD_BYTES:
            raise bad(f"size {size} bytes exceeds the 5 GB limit ({MAX_UPLOAD_BYTES} bytes)")
        safe = re.sub(r"[^A-Za-z0-9._-]", "_", filename.strip())
        key = f"uploads/{secrets.token_hex(8)}/{'upload' if safe in ('.', '..') else safe}"
        expires = int((self.clock() + PRESIGN_TTL).timestamp())
        self.presigned[key] = {"contentType": content_type.lower(), "expires": expires, "filename": filename}
        return {
            "uploadUrl": f"{origin}/sandbox-uploads/{key}?X-Expires={expires}",
            "publicUrl": f"{origin}/sandbox-media/{key}",
            "key": key,
            "type": PRESIGN_TYPES[content_type.lower()],
        }

    def begin_upload(self, key: str, expires: str | None, content_type: str | None) -> None:
        """Check a PUT to a presigned URL before its body is read."""
        grant = self.presigned.get(key)
        if grant is None:
            raise SandboxError(
                404, "No presigned upload exists for this key; call POST /v1/media/presign first"
            )
        if expires != str(grant["expires"]):
            raise SandboxError(403, "Presigned URL was altered: X-Expires does not match the signature")
        if grant["expires"] <= self.clock().timestamp():
            raise SandboxError(403, "Presigned URL has expired; request a new one")
        sent = (content_type or "").split(";")[0].strip().lower()
        if sent and sent != grant["contentType"]:
            raise bad(f"Content-Type {sent} does not match the presigned contentType {grant['contentType']}")

    def record_upload(self, key: str, *, size: int, sha256: str) -> Json:
        """Remember a completed upload under its key."""
        self.uploads[key] = {
            "size": size,
            "sha256": sha256,
            "contentType": self.presigned[key]["contentType"],
        }
        return dict(self.uploads[key])

    def media_info(self, key: str) -> Json:
        if key not in self.uploads:
            raise SandboxError(404, "Media not found")
        return dict(self.uploads[key])

    # -- usage --------------------------------------------------------------------------------------

    def usage_stats(self) -> Json:
        """Plan, limits and what has been used this period."""
        now = self.clock().astimezone(UTC)
        last_reset = now.replace(day=1, hour=0, minute=0, second=0, microsecond=0)
        return {
            "planName": "Sandbox",
            "billingPeriod": "monthly",
            "signupDate": iso(self.signup_date),
            "limits": dict(PLAN_LIMITS),
            "usage": {
                "uploads": self.uploads_used,
                "profiles": len(self.profiles),
                "lastReset": iso(last_reset),
            },
        }
