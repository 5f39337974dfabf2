"""The MCP tools. `ALL_TOOLS` is the inventory: every tool declared in the modules below (by
`@tool(...)`, tools/declaration.py), grouped by domain in `Domain` order, each module's tools in
the order they are written. A tool module is named by its tools' prefix; a new module is added
to MODULES."""

from __future__ import annotations

from types import ModuleType

from late_mcp.core.toolsets import Domain
from late_mcp.tools import (
    accounts,
    analytics,
    calendar,
    comments,
    invites,
    journal,
    media,
    posts,
    profiles,
    publishing,
    queue,
    report,
    review,
    usage,
)
from late_mcp.tools._common import AppContext
from late_mcp.tools.declaration import ToolDef

MODULES: tuple[ModuleType, ...] = (
    profiles,
    invites,
    accounts,
    usage,
    publishing,
    posts,
    review,
    calendar,
    media,
    queue,
    analytics,
    report,
    comments,
    journal,
)


def declared_in(module: ModuleType) -> list[ToolDef]:
    """The tools a module declares (not those it imports), in the order they are written."""
    return [v for v in vars(module).values() if isinstance(v, ToolDef) and v.fn.__module__ == module.__name__]


ALL_TOOLS: tuple[ToolDef, ...] = tuple(
    sorted(
        (spec for module in MODULES for spec in declared_in(module)),
        key=lambda spec: list(Domain).index(spec.domain),
    )
)

__all__ = ["ALL_TOOLS", "AppContext", "ToolDef"]
