"""Names as people write them: platforms in any case and "X" for twitter; one profile per client
name; every account named with its client."""

from __future__ import annotations

from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from pathlib import Path
from typing import Any

import anyio
import httpx2
import pytest
from mcp import Client
from mcp_types import CallToolResult

from conftest import TEST_KEY, call, fails, make_settings, message, ok, structured, text
from contract import ContractCheckingTransport, OpenAPIContract
from late_mcp.sandbox import SandboxState, create_sandbox_app
from late_mcp.sandbox.faults import FaultInjectingTransport, FaultPlan
from late_mcp.sandbox.state import (
    SEED_ACCOUNT_ACME_TWITTER,
    SEED_ACCOUNT_NORDIC_TIKTOK,
    SEED_PROFILE_ACME,
    SEED_PROFILE_NORDIC,
)
from late_mcp.server.build import build_server
from test_redis import redis_server, redis_url  # noqa: F401 (fixtures: a real redis-server)

pytestmark = pytest.mark.anyio
SPELLINGS = ("Bakkerij Jansen", " bakkerij jansen ", "BAKKERIJ JANSEN", "Bakkerij JANSEN\t")


class FirstLookupWaits(httpx2.AsyncBaseTransport):
    """The first GET /v1/profiles is answered only once a second one is on its way (or after a
    half a second at most): name checks that could overlap do, unless the creates take turns."""

    def __init__(self, inner: httpx2.AsyncBaseTransport) -> None:
        self.inner = inner
        self.lookups = 0
        self.second = anyio.Event()

    async def handle_async_request(self, request: httpx2.Request) -> httpx2.Response:
        if request.method == "GET" and request.url.path.endswith("/v1/profiles"):
            self.lookups += 1
            if self.lookups == 1:
                with anyio.move_on_after(0.5):
                    await self.second.wait()
            else:
                self.second.set()
        return await self.inner.handle_async_request(request)


@asynccontextmanager
async def session(
    late: FirstLookupWaits, contract: OpenAPIContract | None, **settings: Any
) -> AsyncIterator[Client]:
    transport = ContractCheckingTransport(late, contract)
    server = build_server(make_settings(**settings), transport=transport)
    async with Client(server, mode="legacy") as client:
        yield client
    assert transport.violations == []


def named(state: SandboxState, name: str = "bakkerij jansen") -> list[str]:
    return [pid for pid, p in state.profiles.items() if p["name"].strip().casefold() == name]


async def creates_at_once(client: Client, names: list[str]) -> list[CallToolResult]:
    results: list[CallToolResult] = []

    async def one(name: str) -> None:
        results.append(await call(client, "profiles_create", name=name))

    async with anyio.create_task_group() as tg:
        for name in names:
            tg.start_soon(one, name)
    return results


def one_created_rest_refused(results: list[CallToolResult], state: SandboxState) -> None:
    """Exactly one profile of the name exists; every other call was refused naming it."""
    [profile_id] = named(state)
    created = [structured(r) or {} for r in results if not r.is_error]
    assert [c["profile"]["id"] for c in created] == [profile_id]
    name = state.profiles[profile_id]["name"]
    refusal = f'Not created: a profile with this name exists: "{name}" ({profile_id}). Use its profile_id'
    refused = [text(r) for r in results if r.is_error]
    assert len(refused) == len(results) - 1
    assert all(r.startswith(refusal) for r in refused), refused


@pytest.mark.parametrize(
    ("written", "platform"), [("X", "twitter"), ("x", "twitter"), ("Instagram", "instagram")]
)
async def test_invites_create_takes_a_platform_in_any_case_and_x_for_twitter(
    mcp: Client, state: SandboxState, written: str, platform: str
) -> None:
    created = await ok(mcp, "invites_create", profile_id=SEED_PROFILE_ACME, platforms=[written])
    assert created["invites"][0]["platform"] == platform
    assert [i["platform"] for i in state.invites.values()] == [platform]  # what Late was sent


async def test_every_platform_argument_takes_any_case(mcp: Client) -> None:
    link = await ok(mcp, "accounts_connect_link", profile_id=SEED_PROFILE_ACME, platform="YouTube")
    assert link["platform"] == "youtube" and link["auth_url"].startswith("http")
    code = await ok(mcp, "accounts_connect_link", profile_id=SEED_PROFILE_ACME, platform="TELEGRAM")
    assert code["platform"] == "telegram" and code["code"]
    rules = await ok(mcp, "posts_platform_rules", platform="X")
    assert rules["platform"] == "twitter" and rules["rules"] > 0
    assert (await ok(mcp, "posts_platform_rules", platform="GoogleBusiness"))["platform"] == "googlebusiness"


async def test_platform_filters_take_any_case(mcp: Client) -> None:
    listed = await ok(mcp, "accounts_list", profile_id=SEED_PROFILE_ACME, platform="X")
    assert [a["id"] for a in listed["accounts"]] == [SEED_ACCOUNT_ACME_TWITTER]
    tiktok = await ok(mcp, "accounts_list", platform="TikTok")
    assert [a["id"] for a in tiktok["accounts"]] == [SEED_ACCOUNT_NORDIC_TIKTOK]
    for tool in ("posts_list", "analytics_posts"):
        lower = await ok(mcp, tool, platform="twitter")
        assert await ok(mcp, tool, platform="X") == lower, tool


async def test_account_references_take_x_in_any_case(mcp: Client) -> None:
    for ref in ("X:@acmebakery", "x:@AcmeBakery", "Twitter:@acmebakery"):
        checked = await ok(mcp, "posts_validate", content="Fresh bread", accounts=[ref], publish_now=True)
        assert [t["account"]["account_id"] for t in checked["targets"]] == [SEED_ACCOUNT_ACME_TWITTER], ref
    bare = await ok(
        mcp,
        "posts_validate",
        content="Fresh bread",
        accounts=["X"],
        profile_id=SEED_PROFILE_ACME,
        publish_now=True,
    )
    assert [t["account"]["account_id"] for t in bare["targets"]] == [SEED_ACCOUNT_ACME_TWITTER]
    refused = await fails(
        mcp, "posts_validate", content="Hi", accounts=["X"], profile_id=SEED_PROFILE_NORDIC, publish_now=True
    )
    assert "'X' matches 2 twitter accounts in profile \"Nordic Outdoor\"" in refused


async def test_a_name_that_is_no_platform_is_still_refused_with_the_list(mcp: Client) -> None:
    refused = await fails(mcp, "invites_create", profile_id=SEED_PROFILE_ACME, platforms=["MySpace"])
    assert "platforms.0: Input should be 'twitter', 'instagram'" in refused and "'googlebusiness'" in refused
    filtered = await fails(mcp, "accounts_list", platform="myspace")
    assert "platform" in filtered and "'twitter'" in filtered


# -- profiles_create: one profile per client name (item 13) ------------------------------------------


async def test_a_name_in_use_is_refused_naming_the_profile_unless_allowed(
    mcp: Client, state: SandboxState
) -> None:
    first = (await ok(mcp, "profiles_create", name="Bakkerij Jansen"))["profile"]["id"]
    for spelling in SPELLINGS:
        refused = await fails(mcp, "profiles_create", name=spelling, color="#FF9933")
        assert refused == (
            f'Not created: a profile with this name exists: "Bakkerij Jansen" ({first}). Use its profile_id '
            "for this client; only if the person wants a second profile of that name, repeat with "
            "allow_duplicate=true."
        )
    assert named(state) == [first]
    seeded = await fails(mcp, "profiles_create", name="acme bakery")
    assert f'"Acme Bakery" ({SEED_PROFILE_ACME})' in seeded
    second = (await ok(mcp, "profiles_create", name="bakkerij jansen", allow_duplicate=True))["profile"]["id"]
    assert sorted(named(state)) == sorted([first, second])
    both = await fails(mcp, "profiles_create", name="Bakkerij Jansen")
    assert f'"Bakkerij Jansen" ({first}), "bakkerij jansen" ({second})' in both
    assert (await ok(mcp, "profiles_create", name="Bakkerij Jansen Noord"))["profile"]["name"] == (
        "Bakkerij Jansen Noord"
    )


async def test_a_repeat_with_its_idempotency_key_replays_instead_of_refusing(
    mcp: Client, state: SandboxState
) -> None:
    first = await ok(mcp, "profiles_create", name="Bakkerij Jansen", idempotency_key="jansen-key-01")
    again = await call(mcp, "profiles_create", name="Bakkerij Jansen", idempotency_key="jansen-key-01")
    assert not again.is_error and "Replayed" in text(again)
    assert structured(again) == first
    assert len(named(state)) == 1


async def test_creates_of_one_name_at_once_make_one_profile(contract: OpenAPIContract | None) -> None:
    app = create_sandbox_app(api_key=TEST_KEY)
    async with session(FirstLookupWaits(httpx2.ASGITransport(app=app)), contract) as client:
        results = await creates_at_once(client, [SPELLINGS[n % 4] for n in range(10)])
    assert len(results) == 10
    one_created_rest_refused(results, app.state.late)


async def test_two_servers_on_one_journal_file_make_one_profile(
    tmp_path: Path, contract: OpenAPIContract | None
) -> None:
    app = create_sandbox_app(api_key=TEST_KEY)
    late = FirstLookupWaits(httpx2.ASGITransport(app=app))  # one Late for both replicas
    results: list[CallToolResult] = []

    async def replica(spellings: list[str]) -> None:
        async with session(late, contract, journal_path=tmp_path / "journal.sqlite3") as client:
            results.extend(await creates_at_once(client, spellings))

    async with anyio.create_task_group() as tg:
        tg.start_soon(replica, list(SPELLINGS))
        tg.start_soon(replica, list(reversed(SPELLINGS)))
    assert len(results) == 8
    one_created_rest_refused(results, app.state.late)


async def test_two_servers_on_one_redis_make_one_profile(
    redis_url: str,  # noqa: F811
    contract: OpenAPIContract | None,
) -> None:
    app = create_sandbox_app(api_key=TEST_KEY)
    late = FirstLookupWaits(httpx2.ASGITransport(app=app))  # one Late for both replicas
    results: list[CallToolResult] = []

    async def replica() -> None:
        async with session(late, contract, redis_url=redis_url) as client:
            results.extend(await creates_at_once(client, list(SPELLINGS)))

    async with anyio.create_task_group() as tg:
        tg.start_soon(replica)
        tg.start_soon(replica)
    assert len(results) == 8
    one_created_rest_refused(results, app.state.late)


async def test_a_name_check_that_fails_says_nothing_was_created(contract: OpenAPIContract | None) -> None:
    app = create_sandbox_app(api_key=TEST_KEY)
    lost_reads = FaultInjectingTransport(
        httpx2.ASGITransport(app=app), FaultPlan(lost=1.0, methods=frozenset({"GET"}))
    )
    transport = ContractCheckingTransport(lost_reads, contract)
    async with Client(
        build_server(make_settings(retry_attempts=2), transport=transport), mode="legacy"
    ) as client:
        result = await call(client, "profiles_create", name="Bakkerij Jansen")
        journaled = await ok(client, "journal_recent")
    assert result.is_error and "may have been applied" not in text(result)
    assert text(result).startswith("Late for GET /v1/profiles could not be reached"), text(result)
    assert message(result).endswith("Check the network connection and LATE_BASE_URL, then try again.")
    error = structured(result)["error"]
    assert error["kind"] == "transport" and error["retryable"] is True and "outcome_unknown" not in error
    assert [e["outcome"] for e in journaled["entries"]] == ["error:transport"]
    assert named(app.state.late) == [] and ("POST", "/api/v1/profiles") not in app.state.late.requests


# -- accounts_list: every account names its client (item 14) -----------------------------------------


class ProfilesAlongside(httpx2.AsyncBaseTransport):
    """Records Late's requests; GET /v1/accounts is answered once a GET /v1/profiles is on its way
    (or after half a second at most) and notes whether it was, i.e. whether both went at once."""

    def __init__(self, inner: httpx2.AsyncBaseTransport) -> None:
        self.inner = inner
        self.requests: list[str] = []
        self.together: list[bool] = []
        self.profiles_sent = anyio.Event()

    async def handle_async_request(self, request: httpx2.Request) -> httpx2.Response:
        path = request.url.path.removeprefix("/api")
        self.requests.append(f"{request.method} {path}")
        if path == "/v1/profiles":
            self.profiles_sent.set()
        if path == "/v1/accounts":
            self.profiles_sent = anyio.Event()
            with anyio.move_on_after(0.5):
                await self.profiles_sent.wait()
            self.together.append(self.profiles_sent.is_set())
        return await self.inner.handle_async_request(request)


@asynccontextmanager
async def watched(
    app: Any, contract: OpenAPIContract | None
) -> AsyncIterator[tuple[Client, ProfilesAlongside]]:
    late = ProfilesAlongside(httpx2.ASGITransport(app=app))
    transport = ContractCheckingTransport(late, contract)
    async with Client(build_server(make_settings(), transport=transport), mode="legacy") as client:
        yield client, late
    assert transport.violations == []


def clients_of(listed: dict[str, Any]) -> dict[str, str | None]:
    return {a["id"]: a.get("profile_name") for a in listed["accounts"]}


async def test_accounts_list_names_each_client_when_late_sends_plain_profile_ids(
    contract: OpenAPIContract | None,
) -> None:
    app = create_sandbox_app(api_key=TEST_KEY)
    state: SandboxState = app.state.late
    state.populated_account_profiles = False
    assert {type(a["profileId"]) for a in state.list_accounts()} == {str}  # what Late answers now
    names = {pid: p["name"] for pid, p in state.profiles.items()}
    expected = {aid: names[a["profileId"]] for aid, a in state.accounts.items()}
    async with watched(app, contract) as (client, late):
        first = await ok(client, "accounts_list")
        assert clients_of(first) == expected and set(expected.values()) == {"Acme Bakery", "Nordic Outdoor"}
        assert late.requests == ["GET /v1/accounts", "GET /v1/profiles"] and late.together == [False]
        nordic = await ok(client, "accounts_list", profile_id=SEED_PROFILE_NORDIC, platform="twitter")
        assert set(clients_of(nordic).values()) == {"Nordic Outdoor"} and len(nordic["accounts"]) == 2
        assert late.requests[2:] in (
            ["GET /v1/accounts", "GET /v1/profiles"],
            ["GET /v1/profiles", "GET /v1/accounts"],
        )
        assert late.together == [False, True]  # known now: both requests at once
        preview = await ok(client, "accounts_disconnect", account_id=SEED_ACCOUNT_NORDIC_TIKTOK)
        assert preview["preview"]["account"]["profile"] == "Nordic Outdoor"


async def test_accounts_list_asks_once_when_late_sends_the_profiles_along(
    contract: OpenAPIContract | None,
) -> None:
    app = create_sandbox_app(api_key=TEST_KEY)
    async with watched(app, contract) as (client, late):
        listed = await ok(client, "accounts_list")
        again = await ok(client, "accounts_list", profile_id=SEED_PROFILE_ACME)
    assert set(clients_of(listed).values()) == {"Acme Bakery", "Nordic Outdoor"}
    assert set(clients_of(again).values()) == {"Acme Bakery"} and len(again["accounts"]) == 4
    assert late.requests == ["GET /v1/accounts", "GET /v1/accounts"]
