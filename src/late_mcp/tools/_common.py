"""What every tool shares: the app context, annotations by kind, result and error shaping."""

from __future__ import annotations

import dataclasses
import functools
import logging
from collections.abc import Callable, Mapping
from dataclasses import dataclass, field
from typing import Annotated, Any

from mcp.server.mcpserver import Context
from mcp_types import CallToolResult, TextContent
from pydantic import BaseModel, BeforeValidator, Field, WithJsonSchema

from late_mcp.apps import AppName
from late_mcp.config.settings import Settings
from late_mcp.core.outside import compact_json, one_line
from late_mcp.core.platforms import Platform, normalize_platform
from late_mcp.core.toolsets import Domain
from late_mcp.late.client import LateClient
from late_mcp.late.errors import LateError
from late_mcp.late.retry import call_deadline, outcome_unknown
from late_mcp.safety.confirm import ConfirmTokens, call_arguments_var
from late_mcp.safety.idempotency import (
    call_arguments,
    confirm_key,
    guarded_write,
    journal_unavailable,
)
from late_mcp.safety.records import JournalError
from late_mcp.safety.reservations import InProgress, JournalStore, ReservationDesk
from late_mcp.safety.signing import ServerSecret
from late_mcp.tools.declaration import Reach, Thing, ToolDef, ToolFn, ToolKind, parameters_of, published_names

log = logging.getLogger("late_mcp.tools")
UNKNOWN_OUTCOME_HINT = (
    "The change may have been applied even though no answer arrived. Check with a list or get tool "
    "(e.g. posts_list, journal_recent) before trying again; do not repeat it blindly."
)

# Ids as Late hands them out (24 hex characters today); the pattern keeps paths and queries clean.
ID_PATTERN = r"^[A-Za-z0-9_-]{1,64}$"
ProfileId = Annotated[str, Field(description="From profiles_list.", pattern=ID_PATTERN)]


def platform_name(value: object) -> object:
    """Late's name for a platform named in any case or by an alias ("X" is twitter), before the
    enum check; anything else is left as it is for the check to refuse with the list."""
    return (normalize_platform(value) or value) if isinstance(value, str) else value


# A platform argument: the closed enum of Late's 13 names, accepting any case and the aliases.
PlatformName = Annotated[Platform, BeforeValidator(platform_name)]
# A platform filter: checked against the 13 platforms, published as a plain string (a filter does
# not need the enum's 150 bytes on every tool that takes one; a wrong name gets the list back).
PlatformFilter = Annotated[
    Platform | None,
    BeforeValidator(platform_name),
    WithJsonSchema({"type": "string", "description": "Only this platform."}),
]
OptionalProfileId = Annotated[str | None, Field(description="Only this profile.", pattern=ID_PATTERN)]


@dataclass(frozen=True)
class AppContext:
    """Lives for the server's lifetime: one Late client, one journal and its reservations."""

    client: LateClient
    settings: Settings
    journal: JournalStore
    reservations: ReservationDesk
    confirm_tokens: ConfirmTokens = field(default_factory=ConfirmTokens)

    @property
    def secret(self) -> ServerSecret:
        """The signing secret (confirm tokens, browser-upload tokens), shared with the journal."""
        return self.confirm_tokens.secret


class ToolInputError(Exception):
    """Arguments that make sense to the schema but not to the task; the message says what to change."""


def tool(
    domain: Domain,
    kind: ToolKind,
    *,
    touches: Mapping[Thing, str] | None = None,
    reach: Reach = Reach.PROFILES,
    app: AppName | None = None,
) -> Callable[[ToolFn], ToolDef]:
    """Declare a tool, once (tools/declaration.py says what each fact drives). Errors become
    `isError` results with text a model can act on; a write declares `idempotency_key:
    IdempotencyKey = None` (consumed here) and gets a journal entry; every call runs under one
    retry deadline. `app` names the MCP App (late_mcp.apps) hosts that render apps show its
    answers in."""

    def wrap(fn: ToolFn) -> ToolDef:
        name = fn.__name__
        spec = ToolDef(
            fn=fn, name=name, domain=domain, kind=kind, touches=dict(touches or {}), reach=reach, app=app
        )
        spec.check(parameters_of(fn))
        writes = not spec.read_only
        python_names = published_names(fn)

        async def attempt(kwargs: dict[str, Any], sent: Callable[[], str | None]) -> CallToolResult:
            try:
                return await fn(**{python_names.get(k, k): v for k, v in kwargs.items()})
            except ToolInputError as exc:
                return error_result(str(exc), kind="invalid_argument")
            except InProgress as exc:  # an identical call holds the reservation: nothing was sent
                return error_result(str(exc), kind="in_progress", retryable=True)
            except JournalError as exc:  # raised by tools only before anything is sent
                return journal_unavailable(exc)
            except LateError as exc:
                log.info("%s failed: %s (status %s, request %s)", name, exc.kind, exc.status, exc.request_id)
                # A read that failed before the call sent anything else changed nothing.
                unknown = writes and outcome_unknown(exc) and sent() is not None
                shown = exc.with_context(hint=UNKNOWN_OUTCOME_HINT) if unknown else exc
                return error_result(
                    shown.describe(),
                    kind=exc.kind,
                    status=exc.status,
                    request_id=exc.request_id,
                    retryable=exc.retryable and not unknown,
                    outcome_unknown=unknown,
                )
            except Exception as exc:  # a bug of ours must not look like a protocol failure
                log.exception("%s crashed", name)
                return error_result(
                    f"late-mcp hit an internal error ({type(exc).__name__}) in {name}. "
                    + (UNKNOWN_OUTCOME_HINT if writes else "Try again; if it repeats, report it."),
                    kind="internal",
                    outcome_unknown=writes,
                )

        @functools.wraps(fn)
        async def run(**kwargs: Any) -> CallToolResult:
            key = kwargs.pop("idempotency_key", None)
            if key is None and kwargs.get("confirm"):
                # A confirmed call runs once: repeats of it (a retry, a double submit) wait for the
                # first and get its result, exactly as with an idempotency key.
                key = confirm_key(kwargs["confirm"])
            context = app_context(next(v for v in kwargs.values() if isinstance(v, Context)))
            call_arguments_var.set(call_arguments(kwargs))
            with call_deadline(context.settings.call_deadline):
                if not writes:
                    return await attempt(kwargs, lambda: None)
                context.client.last_request_id.set(None)
                return await guarded_write(
                    name,
                    context.journal,
                    context.reservations,
                    context.client.last_request_id.get,
                    lambda: attempt(kwargs, context.client.last_request_id.get),
                    call_arguments(kwargs),
                    key,
                )

        return dataclasses.replace(spec, fn=run)

    return wrap


def app_context(ctx: Context) -> AppContext:
    """The server's AppContext (`app`: the name tools use; `tool` takes an `app=` of its own)."""
    lifespan_context = ctx.request_context.lifespan_context
    assert isinstance(lifespan_context, AppContext)
    return lifespan_context


app = app_context


def ok(ctx: Context, summary: str, data: BaseModel) -> CallToolResult:
    """A success: one human line, then the compact JSON the next call needs (also as structuredContent).
    Outside strings in `summary` come through outside.quoted; one_line is the backstop. (In sandbox
    mode the server puts config.settings.SANDBOX_MARK before every answer: server/build.py.)"""
    payload = data.model_dump(mode="json", exclude_none=True)
    return CallToolResult(
        content=[TextContent(type="text", text=f"{one_line(summary)}\n{compact_json(payload)}")],
        structured_content=payload,
    )


def error_result(
    message: str,
    *,
    kind: str,
    status: int | None = None,
    request_id: str | None = None,
    retryable: bool = False,
    outcome_unknown: bool = False,
) -> CallToolResult:
    detail: dict[str, Any] = {"kind": kind, "retryable": retryable}
    if outcome_unknown:
        detail["outcome_unknown"] = True
    if status is not None:
        detail["status"] = status
    if request_id is not None:
        detail["request_id"] = request_id
    return CallToolResult(
        content=[TextContent(type="text", text=one_line(message))],
        structured_content={"error": detail},
        is_error=True,
    )


def plural(count: int, word: str) -> str:
    return f"{count} {word}{'' if count == 1 else 's'}"
