"""What every tool shares: the app context, annotations by kind, result and error shaping."""

from __future__ import annotations

import functools
import logging
from collections.abc import Awaitable, Callable
from dataclasses import dataclass, field
from typing import Annotated, Any, Literal

from mcp.server.mcpserver import Context
from mcp_types import CallToolResult, TextContent, ToolAnnotations
from pydantic import BaseModel, BeforeValidator, Field, WithJsonSchema

from late_mcp.config.settings import Settings
from late_mcp.core.outside import compact_json, one_line
from late_mcp.core.platforms import Platform, normalize_platform
from late_mcp.late.client import LateClient
from late_mcp.late.errors import LateError
from late_mcp.late.retry import call_deadline, outcome_unknown
from late_mcp.safety.confirm import ConfirmGate, call_arguments_var
from late_mcp.safety.idempotency import (
    call_arguments,
    confirm_key,
    guarded_write,
    journal_unavailable,
    with_idempotency_key,
)
from late_mcp.safety.records import JournalError
from late_mcp.safety.reservations import Gate, InProgress, JournalStore
from late_mcp.safety.signing import ServerSecret

log = logging.getLogger("late_mcp.tools")
ToolFn = Callable[..., Awaitable[CallToolResult]]
ToolKind = Literal["local", "read", "create", "update", "delete"]
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
    """Lives for the server's lifetime: one Late client, one journal and its gate, shared by all calls."""

    client: LateClient
    settings: Settings
    journal: JournalStore
    gate: Gate
    confirm_gate: ConfirmGate = field(default_factory=ConfirmGate)

    @property
    def secret(self) -> ServerSecret:
        """The signing secret (confirm tokens, browser-upload tokens), shared with the journal."""
        return self.confirm_gate.secret


class ToolInputError(Exception):
    """Arguments that make sense to the schema but not to the task; the message says what to change."""


# Annotation sets per kind of tool. Read-only mode and toolsets derive from these, nothing else.
_ANNOTATIONS: dict[ToolKind, ToolAnnotations] = {
    "local": ToolAnnotations(  # answers from the server itself, without asking Late
        read_only_hint=True, destructive_hint=False, idempotent_hint=True, open_world_hint=False
    ),
    "read": ToolAnnotations(
        read_only_hint=True, destructive_hint=False, idempotent_hint=True, open_world_hint=True
    ),
    "create": ToolAnnotations(
        read_only_hint=False, destructive_hint=False, idempotent_hint=False, open_world_hint=True
    ),
    "update": ToolAnnotations(
        read_only_hint=False, destructive_hint=True, idempotent_hint=True, open_world_hint=True
    ),
    "delete": ToolAnnotations(
        read_only_hint=False, destructive_hint=True, idempotent_hint=True, open_world_hint=True
    ),
}


@dataclass(frozen=True)
class ToolDef:
    """A tool as registered: the function (its docstring is the description) and its annotations."""

    fn: ToolFn
    name: str
    title: str
    domain: str
    annotations: ToolAnnotations

    @property
    def read_only(self) -> bool:
        return bool(self.annotations.read_only_hint)


def tool(domain: str, title: str, kind: ToolKind) -> Callable[[ToolFn], ToolDef]:
    """Declare a tool: errors become `isError` results with text a model can act on; writes get
    an idempotency key and a journal entry; every call runs under one retry deadline."""

    def wrap(fn: ToolFn) -> ToolDef:
        name = fn.__name__
        writes = kind not in {"local", "read"}

        async def attempt(kwargs: dict[str, Any], sent: Callable[[], str | None]) -> CallToolResult:
            try:
                return await fn(**kwargs)
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
            context = app(next(v for v in kwargs.values() if isinstance(v, Context)))
            call_arguments_var.set(call_arguments(kwargs))
            with call_deadline(context.settings.call_deadline):
                if not writes:
                    return await attempt(kwargs, lambda: None)
                context.client.last_request_id.set(None)
                return await guarded_write(
                    name,
                    context.journal,
                    context.gate,
                    context.client.last_request_id.get,
                    lambda: attempt(kwargs, context.client.last_request_id.get),
                    call_arguments(kwargs),
                    key,
                )

        if writes:
            with_idempotency_key(fn, run)
        return ToolDef(fn=run, name=name, title=title, domain=domain, annotations=_ANNOTATIONS[kind])

    return wrap


def app(ctx: Context) -> AppContext:
    lifespan_context = ctx.request_context.lifespan_context
    assert isinstance(lifespan_context, AppContext)
    return lifespan_context


def ok(ctx: Context, summary: str, data: BaseModel) -> CallToolResult:
    """A success: one human line, then the compact JSON the next call needs (also as structuredContent).
    Outside strings in `summary` come through outside.quoted; one_line is the backstop."""
    payload = data.model_dump(mode="json", exclude_none=True)
    if app(ctx).settings.sandbox:
        summary = "[sandbox: demo data, nothing is published] " + summary
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
