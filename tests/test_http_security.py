"""Who may call over HTTP: tokens, Host/Origin checks, health checks, session and body limits."""

from __future__ import annotations

import re
from pathlib import Path

import anyio
import httpx2
import pytest

from conftest import TEST_KEY
from contract import ContractCheckingTransport
from httpserve import connect, running
from late_mcp.auth.tokens import SQLiteTokenStore
from late_mcp.config.http import HttpSettings
from late_mcp.sandbox import SandboxState

pytestmark = pytest.mark.anyio
SECRET = "s3cret-team-token-" + "x" * 20
INIT = {
    "jsonrpc": "2.0",
    "id": 1,
    "method": "initialize",
    "params": {
        "protocolVersion": "2025-06-18",
        "capabilities": {},
        "clientInfo": {"name": "probe", "version": "1"},
    },
}
MCP_HEADERS = {"Accept": "application/json, text/event-stream", "Content-Type": "application/json"}


class Recording(httpx2.AsyncBaseTransport):
    """Passes requests on to the sandbox and keeps their Authorization headers."""

    def __init__(self, inner: httpx2.AsyncBaseTransport) -> None:
        self.inner = inner
        self.authorizations: list[str] = []

    async def handle_async_request(self, request: httpx2.Request) -> httpx2.Response:
        self.authorizations.append(request.headers.get("Authorization", ""))
        return await self.inner.handle_async_request(request)


@pytest.fixture
def recording(late_transport: ContractCheckingTransport) -> Recording:
    return Recording(late_transport)


async def test_healthz_answers_without_a_token_and_without_calling_late(
    recording: Recording, state: SandboxState
) -> None:
    http = HttpSettings(transport="http", token=SECRET)
    async with running(recording, http) as base, httpx2.AsyncClient() as web:
        health = await web.get(f"{base}/healthz", headers={"Host": "pod-10-0-0-7.internal"})
    assert health.status_code == 200 and health.json() == {"status": "ok"}
    assert state.requests == [] and recording.authorizations == []


@pytest.mark.parametrize("transport", ["http", "sse"])
async def test_no_or_wrong_token_gets_401_and_nothing_reaches_late(
    transport: str, recording: Recording, state: SandboxState
) -> None:
    path = "/sse" if transport == "sse" else "/mcp"
    async with running(recording, HttpSettings(transport=transport, token=SECRET)) as base:  # type: ignore[arg-type]
        async with httpx2.AsyncClient() as web:
            answers = [
                await web.post(f"{base}{path}", json=INIT, headers={**MCP_HEADERS, **auth})
                for auth in ({}, {"Authorization": "Bearer wrong"}, {"Authorization": f"Basic {SECRET}"})
            ]
            if transport == "sse":
                answers.append(await web.get(f"{base}/sse", headers={"Authorization": "Bearer nope"}))
                answers.append(await web.post(f"{base}/messages/?session_id=x", json=INIT))
        with pytest.raises(Exception):  # noqa: B017 - the SDK client fails to connect, any way it likes
            async with connect(base, "wrong", sse=transport == "sse") as client:
                await client.call_tool("profiles_list", {})
        async with connect(base, SECRET, sse=transport == "sse") as client:
            listed = await client.call_tool("profiles_list", {})
    for answer in answers:
        assert answer.status_code == 401, answer.text
        assert answer.headers["www-authenticate"].startswith("Bearer")
        assert "Authorization: Bearer" in answer.json()["message"]
    assert not listed.is_error
    assert state.requests == [("GET", "/api/v1/profiles")]  # only the authenticated call


async def test_the_clients_token_never_reaches_late_and_a_late_key_is_not_a_token(
    recording: Recording, state: SandboxState
) -> None:
    async with running(recording, HttpSettings(transport="http", token=SECRET)) as base:
        async with connect(base, SECRET) as client:
            await client.call_tool("profiles_list", {})
            await client.call_tool("accounts_list", {})
        async with httpx2.AsyncClient() as web:
            with_key = await web.post(
                f"{base}/mcp", json=INIT, headers={**MCP_HEADERS, "Authorization": f"Bearer {TEST_KEY}"}
            )
    assert with_key.status_code == 401
    assert recording.authorizations and set(recording.authorizations) == {f"Bearer {TEST_KEY}"}
    assert len(state.requests) == 2


@pytest.mark.parametrize("bind", ["127.0.0.1", "0.0.0.0"])
async def test_foreign_host_and_origin_are_refused(
    bind: str, recording: Recording, state: SandboxState
) -> None:
    http = HttpSettings(transport="http", host=bind, token=SECRET, allowed_hosts=("mcp.example.org",))
    auth = {**MCP_HEADERS, "Authorization": f"Bearer {SECRET}"}
    async with running(recording, http) as base, httpx2.AsyncClient() as web:
        foreign_host = await web.post(f"{base}/mcp", json=INIT, headers={**auth, "Host": "evil.example"})
        rebinding = await web.post(
            f"{base}/mcp", json=INIT, headers={**auth, "Origin": "http://evil.example"}
        )
        no_token_foreign = await web.post(f"{base}/mcp", json=INIT, headers={"Host": "evil.example"})
        listed_host = await web.post(f"{base}/mcp", json=INIT, headers={**auth, "Host": "mcp.example.org"})
        local = await web.post(f"{base}/mcp", json=INIT, headers={**auth, "Origin": base})
    assert foreign_host.status_code == 421 and "Host" in foreign_host.text
    assert rebinding.status_code == 403 and "Origin" in rebinding.text
    assert no_token_foreign.status_code == 421  # refused before authentication is even asked
    assert listed_host.status_code == 200  # LATE_MCP_ALLOWED_HOSTS adds to the list
    assert local.status_code == 200
    assert state.requests == []


async def test_session_limit_refuses_one_more_session(recording: Recording) -> None:
    http = HttpSettings(transport="http", max_sessions=2)
    async with running(recording, http) as base, httpx2.AsyncClient() as web:
        answers = [await web.post(f"{base}/mcp", json=INIT, headers=MCP_HEADERS) for _ in range(3)]
        session = answers[0].headers["mcp-session-id"]
        ping = await web.post(
            f"{base}/mcp",
            json={"jsonrpc": "2.0", "id": 2, "method": "ping"},
            headers={**MCP_HEADERS, "mcp-session-id": session, "mcp-protocol-version": "2025-06-18"},
        )
    assert [a.status_code for a in answers] == [200, 200, 503]
    assert "Too many open sessions" in answers[2].text
    assert ping.status_code == 200  # the sessions already open keep working


async def test_an_idle_session_is_closed_and_frees_its_place(recording: Recording) -> None:
    http = HttpSettings(transport="http", max_sessions=1, session_idle_timeout=0.1)
    async with running(recording, http) as base, httpx2.AsyncClient() as web:
        first = await web.post(f"{base}/mcp", json=INIT, headers=MCP_HEADERS)
        session = {**MCP_HEADERS, "mcp-session-id": first.headers["mcp-session-id"]}
        with anyio.fail_after(20):  # a bound on waiting for the reaper, not a measurement
            while (  # noqa: ASYNC110 - the server offers no event to wait on
                second := await web.post(f"{base}/mcp", json=INIT, headers=MCP_HEADERS)
            ).status_code == 503:
                await anyio.sleep(0.05)
        ping = {"jsonrpc": "2.0", "id": 2, "method": "ping"}
        gone = await web.post(f"{base}/mcp", json=ping, headers=session)
    assert gone.status_code == 404  # the idle session was closed
    assert first.status_code == 200 and second.status_code == 200


async def test_sse_streams_are_limited_too(recording: Recording) -> None:
    http = HttpSettings(transport="sse", max_sessions=1)
    async with running(recording, http) as base, connect(base, sse=True) as first:
        await first.call_tool("time_now", {})
        async with httpx2.AsyncClient() as web:
            second = await web.get(f"{base}/sse")
    assert second.status_code == 503 and "too many open sessions" in second.text


async def test_a_body_that_never_finishes_gets_408(recording: Recording) -> None:
    http = HttpSettings(transport="http", body_timeout=0.2)
    async with running(recording, http) as base:
        port = int(base.rsplit(":", 1)[1])
        async with await anyio.connect_tcp("127.0.0.1", port) as stream:
            await stream.send(
                b"POST /mcp HTTP/1.1\r\nHost: 127.0.0.1\r\nContent-Type: application/json\r\n"
                b"Accept: application/json, text/event-stream\r\nContent-Length: 100\r\n\r\n"
                b'{"jsonrpc": "2.0",'  # and then nothing more
            )
            answer = await stream.receive()
    assert answer.startswith(b"HTTP/1.1 408")


async def test_a_running_server_honours_new_and_revoked_tokens(
    recording: Recording, tmp_path: Path, state: SandboxState
) -> None:
    store = SQLiteTokenStore(tmp_path / "tokens.sqlite3")
    first = store.create("alice", (), False)
    async with running(recording, HttpSettings(transport="http"), store) as base:
        async with httpx2.AsyncClient() as web:
            anonymous = await web.post(f"{base}/mcp", json=INIT, headers=MCP_HEADERS)
        async with connect(base, first) as client:
            assert not (await client.call_tool("profiles_list", {})).is_error
            second = store.create("bob", (), False)  # made while the server runs
            async with connect(base, second) as other:
                assert not (await other.call_tool("profiles_list", {})).is_error
            store.revoke("alice")
            with pytest.raises(Exception):  # noqa: B017 - the session's next request gets 401
                await client.call_tool("profiles_list", {})
    assert anonymous.status_code == 401  # a store with tokens means authentication is on
    assert state.requests.count(("GET", "/api/v1/profiles")) == 2


def test_http_settings_come_from_late_mcp_variables() -> None:
    from late_mcp.config.settings import ConfigError

    http = HttpSettings.from_env(
        {
            "LATE_MCP_TRANSPORT": "streamable-http",
            "LATE_MCP_HOST": "0.0.0.0",
            "LATE_MCP_PORT": "9001",
            "LATE_MCP_TOKEN": SECRET,
            "LATE_MCP_ALLOWED_HOSTS": "mcp.example.org, lb.internal:8443",
            "LATE_MCP_MAX_SESSIONS": "5",
            "LATE_MCP_SESSION_IDLE_TIMEOUT": "30",
            "LATE_MCP_BODY_TIMEOUT": "2.5",
            "LATE_MCP_STATELESS": "on",
        }
    )
    assert (http.transport, http.host, http.port, http.stateless) == ("http", "0.0.0.0", 9001, True)
    assert (http.max_sessions, http.session_idle_timeout, http.body_timeout) == (5, 30.0, 2.5)
    assert http.allowed_hosts == ("mcp.example.org", "lb.internal:8443") and SECRET not in repr(http)
    defaults = HttpSettings.from_env({})
    assert (defaults.transport, defaults.host, defaults.port, defaults.max_sessions) == (
        "stdio",
        "127.0.0.1",
        8000,
        100,
    )
    for name, value, reason in (
        ("LATE_MCP_TRANSPORT", "websocket", "must be stdio, http (also streamable-http) or sse"),
        ("LATE_MCP_PORT", "80000", "must be a port number from 1 to 65535"),
        ("LATE_MCP_MAX_SESSIONS", "0", "must be a whole number of at least 1"),
        ("LATE_MCP_BODY_TIMEOUT", "never", "must be a number of seconds"),
    ):
        with pytest.raises(ConfigError, match=re.escape(f"{name} {reason}")):
            HttpSettings.from_env({name: value})
