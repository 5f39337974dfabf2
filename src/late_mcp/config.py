"""Settings read from the environment (and the command line, which overrides it)."""

from __future__ import annotations

import os
from collections.abc import Mapping
from dataclasses import dataclass, field
from pathlib import Path
from typing import Literal
from zoneinfo import ZoneInfo, ZoneInfoNotFoundError

DEFAULT_BASE_URL = "https://getlate.dev/api"
SANDBOX_BASE_URL = "http://sandbox.late.invalid/api"
API_KEY_HELP = (
    "LATE_API_KEY is not set. Create a key at https://getlate.dev/dashboard/api-keys and set "
    'LATE_API_KEY in the server\'s environment (for Claude Desktop: the "env" block of '
    "claude_desktop_config.json). To try late-mcp without a key, run it with --sandbox."
)


class ConfigError(Exception):
    """The configuration cannot start a server; the message says what to set."""


def _truthy(value: str | None) -> bool:
    return (value or "").strip().lower() in {"1", "true", "yes", "on"}


@dataclass(frozen=True)
class Settings:
    """What the server needs to talk to Late. The key is kept out of repr()."""

    api_key: str | None = field(default=None, repr=False)
    base_url: str = DEFAULT_BASE_URL
    sandbox: bool = False
    connect_timeout: float = 10.0
    read_timeout: float = 30.0
    upload_timeout: float = 600.0
    retry_attempts: int = 6
    retry_base_delay: float = 0.25
    retry_max_delay: float = 8.0
    call_deadline: float = 60.0
    # Where the audit journal lives; None keeps it in memory (sandbox, tests).
    journal_path: Path | None = None
    duplicate_window: float = 1800.0
    sandbox_faults: str | None = None
    # The zone a scheduled_for without offset falls back to (LATE_TIMEZONE), before the machine's own.
    timezone: str | None = None
    # Preview-then-confirm for what cannot be undone (LATE_CONFIRM=off for unattended use).
    confirm: bool = True
    # How clients reach this process; over HTTP the machine's zone says nothing about the user's.
    transport: Literal["stdio", "sse", "http"] = "stdio"

    @classmethod
    def from_env(cls, env: Mapping[str, str] | None = None, *, sandbox: bool | None = None) -> Settings:
        env = os.environ if env is None else env
        is_sandbox = _truthy(env.get("LATE_SANDBOX")) if sandbox is None else sandbox
        api_key = (env.get("LATE_API_KEY") or "").strip() or None
        base_url = (env.get("LATE_BASE_URL") or "").strip().rstrip("/")
        if is_sandbox:
            # The sandbox serves in-process unless LATE_BASE_URL points at a stand-in over HTTP.
            base_url = base_url or SANDBOX_BASE_URL
        else:
            if api_key is None:
                raise ConfigError(API_KEY_HELP)
            base_url = base_url or DEFAULT_BASE_URL
        faults = (env.get("LATE_SANDBOX_FAULTS") or "").strip() or None
        if faults and is_sandbox:
            from late_mcp.sandbox.faults import FaultPlan

            try:
                FaultPlan.parse(faults)
            except ValueError as exc:
                raise ConfigError(f"LATE_SANDBOX_FAULTS: {exc}") from None
        if not base_url.startswith(("http://", "https://")):
            raise ConfigError(f"LATE_BASE_URL must start with http:// or https:// (got {base_url!r}).")
        return cls(
            api_key=api_key,
            base_url=base_url,
            sandbox=is_sandbox,
            connect_timeout=_float(env, "LATE_CONNECT_TIMEOUT", 10.0),
            read_timeout=_float(env, "LATE_READ_TIMEOUT", 30.0),
            upload_timeout=_float(env, "LATE_UPLOAD_TIMEOUT", 600.0),
            retry_attempts=int(_float(env, "LATE_RETRY_ATTEMPTS", 6)),
            call_deadline=_float(env, "LATE_CALL_DEADLINE", 60.0),
            journal_path=_journal_path(env, is_sandbox),
            duplicate_window=_float(env, "LATE_DUPLICATE_WINDOW", 1800.0),
            sandbox_faults=faults if is_sandbox else None,
            timezone=_timezone(env),
            confirm=_switch(env, "LATE_CONFIRM", True),
        )


def _switch(env: Mapping[str, str], name: str, default: bool) -> bool:
    raw = (env.get(name) or "").strip().lower()
    if not raw:
        return default
    if raw in {"1", "true", "yes", "on"}:
        return True
    if raw in {"0", "false", "no", "off"}:
        return False
    raise ConfigError(f"{name} must be on or off (also true/false, yes/no, 1/0); got {raw!r}.")


def _timezone(env: Mapping[str, str]) -> str | None:
    raw = (env.get("LATE_TIMEZONE") or "").strip()
    if not raw:
        return None
    try:
        ZoneInfo(raw)
    except (ZoneInfoNotFoundError, ValueError):
        raise ConfigError(
            f"LATE_TIMEZONE must be an IANA time zone name such as Europe/Amsterdam (got {raw!r})."
        ) from None
    return raw


def _float(env: Mapping[str, str], name: str, default: float) -> float:
    raw = env.get(name)
    if raw is None or not raw.strip():
        return default
    try:
        value = float(raw)
    except ValueError:
        raise ConfigError(f"{name} must be a number of seconds (got {raw!r}).") from None
    if value <= 0:
        raise ConfigError(f"{name} must be greater than 0 (got {raw!r}).")
    return value


def _journal_path(env: Mapping[str, str], sandbox: bool) -> Path | None:
    raw = (env.get("LATE_JOURNAL_PATH") or "").strip()
    if raw:
        return Path(raw).expanduser()
    if sandbox:
        return None  # demo posts do not belong in the user's journal
    from late_mcp.journal import default_journal_path

    return default_journal_path()
