"""Check one line of stdio input before the SDK sees it; what cannot be used gets a JSON-RPC error.

The SDK's own stdio transport drops a line it cannot parse or validate without a word, so the
client waits forever. Here every line is either a message the SDK accepts or one or more error
responses, each carrying the request's id whenever it can be recovered:
- -32700 (parse error): not UTF-8 (refused, never repaired), not JSON, a lone UTF-16 surrogate
  escape in a string, nesting deeper than MAX_DEPTH, a number longer than MAX_NUMBER_CHARS,
  NaN or Infinity;
- -32600 (invalid request): not one JSON-RPC 2.0 message (wrong "jsonrpc", params not an object,
  a bad id, no method...). A batch (a JSON array) is refused explicitly: one error per element that
  has an id, since MCP sends one message per line.
"""

from __future__ import annotations

import json
import re
from typing import Any

import mcp_types as types
from pydantic import ValidationError

MAX_DEPTH = 64  # the SDK's own JSON parser gives up at 200; a real MCP message needs under 20
MAX_NUMBER_CHARS = 40  # long enough for any int64 or double written out
_STRING = re.compile(r'"(?:[^"\\]|\\.)*"', re.DOTALL)
_BRACKETS = re.compile(r"[\[\]{}]")
_NUMBER = re.compile(r"-?\d[\d.eE+-]*")
_SURROGATE = re.compile("[\ud800-\udfff]")


class Refusal(Exception):
    """Why a line cannot be used: the JSON-RPC error code and a short message."""

    def __init__(self, code: int, message: str) -> None:
        super().__init__(message)
        self.code = code
        self.message = message


def error_response(request_id: types.RequestId | None, code: int, message: str) -> types.JSONRPCError:
    return types.JSONRPCError(jsonrpc="2.0", id=request_id, error=types.ErrorData(code=code, message=message))


def check_line(raw: bytes) -> types.JSONRPCMessage | list[types.JSONRPCError] | None:
    """The message on this line, or the error responses to send for it (None: a blank line; []:
    a malformed response from the client, which JSON-RPC never answers)."""
    if not raw.strip():
        return None
    try:
        text = raw.decode("utf-8")
    except UnicodeDecodeError as exc:
        return [
            error_response(
                _recover_id(raw.decode("utf-8", "replace")),
                types.PARSE_ERROR,
                f"Parse error: the line is not valid UTF-8 (byte {exc.start}); it was not acted on.",
            )
        ]
    try:
        data = _parse(text)
    except Refusal as refusal:
        return [error_response(_recover_id(text), refusal.code, refusal.message)]
    if isinstance(data, list):
        return _refuse_batch(data)
    if isinstance(data, dict) and "method" not in data and ("result" in data or "error" in data):
        try:  # a response to one of our requests: never answered, even when it is malformed
            return types.jsonrpc_message_adapter.validate_json(raw, by_name=False)
        except ValidationError:
            return []
    request_id = _id_of(data)
    try:
        if _has_surrogate(data):
            raise Refusal(
                types.PARSE_ERROR,
                "Parse error: a string holds a lone UTF-16 surrogate escape (such as \\ud800), "
                "which is not text; send complete characters.",
            )
        _check_shape(data)
        return types.jsonrpc_message_adapter.validate_json(raw, by_name=False)
    except Refusal as refusal:
        return [error_response(request_id, refusal.code, refusal.message)]
    except ValidationError as exc:
        where = ".".join(str(part) for part in exc.errors()[0]["loc"][1:]) if exc.errors() else ""
        return [
            error_response(
                request_id,
                types.INVALID_REQUEST,
                f"Invalid request: not a valid JSON-RPC 2.0 message{f' ({where})' if where else ''}.",
            )
        ]


def _parse(text: str) -> Any:
    skeleton = _STRING.sub('""', text)
    depth = 0
    for bracket in _BRACKETS.findall(skeleton):
        depth += 1 if bracket in "[{" else -1
        if depth > MAX_DEPTH:
            raise Refusal(types.PARSE_ERROR, f"Parse error: nested deeper than {MAX_DEPTH} levels.")
    if any(len(number) > MAX_NUMBER_CHARS for number in _NUMBER.findall(skeleton)):
        raise Refusal(types.PARSE_ERROR, f"Parse error: a number longer than {MAX_NUMBER_CHARS} characters.")
    try:
        data = json.loads(text, parse_constant=_no_constant)
    except (ValueError, RecursionError):
        raise Refusal(types.PARSE_ERROR, "Parse error: the line is not valid JSON.") from None
    return data


def _no_constant(name: str) -> Any:
    raise ValueError(f"{name} is not JSON")


def _has_surrogate(value: Any) -> bool:
    if isinstance(value, str):
        return not value.isascii() and _SURROGATE.search(value) is not None
    if isinstance(value, dict):
        return any(_has_surrogate(k) or _has_surrogate(v) for k, v in value.items())
    if isinstance(value, list):
        return any(_has_surrogate(item) for item in value)
    return False


def _id_of(data: Any) -> types.RequestId | None:
    """The message's id when it is a usable one (a string or a whole number)."""
    if not isinstance(data, dict):
        return None
    value = data.get("id")
    if isinstance(value, bool) or not isinstance(value, str | int):
        return None
    if isinstance(value, str) and (len(value) > 200 or _has_surrogate(value)):
        return None
    return value


def _recover_id(text: str) -> types.RequestId | None:
    """The id of a line that failed to parse as a whole, if a plain `"id": ...` can be found."""
    match = re.search(r'"id"\s*:\s*(-?\d{1,18}(?![\d.eE])|"(?:[^"\\]|\\.){0,200}")', text)
    if match is None:
        return None
    try:
        value = json.loads(match.group(1))
    except ValueError:
        return None
    return _id_of({"id": value})


def _check_shape(data: Any) -> None:
    """What the SDK's validation would reject silently, said plainly."""
    if not isinstance(data, dict):
        raise Refusal(types.INVALID_REQUEST, "Invalid request: a JSON-RPC message must be a JSON object.")
    if data.get("jsonrpc") != "2.0":
        raise Refusal(types.INVALID_REQUEST, 'Invalid request: "jsonrpc" must be "2.0".')
    if "id" in data and _id_of(data) is None:
        raise Refusal(types.INVALID_REQUEST, 'Invalid request: "id" must be a string or a whole number.')
    if "method" in data:
        if not isinstance(data["method"], str):
            raise Refusal(types.INVALID_REQUEST, 'Invalid request: "method" must be a string.')
        if "params" in data and not isinstance(data["params"], dict):
            raise Refusal(
                types.INVALID_REQUEST, 'Invalid request: "params" must be an object (MCP uses named params).'
            )
    elif "result" not in data and "error" not in data:
        raise Refusal(types.INVALID_REQUEST, 'Invalid request: no "method" (nor a "result" or "error").')


def _refuse_batch(items: list[Any]) -> list[types.JSONRPCError]:
    message = (
        "Invalid request: batches (JSON arrays) are not supported; send each JSON-RPC message on its "
        "own line."
    )
    if not items:
        return [error_response(None, types.INVALID_REQUEST, "Invalid request: an empty batch.")]
    ids = [_id_of(item) for item in items if isinstance(item, dict) and "method" in item]
    answered = [error_response(i, types.INVALID_REQUEST, message) for i in ids if i is not None]
    return answered or [error_response(None, types.INVALID_REQUEST, message)]
