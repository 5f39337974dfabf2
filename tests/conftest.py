"""Shared fixtures: a real MCP client session → late-mcp → HTTP → the Late sandbox.

Every request the server sends is checked against Late's OpenAPI spec on the way (from
LATE_OPENAPI_SPEC, ../shared/late-api/openapi.yaml or the late-sdk package: tests/contract.py; in CI
it must be found); a request the spec rejects fails the test.
"""

from __future__ import annotations

import base64
import json
import logging
import re
from collections.abc import AsyncIterator, Iterator
from pathlib import Path
from typing import Any

import httpx2
import mcp_types as types
import pytest
from mcp import Client
from mcp_types import CallToolResult, TextContent

from browser import Browser, headless_chromium
from contract import ContractCheckingTransport, OpenAPIContract, SpecMissingInCI, load_or_warn
from late_mcp.config.settings import TOOLSETS, Settings
from late_mcp.sandbox import SandboxState, create_sandbox_app
from late_mcp.server.build import build_server

# Recognisable, so a test can scan everything captured for it.
TEST_KEY = "sk_" + "5ec2e7" * 10 + "c0ffee0"
API_BASE = "http://late.test/api"


@pytest.fixture
def anyio_backend() -> str:
    return "asyncio"


_B64_RUN = re.compile(r"[A-Za-z0-9+/_-]{16,}")


def key_variants(text: str, key: str = TEST_KEY) -> list[str]:
    """The forms of `key` found in `text`: the key, 12 or more characters of its secret part in
    any case, or base64 that decodes (at any offset, standard or URL-safe) to such characters.

    Found by decoding, not by encoding the key the way the server's scrubber does, so a bug in
    that encoder cannot hide here."""
    part = key[3:].lower()
    grams = sorted({part[i : i + 12] for i in range(len(part) - 11)})
    pattern = re.compile("|".join(map(re.escape, grams)))
    found = [f"{key[:6]}… as text: {m.group()}" for m in pattern.finditer(text.lower())]
    for run in _B64_RUN.findall(text):
        standard = run.replace("-", "+").replace("_", "/")
        for offset in range(4):
            chunk = standard[offset:]
            chunk = chunk[: len(chunk) // 4 * 4]
            try:
                decoded = base64.b64decode(chunk).decode("latin-1").lower()
            except ValueError:
                continue
            found += [f"{key[:6]}… in base64 {run[:24]}…" for _ in pattern.finditer(decoded)][:1]
    return found


@pytest.fixture(autouse=True)
def key_never_leaks(caplog: pytest.LogCaptureFixture, capfd: pytest.CaptureFixture[str]) -> Iterator[None]:
    """Every test runs with a recognisable key and DEBUG logging; nothing captured may contain it,
    whole or in any of its forms (key_variants)."""
    caplog.set_level(logging.DEBUG)
    yield
    out, err = capfd.readouterr()
    for name, captured in (("stdout", out), ("stderr", err), ("logs", caplog.text)):
        assert TEST_KEY not in captured, f"the API key leaked into {name}"
        assert not key_variants(captured), f"the API key leaked into {name}: {key_variants(captured)}"
    for record in caplog.records:
        assert not key_variants(repr(record.args)), "the API key leaked into a log record's arguments"


@pytest.fixture(scope="session")
def contract() -> OpenAPIContract | None:
    """The spec's checker (contract.find_spec says where the spec comes from). In CI without a
    spec the run stops here with the reason, once, instead of an error for every test."""
    try:
        return load_or_warn()
    except SpecMissingInCI as missing:
        pytest.exit(str(missing), returncode=1)


@pytest.fixture
def sandbox() -> Any:
    return create_sandbox_app(api_key=TEST_KEY)


@pytest.fixture
def state(sandbox: Any) -> SandboxState:
    return sandbox.state.late  # type: ignore[no-any-return]


@pytest.fixture
def late_transport(sandbox: Any, contract: OpenAPIContract | None) -> Iterator[ContractCheckingTransport]:
    transport = ContractCheckingTransport(httpx2.ASGITransport(app=sandbox), contract)
    yield transport
    assert transport.violations == [], "requests the Late OpenAPI spec rejects"


def make_settings(api_key: str | None = TEST_KEY, **overrides: Any) -> Settings:
    """Settings for tests: retries wait milliseconds, not seconds; every toolset offered."""
    values: dict[str, Any] = {
        "retry_base_delay": 0.001,
        "retry_max_delay": 0.005,
        "toolsets": TOOLSETS,  # every tool; tests of the default selection pass toolsets=None
        **overrides,
    }
    return Settings(api_key=api_key, base_url=API_BASE, **values)


@pytest.fixture
async def mcp(late_transport: ContractCheckingTransport, tmp_path: Path) -> AsyncIterator[Client]:
    """A session whose media_upload_file may read the test's own tmp_path (LATE_MEDIA_DIRS)."""
    server = build_server(make_settings(media_dirs=(tmp_path,)), transport=late_transport)
    async with Client(server, mode="legacy") as client:
        yield client


async def call(client: Client, tool: str, **arguments: Any) -> CallToolResult:
    result = await client.call_tool(tool, arguments)
    assert isinstance(result, CallToolResult)
    dumped = result.model_dump_json()
    assert TEST_KEY not in dumped and not key_variants(dumped), "the API key leaked into a tool result"
    return result


def text(result: CallToolResult) -> str:
    return "\n".join(block.text for block in result.content if isinstance(block, TextContent))


async def ok(client: Client, tool: str, **arguments: Any) -> dict[str, Any]:
    """Call a tool that must succeed; return its structured result (checked against its text)."""
    result = await call(client, tool, **arguments)
    assert not result.is_error, text(result)
    return structured(result)


def structured(result: CallToolResult) -> dict[str, Any]:
    """The data of a result as it reaches a client: the JSON on its text's last line (the answer
    carries it once, in the text: late_mcp.server.result_form), never a second copy beside it."""
    assert result.structured_content is None, "the answer carries its data twice"
    assert len(result.content) == 1 and isinstance(result.content[0], TextContent), result.content
    data = json.loads(result.content[0].text.rsplit("\n", 1)[1])
    assert isinstance(data, dict)
    return data


def structured_raw(result: dict[str, Any]) -> dict[str, Any]:
    """`structured` for a raw JSON-RPC tools/call result (a dict, as read off the wire)."""
    assert "structuredContent" not in result, "the answer carries its data twice"
    data = json.loads(result["content"][0]["text"].rsplit("\n", 1)[1])
    assert isinstance(data, dict)
    return data


async def fails(client: Client, tool: str, **arguments: Any) -> str:
    """Call a tool that must fail with a tool error; return the error text."""
    result = await call(client, tool, **arguments)
    assert result.is_error, f"{tool} unexpectedly succeeded: {text(result)}"
    return message(result)


def message(result: CallToolResult) -> str:
    """A result's words without its JSON line (an error's kind, status and request id)."""
    shown = text(result)
    head, newline, last = shown.rpartition("\n")
    return head if newline and last.startswith("{") else shown


async def confirmed(client: Client, tool: str, **arguments: Any) -> dict[str, Any]:
    """Call a tool that previews before acting: check the preview, confirm with its token."""
    preview = await ok(client, tool, **arguments)
    assert preview["status"] == "preview" and preview["confirm_token"], preview
    return await ok(client, tool, **arguments, confirm=preview["confirm_token"])


def asking(answer: str, *, confirm: bool | None = None) -> Any:
    """An elicitation callback that answers every question with `answer` ("accept", "decline",
    "cancel"), an accept ticking confirm=`confirm` when given, and keeps the messages it was asked
    in `.asked` (the dialog the person would see)."""
    asked: list[str] = []
    content = {"confirm": confirm} if answer == "accept" and confirm is not None else None

    async def callback(context: Any, params: types.ElicitRequestParams) -> types.ElicitResult:
        asked.append(params.message)
        return types.ElicitResult(action=answer, content=content)  # type: ignore[arg-type]

    callback.asked = asked  # type: ignore[attr-defined]
    return callback


@pytest.fixture
def browser() -> Iterator[Browser]:
    """A fresh headless chromium (tests/browser.py); skips without it, fails in CI."""
    with headless_chromium() as window:
        yield window
