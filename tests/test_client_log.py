"""MCP log notifications: the late_mcp records reach the client at the level it set, never below.

Everything goes through a real client session with a logging callback; the log lines come from the
server's own code (a retried request against the sandbox in fault mode).
"""

from __future__ import annotations

import json
import logging
from collections.abc import AsyncIterator, Iterator
from typing import Any

import anyio
import httpx2
import pytest
from mcp import Client
from mcp.shared.exceptions import MCPError
from mcp_types import LoggingMessageNotificationParams

from conftest import TEST_KEY, make_settings, ok
from contract import ContractCheckingTransport, OpenAPIContract
from late_mcp.sandbox.faults import FaultInjectingTransport, FaultPlan
from late_mcp.server import clientlog
from late_mcp.server.build import build_server
from test_stdio import StdioSession, server_env

pytestmark = [
    pytest.mark.anyio,
    # The client's set_logging_level warns that 2026-07-28 deprecates logging; these tests use it on purpose.
    pytest.mark.filterwarnings("ignore::mcp.shared.exceptions.MCPDeprecationWarning"),
]


class Received:
    """The client's logging callback: every notification it got."""

    def __init__(self) -> None:
        self.messages: list[LoggingMessageNotificationParams] = []

    async def __call__(self, params: LoggingMessageNotificationParams) -> None:
        self.messages.append(params)

    def levels(self) -> set[str]:
        return {m.level for m in self.messages}

    def texts(self) -> list[str]:
        return [str(m.data) for m in self.messages]


@pytest.fixture(autouse=True)
def restore_logger_level() -> Iterator[None]:
    logger = logging.getLogger("late_mcp")
    level = logger.level
    yield
    logger.setLevel(level)


@pytest.fixture
def faulty(
    sandbox: Any, contract: OpenAPIContract | None
) -> Iterator[tuple[FaultInjectingTransport, ContractCheckingTransport]]:
    """Half the GETs answer 503 (seeded); the retry gets through and logs one line at info."""
    checked = ContractCheckingTransport(httpx2.ASGITransport(app=sandbox), contract)
    faults = FaultInjectingTransport(checked, FaultPlan.parse("5xx=0.5,seed=3,methods=GET"))
    yield faults, checked
    assert checked.violations == []


async def session(
    transport: httpx2.AsyncBaseTransport, received: Received, **settings: Any
) -> AsyncIterator[Client]:
    server = build_server(make_settings(retry_attempts=6, **settings), transport=transport)
    async with Client(server, mode="legacy", logging_callback=received) as client:
        yield client


async def read_until_retried(client: Client, faults: FaultInjectingTransport) -> None:
    for _ in range(20):
        await ok(client, "profiles_list")
        if faults.counts["server_error"]:
            return
    raise AssertionError("the fault plan never injected a 503")


async def test_server_advertises_logging_on_handshake(faulty: Any) -> None:
    received = Received()
    async for client in session(faulty[0], received):
        assert client.server_capabilities.logging is not None


async def test_retry_reaches_client_at_info_once_it_asks_for_info(faulty: Any) -> None:
    faults, _ = faulty
    received = Received()
    async for client in session(faults, received):
        await client.set_logging_level("info")
        await read_until_retried(client, faults)
    retries = [m for m in received.messages if "retrying GET /v1/profiles" in str(m.data)]
    assert retries, received.texts()
    assert {m.level for m in retries} == {"info"}
    assert {m.logger for m in retries} == {"late_mcp.late.client"}
    assert "debug" not in received.levels()


async def test_nothing_below_the_level_the_client_set(faulty: Any) -> None:
    faults, _ = faulty
    received = Received()
    async for client in session(faults, received, log_level="DEBUG"):  # stderr would show everything
        await client.set_logging_level("warning")
        await read_until_retried(client, faults)
    assert received.levels() <= {"warning", "error", "critical"}, received.texts()
    assert not any("retrying" in text for text in received.texts())


async def test_unset_level_follows_stderr_level(faulty: Any) -> None:
    """A client that never sets a level gets what stderr shows (LATE_LOG_LEVEL, warning by default)."""
    faults, _ = faulty
    quiet, chatty = Received(), Received()
    async for client in session(faults, quiet):
        await read_until_retried(client, faults)
    faults.counts.clear()
    async for client in session(faults, chatty, log_level="INFO"):
        await read_until_retried(client, faults)
    assert not any("retrying" in text for text in quiet.texts())
    assert any("retrying" in text for text in chatty.texts())


async def test_lowering_the_level_later_takes_effect(faulty: Any) -> None:
    faults, _ = faulty
    received = Received()
    async for client in session(faults, received):
        await client.set_logging_level("error")
        await read_until_retried(client, faults)
        assert received.messages == []
        await client.set_logging_level("debug")
        faults.counts.clear()
        await read_until_retried(client, faults)
    assert any("retrying" in text for text in received.texts())


async def test_bad_level_is_refused_with_the_allowed_levels(faulty: Any) -> None:
    received = Received()
    async for client in session(faulty[0], received):
        with pytest.raises(MCPError) as caught:
            await client.session.send_request(  # the typed client cannot send a bad level
                _raw_set_level("loud"), _empty_result()
            )
    assert "debug, info, notice, warning, error, critical, alert, emergency" in str(caught.value)


async def test_api_key_never_forwarded(late_transport: ContractCheckingTransport) -> None:
    """A record that somehow carries the key reaches the client with the key replaced. The record
    goes through a logger that does not propagate, so stderr and the captured logs never see it."""
    leaky = logging.getLogger("late_mcp.leak_probe")
    leaky.propagate = False
    leaky.addHandler(clientlog._handler)
    server = build_server(make_settings(), transport=late_transport)

    @server.tool()
    async def leak_probe() -> str:
        """Log a line that carries the key."""
        leaky.warning("authorization failed for Bearer %s (sent to %s)", TEST_KEY, "late.test")
        return "done"

    received = Received()
    try:
        async with Client(server, mode="legacy", logging_callback=received) as client:
            await client.set_logging_level("debug")
            await client.call_tool("leak_probe", {})
            await ok(client, "profiles_list")
    finally:
        leaky.removeHandler(clientlog._handler)
    probe = [m for m in received.messages if m.logger == "late_mcp.leak_probe"]
    assert [m.data for m in probe] == ["authorization failed for Bearer [redacted] (sent to late.test)"]
    assert all(TEST_KEY not in str(m.model_dump()) for m in received.messages)


async def test_modern_protocol_sends_only_what_the_request_opted_into(faulty: Any) -> None:
    """2026-07-28 has no logging/setLevel: each request opts in through `_meta`."""
    faults, _ = faulty
    server = build_server(make_settings(retry_attempts=6), transport=faults)
    silent, opted = Received(), Received()
    async with Client(server, mode="2026-07-28", logging_callback=silent) as client:
        await read_until_retried(client, faults)
    faults.counts.clear()
    async with Client(server, mode="2026-07-28", logging_callback=opted, log_level="info") as client:
        await read_until_retried(client, faults)
    assert silent.messages == []
    assert any("retrying" in text for text in opted.texts())
    assert opted.levels() <= {"info", "notice", "warning", "error", "critical"}


def _raw_set_level(level: str) -> Any:
    from mcp_types import SetLevelRequest, SetLevelRequestParams

    return SetLevelRequest(params=SetLevelRequestParams.model_construct(level=level))


def _empty_result() -> Any:
    from mcp_types import EmptyResult

    return EmptyResult


async def test_a_failing_request_keeps_its_own_error_while_logging_is_on(faulty: Any) -> None:
    received = Received()
    async for client in session(faulty[0], received):
        await client.set_logging_level("debug")
        with pytest.raises(MCPError) as caught:
            await client.get_prompt("no_such_prompt")
        assert "no_such_prompt" in str(caught.value)
        await ok(client, "profiles_list")  # and the session goes on


def test_over_stdio_notifications_are_json_rpc_and_stderr_keeps_its_level() -> None:
    """A real process in sandbox fault mode: the client at debug gets the retry line as a
    notification on stdout (JSON-RPC like every other line); stderr, at warning, does not show it."""
    session = StdioSession(
        server_env(
            LATE_SANDBOX="on", LATE_SANDBOX_FAULTS="5xx=0.5,seed=3,methods=GET", LATE_LOG_LEVEL="warning"
        )
    )
    init = session.request(
        1,
        "initialize",
        {"protocolVersion": "2025-06-18", "capabilities": {}, "clientInfo": {"name": "test", "version": "1"}},
    )
    assert init["result"]["capabilities"]["logging"] == {}
    session.send({"jsonrpc": "2.0", "method": "notifications/initialized"})
    assert session.request(2, "logging/setLevel", {"level": "debug"})["result"] == {}
    for request_id in range(3, 23):
        session.request(request_id, "tools/call", {"name": "profiles_list", "arguments": {}})
        if any("retrying GET" in line for line in session.raw_stdout):
            break
    stderr = session.close()
    messages = [json.loads(line) for line in session.raw_stdout]
    assert all(message.get("jsonrpc") == "2.0" for message in messages)
    logs = [m["params"] for m in messages if m.get("method") == "notifications/message"]
    retries = [p for p in logs if p["data"].startswith("retrying GET /v1/profiles")]
    assert retries and all(p["level"] == "info" and p["logger"] == "late_mcp.late.client" for p in retries)
    assert "retrying" not in stderr


async def test_each_connection_keeps_its_own_level_under_concurrent_calls(faulty: Any) -> None:
    """Two clients of one server, calls interleaved: the one that asked for info gets the retry
    lines of its own calls; the other (no level set, warning) gets none."""
    faults, _ = faulty
    server = build_server(make_settings(retry_attempts=6), transport=faults)
    chatty, quiet = Received(), Received()
    async with (
        Client(server, mode="legacy", logging_callback=chatty) as first,
        Client(server, mode="legacy", logging_callback=quiet) as second,
    ):
        await first.set_logging_level("info")
        async with anyio.create_task_group() as group:
            for _ in range(8):
                group.start_soon(ok, first, "profiles_list")
                group.start_soon(ok, second, "profiles_list")
    assert faults.counts["server_error"] > 0
    assert any("retrying GET /v1/profiles" in text for text in chatty.texts())
    assert quiet.messages == []
