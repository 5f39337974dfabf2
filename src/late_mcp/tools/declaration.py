"""What a tool declares, once, at its function (`@tool(...)` in tools/_common.py).

A `ToolDef` holds the whole declaration: its domain (the toolset it belongs to), its kind (local,
read, create, update, delete), which of its arguments name a client's profile, account(s), post,
invite or comment (`touches`), its `reach`, and the MCP App that shows its answers (`app`, one of
late_mcp.apps: the tool's `_meta.ui.resourceUri`). Everything else is derived from it and written
nowhere else: the MCP annotations, read-only mode, toolsets (`offered`), which tools a
profile-limited token gets (server/access.py), `late-mcp tools`, and the README's tables (checked
by tests/test_inventory.py).
"""

from __future__ import annotations

import inspect
from collections.abc import Awaitable, Callable, Collection, Iterable, Mapping
from dataclasses import dataclass, field
from enum import StrEnum
from typing import Any, Literal, get_args, get_type_hints

from mcp_types import CallToolResult, ToolAnnotations
from pydantic.fields import FieldInfo

from late_mcp.apps import AppName, app_uri
from late_mcp.core.toolsets import DEFAULT_DOMAINS, Domain, choose_domains

ToolFn = Callable[..., Awaitable[CallToolResult]]
ToolKind = Literal["local", "read", "create", "update", "delete"]
# What an argument can name: one of a client's things (`accounts`: a list of account references).
Thing = Literal["profile", "account", "accounts", "post", "invite", "comment"]
# Argument names that always name a thing; a tool taking one must declare it in `touches`.
NAMING_ARGUMENTS: Mapping[str, Thing] = {
    "profile_id": "profile",
    "account_id": "account",
    "account_ids": "accounts",
    "accounts": "accounts",
    "post_id": "post",
    "invite_id": "invite",
    "comment_id": "comment",
}
IDEMPOTENCY_KEY = "idempotency_key"


class Reach(StrEnum):
    """How far a tool reaches beyond the things its arguments name."""

    PROFILES = "profiles"  # the caller's profiles only (Late requests checked by late/scope.py)
    EVERY_CLIENT = "every_client"  # its answer spans every client (journal_recent)
    NEW_PROFILE = "new_profile"  # it makes something outside any profile (profiles_create)


# Annotation sets per kind of tool. Read-only mode and toolsets derive from these, nothing else.
# A hint is left out only where leaving it out cannot be misread: a false readOnlyHint or
# idempotentHint (the spec's default, and what a client reading a missing field as false gets),
# and for reads the two hints the spec gives meaning only for writes, and an openWorldHint of true
# (the default). destructiveHint (default true) and a write's openWorldHint are always stated.
# About 500 bytes of tools/list, on every request.
ANNOTATIONS: Mapping[ToolKind, ToolAnnotations] = {
    "local": ToolAnnotations(read_only_hint=True, open_world_hint=False),  # the server itself answers
    "read": ToolAnnotations(read_only_hint=True),  # reaches Late: open world, the default
    "create": ToolAnnotations(destructive_hint=False, open_world_hint=True),
    "update": ToolAnnotations(destructive_hint=True, idempotent_hint=True, open_world_hint=True),
    "delete": ToolAnnotations(destructive_hint=True, idempotent_hint=True, open_world_hint=True),
}


class DeclarationError(TypeError):
    """A tool's declaration contradicts its signature (found at import, before any server runs)."""


@dataclass(frozen=True)
class ToolDef:
    """A tool as declared: the function to register (its docstring is the description) and its facts."""

    fn: ToolFn
    name: str
    domain: Domain
    kind: ToolKind
    touches: Mapping[Thing, str] = field(default_factory=dict)
    reach: Reach = Reach.PROFILES
    app: AppName | None = None  # the MCP App a host that renders apps shows its answers in

    @property
    def meta(self) -> dict[str, Any] | None:
        """The tool's `_meta` in tools/list: the app's `ui://` address, when it has one."""
        return {"ui": {"resourceUri": app_uri(self.app)}} if self.app else None

    @property
    def annotations(self) -> ToolAnnotations:
        return ANNOTATIONS[self.kind]

    @property
    def read_only(self) -> bool:
        return self.kind in {"local", "read"}

    @property
    def for_profile_limited(self) -> bool:
        """Whether a token limited to some profiles gets this tool at all."""
        return self.reach is Reach.PROFILES

    def check(self, parameters: Iterable[str]) -> None:
        """Raise DeclarationError unless `touches` names exactly the tool's naming arguments and a
        write (only a write) takes `idempotency_key`."""
        names = set(parameters)
        declared = set(self.touches.values())
        naming = {p for p in names if p in NAMING_ARGUMENTS}
        if declared - names:
            raise DeclarationError(f"{self.name}: touches names no argument {sorted(declared - names)}")
        if naming - declared:
            missing = sorted(naming - declared)
            raise DeclarationError(f"{self.name}: arguments {missing} name a thing but are not in touches")
        if (IDEMPOTENCY_KEY in names) == self.read_only:
            need = "must not take" if self.read_only else "must take"
            raise DeclarationError(f"{self.name}: a {self.kind} tool {need} {IDEMPOTENCY_KEY}")


def published_names(fn: ToolFn) -> dict[str, str]:
    """Arguments published under another name (`from`, a Python keyword): published name ->
    parameter. The SDK passes arguments by their published names."""
    found = {}
    for name, hint in get_type_hints(fn, include_extras=True).items():
        for extra in get_args(hint)[1:]:
            if isinstance(extra, FieldInfo) and extra.alias:
                found[extra.alias] = name
    return found


def parameters_of(fn: ToolFn) -> list[str]:
    """The function's argument names as the model sees them (without the context)."""
    shown = {parameter: published for published, parameter in published_names(fn).items()}
    return [shown.get(p, p) for p in inspect.signature(fn).parameters if p != "ctx"]


def offered(
    tools: Iterable[ToolDef],
    toolsets: Collection[str] | None,
    *,
    read_only: bool = False,
    when_none: Collection[str] = DEFAULT_DOMAINS,
) -> tuple[ToolDef, ...]:
    """The one toolset selection: the tools of the chosen domains (`toolsets`: domain names, `all`,
    `default`; None or empty: `when_none`), only the read-only ones in read-only mode."""
    chosen = set(choose_domains(toolsets or when_none))
    return tuple(t for t in tools if t.domain in chosen and (t.read_only or not read_only))
