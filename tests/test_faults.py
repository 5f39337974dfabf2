"""The sandbox fault mode: FaultPlan parsing and each injected fault against the real sandbox app."""

from __future__ import annotations

import json
from collections import Counter
from typing import Any

import httpx2
import pytest

from late_mcp.sandbox import SandboxState, create_sandbox_app
from late_mcp.sandbox.faults import FaultInjectingTransport, FaultPlan

pytestmark = pytest.mark.anyio

EXAMPLE = (
    "429=0.05,5xx=0.05,reset=0.05,slow=0.05,malformed=0.02,lost=0.1,"
    "retry_after=0.1,slow_seconds=0.3,seed=7,methods=POST+PUT"
)


def make(plan: FaultPlan) -> tuple[httpx2.AsyncClient, FaultInjectingTransport, Any]:
    app = create_sandbox_app(state=SandboxState(rate_limit=1_000_000))
    transport = FaultInjectingTransport(httpx2.ASGITransport(app=app), plan)
    return httpx2.AsyncClient(transport=transport, base_url="http://sandbox.test/api/"), transport, app


# -- parse ------------------------------------------------------------------------------------------


def test_parse_example_spec() -> None:
    plan = FaultPlan.parse(EXAMPLE)
    assert plan == FaultPlan(
        rate_limited=0.05,
        server_error=0.05,
        reset=0.05,
        slow=0.05,
        malformed=0.02,
        lost=0.1,
        retry_after=0.1,
        slow_seconds=0.3,
        seed=7,
        methods=frozenset({"POST", "PUT"}),
    )
    assert plan.total == pytest.approx(0.27)


def test_parse_long_names_spaces_and_empty() -> None:
    plan = FaultPlan.parse(" rate_limited = 0.5 , server_error=0.5, methods=get+post ,")
    assert (plan.rate_limited, plan.server_error, plan.methods) == (0.5, 0.5, frozenset({"GET", "POST"}))
    assert FaultPlan.parse("") == FaultPlan()


@pytest.mark.parametrize(
    ("spec", "message"),
    [
        ("bogus=0.1", "unknown fault spec key 'bogus'; allowed keys: 429|rate_limited"),
        ("429", "must look like key=value"),
        ("429=", "must look like key=value"),
        ("429=lots", "429 must be a number (got 'lots')"),
        ("lost=nan", "lost must be a finite number"),
        ("reset=1.5", "reset must be a number within 0..1 (got 1.5)"),
        ("slow=-0.1", "slow must be a number within 0..1"),
        ("429=0.6,5xx=0.3,lost=0.2", "must sum to at most 1 (got 1.1)"),
        ("seed=x", "seed must be a whole number (got 'x')"),
        ("methods=POST+FETCH", "methods must be one or more of DELETE+GET"),
        ("methods=+", "methods must be one or more of"),
        ("slow_seconds=-1", "slow_seconds must be a finite number of seconds >= 0"),
        ("retry_after=inf", "retry_after must be a finite number"),
        ("lost=0.1,lost=0.2", "'lost' is given more than once"),
    ],
)
def test_parse_rejects_bad_input(spec: str, message: str) -> None:
    with pytest.raises(ValueError) as info:
        FaultPlan.parse(spec)
    assert message in str(info.value)


def test_slow_does_not_count_towards_exclusive_sum() -> None:
    assert FaultPlan.parse("lost=1,slow=1").total == 1.0


# -- each fault at rate 1.0 -------------------------------------------------------------------------


async def test_rate_limited_has_retry_after_and_applies_nothing() -> None:
    client, transport, app = make(FaultPlan(rate_limited=1.0, retry_after=0.25))
    before = len(app.state.late.profiles)
    async with client:
        response = await client.post("v1/profiles", json={"name": "x"}, headers={"X-Request-Id": "r-1"})
    assert response.status_code == 429
    assert response.headers["Retry-After"] == "0.25"
    assert response.headers["X-RateLimit-Remaining"] == "0"
    assert response.headers["X-Request-Id"] == "r-1"
    assert "error" in response.json()
    assert len(app.state.late.profiles) == before
    assert app.state.late.requests == []
    assert transport.counts == Counter(rate_limited=1)


async def test_server_error_is_5xx_json_and_applies_nothing() -> None:
    client, transport, app = make(FaultPlan(server_error=1.0, seed=1))
    before = len(app.state.late.profiles)
    async with client:
        statuses = set()
        for _ in range(40):
            response = await client.post("v1/profiles", json={"name": "x"})
            assert "error" in response.json()
            statuses.add(response.status_code)
    assert statuses == {500, 502, 503, 504}
    assert len(app.state.late.profiles) == before
    assert transport.counts["server_error"] == 40


async def test_reset_raises_connect_error_and_applies_nothing() -> None:
    client, _, app = make(FaultPlan(reset=1.0))
    before = len(app.state.late.profiles)
    async with client:
        with pytest.raises(httpx2.ConnectError, match="connection reset"):
            await client.post("v1/profiles", json={"name": "x"})
    assert len(app.state.late.profiles) == before
    assert app.state.late.requests == []


async def test_lost_raises_read_error_but_the_request_was_applied() -> None:
    client, transport, app = make(FaultPlan(lost=1.0))
    before = len(app.state.late.profiles)
    async with client:
        with pytest.raises(httpx2.ReadError, match="connection lost"):
            await client.post("v1/profiles", json={"name": "x"})
    assert len(app.state.late.profiles) == before + 1
    assert transport.counts == Counter(lost=1)


async def test_malformed_is_200_not_json_but_applied() -> None:
    client, transport, app = make(FaultPlan(malformed=1.0, seed=3))
    before = len(app.state.late.profiles)
    kinds = set()
    async with client:
        for n in range(12):
            response = await client.post("v1/profiles", json={"name": f"x{n}"}, headers={"X-Request-Id": "m"})
            assert response.status_code == 200
            assert response.headers["X-Request-Id"] == "m"
            with pytest.raises(json.JSONDecodeError):
                json.loads(response.content)
            kinds.add(response.headers["Content-Type"].split(";")[0])
    assert kinds == {"text/html", "application/json"}  # both shapes show up
    assert len(app.state.late.profiles) == before + 12
    assert transport.counts == Counter(malformed=12)


async def test_slow_delays_but_handles_normally() -> None:
    client, transport, app = make(FaultPlan(slow=1.0, slow_seconds=0.05))
    before = len(app.state.late.profiles)
    async with client:
        response = await client.post("v1/profiles", json={"name": "x"})
    assert response.status_code == 201
    assert response.elapsed.total_seconds() >= 0.05
    assert len(app.state.late.profiles) == before + 1
    assert transport.counts == Counter(slow=1)


async def test_slow_past_the_read_timeout_times_out_after_applying() -> None:
    client, transport, app = make(FaultPlan(slow=1.0, slow_seconds=5))
    before = len(app.state.late.profiles)
    async with client:
        with pytest.raises(httpx2.ReadTimeout, match="too slow"):
            await client.post("v1/profiles", json={"name": "x"}, timeout=httpx2.Timeout(5, read=0.05))
    assert len(app.state.late.profiles) == before + 1
    assert transport.counts == Counter(slow=1)


async def test_slow_combines_with_an_exclusive_fault() -> None:
    client, transport, _ = make(FaultPlan(slow=1.0, rate_limited=1.0, slow_seconds=0.05))
    async with client:
        response = await client.get("v1/profiles")
    assert response.status_code == 429
    assert response.elapsed.total_seconds() >= 0.05
    assert transport.counts == Counter(slow=1, rate_limited=1)


async def test_methods_filter() -> None:
    client, transport, _ = make(FaultPlan(reset=1.0, methods=frozenset({"post"})))
    async with client:
        assert (await client.get("v1/profiles")).status_code == 200
        with pytest.raises(httpx2.ConnectError):
            await client.post("v1/profiles", json={"name": "x"})
    assert transport.counts == Counter(passed=1, reset=1)


async def test_uploads_are_never_faulted() -> None:
    client, transport, app = make(FaultPlan(reset=1.0))
    plain = httpx2.AsyncClient(transport=httpx2.ASGITransport(app=app), base_url="http://sandbox.test/api/")
    async with plain:
        presign = await plain.post(
            "v1/media/presign", json={"filename": "a.jpg", "contentType": "image/jpeg"}
        )
    urls = presign.json()
    async with client:
        response = await client.put(
            urls["uploadUrl"], content=b"jpeg", headers={"Content-Type": "image/jpeg"}
        )
        assert response.status_code == 200, response.text
        assert (await client.get(urls["publicUrl"])).status_code == 200
    assert transport.counts == Counter(passed=2)


# -- mixed plans ------------------------------------------------------------------------------------

MIXED = FaultPlan(
    rate_limited=0.1,
    server_error=0.1,
    reset=0.05,
    malformed=0.05,
    lost=0.1,
    slow=0.1,
    slow_seconds=0,
    seed=42,
)


async def run_mixed(plan: FaultPlan, n: int = 1000) -> tuple[Counter[str], list[str]]:
    client, transport, _ = make(plan)
    outcomes = []
    async with client:
        for _ in range(n):
            try:
                response = await client.get("v1/profiles")
                outcomes.append(str(response.status_code) + response.headers.get("Content-Type", ""))
            except httpx2.TransportError as exc:
                outcomes.append(type(exc).__name__)
    return transport.counts, outcomes


async def test_mixed_plan_frequencies_match() -> None:
    counts, outcomes = await run_mixed(MIXED)
    n = len(outcomes)
    for name in ("rate_limited", "server_error", "reset", "malformed", "lost", "slow"):
        assert abs(counts[name] / n - getattr(MIXED, name)) < 0.04, (name, counts)
    exclusive = sum(counts[name] for name in ("rate_limited", "server_error", "reset", "malformed", "lost"))
    assert abs(exclusive / n - MIXED.total) < 0.05
    assert outcomes.count("ConnectError") == counts["reset"]
    assert outcomes.count("ReadError") == counts["lost"]
    assert sum(o.startswith("429") for o in outcomes) == counts["rate_limited"]


async def test_mixed_plan_is_deterministic_for_a_seed() -> None:
    first, second = await run_mixed(MIXED, 300), await run_mixed(MIXED, 300)
    assert first == second
    other = await run_mixed(FaultPlan(**{**MIXED.__dict__, "seed": 43}), 300)
    assert other[1] != first[1]
