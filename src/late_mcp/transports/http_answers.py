"""The answers late-mcp's HTTP guard (transports/http_app.py) sends itself, before the SDK sees a
request: 401 (with the OAuth challenge when sign-in is on), 429 for an address guessing tokens,
503 while the token store cannot be asked, and JSON-RPC refusals of malformed messages."""

from __future__ import annotations

import json
from collections.abc import Sequence
from dataclasses import dataclass

import mcp_types as types

from late_mcp.transports.http_limits import retry_after
from late_mcp.transports.http_sessions import Send, send_json


@dataclass(frozen=True)
class Answer:
    """A refusal the guard sends itself."""

    status: int
    body: bytes
    headers: tuple[tuple[bytes, bytes], ...] = ()

    async def __call__(self, send: Send) -> None:
        await send_json(send, self.status, self.body, self.headers)


UNAUTHORIZED = Answer(
    401,
    b'{"error":"unauthorized","message":"Send Authorization: Bearer <token> '
    b'(LATE_MCP_TOKEN or a token from `late-mcp token create`)."}',
    ((b"www-authenticate", b'Bearer realm="late-mcp"'),),
)
STORE_DOWN = Answer(
    503,
    b'{"error":"unavailable","message":"The token store cannot be asked right now, so no request is '
    b'let through; try again shortly."}',
    ((b"retry-after", b"5"),),
)


def unauthorized(resource_metadata: str | None, reason: str | None = None) -> Answer:
    """The 401: with OAuth on, in the form MCP clients start sign-in from (RFC 9728 §5.1)."""
    if resource_metadata is None:
        return UNAUTHORIZED
    message = reason or (
        "Sign in (OAuth; the WWW-Authenticate header names the metadata), or send Authorization: "
        "Bearer <token> (LATE_MCP_TOKEN or a token from `late-mcp token create`)."
    )
    described = message.replace('"', "'")
    challenge = (
        f'Bearer error="invalid_token", error_description="{described}", '
        f'resource_metadata="{resource_metadata}"'
    )
    body = json.dumps({"error": "invalid_token", "message": message}).encode()
    return Answer(401, body, ((b"www-authenticate", challenge.encode()),))


def too_many_failures(seconds: float) -> Answer:
    wait = retry_after(seconds)
    message = (
        f"Too many wrong tokens from this address: no token from it is checked for {wait} s; "
        "try again after Retry-After with the right token."
    )
    body = json.dumps({"error": "too_many_failures", "message": message}).encode()
    return Answer(429, body, ((b"retry-after", wait.encode()),))


def rpc_refusal(status: int, errors: Sequence[types.JSONRPCError]) -> Answer:
    dumped = [e.model_dump(mode="json", by_alias=True, exclude_unset=True) for e in errors]
    body = json.dumps(dumped[0] if len(dumped) == 1 else dumped).encode()
    return Answer(status, body)
