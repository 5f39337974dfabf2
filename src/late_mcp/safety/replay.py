"""What late-mcp keeps of a write's answer: enough to replay it, never its secrets or its text.

An idempotency key (or a confirmed call's run-once key) keeps the first answer so a repeat can
get it without sending anything again. That stored answer lives in the journal (a file on disk,
or Redis) for as long as a replay can happen (the idempotency retention), so it keeps:

- no secrets: invite links, OAuth links and Telegram codes, presigned upload URLs and browser
  upload tokens are left out (the replay names them and says where to get them again);
- no text: a post's or reply's text is the call's own argument (a replay only ever answers the
  same caller's call with the very same arguments), so it is stored as a reference to the
  argument and put back at replay; text that is not an argument is left out;
- the caller's profile scope when it ran: a replay is given only to a caller that may still see
  every profile the first call could (see :func:`replay`).

Journal entries keep only ids, digests, outcomes and a one-line summary with the same secrets
taken out (:func:`entry_summary`).
"""

from __future__ import annotations

import json
import re
from typing import Any

from mcp_types import CallToolResult, TextContent

from late_mcp.auth.principal import current_profiles

# Fields whose values let someone act: connect an account to a client, upload, poll an upload.
SECRET_FIELDS = frozenset(
    {"invite_url", "auth_url", "upload_url", "token", "code", "instructions", "confirm_token"}
)
# Fields holding the text of a post or reply.
TEXT_FIELDS = frozenset({"content", "title", "text"})
WHERE_AGAIN = {
    "invite_url": "invites_create with a new idempotency_key makes a new link; invites_revoke ends this one",
    "content": "posts_get shows it",
    "title": "posts_get shows it",
}
NOT_KEPT = "[not kept]"
_ARGUMENT = "late-mcp:argument"
_FORMAT = 2
_URL_TAIL = re.compile(r"(https?://[^\s?#]+)[?#][^\s]*")


def secret_values(value: Any, depth: int = 0) -> set[str]:
    """Every value of a secret field in a structured result (strings, or strings in a list)."""
    found: set[str] = set()
    if depth > 6:
        return found
    if isinstance(value, dict):
        for key, item in value.items():
            if key in SECRET_FIELDS:
                items = item if isinstance(item, list) else [item]
                found.update(s for s in items if isinstance(s, str) and len(s) >= 4)
            else:
                found |= secret_values(item, depth + 1)
    elif isinstance(value, list):
        for item in value:
            found |= secret_values(item, depth + 1)
    return found


def redact(text: str, secrets: set[str]) -> str:
    """`text` with every secret value replaced and URLs cut before their query (signatures)."""
    for secret in sorted(secrets, key=len, reverse=True):
        text = text.replace(secret, NOT_KEPT)
    return _URL_TAIL.sub(r"\1", text)


def first_line(result: CallToolResult) -> str:
    block = result.content[0] if result.content else None
    return block.text.split("\n", 1)[0] if isinstance(block, TextContent) else ""


def entry_summary(result: CallToolResult) -> str:
    """The result's first line as the journal keeps it: without links, tokens or codes."""
    return redact(first_line(result), secret_values(result.structured_content or {}))


def _kept(value: Any, arguments: dict[str, Any], secrets: set[str], path: str, out: list[str]) -> Any:
    if isinstance(value, dict):
        kept: dict[str, Any] = {}
        for key, item in value.items():
            where = f"{path}.{key}" if path else key
            if key in SECRET_FIELDS and item is not None:
                out.append(where)
            elif key in TEXT_FIELDS and isinstance(item, str):
                name = next((k for k, v in arguments.items() if isinstance(v, str) and v == item), None)
                if name is None:
                    out.append(where)
                else:
                    kept[key] = {_ARGUMENT: name}
            else:
                kept[key] = _kept(item, arguments, secrets, where, out)
        return kept
    if isinstance(value, list):
        return [_kept(item, arguments, secrets, f"{path}[]", out) for item in value]
    if isinstance(value, str):
        return redact(value, secrets) if secrets else value
    return value


def _restored(value: Any, arguments: dict[str, Any]) -> Any:
    if isinstance(value, dict):
        if set(value) == {_ARGUMENT}:
            return arguments.get(value[_ARGUMENT])
        return {key: _restored(item, arguments) for key, item in value.items()}
    if isinstance(value, list):
        return [_restored(item, arguments) for item in value]
    return value


def stored(result: CallToolResult, arguments: dict[str, Any]) -> str:
    """The replayable form of a successful result, as the journal keeps it until its key expires."""
    data = result.structured_content or {}
    secrets = secret_values(data)
    withheld: list[str] = []
    kept = _kept(data, arguments, secrets, "", withheld)
    scope = current_profiles()
    envelope = {
        "format": _FORMAT,
        "scope": None if scope is None else sorted(scope),
        "summary": redact(first_line(result), secrets),
        "data": kept,
        "withheld": list(dict.fromkeys(withheld)),
    }
    return json.dumps(envelope, separators=(",", ":"), ensure_ascii=False)


def may_replay(scope: list[str] | None) -> bool:
    """A replay goes only to a caller that may still see every profile the first call could."""
    now = current_profiles()
    if now is None:
        return True
    return scope is not None and set(scope) <= now


def replay(raw: str, tool: str, arguments: dict[str, Any], at: str) -> CallToolResult | None:
    """The stored answer as a replay for this caller's identical call, or None when the caller's
    scope no longer covers what the first call could reach."""
    envelope = json.loads(raw)
    if not isinstance(envelope, dict) or envelope.get("format") != _FORMAT:
        # Stored by an older late-mcp under a key no caller can reach any more: for full access only.
        if not may_replay(None):
            return None
        old = CallToolResult.model_validate_json(raw)
        return _with_note(old.content, old.structured_content, at, [])
    if not may_replay(envelope.get("scope")):
        return None
    data = _restored(envelope.get("data") or {}, arguments)
    withheld = [str(w) for w in envelope.get("withheld") or []]
    if withheld:
        data = {**data, "withheld": withheld}
    compact = json.dumps(data, separators=(",", ":"), ensure_ascii=False)
    block = TextContent(type="text", text=f"{envelope.get('summary', '')}\n{compact}")
    return _with_note([block], data, at, withheld, tool)


def _with_note(
    content: list[Any], data: dict[str, Any] | None, at: str, withheld: list[str], tool: str = ""
) -> CallToolResult:
    note = f"Replayed: this idempotency_key already ran on {at}; nothing was sent again."
    if withheld:
        hints = []
        for where in withheld:
            field = where.rsplit(".", 1)[-1].removesuffix("[]")
            again = WHERE_AGAIN.get(field, f"{tool} with a new idempotency_key makes a fresh one")
            hints.append(f"{where} ({again})")
        note += " late-mcp does not keep links, tokens or text, so this replay leaves out: "
        note += "; ".join(hints) + "."
    first = content[0] if content else None
    if isinstance(first, TextContent):  # one text: the note begins the summary line
        content = [TextContent(type="text", text=f"{note} {first.text}"), *content[1:]]
    else:
        content = [TextContent(type="text", text=note), *content]
    return CallToolResult(content=content, structured_content=data)
