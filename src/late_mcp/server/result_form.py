"""What a tools/call answer carries on the wire: one text block holding everything, once.

Tools build a result with `structuredContent` (the replay, the journal and the confirmations read
it there), and its text is the summary line followed by the same JSON. Clients differ in what they
hand on: the TypeScript SDK and the Inspector pass both fields through; some hosts give the model
`content` only, others append `structuredContent` to it (the same data twice); fastmcp's
`fastmcp call` prints only `structuredContent` and loses the summary line
(benchmarks/result_forms.py measures this). Text is the one field every client reads fully, so
the answer keeps its text and drops `structuredContent`; details only the structured part had
(an error's kind, status and request id) are put on the text's last line first.
`structured_of` reads the JSON back from the text, for `late-mcp call` and for tests.
"""

from __future__ import annotations

import json
from collections.abc import Collection
from typing import Any

from mcp.server.context import CallNext, HandlerResult, ServerRequestContext
from mcp_types import CallToolResult

from late_mcp.core.outside import compact_json


def _json_line(text: str) -> Any:
    """The JSON on the text's last line (below the summary), or None when there is none."""
    _, newline, rest = text.rpartition("\n")
    if not newline or not rest.startswith(("{", "[")):
        return None
    try:
        return json.loads(rest)
    except ValueError:
        return None


def one_form(result: dict[str, Any]) -> dict[str, Any]:
    """A tools/call result (as sent) with its structured data in the text only."""
    structured = result.get("structuredContent")
    if structured is None:
        return result
    content = list(result.get("content") or [])
    shown = {key: value for key, value in result.items() if key != "structuredContent"}
    for index, block in enumerate(content):
        if isinstance(block, dict) and block.get("type") == "text" and isinstance(block.get("text"), str):
            if _json_line(block["text"]) != structured:
                content[index] = {**block, "text": f"{block['text']}\n{compact_json(structured)}"}
            return {**shown, "content": content}
    return {**shown, "content": [{"type": "text", "text": compact_json(structured)}, *content]}


def structured_of(result: CallToolResult) -> dict[str, Any] | None:
    """The structured data of a result as a client receives it (the text's JSON line), or None."""
    if result.structured_content is not None:
        return dict(result.structured_content)
    for block in result.content:
        text = getattr(block, "text", None)
        if isinstance(text, str):
            found = _json_line(text)
            return found if isinstance(found, dict) else None
    return None


class OneForm:
    """SDK middleware (outermost): the answers of late-mcp's own tools (`names`; published without
    an output schema) leave in the one form above. A tool with an output schema keeps its
    `structuredContent`, which clients check against that schema."""

    def __init__(self, names: Collection[str]) -> None:
        self.names = frozenset(names)

    async def __call__(self, ctx: ServerRequestContext[Any, Any], call_next: CallNext) -> HandlerResult:
        result = await call_next(ctx)
        params = ctx.params if isinstance(ctx.params, dict) else {}
        if ctx.method != "tools/call" or params.get("name") not in self.names:
            return result
        if isinstance(result, CallToolResult):
            result = result.model_dump(mode="json", by_alias=True, exclude_none=True)
        if isinstance(result, dict) and isinstance(result.get("content"), list):
            return one_form(result)
        return result
