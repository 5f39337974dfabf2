"""Under injected faults: reads still answer, and no post is lost or created twice."""

from __future__ import annotations

import pytest

from drill import create_drill, read_drill

pytestmark = pytest.mark.anyio


async def test_reads_survive_twenty_percent_transient_faults() -> None:
    report = await read_drill(calls=400)
    injected = sum(v for k, v in report.faults.items() if k not in {"passed", "slow"})
    assert injected > 60, report.faults  # the drill really injected ~20%
    assert report.success_ratio >= 0.999, (report.failures, report.faults)


async def test_creates_under_lost_answers_never_duplicate_or_lose_a_post() -> None:
    report = await create_drill(posts=120)
    assert report.faults["lost"] >= 5, report.faults
    assert report.duplicated_posts == 0 and report.lost_posts == 0
    assert report.created_posts == report.requested_posts
    assert report.succeeded == report.attempted, report.failures


async def test_creates_under_mixed_faults_never_duplicate() -> None:
    report = await create_drill(
        posts=80, faults="429=0.05,5xx=0.05,reset=0.05,malformed=0.05,lost=0.1", seed=5
    )
    assert report.duplicated_posts == 0
    # A post may stay unknown only if even the lookup failed; then the tool said so and nothing was resent.
    assert (
        report.lost_posts
        <= report.failures["transport"] + report.failures["server"] + report.failures["malformed_response"]
    )
