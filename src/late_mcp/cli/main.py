"""The `late-mcp` command: one parser, a subcommand per job, the bare command serves.

    late-mcp [--transport stdio|http|sse]   serve (what MCP clients start; sse is deprecated)
    late-mcp tools [--toolset DOMAIN ...]   list the tools (all, or of the given domains)
    late-mcp call TOOL key=value ...        run one tool in-process
    late-mcp doctor                         check the installation, key and connection
    late-mcp token create|list|revoke       access tokens (and OAuth grants) for HTTP clients
    late-mcp user add|list|remove           users who sign in on the OAuth consent page

stdout belongs to JSON-RPC when serving over stdio, so everything human goes to stderr there.
Bad settings end with one line on stderr and exit status 2, never a traceback.
"""

from __future__ import annotations

import argparse
import dataclasses
import logging
import os
import sys
from collections.abc import Callable, Sequence
from typing import Any

from late_mcp import __version__
from late_mcp.config.http import HttpSettings, read_port, read_transport
from late_mcp.config.settings import (
    DEFAULT_TOOLSETS,
    LOG_LEVELS,
    TOOLSETS,
    ConfigError,
    Settings,
    read_log_level,
    read_switch,
    read_toolsets,
)
from late_mcp.core.toolsets import Domain

EXIT_USAGE = 2


def _log_level(value: str) -> str:
    try:
        return read_log_level({"--log-level": value}, "--log-level")
    except ConfigError as exc:
        raise argparse.ArgumentTypeError(str(exc)) from None


def _toolsets(value: str) -> tuple[Domain, ...]:
    try:
        chosen = read_toolsets({"--toolsets": value}, "--toolsets")
    except ConfigError as exc:
        raise argparse.ArgumentTypeError(str(exc)) from None
    assert chosen is not None
    return chosen


def _common(parser: argparse.ArgumentParser, *, top: bool) -> None:
    """Options every subcommand takes; on subcommands they only override what was given before."""
    default: object = None if top else argparse.SUPPRESS
    parser.add_argument(
        "--sandbox",
        action="store_true",
        default=default,
        help="use the built-in Late stand-in with demo data; no API key needed (also LATE_SANDBOX=on)",
    )
    parser.add_argument(
        "--read-only",
        action="store_true",
        default=default,
        help="offer only tools that change nothing (also LATE_READ_ONLY=on)",
    )
    parser.add_argument(
        "--toolsets",
        type=_toolsets,
        default=default,
        metavar="LIST",
        help=f"tool domains to offer, comma-separated: {', '.join(TOOLSETS)}, all, default "
        f"(also LATE_TOOLSETS; default: {','.join(DEFAULT_TOOLSETS)})",
    )
    parser.add_argument(
        "--log-level",
        type=_log_level,
        default=default,
        metavar="LEVEL",
        help=f"stderr log level: {', '.join(LOG_LEVELS)}, any case (also LATE_LOG_LEVEL; default WARNING)",
    )


def _port(value: str) -> int:
    try:
        return read_port(value, "--port")
    except ConfigError as exc:
        raise argparse.ArgumentTypeError(str(exc)) from None


def _token_parser(sub: Any) -> None:
    token = sub.add_parser(
        "token",
        help="create, list and revoke access tokens for HTTP clients",
        description="Access tokens for clients that connect over HTTP. Only a hash is stored (in "
        "LATE_MCP_TOKEN_STORE, by default tokens.sqlite3 beside the journal); a running server "
        "honours a new or revoked token at once.",
    )
    actions = token.add_subparsers(dest="token_command", metavar="ACTION", required=True)
    create = actions.add_parser("create", help="make a token and print it (once: it is not stored)")
    create.add_argument("name", help="who the token is for, e.g. alice or acme-assistant")
    create.add_argument(
        "--profile",
        action="append",
        metavar="ID",
        help="limit the token to this profile (repeatable); without it the token sees every profile",
    )
    create.add_argument("--read-only", action="store_true", help="only tools that change nothing")
    actions.add_parser(
        "list", help="list tokens and OAuth grants: name, profiles, read-only, created, last used, revoked"
    )
    revoke = actions.add_parser("revoke", help="revoke a token by name, or an OAuth grant by its oauth:ID")
    revoke.add_argument("name")


def _user_parser(sub: Any) -> None:
    user = sub.add_parser(
        "user",
        help="add, list and remove users who sign in on the OAuth consent page",
        description="Users sign in on the consent page when an application (claude.ai, ChatGPT, "
        "Claude Desktop) connects by URL, and choose which client profiles it may touch. Passwords "
        "are stored as scrypt hashes beside the token store (or in Redis with LATE_MCP_REDIS_URL).",
    )
    actions = user.add_subparsers(dest="user_command", metavar="ACTION", required=True)
    add = actions.add_parser("add", help="add a user (asks for the password twice)")
    add.add_argument("name")
    add.add_argument("--password-stdin", action="store_true", help="read the password from stdin")
    actions.add_parser("list", help="list users")
    remove = actions.add_parser("remove", help="remove a user and end every grant they approved")
    remove.add_argument("name")


def build_parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(
        prog="late-mcp",
        description="MCP server for the Late social media API (getlate.dev). Without a subcommand it "
        "serves MCP (stdio by default, what Claude Desktop starts). Reads LATE_API_KEY, LATE_BASE_URL "
        "and the other LATE_* variables from the environment.",
    )
    _common(parser, top=True)
    parser.add_argument(
        "--transport",
        choices=("stdio", "http", "streamable-http", "sse"),
        default=None,
        help="how clients connect (also LATE_MCP_TRANSPORT; default stdio; http is streamable HTTP, "
        "also called streamable-http; sse is deprecated: the older SSE transport, for clients that "
        "cannot use http yet)",
    )
    parser.add_argument(
        "--host", default=None, help="bind address for http/sse (also LATE_MCP_HOST; default 127.0.0.1)"
    )
    parser.add_argument(
        "--port", type=_port, default=None, help="port for http/sse (also LATE_MCP_PORT; default 8000)"
    )
    parser.add_argument(
        "--stateless",
        action="store_true",
        default=None,
        help="streamable HTTP without sessions, for replicas behind a load balancer "
        "(also LATE_MCP_STATELESS=on)",
    )
    parser.add_argument("--version", action="version", version=f"late-mcp {__version__}")
    sub = parser.add_subparsers(dest="command", metavar="COMMAND")

    tools = sub.add_parser("tools", help="list the tools: name, read-only or write, what it does")
    _common(tools, top=False)
    tools.add_argument(
        "--toolset",
        action="append",
        metavar="DOMAIN",
        help="only tools of this domain (repeatable), e.g. posts, or all, default; the list shows each "
        "tool's domain (--toolsets takes the same names comma-separated)",
    )

    call = sub.add_parser(
        "call",
        help="run one tool in-process and print its answer",
        description="Run one tool through the same server MCP clients get (same checks, same journal). "
        "Arguments are key=value; a value is read as JSON when it parses (5, true, "
        '["a","b"]) and as text otherwise. Example: late-mcp --sandbox call profiles_create name=Bakery',
    )
    _common(call, top=False)
    call.add_argument("tool", help="tool name (see: late-mcp tools)")
    call.add_argument("arguments", nargs="*", metavar="key=value", help="tool arguments")
    call.add_argument(
        "--args",
        dest="args_json",
        metavar="JSON",
        help='all arguments as one JSON object, e.g. --args \'{"name": "Bakery"}\'',
    )
    call.add_argument(
        "--json", action="store_true", help="print the structured result as JSON instead of the human line"
    )

    _token_parser(sub)
    _user_parser(sub)

    doctor = sub.add_parser("doctor", help="check Python, the key, the connection to Late and the journal")
    _common(doctor, top=False)
    return parser


def configure_logging(level: str) -> None:
    """Every record, of any logger, goes to one stderr handler that scrubs the Late key (and the
    shared token) in all their forms first; nothing else writes logs (uvicorn is started without
    its own handlers, see transports/serving.py)."""
    from late_mcp.late.logscrub import SCRUB, protect, stderr_handler

    protect(*(os.environ.get(name, "").strip() for name in ("LATE_API_KEY", "LATE_MCP_TOKEN")))
    logging.basicConfig(level=level, handlers=[stderr_handler(sys.stderr)])
    for handler in logging.getLogger().handlers:  # set up before us (late-mcp run from Python)
        if SCRUB not in handler.filters:
            handler.addFilter(SCRUB)


def quiet_when_closed(command: Callable[[], int]) -> int:
    """Run a command that prints to stdout; when the reader goes away (`late-mcp tools | head -1`)
    stop without a traceback, as `cat` and `ls` do."""
    try:
        code = command()
        sys.stdout.flush()
    except BrokenPipeError:
        # Python flushes stdout again at exit: point it at nothing so that flush cannot fail too.
        os.dup2(os.open(os.devnull, os.O_WRONLY), sys.stdout.fileno())
        return 0
    return code


def main(argv: Sequence[str] | None = None) -> int:
    parser = build_parser()
    args, extra = parser.parse_known_args(argv)
    if args.command == "call" and not any(token.startswith("-") for token in extra):
        args.arguments += extra  # key=value pairs given after an option such as --json
    elif extra:
        parser.error(f"unrecognized arguments: {' '.join(extra)}")
    try:
        level = args.log_level or read_log_level(os.environ)
        read_only = bool(args.read_only) or read_switch(os.environ, "LATE_READ_ONLY", False)
    except ConfigError as exc:
        print(f"late-mcp: {exc}", file=sys.stderr)
        return EXIT_USAGE
    configure_logging(level)
    if args.command == "tools":
        from late_mcp.cli.call import print_tools

        chosen = [*(args.toolset or []), *(args.toolsets or [])]
        try:
            # As the server and `call` do: the command line, else LATE_TOOLSETS, else every tool.
            chosen = chosen or list(read_toolsets(os.environ) or ())
        except ConfigError as exc:
            print(f"late-mcp: {exc}", file=sys.stderr)
            return EXIT_USAGE
        return quiet_when_closed(lambda: print_tools(chosen, read_only=read_only))
    if args.command == "token":
        from late_mcp.cli.tokens import run_token

        return run_token(args)
    if args.command == "user":
        from late_mcp.cli.tokens import run_user

        return run_user(args)
    if args.command == "doctor":
        from late_mcp.cli.doctor import run_doctor

        return run_doctor(sandbox=args.sandbox)
    try:
        settings = Settings.from_env(sandbox=args.sandbox)
    except ConfigError as exc:
        print(f"late-mcp: {exc}", file=sys.stderr)
        return EXIT_USAGE
    try:
        http = _http_settings(args)
    except ConfigError as exc:
        print(f"late-mcp: {exc}", file=sys.stderr)
        return EXIT_USAGE
    settings = dataclasses.replace(
        settings,
        # `call` runs on the user's own machine, like stdio: its time zone is the user's.
        transport="stdio" if args.command == "call" else http.transport,
        read_only=read_only,
        log_level=level,
        # `call` runs any tool unless a selection was made; serving offers the default toolsets.
        toolsets=args.toolsets or settings.toolsets or (TOOLSETS if args.command == "call" else None),
    )
    if args.command == "call":
        from late_mcp.cli.call import run_call

        return quiet_when_closed(
            lambda: run_call(settings, args.tool, args.arguments, args.args_json, as_json=args.json)
        )
    from late_mcp.transports.serving import serve

    return serve(settings, http)


def _http_settings(args: argparse.Namespace) -> HttpSettings:
    """LATE_MCP_* from the environment, overridden by what the command line gives."""
    http = HttpSettings.from_env()
    changes: dict[str, Any] = {}
    if args.transport is not None:
        changes["transport"] = read_transport(args.transport, "--transport")
    if args.host is not None:
        changes["host"] = args.host
    if args.port is not None:
        changes["port"] = args.port
    if args.stateless:
        changes["stateless"] = True
    return dataclasses.replace(http, **changes)


if __name__ == "__main__":
    raise SystemExit(main())
