"""Server wiring: `build_server()` makes the MCP server; nothing happens at import time."""

from __future__ import annotations

import logging
from collections.abc import AsyncIterator, Callable, Collection, Mapping, Sequence
from contextlib import AbstractAsyncContextManager, asynccontextmanager
from typing import Any

import httpx2
from mcp.server.apps import Apps, ResourceCsp
from mcp.server.context import CallNext, HandlerResult, ServerRequestContext
from mcp.server.mcpserver import Context, MCPServer
from mcp.server.mcpserver.exceptions import ToolError
from mcp.server.mcpserver.tools import Tool
from mcp_types import CallToolResult, InputRequiredResult
from pydantic import ValidationError

from late_mcp import __version__
from late_mcp.apps import TITLES, app_html, app_uri
from late_mcp.config.settings import SANDBOX_BASE_URL, SANDBOX_MARK, Settings
from late_mcp.core.toolsets import DEFAULT_DOMAINS, Domain
from late_mcp.late.client import LateClient
from late_mcp.late.logscrub import protect, scrub_new_handlers
from late_mcp.safety.confirm import ConfirmTokens
from late_mcp.safety.records import JournalError
from late_mcp.safety.reservations import JournalStore, ReservationDesk
from late_mcp.safety.signing import server_secret
from late_mcp.safety.sqlite_journal import Journal
from late_mcp.server.access import AccessMiddleware
from late_mcp.server.clientlog import ClientLogMiddleware
from late_mcp.server.request_state import ConfirmRounds, install, request_state_security
from late_mcp.server.result_form import OneForm
from late_mcp.server.schema import compact_schema, one_line
from late_mcp.tools import ALL_TOOLS, AppContext, ToolDef
from late_mcp.tools._common import error_result
from late_mcp.tools.declaration import offered

log = logging.getLogger("late_mcp")

INSTRUCTIONS = (
    "Late social media tools. Agency flow: profiles_create (one per client) -> invites_create for "
    "its platforms (send the links to the client) -> accounts_list to see connected accounts -> "
    "queue_slots_set for the client's posting times -> media_upload_file for local images/videos -> "
    "posts_create. Posts go to real public accounts: confirm text, accounts and time with the user "
    "before publishing. Write tools take idempotency_key: the same key with the same arguments "
    "returns the first result and sends nothing again."
)


def describe_validation_error(tool: str, exc: ValidationError) -> str:
    """Which argument is wrong and what is allowed, without echoing the (possibly huge) value."""
    problems = []
    for err in exc.errors()[:8]:
        where = ".".join(str(part) for part in err["loc"]) or "arguments"
        problems.append(f"{where}: {err['msg']}")
    return (
        f"Invalid arguments for {tool}: "
        + "; ".join(problems)
        + ". Fix these and call again (the tool's input schema lists every argument)."
    )


class LateMCPServer(MCPServer[AppContext]):
    """MCPServer that answers bad arguments with a short, actionable tool error, and shares one
    AppContext (one Late client, one journal) between all connections while `shared_context()` runs."""

    shared: AppContext | None = None

    def __init__(
        self,
        *,
        tools: Sequence[Tool],
        open_context: Callable[[], AbstractAsyncContextManager[AppContext]],
        left_out: Mapping[str, str] | None = None,
        **options: Any,
    ) -> None:
        super().__init__(tools=list(tools), **options)
        self.open_context = open_context
        # The published schemas by tool name: what the unknown-argument check allows.
        self.published: dict[str, dict[str, Any]] = {t.name: t.parameters for t in tools}
        # Tools this server would offer if their toolset were chosen: named, with the way to add it.
        self.left_out: dict[str, str] = dict(left_out or {})

    @asynccontextmanager
    async def shared_context(self) -> AsyncIterator[AppContext]:
        """Open the AppContext once for the whole process; the lifespan of every connection (the
        SDK enters it per SSE connection) then reuses it instead of opening another client."""
        async with self.open_context() as context:
            self.shared = context
            try:
                yield context
            finally:
                self.shared = None

    async def call_tool(
        self, name: str, arguments: dict[str, Any], context: Context[AppContext, Any] | None = None
    ) -> CallToolResult | InputRequiredResult:
        schema = self.published.get(name)
        if schema is None and name in self.left_out:
            return error_result(self.left_out[name], kind="toolset_off")
        if schema is not None:
            allowed = schema.get("properties", {})
            unknown = sorted(key for key in arguments if key not in allowed)
            if unknown:
                return error_result(
                    f"Unknown argument(s) for {name}: {', '.join(unknown)[:300]}. "
                    f"Allowed: {', '.join(allowed)}.",
                    kind="invalid_argument",
                )
        try:
            return await super().call_tool(name, arguments, context)
        except ToolError as exc:
            if isinstance(exc.__cause__, ValidationError):
                return error_result(describe_validation_error(name, exc.__cause__), kind="invalid_argument")
            raise


def toolset_refusals(
    tools: tuple[ToolDef, ...], selected: tuple[ToolDef, ...], *, read_only: bool
) -> dict[str, str]:
    """For each tool left out only because its toolset was not chosen: what to say when it is
    called (its toolset, and the LATE_TOOLSETS / --toolsets value that adds it)."""
    chosen = {spec.domain for spec in selected}
    current = "default" if chosen == set(DEFAULT_DOMAINS) else ",".join(d for d in Domain if d in chosen)
    refusals = {}
    for spec in tools:
        if spec.domain in chosen or (read_only and not spec.read_only):
            continue
        words = f"{current},{spec.domain}" if current else spec.domain
        refusals[spec.name] = (
            f"{spec.name} is in the {spec.domain} toolset, which this server does not offer. "
            f"Ask the person to turn it on: LATE_TOOLSETS={words} in the server's environment "
            f"(or --toolsets {words}), then restart late-mcp."
        )
    return refusals


def off_toolsets_line(tools: tuple[ToolDef, ...], selected: tuple[ToolDef, ...]) -> str:
    """One short instructions line naming the toolsets not offered (empty when all are)."""
    chosen = {spec.domain for spec in selected}
    off = [d.value for d in Domain if d not in chosen and any(s.domain is d for s in tools)]
    if not off:
        return ""
    return f" Off here: the {', '.join(off)} toolsets (LATE_TOOLSETS turns them on)."


class SandboxMark:
    """SDK middleware of a sandbox server: every tools/call answer (a result, a preview, a refusal
    from any layer) begins with SANDBOX_MARK, so no one mistakes demo data for a client's."""

    async def __call__(self, ctx: ServerRequestContext[Any, Any], call_next: CallNext) -> HandlerResult:
        result = await call_next(ctx)
        if ctx.method != "tools/call":
            return result
        if isinstance(result, CallToolResult):  # from a middleware before the handler (access.py)
            result = result.model_dump(mode="json", by_alias=True, exclude_none=True)
        if isinstance(result, dict) and isinstance(result.get("content"), list):
            return {**result, "content": marked(result["content"])}
        return result


def marked(content: list[Any]) -> list[Any]:
    """The content blocks (as sent) with SANDBOX_MARK before the first text, or as a text of its own."""
    for index, block in enumerate(content):
        if isinstance(block, dict) and block.get("type") == "text" and isinstance(block.get("text"), str):
            if block["text"].startswith(SANDBOX_MARK):
                return content
            shown = {**block, "text": f"{SANDBOX_MARK} {block['text']}"}
            return [*content[:index], shown, *content[index + 1 :]]
    return [{"type": "text", "text": SANDBOX_MARK}, *content]


def published_tool(spec: ToolDef) -> Tool:
    """The SDK's Tool for a declared tool, with the compact schema tools/list publishes (no title:
    clients show the name, and titles cost bytes on every request)."""
    registered = Tool.from_function(
        spec.fn,
        name=spec.name,
        description=one_line(spec.fn.__doc__),
        annotations=spec.annotations,
        structured_output=False,
        meta=spec.meta,
    )
    registered.parameters = compact_schema(registered.parameters)
    return registered


# Late's media storage: where presigned PUT links point (the upload picker sends files there) and
# where uploaded media is served from (the preview's media grid, the report's thumbnails).
LATE_STORAGE = (
    "https://*.r2.cloudflarestorage.com",
    "https://media.getlate.dev",
    "https://storage.getlate.dev",
)
SENDS_FILES: frozenset[str] = frozenset({"upload"})  # PUTs to the presigned links
SHOWS_MEDIA: frozenset[str] = frozenset({"preview", "report"})  # images from Late's storage


def apps_extension(selected: Sequence[ToolDef], settings: Settings) -> Apps | None:
    """The MCP Apps extension with the documents of the apps the offered tools name (None when no
    offered tool has one). The CSP each declares: nothing outside the document, except Late's
    storage (and the configured Late server's own origin: the sandbox's media) for images, and
    for the upload picker's PUTs."""
    names = sorted({spec.app for spec in selected if spec.app})
    if not names:
        return None
    base = httpx2.URL(settings.base_url)
    storage = [*LATE_STORAGE, f"{base.scheme}://{base.netloc.decode()}"]
    apps = Apps()
    for name in names:
        apps.add_html_resource(
            app_uri(name),
            app_html(name),
            name=name,
            title=TITLES[name],
            csp=ResourceCsp(
                connect_domains=storage if name in SENDS_FILES else [],
                resource_domains=storage if name in SHOWS_MEDIA else [],
            ),
            prefers_border=True,
        )
    return apps


def make_journal(settings: Settings) -> JournalStore:
    """The journal these settings name: Redis with LATE_MCP_REDIS_URL, else the SQLite file."""
    if settings.redis_url:
        from late_mcp.safety.redis_journal import RedisJournal

        return RedisJournal(settings.redis_url)
    return Journal(settings.journal_path)


async def open_journal(settings: Settings) -> JournalStore:
    """Open the journal and prove it takes a write. A broken one does not stop the server: it
    logs one line and stays broken, so every write tool refuses while reads go on working."""
    journal = make_journal(settings)
    try:
        await journal.check()
    except JournalError as exc:
        log.error(
            "%s Until it works (tried again on later writes) every write tool is refused; read tools work.",
            exc,
        )
    return journal


def sandbox_transport(settings: Settings) -> httpx2.AsyncBaseTransport:
    """The in-process stand-in, with injected faults when LATE_SANDBOX_FAULTS asks for them."""
    from late_mcp.sandbox import create_sandbox_app  # only sandbox mode pays for it

    inner: httpx2.AsyncBaseTransport = httpx2.ASGITransport(app=create_sandbox_app())
    if not settings.sandbox_faults:
        return inner
    from late_mcp.sandbox.faults import FaultInjectingTransport, FaultPlan

    return FaultInjectingTransport(inner, FaultPlan.parse(settings.sandbox_faults))


def build_server(
    settings: Settings,
    *,
    transport: httpx2.AsyncBaseTransport | None = None,
    read_only: bool = False,
    tools: tuple[ToolDef, ...] = ALL_TOOLS,
    toolsets: Collection[str] | None = None,
) -> LateMCPServer:
    """Make the server. `transport` replaces the network (tests, sandbox); `toolsets` offers only
    the tools of those domains (default: settings.toolsets, else the default domains); `read_only`
    then drops every tool declared to change something."""
    selected = offered(tools, toolsets or settings.toolsets, read_only=read_only)
    # One signing secret per deployment: confirm tokens and the 2026-07-28 requestState.
    secret = server_secret(settings.redis_url, settings.journal_path)

    @asynccontextmanager
    async def open_context() -> AsyncIterator[AppContext]:
        http_transport = transport
        if http_transport is None and settings.sandbox and settings.base_url == SANDBOX_BASE_URL:
            http_transport = sandbox_transport(settings)
        journal = await open_journal(settings)
        try:
            async with LateClient(settings, transport=http_transport) as client:
                log.info(
                    "late-mcp %s ready (%s)",
                    __version__,
                    "sandbox" if settings.sandbox else settings.base_url,
                )
                reservations = ReservationDesk(journal, call_deadline=settings.call_deadline)
                confirm_tokens = ConfirmTokens(secret)
                yield AppContext(
                    client=client,
                    settings=settings,
                    journal=journal,
                    reservations=reservations,
                    confirm_tokens=confirm_tokens,
                )
        finally:
            await journal.aclose()

    @asynccontextmanager
    async def lifespan(_: MCPServer[AppContext]) -> AsyncIterator[AppContext]:
        if server.shared is not None:
            yield server.shared
            return
        async with open_context() as context:
            yield context

    before = list(logging.getLogger().handlers)
    apps = apps_extension(selected, settings)
    server = LateMCPServer(
        tools=[published_tool(spec) for spec in selected],
        open_context=open_context,
        name="late-mcp",
        title="Late social media",
        version=__version__,
        instructions=INSTRUCTIONS + off_toolsets_line(tools, selected),
        left_out=toolset_refusals(tools, selected, read_only=read_only),
        lifespan=lifespan,
        log_level="WARNING",
        extensions=[apps] if apps else None,
        request_state_security=request_state_security(secret),
        # The one answer form (result_form.py) outermost; scoped tokens (access.py) before the
        # tools, then MCP log notifications at the client's level (clientlog.py), then
        # confirmations asked on 2026-07-28 (request_state.py).
        middleware=[
            OneForm([spec.name for spec in tools]),
            *([SandboxMark()] if settings.sandbox else []),
            AccessMiddleware(tools),
            ClientLogMiddleware(settings.log_level),
            ConfirmRounds(),
        ],
    )
    install(server.middleware, secret)
    # Without logging set up, the SDK adds a stderr handler of its own: it scrubs like ours.
    scrub_new_handlers(before)
    protect(settings.api_key)
    return server
