"""`late-mcp tools` and `late-mcp call`: the tools without an MCP client.

`call` runs the server `build_server()` makes, in this process, through the SDK's in-memory
client: the same argument checks, the same Late client and the same journal as over MCP.
"""

from __future__ import annotations

import json
import re
import sys
from collections.abc import Sequence
from typing import Any

import anyio
from mcp import Client
from mcp.shared.exceptions import MCPError
from mcp_types import CallToolResult, TextContent

from late_mcp.cli.tables import aligned, list_table
from late_mcp.config.settings import Settings
from late_mcp.core.toolsets import Domain, UnknownToolset
from late_mcp.server.result_form import structured_of
from late_mcp.server.schema import one_line
from late_mcp.tools import ALL_TOOLS
from late_mcp.tools.declaration import ToolDef, offered

EXIT_TOOL_ERROR = 1
EXIT_USAGE = 2
_SENTENCE = re.compile(r"^(.+?[.!?])(?=\s+[A-Z`]|$)")


class UsageError(Exception):
    """The command line cannot make a tool call; the message says what to type instead."""


def first_sentence(doc: str | None) -> str:
    text = one_line(doc)
    match = _SENTENCE.match(text)
    return match.group(1) if match else text


def select_tools(toolsets: Sequence[str], *, read_only: bool = False) -> tuple[ToolDef, ...]:
    """The tools of the given domains (all when none are given; `all` and `default` as in
    LATE_TOOLSETS), as the server would offer them."""
    try:
        return offered(ALL_TOOLS, toolsets, read_only=read_only, when_none=tuple(Domain))
    except UnknownToolset as exc:
        raise UsageError(f"{exc}.") from exc


def print_tools(toolsets: Sequence[str], *, read_only: bool = False) -> int:
    """One line per tool: name, read-only or write, domain, the first sentence of its description."""
    try:
        specs = select_tools(toolsets, read_only=read_only)
    except UsageError as exc:
        print(f"late-mcp tools: {exc}", file=sys.stderr)
        return EXIT_USAGE
    rows = [
        [spec.name, "read" if spec.read_only else "write", spec.domain, first_sentence(spec.fn.__doc__)]
        for spec in specs
    ]
    for line in aligned(["TOOL", "ACCESS", "TOOLSET", "WHAT IT DOES"], rows)[1:]:
        print(line)
    return 0


def parse_arguments(pairs: Sequence[str], args_json: str | None) -> dict[str, Any]:
    """`--args '{...}'` (or a bare '{...}') merged with key=value pairs; a value is JSON when it
    parses, else text."""
    arguments: dict[str, Any] = {}
    objects = [args_json] if args_json is not None else []
    objects += [pair for pair in pairs if pair.lstrip().startswith("{")]  # a bare '{...}' works too
    for raw in objects:
        try:
            loaded = json.loads(raw)
        except ValueError as exc:
            raise UsageError(f"the arguments object is not valid JSON ({exc}).") from None
        if not isinstance(loaded, dict):
            raise UsageError('the arguments must be a JSON object, such as \'{"name": "Bakery"}\'.')
        arguments.update(loaded)
    for pair in pairs:
        if pair.lstrip().startswith("{"):
            continue
        key, sep, raw = pair.partition("=")
        if not sep or not key:
            raise UsageError(f"expected key=value, got {pair!r} (e.g. name=Bakery or limit=5).")
        if key in arguments:
            raise UsageError(f"argument {key!r} is given twice.")
        try:
            arguments[key] = json.loads(raw)
        except ValueError:
            arguments[key] = raw
    return arguments


async def call_tool(settings: Settings, name: str, arguments: dict[str, Any]) -> CallToolResult:
    """Run one tool through a fresh server and the SDK's in-memory client."""
    from late_mcp.server.build import build_server

    server = build_server(settings, read_only=settings.read_only)
    result = None
    async with Client(server, mode="legacy") as client:
        if name in [tool.name for tool in (await client.list_tools()).tools]:
            result = await client.call_tool(name, arguments)
    if result is None:
        domain = next((spec.domain for spec in ALL_TOOLS if spec.name == name), None)
        hint = " (read-only mode offers only tools that change nothing)" if settings.read_only else ""
        if domain is not None and settings.toolsets is not None and domain not in settings.toolsets:
            raise UsageError(
                f"{name} is in the {domain} toolset, which --toolsets/LATE_TOOLSETS leaves out; add {domain}."
            )
        raise UsageError(f"no tool named {name!r}{hint}; `late-mcp tools` lists them.")
    assert isinstance(result, CallToolResult)
    return result


def result_text(result: CallToolResult) -> str:
    return "\n".join(block.text for block in result.content if isinstance(block, TextContent))


def run_call(
    settings: Settings, name: str, pairs: Sequence[str], args_json: str | None, *, as_json: bool
) -> int:
    """Print the human line (or the structured result with --json); a tool error goes to stderr."""
    try:
        arguments = parse_arguments(pairs, args_json)
        result = anyio.run(call_tool, settings, name, arguments)
    except UsageError as exc:
        print(f"late-mcp call: {exc}", file=sys.stderr)
        return EXIT_USAGE
    except MCPError as exc:
        print(f"late-mcp call: {name} failed: {exc}", file=sys.stderr)
        return EXIT_TOOL_ERROR
    text = result_text(result)
    if as_json:
        print(json.dumps(structured_of(result) or {"text": text}, indent=2, ensure_ascii=False))
    if result.is_error:
        print(text, file=sys.stderr)
        return EXIT_TOOL_ERROR
    if not as_json:
        print(text.split("\n", 1)[0])
        for line in list_table(name, structured_of(result)):
            print(line)
    return 0
