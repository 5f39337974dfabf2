"""How the server is reached: transport, bind address and the HTTP guards, from LATE_MCP_* variables.

The command line overrides the environment (`--transport`, `--host`, `--port`, `--stateless`).
"""

from __future__ import annotations

import ipaddress
import os
from collections.abc import Mapping
from dataclasses import dataclass, field
from pathlib import Path
from typing import Literal

from late_mcp.config.paths import default_journal_path
from late_mcp.config.settings import ConfigError, _raw, read_count, read_seconds, read_switch

Transport = Literal["stdio", "sse", "http"]
TRANSPORT_WORDS: dict[str, Transport] = {
    "stdio": "stdio",
    "sse": "sse",
    "http": "http",
    "streamable-http": "http",
    "streamable_http": "http",
}
DEFAULT_HOST = "127.0.0.1"
DEFAULT_PORT = 8000
DEFAULT_MAX_SESSIONS = 100
DEFAULT_SESSION_IDLE = 600.0
DEFAULT_BODY_TIMEOUT = 15.0
DEFAULT_HEADER_TIMEOUT = 10.0
DEFAULT_MAX_CONNECTIONS = 1000
MIN_SHARED_TOKEN = 32  # characters of LATE_MCP_TOKEN off loopback


def read_transport(raw: str | None, name: str = "LATE_MCP_TRANSPORT") -> Transport:
    if raw is None:
        return "stdio"
    value = TRANSPORT_WORDS.get(raw.strip().lower())
    if value is None:
        raise ConfigError(f"{name} must be stdio, http (also streamable-http) or sse; got {raw!r}.")
    return value


def read_port(raw: str | None, name: str = "LATE_MCP_PORT") -> int:
    if raw is None:
        return DEFAULT_PORT
    try:
        port = int(raw)
    except ValueError:
        port = -1
    if not 0 < port < 65536:
        raise ConfigError(f"{name} must be a port number from 1 to 65535, such as 8000; got {raw!r}.")
    return port


def is_loopback(host: str) -> bool:
    if host == "localhost":
        return True
    try:
        return ipaddress.ip_address(host.strip("[]")).is_loopback
    except ValueError:
        return False


@dataclass(frozen=True)
class HttpSettings:
    """Serving options; `token` (LATE_MCP_TOKEN) is kept out of repr()."""

    transport: Transport = "stdio"
    host: str = DEFAULT_HOST
    port: int = DEFAULT_PORT
    token: str | None = field(default=None, repr=False)
    allowed_hosts: tuple[str, ...] = ()
    token_store: Path | None = None
    max_sessions: int = DEFAULT_MAX_SESSIONS
    session_idle_timeout: float = DEFAULT_SESSION_IDLE
    body_timeout: float = DEFAULT_BODY_TIMEOUT
    stateless: bool = False
    header_timeout: float = DEFAULT_HEADER_TIMEOUT
    max_connections: int = DEFAULT_MAX_CONNECTIONS
    # The address clients reach this server at (LATE_MCP_PUBLIC_URL, e.g. https://mcp.example.com):
    # the OAuth issuer and, with /mcp, the resource every OAuth token is bound to.
    public_url: str | None = None
    # Sign-in with OAuth (LATE_MCP_OAUTH): None decides by itself (on for streamable HTTP).
    oauth: bool | None = None

    @classmethod
    def from_env(cls, env: Mapping[str, str] | None = None) -> HttpSettings:
        env = os.environ if env is None else env
        hosts = tuple(h.strip() for h in (_raw(env, "LATE_MCP_ALLOWED_HOSTS") or "").split(",") if h.strip())
        store = _raw(env, "LATE_MCP_TOKEN_STORE")
        return cls(
            transport=read_transport(_raw(env, "LATE_MCP_TRANSPORT")),
            host=_raw(env, "LATE_MCP_HOST") or DEFAULT_HOST,
            port=read_port(_raw(env, "LATE_MCP_PORT")),
            token=_raw(env, "LATE_MCP_TOKEN"),
            allowed_hosts=hosts,
            token_store=Path(store).expanduser() if store else None,
            max_sessions=read_count(env, "LATE_MCP_MAX_SESSIONS", DEFAULT_MAX_SESSIONS),
            session_idle_timeout=read_seconds(env, "LATE_MCP_SESSION_IDLE_TIMEOUT", DEFAULT_SESSION_IDLE),
            body_timeout=read_seconds(env, "LATE_MCP_BODY_TIMEOUT", DEFAULT_BODY_TIMEOUT),
            stateless=read_switch(env, "LATE_MCP_STATELESS", False),
            header_timeout=read_seconds(env, "LATE_MCP_HEADER_TIMEOUT", DEFAULT_HEADER_TIMEOUT),
            max_connections=read_count(env, "LATE_MCP_MAX_CONNECTIONS", DEFAULT_MAX_CONNECTIONS),
            public_url=(_raw(env, "LATE_MCP_PUBLIC_URL") or "").rstrip("/") or None,
            oauth=read_switch(env, "LATE_MCP_OAUTH", True) if _raw(env, "LATE_MCP_OAUTH") else None,
        )


def shared_token_problem(http: HttpSettings) -> str | None:
    """Why LATE_MCP_TOKEN cannot guard this bind address (too short off loopback), or None."""
    if http.token is None or is_loopback(http.host) or len(http.token) >= MIN_SHARED_TOKEN:
        return None
    return (
        f"LATE_MCP_TOKEN is {len(http.token)} characters; serving on {http.host} needs at least "
        f"{MIN_SHARED_TOKEN}, since anyone who can reach this machine may try to guess it. Make one "
        'with `python -c "import secrets; print(secrets.token_urlsafe(32))"`, or use scoped tokens '
        "(`late-mcp token create NAME`) and unset LATE_MCP_TOKEN."
    )


def base_url(http: HttpSettings) -> str:
    """Where clients reach this server: LATE_MCP_PUBLIC_URL, else the bind address and port."""
    if http.public_url:
        return http.public_url
    host = "localhost" if http.host in {"0.0.0.0", "::", ""} else http.host
    return f"http://{f'[{host}]' if ':' in host else host}:{http.port}"


def oauth_store_path(http: HttpSettings, env: Mapping[str, str] | None = None) -> Path:
    """The OAuth store (users, clients, grants, codes, tokens): oauth.sqlite3 beside the token store."""
    return token_store_path(http, env).parent / "oauth.sqlite3"


def token_store_path(http: HttpSettings, env: Mapping[str, str] | None = None) -> Path:
    """The token store: LATE_MCP_TOKEN_STORE, else beside the journal (LATE_JOURNAL_PATH or the
    per-user default), so `late-mcp token` and the server find the same file."""
    if http.token_store is not None:
        return http.token_store
    journal = _raw(os.environ if env is None else env, "LATE_JOURNAL_PATH")
    if journal:
        return Path(journal).expanduser().parent / "tokens.sqlite3"
    return default_journal_path().parent / "tokens.sqlite3"
