"""X's weighted character count: the twitter-text v3 rules (a link counts 23, most emoji and
CJK characters 2, Latin and most punctuation 1), by the `twitter-text-parser` package.

The text is weighed run by run (whitespace and the runs between it): no link or emoji spans
whitespace, so the sum is the whole text's count, and each run stays small. twitter-text's link
search is slow on long runs dense with dots (seconds for a thousand "1."), so a run with more than
`DOTTY_RUN` dots or longer than `LONG_RUN` characters is counted as its characters (no link can be
that, or would count less); and counting stops once the total is far past the limit.
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from functools import cache
from typing import Protocol

_RUNS = re.compile(r"\s+|\S+")
DOTTY_RUN = 30  # dots in one run beyond which no link is looked for in it
LONG_RUN = 4400  # characters in one run beyond which no link is looked for (X's links: 4,096 at most)
STOP_AFTER = 4  # times the limit: the count goes no further, the result says "at least"


class _Parsed(Protocol):
    weightedLength: int  # the package's name


class _ParseTweet(Protocol):
    def __call__(self, text: str) -> _Parsed: ...


@dataclass(frozen=True)
class Weighed:
    """A text's weight on X's scale; `at_least` when counting stopped early (far over the limit)."""

    count: int
    at_least: bool = False

    def __str__(self) -> str:
        return f"at least {self.count}" if self.at_least else str(self.count)


@cache
def _parse_tweet() -> _ParseTweet:
    # Imported on first use: compiling its patterns takes ~0.2 s, which a start should not pay.
    from twitter_text import parse_tweet

    parse: _ParseTweet = parse_tweet
    return parse


def preload() -> None:
    """Import and compile the X text parser now: a long-running server pays it at start rather
    than stalling every caller for 0.2-0.6 s in the middle of its first post."""
    _parse_tweet()


def x_weighed(text: str, limit: int) -> Weighed:
    """`text` weighed the way X counts it against `limit` (280)."""
    parse = _parse_tweet()
    total = 0
    for run in _RUNS.findall(text):
        if total > STOP_AFTER * limit:
            return Weighed(total, at_least=True)
        if run.count(".") > DOTTY_RUN or len(run) > LONG_RUN:
            total += len(run)
        else:
            total += parse(run).weightedLength
    return Weighed(total)
