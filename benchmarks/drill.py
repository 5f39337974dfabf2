"""Fault drills: many tool calls through a real MCP session against a sandbox that misbehaves.

Used by tests/test_fault_drill.py (small, asserting) and benchmarks/faults.py (large, reporting);
not shipped in the package (pytest finds it through `pythonpath` in pyproject.toml).
Each drill builds its own sandbox, fault transport and server, so figures are reproducible for a
seed.
"""

from __future__ import annotations

import random
from collections import Counter
from dataclasses import dataclass, field
from typing import Any

import httpx2
from mcp import Client
from mcp_types import CallToolResult

from late_mcp.config.settings import Settings
from late_mcp.sandbox.app import create_sandbox_app
from late_mcp.sandbox.faults import FaultInjectingTransport, FaultPlan
from late_mcp.sandbox.state import (
    SEED_ACCOUNT_ACME_FACEBOOK,
    SEED_ACCOUNT_ACME_TWITTER,
    SEED_PROFILE_ACME,
    SandboxState,
)

# 20% transient faults on every request: what a bad day on the network looks like.
TRANSIENT_20 = (
    "429=0.05,5xx=0.05,reset=0.04,malformed=0.03,lost=0.03,slow=0.02,slow_seconds=0.01,retry_after=0.01"
)
LOST_10 = "lost=0.1"
READS: tuple[tuple[str, dict[str, Any]], ...] = (
    ("profiles_list", {}),
    ("accounts_list", {"profile_id": SEED_PROFILE_ACME}),
    ("accounts_health", {}),
    ("posts_list", {"limit": 5}),
    ("queue_preview", {"profile_id": SEED_PROFILE_ACME, "count": 1}),
    ("invites_list", {}),
    ("usage_stats", {}),
)


@dataclass
class DrillReport:
    attempted: int = 0
    succeeded: int = 0
    failures: Counter[str] = field(default_factory=Counter)
    faults: Counter[str] = field(default_factory=Counter)
    requested_posts: int = 0
    created_posts: int = 0
    duplicated_posts: int = 0
    lost_posts: int = 0

    @property
    def success_ratio(self) -> float:
        return self.succeeded / self.attempted if self.attempted else 1.0


def drill_settings() -> Settings:
    """Sandbox settings with retries that wait milliseconds, so a drill of thousands of calls is quick."""
    return Settings(
        base_url="http://drill.late.invalid/api",
        sandbox=True,
        retry_base_delay=0.005,
        retry_max_delay=0.05,
        call_deadline=30.0,
        confirm=False,  # unattended: nobody is there to confirm publish_now
    )


def _tally(report: DrillReport, result: CallToolResult) -> None:
    report.attempted += 1
    if result.is_error:
        detail = (result.structured_content or {}).get("error", {})
        report.failures[str(detail.get("kind", "unknown"))] += 1
    else:
        report.succeeded += 1


async def read_drill(calls: int, faults: str = TRANSIENT_20, seed: int = 1) -> DrillReport:
    """`calls` read tool calls under `faults`: how many answered with data."""
    from late_mcp.server.build import build_server

    plan = FaultPlan.parse(f"{faults},seed={seed}")
    transport = FaultInjectingTransport(
        httpx2.ASGITransport(app=create_sandbox_app(state=SandboxState(rate_limit=1_000_000))), plan
    )
    report = DrillReport()
    async with Client(build_server(drill_settings(), transport=transport), mode="legacy") as client:
        for n in range(calls):
            name, args = READS[n % len(READS)]
            _tally(report, await client.call_tool(name, args))
    report.faults = transport.counts
    return report


async def create_drill(posts: int, faults: str = LOST_10, seed: int = 2) -> DrillReport:
    """`posts` distinct posts_create calls under `faults`: posts created upstream vs requested."""
    from late_mcp.server.build import build_server

    app = create_sandbox_app(state=SandboxState(rate_limit=1_000_000))
    plan = FaultPlan.parse(f"{faults},seed={seed}")
    transport = FaultInjectingTransport(httpx2.ASGITransport(app=app), plan)
    report = DrillReport(requested_posts=posts)
    rng = random.Random(seed)
    async with Client(build_server(drill_settings(), transport=transport), mode="legacy") as client:
        for n in range(posts):
            accounts = rng.choice(
                [
                    [SEED_ACCOUNT_ACME_TWITTER],
                    [SEED_ACCOUNT_ACME_FACEBOOK],
                    [SEED_ACCOUNT_ACME_TWITTER, SEED_ACCOUNT_ACME_FACEBOOK],
                ]
            )
            mode = rng.choice([{"is_draft": True}, {"publish_now": True}])
            _tally(
                report,
                await client.call_tool(
                    "posts_create", {"content": f"drill post {n}", "accounts": accounts, **mode}
                ),
            )
    contents = Counter(p["content"] for p in app.state.late.posts.values())
    report.created_posts = sum(contents.values())
    report.duplicated_posts = sum(count - 1 for count in contents.values() if count > 1)
    report.lost_posts = sum(1 for n in range(posts) if contents[f"drill post {n}"] == 0)
    report.faults = transport.counts
    return report
