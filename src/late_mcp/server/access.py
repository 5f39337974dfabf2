"""What a caller may do: the one place scoped and read-only tokens are enforced.

Two layers, each in one place:

- Tools (this module, an SDK `ServerMiddleware` that wraps every inbound message): it takes the
  caller's `Principal` from the HTTP request (put there by `late_mcp.transports.http_app`) and holds it in a
  ContextVar while the message is handled. `tools/list` hides what the caller may not call, and a
  `tools/call` of such a tool is refused as an unknown tool before any argument is looked at:
  a read-only token sees read-only tools only; a profile-limited token does not get the tools whose
  declared reach (tools/declaration.py) goes beyond its profiles: answers that span every client
  (`journal_recent`: the journal of all callers' writes), or something made outside any profile
  (`profiles_create`).
- Data (`late_mcp.late.scope`, called by `LateClient.request`, which every Late call goes through):
  for a profile-limited token each request must name only its profiles, or accounts, posts,
  invites and comments belonging to them; anything else is refused as not found before it is
  sent, and lists are narrowed to its profile or filtered (without Late's counts of everyone's).
"""

from __future__ import annotations

from collections.abc import Iterable
from typing import Any

from mcp.server.context import CallNext, HandlerResult, ServerRequestContext
from mcp_types import ListToolsResult

from late_mcp.auth.principal import Principal, principal_var
from late_mcp.tools._common import error_result
from late_mcp.tools.declaration import ToolDef

PRINCIPAL_KEY = "late_mcp_principal"


def principal_of(request: Any) -> Principal | None:
    """The caller of an HTTP request (None over stdio, or when HTTP runs without authentication)."""
    scope = getattr(request, "scope", None)
    if not isinstance(scope, dict):
        return None
    found = scope.get("state", {}).get(PRINCIPAL_KEY)
    return found if isinstance(found, Principal) else None


class AccessMiddleware:
    """SDK middleware: sets the caller for the message, filters tools/list, refuses hidden tools."""

    def __init__(self, tools: Iterable[ToolDef]) -> None:
        declared = tuple(tools)
        self.read_only_names = frozenset(t.name for t in declared if t.read_only)
        self.beyond_profiles = frozenset(t.name for t in declared if not t.for_profile_limited)

    def may_call(self, principal: Principal, tool: str) -> bool:
        """From the tool's declaration (its kind, its reach)."""
        if principal.read_only and tool not in self.read_only_names:
            return False
        return not (principal.profiles is not None and tool in self.beyond_profiles)

    async def __call__(self, ctx: ServerRequestContext[Any, Any], call_next: CallNext) -> HandlerResult:
        principal = principal_of(ctx.request)
        reset = principal_var.set(principal)
        try:
            if principal is None:
                return await call_next(ctx)
            if ctx.method == "tools/call":
                name = (ctx.params or {}).get("name")
                if isinstance(name, str) and not self.may_call(principal, name):
                    why = "read-only" if principal.read_only else "limited to some profiles"
                    return error_result(
                        f"Unknown tool: {name}. This access token is {why}; tools/list shows the "
                        "tools it may call.",
                        kind="not_found",
                    )
            result = await call_next(ctx)
            if ctx.method == "tools/list":
                return self._visible(principal, result)
            return result
        finally:
            principal_var.reset(reset)

    def _visible(self, principal: Principal, result: HandlerResult) -> HandlerResult:
        if isinstance(result, ListToolsResult):
            return result.model_copy(
                update={"tools": [t for t in result.tools if self.may_call(principal, t.name)]}
            )
        if isinstance(result, dict) and isinstance(result.get("tools"), list):
            tools = [t for t in result["tools"] if self.may_call(principal, str(t.get("name")))]
            return {**result, "tools": tools}
        return result
