"""Who is calling, for the duration of one MCP message (set by `late_mcp.access`)."""

from __future__ import annotations

from contextvars import ContextVar
from dataclasses import dataclass


@dataclass(frozen=True)
class Principal:
    """A caller. `profiles` None means every profile; `read_only` allows read-only tools only."""

    name: str
    profiles: frozenset[str] | None = None
    read_only: bool = False


# None: nobody in particular (stdio, `late-mcp call`, HTTP without authentication): full access.
principal_var: ContextVar[Principal | None] = ContextVar("late_mcp_principal", default=None)


def current_profiles() -> frozenset[str] | None:
    """The profiles the current caller is limited to, or None when it is not limited."""
    principal = principal_var.get()
    return None if principal is None else principal.profiles
