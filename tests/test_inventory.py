"""One inventory: each tool is declared once (`@tool(domain, kind, touches=..., reach=...)`), and
access, toolsets, read-only mode, `late-mcp tools` and the README's tables follow from it."""

from __future__ import annotations

import re
from pathlib import Path
from typing import Annotated

import anyio
import pytest
from mcp import Client
from mcp.server.mcpserver import Context
from mcp_types import CallToolResult, TextContent
from pydantic import BaseModel, Field

from conftest import make_settings
from contract import ContractCheckingTransport
from httpserve import connect, running
from late_mcp.auth.tokens import SQLiteTokenStore
from late_mcp.config.http import HttpSettings
from late_mcp.core.toolsets import Domain
from late_mcp.safety.idempotency import IdempotencyKey
from late_mcp.sandbox.state import SEED_PROFILE_ACME
from late_mcp.server.build import build_server
from late_mcp.tools import ALL_TOOLS
from late_mcp.tools._common import ok, tool
from late_mcp.tools.declaration import (
    IDEMPOTENCY_KEY,
    NAMING_ARGUMENTS,
    DeclarationError,
    Reach,
    offered,
    parameters_of,
)

pytestmark = pytest.mark.anyio
README = (Path(__file__).parent.parent / "README.md").read_text(encoding="utf-8")
TEAM_GUIDE = (Path(__file__).parent.parent / "docs" / "team.md").read_text(encoding="utf-8")
BY_NAME = {spec.name: spec for spec in ALL_TOOLS}


class Echo(BaseModel):
    said: str


# Two tools declared here the way every tool is: the server must treat them by their declaration.
@tool(Domain.JOURNAL, "local", reach=Reach.EVERY_CLIENT)
async def probe_every_client(ctx: Context) -> CallToolResult:
    """Answers from every client's data (declared so)."""
    return ok(ctx, "All clients.", Echo(said="all"))


@tool(Domain.JOURNAL, "create", touches={"profile": "profile_id"})
async def probe_write(
    profile_id: Annotated[str, Field(description="A profile.")],
    ctx: Context,
    idempotency_key: IdempotencyKey = None,
) -> CallToolResult:
    """Changes nothing, declared as a write."""
    return ok(ctx, f"Wrote for {profile_id}.", Echo(said=profile_id))


PROBES = (probe_every_client, probe_write)


def text(result: CallToolResult) -> str:
    return "\n".join(b.text for b in result.content if isinstance(b, TextContent))


def test_every_write_takes_an_idempotency_key_and_no_read_does() -> None:
    for spec in ALL_TOOLS:
        takes = IDEMPOTENCY_KEY in parameters_of(spec.fn)
        assert takes == (not spec.read_only), (spec.name, spec.kind)
    assert {s.kind for s in ALL_TOOLS} == {"local", "read", "create", "update", "delete"}


def test_every_argument_that_names_a_thing_is_declared_in_touches() -> None:
    for spec in ALL_TOOLS:
        parameters = parameters_of(spec.fn)
        naming = {p for p in parameters if p in NAMING_ARGUMENTS}
        assert set(spec.touches.values()) == naming, (spec.name, spec.touches, naming)
        for thing, argument in spec.touches.items():
            assert NAMING_ARGUMENTS[argument] == thing, (spec.name, thing, argument)
    assert {s.name for s in ALL_TOOLS if not s.for_profile_limited} == {"journal_recent", "profiles_create"}


def test_a_declaration_that_contradicts_its_signature_is_refused_at_import() -> None:
    async def no_key(profile_id: str, ctx: Context) -> CallToolResult:
        """A write without idempotency_key."""
        raise AssertionError

    async def with_key(ctx: Context, idempotency_key: IdempotencyKey = None) -> CallToolResult:
        """A read with idempotency_key."""
        raise AssertionError

    async def undeclared(post_id: str, ctx: Context) -> CallToolResult:
        """Names a post without saying so."""
        raise AssertionError

    with pytest.raises(DeclarationError, match="a create tool must take idempotency_key"):
        tool(Domain.POSTS, "create", touches={"profile": "profile_id"})(no_key)
    with pytest.raises(DeclarationError, match="a read tool must not take idempotency_key"):
        tool(Domain.POSTS, "read")(with_key)
    with pytest.raises(
        DeclarationError, match=r"arguments \['post_id'\] name a thing but are not in touches"
    ):
        tool(Domain.POSTS, "read")(undeclared)
    with pytest.raises(DeclarationError, match=r"touches names no argument \['account_id'\]"):
        tool(Domain.POSTS, "read", touches={"post": "post_id", "account": "account_id"})(undeclared)


async def test_selection_is_one_function_for_the_server_and_the_cli() -> None:
    """`offered` decides for build_server and `late-mcp tools` alike, read-only mode included."""
    from late_mcp.cli.call import select_tools

    for toolsets, read_only in [(["queue", "journal"], True), (["default"], False), (["all"], True)]:
        server = build_server(
            make_settings(), toolsets=toolsets, read_only=read_only, tools=(*ALL_TOOLS, *PROBES)
        )
        async with Client(server, mode="legacy") as client:
            listed = [t.name for t in (await client.list_tools()).tools]
        chosen = offered((*ALL_TOOLS, *PROBES), toolsets, read_only=read_only)
        assert listed == [t.name for t in chosen], toolsets
        assert [t.name for t in select_tools(toolsets, read_only=read_only)] == [
            t.name for t in chosen if t in ALL_TOOLS
        ]
    assert "probe_write" not in [t.name for t in offered(PROBES, ["all"], read_only=True)]


async def test_a_profile_limited_token_gets_tools_by_their_declared_reach(
    late_transport: ContractCheckingTransport, tmp_path: Path
) -> None:
    """A new tool declared to span every client is hidden from, and refused to, a limited token at
    once, while a full token calls it; a read-only token gets no declared write. Calls run at once."""
    store = SQLiteTokenStore(tmp_path / "tokens.sqlite3")
    limited = store.create("acme", (SEED_PROFILE_ACME,), False)
    viewer = store.create("viewer", (), True)
    full = store.create("owner", (), False)
    seen: dict[str, set[str]] = {}
    answers: dict[str, CallToolResult] = {}
    server = running(late_transport, HttpSettings(transport="http"), store, tools=(*ALL_TOOLS, *PROBES))

    async def as_caller(label: str, token: str, base: str) -> None:
        async with connect(base, token) as client:
            seen[label] = {t.name for t in (await client.list_tools()).tools}
            answers[f"{label}:every"] = await client.call_tool("probe_every_client", {})
            answers[f"{label}:write"] = await client.call_tool(
                "probe_write", {"profile_id": SEED_PROFILE_ACME}
            )

    async with server as base, anyio.create_task_group() as tg:
        for label, token in (("limited", limited), ("viewer", viewer), ("full", full)):
            tg.start_soon(as_caller, label, token, base)
    assert "probe_every_client" not in seen["limited"] and "probe_write" in seen["limited"]
    assert "probe_every_client" in seen["viewer"] and "probe_write" not in seen["viewer"]
    assert {"probe_every_client", "probe_write"} <= seen["full"]
    refused = text(answers["limited:every"])
    assert answers["limited:every"].is_error and refused.startswith("Unknown tool: probe_every_client.")
    assert "limited to some profiles; tools/list shows the tools it may call" in refused
    assert "read-only" in text(answers["viewer:write"]) and answers["viewer:write"].is_error
    assert not answers["limited:write"].is_error and not answers["full:every"].is_error
    assert "Wrote for" in text(answers["full:write"])


# -- README's tool table and docs/team.md's scope table, checked against the inventory ---------------


def table_rows(heading: str, header: str, document: str = README) -> list[list[str]]:
    """The cells of the first table under `heading` whose header row starts with `header`."""
    section = f"\n{document}".split(f"\n{heading}\n", 1)[1]
    start = section.index(f"\n{header}")
    rows = []
    for line in section[start + 1 :].splitlines()[2:]:
        if not line.startswith("|"):
            break
        rows.append([cell.strip() for cell in line.strip("|").split(" | ")])
    return rows


def names_in(cell: str) -> list[str]:
    """Tool names in a cell: each backticked word, `_*` spread over the tools it matches."""
    found: list[str] = []
    for word in re.findall(r"`([a-z_]+\*?)", cell):
        if word.endswith("*"):
            found += [n for n in BY_NAME if n.startswith(word[:-1])]
        else:
            found.append(word)
    return found


def test_readme_tool_table_lists_every_tool_once_under_its_domain_with_real_arguments() -> None:
    domain = ""
    placed: dict[str, str] = {}
    for cells in table_rows("## Tools", "| domain | tool |"):
        domain = cells[0] or domain
        for call in re.findall(r"`([a-z_]+)(?:\(([^)]*)\))?`", cells[1]):
            name, arguments = call
            assert name in BY_NAME, f"README's tool table names {name}, which is no tool"
            assert name not in placed, f"{name} is in README's tool table twice"
            placed[name] = domain
            declared = parameters_of(BY_NAME[name].fn)
            for argument in re.findall(r"[a-z_]+", arguments.replace("same", "")):
                assert argument in declared, f"README shows {name}({argument}), which it does not take"
    missing = sorted(set(BY_NAME) - set(placed))
    assert not missing, f"README's tool table lacks {missing}"
    wrong = {n: (placed[n], str(BY_NAME[n].domain)) for n in placed if placed[n] != BY_NAME[n].domain}
    assert not wrong, f"README's tool table puts these under another domain (shown, declared): {wrong}"


def test_readme_scope_table_covers_every_tool_a_limited_token_gets() -> None:
    rows = table_rows("# Run it for a team", "| tools | what is checked |", TEAM_GUIDE)
    listed = [name for cells in rows for name in names_in(cells[0])]
    assert sorted(listed) == sorted(set(listed)), "a tool is in README's scope table twice"
    given = {s.name for s in ALL_TOOLS if s.for_profile_limited}
    assert set(listed) == given, f"README's scope table differs from the inventory: {set(listed) ^ given}"
    nothing = next(names_in(cells[0]) for cells in rows if cells[1].startswith("nothing"))
    assert {n for n in nothing if BY_NAME[n].touches} == set(), "tools naming a thing are checked"
    touching_nothing = {s.name for s in ALL_TOOLS if not s.touches and s.for_profile_limited}
    assert touching_nothing - set(nothing) == {"profiles_list"}  # filtered, its own row
    for name in ("journal_recent", "profiles_create"):  # the prose says a limited token lacks them
        assert f"`{name}`" in TEAM_GUIDE.split("**What a token may touch.**", 1)[1].split("| tools |")[0]


def test_each_tool_sits_in_the_module_its_name_points_to() -> None:
    """A tool `<prefix>_...` is in tools/<prefix>.py; the posts module is split in two by what the
    tools do (creating: publishing.py, with time_now; deciding on approval: review.py; the calendar:
    calendar.py), the analytics one for the period report."""
    split = {
        ("publishing", "posts"),
        ("publishing", "time"),
        ("review", "posts"),
        ("calendar", "posts"),
        ("report", "analytics"),
    }
    for spec in ALL_TOOLS:
        module = spec.fn.__module__.removeprefix("late_mcp.tools.")
        prefix = spec.name.split("_")[0]
        assert module == prefix or (module, prefix) in split, (spec.name, module)
