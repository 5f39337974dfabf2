"""Protocol 2026-07-28: the sealed `requestState` under keys every replica shares, and
confirmations asked through the multi-round-trip flow.

- Keys: the SDK seals and checks `requestState` (its `RequestStateBoundary`, AES-256-GCM, expiry,
  binding to the tool and its exact arguments). Its key here is derived from the deployment's
  signing secret (late_mcp.safety.signing: Redis `SET NX`, or `<journal>.secret`), never made up
  by one process, so state sealed by one replica opens on any other. The state is bound to the
  caller (`caller_of` the request's principal, as confirm tokens are, plus the SDK's OAuth
  principal when its bearer middleware authenticated the request). A secret that cannot be
  read refuses (the codec has no key, so nothing is sealed or opened); it is read again when the
  next state comes back (`SecretLoader`, in front of the boundary, because the codec cannot wait).
- Confirmations (`ConfirmRounds`): for a client on 2026-07-28 that declares form elicitation, a
  preview (late_mcp.safety.confirm) becomes an `input_required` result that asks the person, its
  state the preview's confirm token. The retry with "accept" and confirm=true runs the call with
  that token as `confirm`: exactly what a confirm by token does, so it runs once (the token's
  run-once key) and on any replica; any other answer changes nothing and says so.
"""

from __future__ import annotations

import logging
from collections.abc import Mapping
from dataclasses import replace
from typing import Any

from mcp.server.context import CallNext, HandlerResult, ServerRequestContext
from mcp.server.elicitation import render_elicitation_schema
from mcp.server.request_state import (
    AESGCMRequestStateCodec,
    InvalidRequestState,
    RequestStateBoundary,
    RequestStateSecurity,
    authenticated_principal,
)
from mcp_types import ElicitRequest, ElicitRequestFormParams, InputRequiredResult
from mcp_types.version import MODERN_PROTOCOL_VERSIONS

from late_mcp.auth.principal import caller_of
from late_mcp.safety.confirm import CONFIRM_TTL_S, Answer, ElicitRound, elicit_round_var
from late_mcp.safety.signing import SecretUnavailable, ServerSecret
from late_mcp.server.access import principal_of

log = logging.getLogger("late_mcp.request_state")
PURPOSE = "request-state"
AUDIENCE = "late-mcp"
CONFIRM_QUESTION = "late-mcp/confirm"  # the key of the question in `inputRequests`
# What the person answered when it was not a ticked yes, in our words (never the client's text).
NOT_A_YES = {"decline": "decline", "cancel": "cancel", "accept": "accepted without ticking confirm"}
STATE_METHODS = frozenset({"tools/call", "prompts/get", "resources/read"})


class SharedSecretCodec:
    """The SDK's AES-GCM codec under the key derived from the shared signing secret; without the
    secret (not read yet, or unreadable) it seals and opens nothing."""

    def __init__(self, secret: ServerSecret) -> None:
        self.secret = secret
        self._codec: tuple[bytes, AESGCMRequestStateCodec] | None = None

    def _current(self) -> AESGCMRequestStateCodec | None:
        key = self.secret.loaded_key(PURPOSE)
        if key is None:
            return None
        if self._codec is None or self._codec[0] != key:
            self._codec = (key, AESGCMRequestStateCodec([key]))
        return self._codec[1]

    def seal(self, payload: bytes) -> str:
        codec = self._current()
        if codec is None:
            raise SecretUnavailable(f"the signing secret ({self.secret.where}) has not been read")
        return codec.seal(payload)

    def unseal(self, token: str) -> bytes:
        codec = self._current()
        if codec is None:
            raise InvalidRequestState("signing secret unavailable")
        return codec.unseal(token)


def bound_caller(ctx: ServerRequestContext[Any, Any]) -> str:
    """The caller a request's state is bound to: the same id confirm tokens are bound to, and,
    when the SDK's own bearer authentication ran, also its (client, issuer, subject), so two
    people of one OAuth application never share a binding."""
    ours = caller_of(principal_of(ctx.request))
    theirs = authenticated_principal(ctx)
    return ours if theirs is None else f"{ours} {theirs}"


def request_state_security(secret: ServerSecret) -> RequestStateSecurity:
    """The SDK's request-state policy for this deployment (see the module docstring)."""
    return RequestStateSecurity(
        codec=SharedSecretCodec(secret), ttl=CONFIRM_TTL_S, bind_principal=bound_caller, audience=AUDIENCE
    )


class SecretLoader:
    """SDK middleware, in front of the request-state boundary: reads the signing secret before a
    call that brings state back, so the (synchronous) codec has its key. (State is only sealed
    after a confirm token was made, which has read the secret already.) A failure is logged; the
    codec then refuses, and the next such call tries again. Other calls never wait for it."""

    def __init__(self, secret: ServerSecret) -> None:
        self.secret = secret

    async def __call__(self, ctx: ServerRequestContext[Any, Any], call_next: CallNext) -> HandlerResult:
        brings_state = ctx.params is not None and ctx.params.get("requestState") is not None
        if brings_state and ctx.method in STATE_METHODS and self.secret.loaded_key(PURPOSE) is None:
            try:
                await self.secret.key(PURPOSE)
            except SecretUnavailable as exc:
                log.error("requestState refused: %s", exc)
        return await call_next(ctx)


def install(middleware: list[Any], secret: ServerSecret) -> None:
    """Put a `SecretLoader` just in front of the SDK's request-state boundary."""
    at = next((n for n, m in enumerate(middleware) if isinstance(m, RequestStateBoundary)), 0)
    middleware.insert(at, SecretLoader(secret))


def asks(ctx: ServerRequestContext[Any, Any]) -> bool:
    """The request is on 2026-07-28 (or later) from a client that declares form elicitation."""
    if ctx.protocol_version not in MODERN_PROTOCOL_VERSIONS:
        return False
    capabilities = ctx.session.client_capabilities
    elicitation = capabilities.elicitation if capabilities is not None else None
    return elicitation is not None and (elicitation.form is not None or elicitation.url is None)


def _answer(responses: object) -> tuple[str, bool]:
    """The person's action and whether they ticked confirm, from the retry's `inputResponses`."""
    found = responses.get(CONFIRM_QUESTION) if isinstance(responses, Mapping) else None
    if not isinstance(found, Mapping) or not isinstance(found.get("action"), str):
        return "no answer", False
    content = found.get("content")
    confirmed = isinstance(content, Mapping) and content.get("confirm") is True
    return str(found["action"]), confirmed


class ConfirmRounds:
    """SDK middleware (inside the access layer, so the caller is known): confirmations through
    the multi-round-trip flow, as the module docstring says."""

    def __init__(self) -> None:
        self.schema = render_elicitation_schema(Answer)

    async def __call__(self, ctx: ServerRequestContext[Any, Any], call_next: CallNext) -> HandlerResult:
        if ctx.method != "tools/call" or not asks(ctx):
            return await call_next(ctx)
        params = dict(ctx.params or {})
        round_ = ElicitRound()
        state = params.get("requestState")  # opened and checked by the SDK's boundary
        if isinstance(state, str):
            action, confirmed = _answer(params.get("inputResponses"))
            if action == "accept" and confirmed:
                arguments = dict(params.get("arguments") or {})
                arguments["confirm"] = state  # the preview's confirm token
                return await call_next(replace(ctx, params={**params, "arguments": arguments}))
            round_.answer = NOT_A_YES.get(action, "no answer")
        reset = elicit_round_var.set(round_)
        try:
            result = await call_next(ctx)
        finally:
            elicit_round_var.reset(reset)
        if round_.question is None or round_.token is None:
            return result
        form = ElicitRequestFormParams(message=round_.question, requested_schema=self.schema)
        ask = ElicitRequest(params=form)
        return InputRequiredResult(input_requests={CONFIRM_QUESTION: ask}, request_state=round_.token)
