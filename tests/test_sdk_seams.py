"""The SDK through public API only: one adapter (server/sdk_adapter.py) may reach further, and a
test here fails loudly when the SDK moves what it reaches for."""

from __future__ import annotations

import ast
from pathlib import Path

import anyio
import pytest
from mcp import ClientSession
from mcp.server.mcpserver import MCPServer
from mcp.shared.memory import create_client_server_memory_streams

from conftest import make_settings
from late_mcp.server import sdk_adapter
from late_mcp.server.build import build_server
from late_mcp.tools import ALL_TOOLS

pytestmark = pytest.mark.anyio
SRC = Path(__file__).parent.parent / "src" / "late_mcp"
ADAPTER = SRC / "server" / "sdk_adapter.py"
# Private names of the standard library we use on purpose (not an SDK object's).
STDLIB_PRIVATE = {"os._exit"}
SDK_PACKAGES = ("mcp.", "mcp_types.")


def private_sdk_module(module: str) -> bool:
    return module.startswith(SDK_PACKAGES) and any(part.startswith("_") for part in module.split("."))


def private_reaches(path: Path, root: Path = SRC) -> list[str]:
    """`x._name` (x not self, cls or super()), getattr/setattr/hasattr with a "_name",
    `__signature__` anywhere, and imports of a private module: each as 'file:line: code'."""
    found: list[str] = []
    tree = ast.parse(path.read_text(encoding="utf-8"))
    for node in ast.walk(tree):
        code: str | None = None
        if isinstance(node, ast.Attribute):
            dunder = node.attr.startswith("__") and node.attr.endswith("__")
            own = (isinstance(node.value, ast.Name) and node.value.id in {"self", "cls"}) or (
                isinstance(node.value, ast.Call)  # super()._x: our own class's
                and isinstance(node.value.func, ast.Name)
                and node.value.func.id == "super"
            )
            if node.attr == "__signature__" or (node.attr.startswith("_") and not dunder and not own):
                code = ast.unparse(node)
        elif isinstance(node, ast.Call) and isinstance(node.func, ast.Name):
            if node.func.id in {"getattr", "setattr", "hasattr"} and len(node.args) > 1:
                name = node.args[1]
                text = str(name.value) if isinstance(name, ast.Constant) else ""
                if text.startswith("_") and not (text.startswith("__") and text.endswith("__")):
                    code = ast.unparse(node)
        elif isinstance(node, ast.ImportFrom) and private_sdk_module(node.module or ""):
            code = f"from {node.module} import ..."
        if code is not None and code not in STDLIB_PRIVATE:
            found.append(f"{path.relative_to(root)}:{getattr(node, 'lineno', 0)}: {code}")
    return found


def test_no_private_sdk_attribute_is_reached_outside_the_adapter() -> None:
    reaches = [r for path in sorted(SRC.rglob("*.py")) if path != ADAPTER for r in private_reaches(path)]
    assert reaches == [], "reach the SDK through public API, or through server/sdk_adapter.py only"


def test_the_check_finds_what_it_forbids(tmp_path: Path) -> None:
    """The gate itself: each forbidden form is found (else the test above could not fail)."""
    sample = tmp_path / "sample.py"
    sample.write_text(
        "import os\nfrom mcp.shared._callable_inspection import is_async_callable\n"
        "def f(server, run):\n"
        "    server._tool_manager.get_tool('x')\n"
        "    getattr(server, '_lowlevel_server')\n"
        "    run.__signature__ = None\n"
        "    os._exit(0)\n"
        "    public = server.name\n",
        encoding="utf-8",
    )
    found = sorted(line.split(": ", 1)[1] for line in private_reaches(sample, tmp_path))
    assert found == sorted(
        [
            "from mcp.shared._callable_inspection import ...",
            "server._tool_manager",
            "getattr(server, '_lowlevel_server')",
            "run.__signature__",
        ]
    ), found


async def test_the_adapter_still_serves_a_session_on_given_streams() -> None:
    """If this fails, the SDK moved what server/sdk_adapter.py drives: stdio has silently fallen
    back to the SDK's own transport (no line checks). Update the adapter to the SDK's new way."""
    server = build_server(make_settings())
    serve = sdk_adapter.stream_runner(server)
    assert serve is not None, (
        f"MCPServer no longer has {sdk_adapter.LOWLEVEL_ATTRIBUTE} with run() and "
        "create_initialization_options(): fix late_mcp/server/sdk_adapter.py"
    )
    async with (
        create_client_server_memory_streams() as (client_streams, server_streams),
        anyio.create_task_group() as tg,
    ):
        tg.start_soon(serve, *server_streams)
        async with ClientSession(*client_streams) as session:
            await session.initialize()
            listed = await session.list_tools()
            answer = await session.call_tool("time_now", {"timezone": "UTC"})
        tg.cancel_scope.cancel()
    assert [t.name for t in listed.tools] == [t.name for t in ALL_TOOLS]
    assert not answer.is_error and "Now:" in answer.content[0].text  # type: ignore[union-attr]


def test_tools_are_registered_through_the_public_constructor() -> None:
    """build_server hands the SDK finished Tool objects (public `MCPServer(tools=...)`), with the
    compact schemas they publish, and its own check of unknown arguments reads those."""
    server = build_server(make_settings(), toolsets=["posts"])
    assert isinstance(server, MCPServer)
    assert list(server.published) == [t.name for t in ALL_TOOLS if t.domain == "posts"]
    assert "$defs" not in str(server.published["posts_create"])


def test_the_sdk_auth_routes_still_have_what_the_oauth_front_replaces() -> None:
    """late_mcp.transports.oauth swaps the SDK's authorization-server metadata route for one that
    also advertises Client ID Metadata Documents and `iss`; it finds it by path. If the SDK moves
    it, this fails (and the metadata would silently lose those two fields)."""
    from mcp.server.auth.routes import create_auth_routes
    from pydantic import AnyHttpUrl
    from starlette.routing import Route

    from late_mcp.auth.oauth_kv import SQLiteKeyValue
    from late_mcp.auth.oauth_store import OAuthStore
    from late_mcp.transports.oauth import METADATA_PATH, LateOAuthProvider

    provider = LateOAuthProvider(
        OAuthStore(SQLiteKeyValue(Path("/nonexistent/oauth.sqlite3"))),
        "http://127.0.0.1:1",
        "http://127.0.0.1:1/mcp",
        loopback_documents=False,
    )
    routes = create_auth_routes(provider, AnyHttpUrl("http://127.0.0.1:1"))
    paths = [route.path for route in routes if isinstance(route, Route)]
    assert METADATA_PATH in paths, f"the SDK's auth routes moved (late_mcp.transports.oauth): {paths}"
