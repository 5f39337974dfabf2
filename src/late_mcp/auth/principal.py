"""Who is calling, for the duration of one MCP message (set by `late_mcp.server.access`).

Every handle late-mcp stores for a call (an idempotency key and its stored result, a reservation,
a confirm token and its run-once key, a browser-upload token, a journal entry) is bound to the
caller's id from :func:`caller_id`, so one caller's handle means nothing to another.
"""

from __future__ import annotations

from contextvars import ContextVar
from dataclasses import dataclass


@dataclass(frozen=True)
class Principal:
    """A caller. `profiles` None means every profile; `read_only` allows read-only tools only;
    `shared` marks the shared LATE_MCP_TOKEN (full access), as opposed to a token from the store."""

    name: str
    profiles: frozenset[str] | None = None
    read_only: bool = False
    shared: bool = False


# None: nobody in particular (stdio, `late-mcp call`, HTTP without authentication): full access.
principal_var: ContextVar[Principal | None] = ContextVar("late_mcp_principal", default=None)

# The caller ids that are not store tokens. Store tokens are "token:<name>" (names never hold ":");
# an OAuth grant's principal is named "oauth:<grant id>" and that name is its caller id.
LOCAL_CALLER = "local"  # stdio, `late-mcp call`, HTTP on loopback without authentication
SHARED_CALLER = "shared"  # whoever holds LATE_MCP_TOKEN


def current_profiles() -> frozenset[str] | None:
    """The profiles the current caller is limited to, or None when it is not limited."""
    principal = principal_var.get()
    return None if principal is None else principal.profiles


def caller_of(principal: Principal | None) -> str:
    """A caller's id: "token:<name>" for a store token, "oauth:<grant id>" for an OAuth grant, one
    fixed id for the shared LATE_MCP_TOKEN and one for local use (no principal)."""
    if principal is None:
        return LOCAL_CALLER
    if principal.shared:
        return SHARED_CALLER
    return principal.name if ":" in principal.name else f"token:{principal.name}"


def caller_id() -> str:
    """The id of the caller of the message being handled."""
    return caller_of(principal_var.get())


def is_admin() -> bool:
    """The current caller has full access to everything late-mcp keeps (local use or the shared
    token): it sees every caller's journal entries."""
    principal = principal_var.get()
    return principal is None or principal.shared
