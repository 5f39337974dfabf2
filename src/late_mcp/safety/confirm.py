"""Preview, then confirm, for what cannot be undone (publishing now, deleting, disconnecting).

Without `confirm`, such a call changes nothing: it answers with a preview and a `confirm_token`
bound (HMAC) to the caller, the tool and its exact arguments for 10 minutes; the same call by the
same caller with `confirm=<token>` carries it out, on any replica and in any `late-mcp call`
process that shares the journal (the key comes from `late_mcp.safety.signing`). Without a readable
signing secret, confirmations are refused, never made with a secret of this process alone. Where
the client supports elicitation the person is asked directly instead: on protocol 2025-11-25 and
before with an elicitation request in the middle of the call; on 2026-07-28 with the
multi-round-trip flow (late_mcp.server.request_state turns the preview into an `input_required`
result whose sealed state is the confirm token, so the answer may reach any replica).
LATE_CONFIRM=off turns this off for unattended use. A preview names its `tool`, so the preview app
(apps/preview.html) can make the same call with the token when the person presses Approve.
"""

from __future__ import annotations

import hashlib
import hmac
import logging
import time
from collections.abc import Callable
from contextvars import ContextVar
from dataclasses import dataclass
from typing import Annotated, Any

from mcp.server.mcpserver import Context
from mcp_types import CallToolResult, ClientCapabilities, ElicitationCapability, TextContent
from pydantic import BaseModel, Field

from late_mcp.auth.principal import caller_id
from late_mcp.core.outside import compact_json, one_line, quoted, word
from late_mcp.safety.records import digest
from late_mcp.safety.signing import MemorySecret, SecretUnavailable, ServerSecret

log = logging.getLogger("late_mcp.confirm")
CONFIRM_TTL_S = 600
PREVIEW = "preview"
DECLINED = "declined"
# Not described per tool (about 60 bytes of tools/list each): every tool taking it says "Previews,
# returns confirm_token", and the preview itself says to pass it once the person agrees.
Confirm = Annotated[str | None, Field(max_length=80)]
# The arguments of the running tool call, as the idempotency digest sees them (set by `tool`).
call_arguments_var: ContextVar[dict[str, Any] | None] = ContextVar("late_call_arguments", default=None)


class Answer(BaseModel):
    confirm: bool = Field(description="Yes, do it.")


@dataclass
class ElicitRound:
    """One tools/call on 2026-07-28 by a client that can be asked (set by the server's middleware).

    `answer`: on the retry, what the person answered when it was not a ticked yes, in the
    server's words ("decline", "cancel", "no answer", ...); then nothing is done. Filled by
    `confirm_step` when it made a preview: `question`, the text to ask, and `token`, the confirm
    token the answer will carry back."""

    answer: str | None = None
    question: str | None = None
    token: str | None = None


elicit_round_var: ContextVar[ElicitRound | None] = ContextVar("late_elicit_round", default=None)


class ConfirmTokens:
    """Makes and checks confirm tokens: an HMAC over the caller, the tool, its arguments and the
    expiry, under a key from the signing secret every replica and `late-mcp call` share."""

    def __init__(self, secret: ServerSecret | None = None, clock: Callable[[], float] = time.time) -> None:
        self.secret: ServerSecret = secret or MemorySecret()
        self._clock = clock

    async def _mac(self, caller: str, tool: str, arguments: dict[str, Any], expires: int) -> str:
        key = await self.secret.key("confirm")
        call = digest({"caller": caller, "tool": tool, "arguments": arguments})
        return hmac.new(key, f"{expires}:{call}".encode(), hashlib.sha256).hexdigest()[:40]

    async def token(self, caller: str, tool: str, arguments: dict[str, Any]) -> str:
        """A token for exactly this call by this caller; raises SecretUnavailable."""
        expires = int(self._clock()) + CONFIRM_TTL_S
        return f"c{expires}.{await self._mac(caller, tool, arguments, expires)}"

    async def problem(self, caller: str, tool: str, arguments: dict[str, Any], token: str) -> str | None:
        """None when `token` confirms exactly this call by this caller; else why not. Raises
        SecretUnavailable."""
        stamp, _, mac = token.partition(".")
        if not stamp.startswith("c") or not stamp[1:].isdigit() or not mac:
            return "it is not a confirm_token this server made"
        expires = int(stamp[1:])
        expected = (await self._mac(caller, tool, arguments, expires)).encode()
        if not hmac.compare_digest(mac.encode("utf-8", "surrogatepass"), expected):
            why = (
                "it was made for other arguments or for another caller; the arguments must be exactly "
                "those of the preview"
            )
            if not self.secret.shared:
                why += (
                    " (or by a server that has restarted since: with the journal in memory the confirm "
                    "secret lasts as long as the process; set LATE_JOURNAL_PATH to keep it)"
                )
            return why
        if expires < self._clock():
            return "it expired (tokens last 10 minutes)"
        return None


def _supports_elicitation(ctx: Context) -> bool:
    try:
        session = ctx.request_context.session
        return bool(session.check_client_capability(ClientCapabilities(elicitation=ElicitationCapability())))
    except Exception:  # no session (in-process call) or an older SDK shape: fall back to tokens
        return False


def _result(text: str, data: dict[str, Any], *, error: bool = False) -> CallToolResult:
    payload = dict(data)
    if error:
        payload["error"] = {"kind": "confirmation", "retryable": False}
    return CallToolResult(
        content=[TextContent(type="text", text=f"{one_line(text)}\n{compact_json(payload)}")],
        structured_content=payload,
        is_error=error,
    )


def changed_nothing(result: CallToolResult) -> bool:
    """A preview or a declined confirmation: nothing was sent, nothing to journal or replay."""
    return (result.structured_content or {}).get("status") in {PREVIEW, DECLINED}


async def confirm_step(
    ctx: Context,
    confirm_tokens: ConfirmTokens,
    enabled: bool,
    tool: str,
    token: str | None,
    preview: BaseModel,
    what: str,
) -> CallToolResult | None:
    """None when the call may go ahead; otherwise the preview (or refusal) to return instead.

    `what` says in a few words what will happen ("publish now to 2 public accounts")."""
    if not enabled:
        return None
    arguments = call_arguments_var.get() or {}
    shown = preview.model_dump(mode="json", exclude_none=True)
    caller = caller_id()
    try:
        if token is not None:
            problem = await confirm_tokens.problem(caller, tool, arguments, token)
            if problem is None:
                return None
            fresh = await confirm_tokens.token(caller, tool, arguments)
            return _result(
                f"Not done: the confirm token was refused because {problem}. Nothing was changed. Here is "
                f"a new preview ({what}); show it to the person and call again with confirm={fresh} if they "
                "agree.",
                {"status": PREVIEW, "tool": tool, "preview": shown, "confirm_token": fresh},
                error=True,
            )
        asking = elicit_round_var.get()
        if asking is not None and asking.answer is not None:
            return _result(
                f"Not done: the person did not confirm ({asking.answer}). Nothing was changed.",
                {"status": DECLINED, "preview": shown},
            )
        if asking is not None:  # 2026-07-28: the question rides on the answer (input_required)
            asking.token = await confirm_tokens.token(caller, tool, arguments)
            asking.question = question(what, shown)
            return _preview(tool, what, shown, asking.token)
        if _supports_elicitation(ctx):
            try:
                answer = await ctx.elicit(question(what, shown), Answer)
            except Exception as exc:  # the client advertised it but could not do it: fall back to a token
                log.info("elicitation failed (%s); answering with a preview", type(exc).__name__)
            else:
                if answer.action == "accept" and answer.data.confirm:
                    return None
                return _result(
                    f"Not done: the person did not confirm ({answer.action}). Nothing was changed.",
                    {"status": DECLINED, "preview": shown},
                )
        fresh = await confirm_tokens.token(caller, tool, arguments)
    except SecretUnavailable as exc:
        log.error("confirmations refused: %s", exc)
        return _result(
            f"Not done: {what} needs a confirmation, and confirmations are refused because {exc}. "
            "Nothing was changed. Fix that and call again (or, for unattended use, LATE_CONFIRM=off).",
            {"status": "refused", "preview": shown},
            error=True,
        )
    return _preview(tool, what, shown, fresh)


def _preview(tool: str, what: str, shown: dict[str, Any], token: str) -> CallToolResult:
    return _result(
        f"Preview only, nothing was changed: {what}. Show this to the person; if they agree, call {tool} "
        f"again with the same arguments plus confirm={token} (valid 10 minutes).",
        {"status": PREVIEW, "tool": tool, "preview": shown, "confirm_token": token},
    )


def question(what: str, shown: dict[str, Any]) -> str:
    """What the person is asked in a confirmation dialog."""
    return f"late-mcp: {one_line(what)}?\n{_brief(shown)}"


BRIEF_LINE = 600
# A text a person approves is shown whole up to this many characters (X, Threads, Bluesky,
# LinkedIn, Instagram and TikTok texts all fit); the preview's data always holds it whole.
BRIEF_TEXT = 5000


def _brief(shown: dict[str, Any]) -> str:
    """The preview as a few lines a person reads in a confirmation dialog: one line per field of
    the preview, and for what each account is sent (`targets` with `account` and `text`) a line
    per account and one more per thread post, first comment, title and settings. Each outside
    value is quoted (core/outside.py), so no name or text can add a line."""
    lines = []
    for key, value in shown.items():
        if key == "targets" and isinstance(value, list) and all(_sent_to(v) for v in value):
            for target in value:
                lines += _target_lines(target)
            continue
        if key == "effect":  # our own words
            text = one_line(str(value))
        elif isinstance(value, dict):
            text = "; ".join(f"{k}: {_one(v)}" for k, v in value.items())
        else:
            text = _one(value)
        line = f"{key}: {text}"
        lines.append(line if len(line) <= BRIEF_LINE else line[: BRIEF_LINE - 1] + "…")
    return "\n".join(lines)


def _sent_to(value: Any) -> bool:
    return isinstance(value, dict) and "account" in value and "text" in value


def _target_lines(target: dict[str, Any]) -> list[str]:
    """What one account is sent: `to <account>: "<text>"`, then one indented line per thread post
    (numbered from 2, the text being post 1), first comment, title and the settings."""
    lines = [f"to {_one(target['account'])}: {quoted(target['text'], BRIEF_TEXT)}"]
    for number, part in enumerate(target.get("thread") or [], start=2):
        lines.append(f"  thread post {number}: {quoted(part, BRIEF_TEXT)}")
    if target.get("first_comment") is not None:
        lines.append(f"  first comment: {quoted(target['first_comment'], BRIEF_TEXT)}")
    if target.get("title") is not None:
        lines.append(f"  title: {quoted(target['title'], BRIEF_LINE)}")
    if target.get("settings"):
        settings = ", ".join(f"{word(k)}={_one(v)}" for k, v in target["settings"].items())
        line = f"  settings: {settings}"
        lines.append(line if len(line) <= BRIEF_LINE else line[: BRIEF_LINE - 1] + "…")
    return lines


def _one(value: Any) -> str:
    """One value of a preview as dialog text: accounts as `platform @handle ("client")`, text
    quoted, ids and times bare when they are one plain word."""
    if isinstance(value, list):
        return ", ".join(_one(v) for v in value)
    if isinstance(value, dict):
        if "platform" in value:  # an account, or a post's target
            handle = value.get("username")
            who = word(value["platform"]) + (f" @{word(str(handle).lstrip('@'))}" if handle else "")
            profile = value.get("profile")
            whose = quoted(profile) if profile else word(value.get("profile_id") or "no profile")
            return f"{who} ({whose})"
        if "account" in value and "text" in value:  # what one account receives
            return f"{_one(value['account'])}: {quoted(value['text'], 300)}"
        return ", ".join(f"{k}={_one(v)}" for k, v in value.items())
    if isinstance(value, str):
        return word(value, 300)
    return str(value)
