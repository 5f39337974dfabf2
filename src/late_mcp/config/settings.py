"""Settings read from the environment (and the command line, which overrides it).

Every variable goes through one of the readers below, so the same words mean the same thing
everywhere and every refusal names the variable and what it accepts.
"""

from __future__ import annotations

import importlib.util
import os
from collections.abc import Mapping
from dataclasses import dataclass, field
from pathlib import Path
from typing import Literal
from zoneinfo import ZoneInfo, ZoneInfoNotFoundError

from late_mcp.config.paths import default_journal_path
from late_mcp.core.toolsets import DEFAULT_DOMAINS, SELECTION_WORDS, Domain, UnknownToolset, choose_domains

DEFAULT_BASE_URL = "https://getlate.dev/api"
SANDBOX_BASE_URL = "http://sandbox.late.invalid/api"
# What every answer of a sandbox server begins with (tools/call results, the HTTP start line).
SANDBOX_MARK = "[sandbox: demo data, nothing is published]"
API_KEY_HELP = (
    "LATE_API_KEY is not set. Create a key at https://getlate.dev/dashboard/api-keys and set "
    'LATE_API_KEY in the server\'s environment (for Claude Desktop: the "env" block of '
    "claude_desktop_config.json). To try late-mcp without a key, run it with --sandbox."
)
TRUE_WORDS = frozenset({"1", "true", "yes", "on"})
FALSE_WORDS = frozenset({"0", "false", "no", "off"})
LOG_LEVELS = ("DEBUG", "INFO", "WARNING", "ERROR", "CRITICAL")
# The toolset words (core.toolsets): every domain, and what the server offers when none are chosen.
TOOLSETS: tuple[Domain, ...] = tuple(Domain)
DEFAULT_TOOLSETS: tuple[Domain, ...] = DEFAULT_DOMAINS


class ConfigError(Exception):
    """The configuration cannot start a server; the message says what to set."""


class MissingKeyError(ConfigError):
    """LATE_API_KEY is absent outside the sandbox (doctor reports it instead of stopping)."""


# -- one reader per kind of value ---------------------------------------------------------------


def _raw(env: Mapping[str, str], name: str) -> str | None:
    value = (env.get(name) or "").strip()
    return value or None


def read_switch(env: Mapping[str, str], name: str, default: bool) -> bool:
    """On/off: 1/true/yes/on or 0/false/no/off, any case; unset or empty gives `default`."""
    raw = _raw(env, name)
    if raw is None:
        return default
    if raw.lower() in TRUE_WORDS:
        return True
    if raw.lower() in FALSE_WORDS:
        return False
    raise ConfigError(f"{name} must be on or off (also true/false, yes/no, 1/0); got {raw!r}.")


def read_seconds(env: Mapping[str, str], name: str, default: float) -> float:
    """A duration in seconds, greater than 0 (fractions allowed)."""
    raw = _raw(env, name)
    if raw is None:
        return default
    try:
        value = float(raw)
    except ValueError:
        value = float("nan")
    if not value > 0 or value == float("inf"):
        raise ConfigError(
            f"{name} must be a number of seconds greater than 0, such as {default:g}; got {raw!r}."
        )
    return value


def read_count(env: Mapping[str, str], name: str, default: int, *, minimum: int = 1) -> int:
    """A whole number of at least `minimum` (no fractions: 0.5 attempts means nothing)."""
    raw = _raw(env, name)
    if raw is None:
        return default
    try:
        value = int(raw)
    except ValueError:
        value = minimum - 1
    if value < minimum:
        raise ConfigError(
            f"{name} must be a whole number of at least {minimum}, such as {default}; got {raw!r}."
        )
    return value


def read_log_level(env: Mapping[str, str], name: str = "LATE_LOG_LEVEL", default: str = "WARNING") -> str:
    """A logging level name, any case (WARN is taken for WARNING)."""
    raw = _raw(env, name)
    if raw is None:
        return default
    level = "WARNING" if raw.upper() == "WARN" else raw.upper()
    if level not in LOG_LEVELS:
        raise ConfigError(f"{name} must be one of {', '.join(LOG_LEVELS)} (any case); got {raw!r}.")
    return level


def read_timezone(env: Mapping[str, str], name: str = "LATE_TIMEZONE") -> str | None:
    raw = _raw(env, name)
    if raw is None:
        return None
    try:
        ZoneInfo(raw)
    except (ZoneInfoNotFoundError, ValueError):
        raise ConfigError(
            f"{name} must be an IANA time zone name such as Europe/Amsterdam; got {raw!r}."
        ) from None
    return raw


def read_folders(env: Mapping[str, str], name: str) -> tuple[Path, ...]:
    """Folders separated by os.pathsep (':' on macOS/Linux, ';' on Windows), each absolute or ~/...;
    a folder that does not exist is refused, so a typo cannot silently allow nothing."""
    raw = _raw(env, name)
    if raw is None:
        return ()
    folders: list[Path] = []
    for part in (p.strip() for p in raw.split(os.pathsep)):
        if not part:
            continue
        folder = Path(part).expanduser()
        if not folder.is_absolute() or not folder.is_dir():
            raise ConfigError(
                f"{name} must list existing folders by full path, separated by {os.pathsep!r}; "
                f"{part!r} is not one."
            )
        folders.append(folder)
    return tuple(folders)


def read_toolsets(env: Mapping[str, str], name: str = "LATE_TOOLSETS") -> tuple[Domain, ...] | None:
    """Comma-separated domains, `all` or `default`; unset gives None (the caller's default)."""
    raw = _raw(env, name)
    if raw is None:
        return None
    words = [w for w in raw.split(",") if w.strip()]
    wanted = f"{name} must be a comma-separated list of {SELECTION_WORDS}; got {raw!r}"
    try:
        chosen = choose_domains(words)
    except UnknownToolset as exc:
        raise ConfigError(f"{wanted} (unknown: {', '.join(exc.words)}).") from exc
    if not chosen:
        raise ConfigError(f"{wanted}.")
    return chosen


def read_url(env: Mapping[str, str], name: str, default: str) -> str:
    url = (_raw(env, name) or default).rstrip("/")
    if not url.startswith(("http://", "https://")):
        raise ConfigError(f"{name} must be a URL starting with http:// or https://; got {url!r}.")
    return url


def read_redis_url(env: Mapping[str, str], name: str = "LATE_MCP_REDIS_URL") -> str | None:
    url = _raw(env, name)
    if url is not None and not url.startswith(("redis://", "rediss://", "unix://")):
        raise ConfigError(
            f"{name} must be a Redis URL such as redis://localhost:6379/0 (or rediss://, unix://); "
            "the value was not shown because it may hold a password."
        )
    if url is not None and importlib.util.find_spec("redis") is None:
        raise ConfigError(
            f"{name} needs the Redis client: pip install redis (in a checkout: pip install '.[redis]')."
        )
    return url


# -- the settings -------------------------------------------------------------------------------


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
    # Offer only tools that change nothing (LATE_READ_ONLY, or --read-only).
    read_only: bool = False
    # stderr log level (LATE_LOG_LEVEL, or --log-level).
    log_level: str = "WARNING"
    # Replicas share the journal, the reservations and Late's rate budget here (LATE_MCP_REDIS_URL).
    redis_url: str | None = field(default=None, repr=False)
    # The only folders media_upload_file may read (LATE_MEDIA_DIRS); empty: over stdio the client's
    # roots, else the usual media folders (tools/_media_folders.py), never the whole home folder.
    media_dirs: tuple[Path, ...] = ()
    # The tool domains offered (LATE_TOOLSETS, or --toolsets); None: DEFAULT_TOOLSETS.
    toolsets: tuple[Domain, ...] | None = None

    @classmethod
    def from_env(
        cls, env: Mapping[str, str] | None = None, *, sandbox: bool | None = None, require_key: bool = True
    ) -> Settings:
        """The settings the environment gives; without LATE_API_KEY outside the sandbox, raises
        MissingKeyError unless `require_key` is False (doctor: the other checks still run)."""
        env = os.environ if env is None else env
        is_sandbox = read_switch(env, "LATE_SANDBOX", False) if sandbox is None else sandbox
        api_key = _raw(env, "LATE_API_KEY")
        if api_key is None and not is_sandbox and require_key:
            raise MissingKeyError(API_KEY_HELP)
        # The sandbox serves in-process unless LATE_BASE_URL points at a stand-in over HTTP.
        base_url = read_url(env, "LATE_BASE_URL", SANDBOX_BASE_URL if is_sandbox else DEFAULT_BASE_URL)
        faults = _raw(env, "LATE_SANDBOX_FAULTS")
        if faults and is_sandbox:
            from late_mcp.sandbox.faults import FaultPlan

            try:
                FaultPlan.parse(faults)
            except ValueError as exc:
                raise ConfigError(f"LATE_SANDBOX_FAULTS: {exc}") from None
        return cls(
            api_key=api_key,
            base_url=base_url,
            sandbox=is_sandbox,
            connect_timeout=read_seconds(env, "LATE_CONNECT_TIMEOUT", 10.0),
            read_timeout=read_seconds(env, "LATE_READ_TIMEOUT", 30.0),
            upload_timeout=read_seconds(env, "LATE_UPLOAD_TIMEOUT", 600.0),
            retry_attempts=read_count(env, "LATE_RETRY_ATTEMPTS", 6),
            call_deadline=read_seconds(env, "LATE_CALL_DEADLINE", 60.0),
            journal_path=_journal_path(env, is_sandbox),
            duplicate_window=read_seconds(env, "LATE_DUPLICATE_WINDOW", 1800.0),
            sandbox_faults=faults if is_sandbox else None,
            timezone=read_timezone(env),
            confirm=read_switch(env, "LATE_CONFIRM", True),
            read_only=read_switch(env, "LATE_READ_ONLY", False),
            log_level=read_log_level(env),
            redis_url=read_redis_url(env),
            media_dirs=read_folders(env, "LATE_MEDIA_DIRS"),
            toolsets=read_toolsets(env),
        )


def _journal_path(env: Mapping[str, str], sandbox: bool) -> Path | None:
    raw = _raw(env, "LATE_JOURNAL_PATH")
    if raw:
        return Path(raw).expanduser()
    if sandbox:
        return None  # demo posts do not belong in the user's journal
    return default_journal_path()
