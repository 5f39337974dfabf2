"""Tool domains and the words that choose them (LATE_TOOLSETS, --toolsets, `late-mcp tools --toolset`).

Every tool declares one `Domain`; a toolset selection is a set of domains. The words are read here
and nowhere else: domain names, `all`, `default` (any case).
"""

from __future__ import annotations

from collections.abc import Iterable
from enum import StrEnum


class Domain(StrEnum):
    """The domain a tool belongs to (its toolset), in the order tools are listed."""

    PROFILES = "profiles"
    INVITES = "invites"
    ACCOUNTS = "accounts"
    POSTS = "posts"
    MEDIA = "media"
    QUEUE = "queue"
    ANALYTICS = "analytics"
    COMMENTS = "comments"
    JOURNAL = "journal"


# The agency workflow (profiles -> invites -> accounts -> media -> posts) plus the queue; analytics,
# comments and the journal are there when asked for (they cost context on every request).
DEFAULT_DOMAINS: tuple[Domain, ...] = (
    Domain.PROFILES,
    Domain.INVITES,
    Domain.ACCOUNTS,
    Domain.POSTS,
    Domain.MEDIA,
    Domain.QUEUE,
)
_NAMES = frozenset(d.value for d in Domain)
SELECTION_WORDS = ", ".join([*Domain, "all", "default"])


class UnknownToolset(ValueError):
    """A selection word that names no domain; `words` are the unknown ones."""

    def __init__(self, words: list[str]) -> None:
        super().__init__(f"unknown toolset {', '.join(words)}; choose from {SELECTION_WORDS}")
        self.words = words


def choose_domains(words: Iterable[str]) -> tuple[Domain, ...]:
    """The domains the words name (`all`, `default` or domain names, any case), in `Domain` order.
    Raises UnknownToolset naming every word that is none of these."""
    chosen: set[Domain] = set()
    unknown: list[str] = []
    for raw in words:
        word = raw.strip().lower()
        if word == "all":
            chosen.update(Domain)
        elif word == "default":
            chosen.update(DEFAULT_DOMAINS)
        elif word in _NAMES:
            chosen.add(Domain(word))
        else:
            unknown.append(raw.strip())
    if unknown:
        raise UnknownToolset(unknown)
    return tuple(d for d in Domain if d in chosen)
