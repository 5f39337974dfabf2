"""Cold start: what the server does before it answers, kept to what serving needs.

The figures are in benchmarks/results/latest.md (benchmarks/cold_start.py, `python -m benchmarks`);
these tests check the mechanisms, never a time."""

from __future__ import annotations

import gc
from collections.abc import Iterator
from typing import Any

import pytest

from late_mcp.transports import serving


@pytest.fixture
def collections() -> Iterator[list[int]]:
    """The generation of every garbage collection that starts while the test runs."""
    seen: list[int] = []

    def note(phase: str, info: dict[str, Any]) -> None:
        if phase == "start":
            seen.append(info["generation"])

    gc.callbacks.append(note)
    try:
        yield seen
    finally:
        gc.callbacks.remove(note)
        gc.unfreeze()


def test_settling_the_heap_freezes_it_without_a_full_collection(collections: list[int]) -> None:
    frozen_before = gc.get_freeze_count()
    serving._settle_heap()
    assert gc.get_freeze_count() > frozen_before, "start-up's objects stay in the collector's sight"
    assert 2 not in collections, "a full collection walked the whole start-up heap before serving"
