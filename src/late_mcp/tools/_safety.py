"""Write safety around every tool that changes something: idempotency keys and the audit journal.

A write tool gets an optional `idempotency_key` argument: the same key with the same arguments
returns the first outcome without sending anything; the same key with other arguments is
refused. Every write is journaled (time, tool, target ids, argument digest, outcome, request id);
the content itself and the API key never are.
"""

from __future__ import annotations

import inspect
import logging
from collections.abc import Awaitable, Callable
from typing import Annotated, Any

from mcp.server.mcpserver import Context
from mcp_types import CallToolResult, TextContent
from pydantic import Field

from late_mcp.journal import Journal, JournalError, digest
from late_mcp.tools._confirm import changed_nothing

log = logging.getLogger("late_mcp.journal")
IdempotencyKey = Annotated[
    str | None,
    Field(
        description="Repeating a key returns the first result.",
        min_length=8,
        max_length=128,
        pattern=r"^[A-Za-z0-9_.:-]+$",
    ),
]
ID_KEYS = ("id", "profile_id", "account_id", "post_id", "invite_id", "deleted", "revoked", "disconnected")
ToolFn = Callable[..., Awaitable[CallToolResult]]


def with_idempotency_key(fn: ToolFn, run: ToolFn) -> None:
    """Publish `run` with fn's parameters plus a keyword-only `idempotency_key`."""
    sig = inspect.signature(fn, eval_str=True)
    extra = inspect.Parameter(
        "idempotency_key", inspect.Parameter.KEYWORD_ONLY, default=None, annotation=IdempotencyKey
    )
    run.__signature__ = sig.replace(parameters=[*sig.parameters.values(), extra])  # type: ignore[attr-defined]


def target_ids(*sources: Any, depth: int = 0) -> list[str]:
    """Ids a write touched, found in its arguments and its structured result."""
    found: list[str] = []
    for source in sources:
        if isinstance(source, dict) and depth < 4:
            for key, value in source.items():
                if key in ID_KEYS and isinstance(value, str):
                    found.append(value)
                elif isinstance(value, dict | list):
                    found.extend(target_ids(value, depth=depth + 1))
        elif isinstance(source, list) and depth < 4:
            found.extend(target_ids(*source[:50], depth=depth + 1))
    return list(dict.fromkeys(found))


def outcome_of(result: CallToolResult) -> str:
    if not result.is_error:
        return "ok"
    detail = (result.structured_content or {}).get("error", {})
    return "unknown" if detail.get("outcome_unknown") else f"error:{detail.get('kind', 'unknown')}"


def first_line(result: CallToolResult) -> str:
    block = result.content[0] if result.content else None
    return block.text.split("\n", 1)[0] if isinstance(block, TextContent) else ""


async def guarded_write(
    name: str,
    journal: Journal,
    request_id: Callable[[], str | None],
    call: Callable[[], Awaitable[CallToolResult]],
    arguments: dict[str, Any],
    key: str | None,
) -> CallToolResult:
    """Run one write tool call with its idempotency key honoured and its outcome journaled."""
    args_digest = digest({"tool": name, "arguments": arguments})
    if key is not None:
        try:
            record = await journal.idempotency_lookup(key)
        except JournalError as exc:
            return _refused(f"idempotency_key cannot be checked: {exc}")
        if record is not None:
            if record.tool != name or record.args_digest != args_digest:
                return _refused(
                    f"idempotency_key {key!r} was already used on {record.at} for {record.tool} with "
                    "other arguments. Use a new key for a new write."
                )
            replay = CallToolResult.model_validate(record.result)
            text = f"Replayed: this idempotency_key already ran on {record.at}; nothing was sent again."
            return replay.model_copy(
                update={"content": [TextContent(type="text", text=text), *replay.content]}
            )
    result = await call()
    if changed_nothing(result) or (result.structured_content or {}).get("error", {}).get("kind") in {
        "invalid_argument",
        "confirmation",
    }:
        return result  # refused or only previewed before anything was sent: nothing to journal
    try:
        await journal.record(
            tool=name,
            targets=target_ids(arguments, result.structured_content),
            digest=args_digest,
            outcome=outcome_of(result),
            request_id=request_id(),
            summary=first_line(result),
        )
        if key is not None and not result.is_error:
            await journal.idempotency_store(
                key, tool=name, args_digest=args_digest, result=result.model_dump(mode="json", by_alias=True)
            )
    except JournalError as exc:
        log.warning("journal: %s", exc)
    return result


def _refused(message: str) -> CallToolResult:
    return CallToolResult(
        content=[TextContent(type="text", text=message)],
        structured_content={"error": {"kind": "idempotency", "retryable": False}},
        is_error=True,
    )


def call_arguments(kwargs: dict[str, Any]) -> dict[str, Any]:
    """What identifies a call: its arguments without the context, the idempotency key and the
    confirmation token (a confirmed call is the same call as its preview)."""
    return {
        k: v
        for k, v in kwargs.items()
        if not isinstance(v, Context) and k not in {"idempotency_key", "confirm"}
    }
