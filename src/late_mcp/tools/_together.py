"""Two Late requests a tool needs at once, sent at the same time: one round trip, not two."""

from __future__ import annotations

from collections.abc import Awaitable, Callable
from typing import TypeVar

import anyio

A = TypeVar("A")
B = TypeVar("B")


async def both(first: Callable[[], Awaitable[A]], second: Callable[[], Awaitable[B]]) -> tuple[A, B]:
    """Both results, in order. If either fails, the other is cancelled and that failure is raised
    as itself (a LateError stays a LateError, not an exception group)."""
    results: list[object] = [None, None]

    async def run(index: int, call: Callable[[], Awaitable[object]]) -> None:
        results[index] = await call()

    try:
        async with anyio.create_task_group() as group:
            group.start_soon(run, 0, first)
            group.start_soon(run, 1, second)
    except BaseExceptionGroup as failed:
        raise _first_leaf(failed) from None
    return results[0], results[1]  # type: ignore[return-value]


def _first_leaf(group: BaseExceptionGroup[BaseException]) -> BaseException:
    error: BaseException = group
    while isinstance(error, BaseExceptionGroup):
        error = error.exceptions[0]
    return error
