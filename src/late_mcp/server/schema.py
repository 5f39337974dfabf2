"""Make published tool schemas small: every byte in tools/list is context the user pays for.

Pydantic's schemas carry titles and spell optional arguments as `anyOf: [X, null]`. The
compacted schema drops the titles and publishes an optional argument as plain X (it is simply
not required); the server still accepts an explicit null. It also leaves out what only the
server needs to check (id and key patterns, string length limits: a model does not write 64
characters of time zone, and a longer value gets a clear error), upper item counts (the same:
refused with the limit named) and `default: false` (what an unset switch means anyway); the
server keeps validating against the full model. Types, enums, number limits, minimum item
counts, other defaults and descriptions stay.
"""

from __future__ import annotations

import inspect
from typing import Any

# Checked on the server, but no help to a model writing arguments: not worth their bytes.
_UNPUBLISHED_PATTERNS = {
    r"^[A-Za-z0-9_-]{1,64}$",  # ids: the model copies them from other results
    r"^[A-Za-z0-9_.:-]+$",  # idempotency keys
    r"^([01]\d|2[0-3]):[0-5]\d$",  # HH:MM: the description says it
}


def _unpublished(key: str, value: Any) -> bool:
    if key == "title" and isinstance(value, str):
        return True
    if key == "pattern" and value in _UNPUBLISHED_PATTERNS:
        return True
    if key == "additionalProperties" and value is True:
        return True  # the default
    if key == "default" and value in (False, None):  # an unset switch or filter: nothing to say
        return True
    if key == "maximum" and isinstance(value, int) and value >= 10_000:
        return True  # a page number or a byte count a model never comes near; still checked
    return key in {"maxLength", "minLength", "maxItems"} and isinstance(value, int)


def inline_refs(schema: dict[str, Any]) -> dict[str, Any]:
    """Replace local `$ref`s (pydantic's `$defs` for a list of small objects) by their definition,
    so every tool schema stays flat: some clients do not follow references."""
    defs = schema.get("$defs", {})

    def walk(node: Any) -> Any:
        if isinstance(node, dict):
            ref = node.get("$ref")
            if isinstance(ref, str) and ref.startswith("#/$defs/"):
                rest = {k: v for k, v in node.items() if k != "$ref"}
                return {**walk(defs[ref.removeprefix("#/$defs/")]), **walk(rest)}
            return {k: walk(v) for k, v in node.items() if k != "$defs"}
        if isinstance(node, list):
            return [walk(v) for v in node]
        return node

    result: dict[str, Any] = walk(schema)
    return result


def compact_schema(schema: dict[str, Any]) -> dict[str, Any]:
    if "$defs" in schema:
        schema = inline_refs(schema)
    out: dict[str, Any] = {}
    for key, value in schema.items():
        if _unpublished(key, value):
            continue
        if key == "properties" and isinstance(value, dict):
            out[key] = {
                name: compact_schema(_key_only(name, _drop_null(prop))) for name, prop in value.items()
            }
        elif isinstance(value, dict):
            out[key] = compact_schema(value)
        elif isinstance(value, list):
            out[key] = [compact_schema(v) if isinstance(v, dict) else v for v in value]
        else:
            out[key] = value
    return out


def _key_only(name: str, prop: dict[str, Any]) -> dict[str, Any]:
    """An idempotency key is published as a described string: its limits (8-128 characters, the
    pattern) are the server's to check, and the same 30 bytes on every write tool add up."""
    if name != "idempotency_key":
        return prop
    return {k: v for k, v in prop.items() if k not in {"minLength", "maxLength", "pattern"}}


def _drop_null(prop: dict[str, Any]) -> dict[str, Any]:
    options = prop.get("anyOf")
    if prop.get("default", 0) is None and isinstance(options, list):
        rest = [o for o in options if o != {"type": "null"}]
        if len(rest) == 1:
            merged = {k: v for k, v in prop.items() if k not in {"anyOf", "default"}}
            return {**rest[0], **merged}
    return prop


def one_line(doc: str | None) -> str:
    """A docstring as one line of text, the way the model reads it."""
    return " ".join(inspect.cleandoc(doc or "").split())
