"""`late-mcp doctor`: is this installation ready to talk to Late? One line per check.

Checks Python and package versions, the key's presence and shape (never printing it), that
LATE_BASE_URL answers and accepts the key, counts profiles and accounts, lists accounts that
need reconnecting, compares the clock with Late's `Date` header, and writes to the journal.
Uses the project's LateClient, so it sees what the server would see (base URL, timeouts, proxy).
Without a key it still checks what it can: the base URL answers, the clock, the journal.
"""

from __future__ import annotations

import dataclasses
import re
import sys
from dataclasses import dataclass
from datetime import UTC, datetime
from email.utils import parsedate_to_datetime
from importlib import metadata
from typing import Literal

import anyio

from late_mcp.config.settings import API_KEY_HELP, SANDBOX_BASE_URL, ConfigError, Settings
from late_mcp.core.outside import one_line, word
from late_mcp.late.client import LateClient
from late_mcp.late.errors import AuthenticationError, LateError, PermissionDeniedError, TransportError
from late_mcp.safety.records import JournalError

Status = Literal["ok", "warn", "FAIL"]
KEY_SHAPE = re.compile(r"sk_[0-9a-f]{64}")
PACKAGES = ("late-mcp", "mcp", "httpx2", "pydantic", "starlette", "uvicorn")
SKEW_WARN_SECONDS = 30.0
SKEW_FAIL_SECONDS = 300.0
# Doctor's own hint for a refused key: what a key looks like, and what to do here (no server runs).
KEY_REFUSED_HINT = (
    "A Late API key starts with sk_ and has 67 characters; check LATE_API_KEY (a stray quote or "
    "space, a revoked key) or create a new key at https://getlate.dev/dashboard/api-keys, then run "
    "late-mcp doctor again."
)


@dataclass(frozen=True)
class Check:
    status: Status
    name: str
    detail: str


def _version(package: str) -> str:
    try:
        return metadata.version(package)
    except metadata.PackageNotFoundError:
        return "missing"


def check_python() -> Check:
    py = ".".join(str(part) for part in sys.version_info[:3])
    versions = ", ".join(f"{name} {_version(name)}" for name in PACKAGES)
    missing = [name for name in PACKAGES if _version(name) == "missing"]
    if sys.version_info < (3, 11) or missing:
        return Check("FAIL", "python", f"Python {py} (3.11+ needed); {versions}")
    return Check("ok", "python", f"Python {py}; {versions}")


def check_key(settings: Settings) -> Check:
    if settings.sandbox:
        return Check("ok", "key", "sandbox mode: no key needed")
    if KEY_SHAPE.fullmatch(settings.api_key or ""):
        return Check("ok", "key", "LATE_API_KEY is set and well-formed (sk_ + 64 hex; not shown)")
    return Check(
        "warn",
        "key",
        "LATE_API_KEY is set but does not look like a Late key (sk_ followed by 64 lowercase hex "
        "characters); check for a stray quote, space or missing character (the key is not shown)",
    )


def check_clock(date_header: str | None, sandbox_in_process: bool) -> Check:
    if date_header is None:
        if sandbox_in_process:
            return Check("ok", "clock", "not checked: the in-process sandbox has no clock of its own")
        return Check("warn", "clock", "not checked: Late's answer carried no Date header")
    try:
        late_now = parsedate_to_datetime(date_header)
    except (TypeError, ValueError):
        return Check("warn", "clock", f"not checked: unreadable Date header {date_header[:40]!r}")
    skew = (datetime.now(UTC) - late_now).total_seconds()
    ahead = f"{abs(skew):.0f} s {'ahead of' if skew > 0 else 'behind'} Late"
    if abs(skew) > SKEW_FAIL_SECONDS:
        return Check("FAIL", "clock", f"this machine is {ahead}: scheduled times will be off; sync the clock")
    if abs(skew) > SKEW_WARN_SECONDS:
        return Check("warn", "clock", f"this machine is {ahead}; consider syncing the clock")
    return Check("ok", "clock", f"within {SKEW_WARN_SECONDS:.0f} s of Late ({skew:+.0f} s)")


async def check_late(settings: Settings) -> list[Check]:
    """Reachability, key, counts, accounts needing reconnection and the clock, with one client."""
    in_process = settings.sandbox and settings.base_url == SANDBOX_BASE_URL
    transport = None
    if in_process:
        from late_mcp.server.build import sandbox_transport

        transport = sandbox_transport(settings)
    # A doctor answers quickly: two tries, twenty seconds, instead of the server's patience.
    quick = dataclasses.replace(
        settings,
        retry_attempts=min(settings.retry_attempts, 2),
        call_deadline=min(settings.call_deadline, 20),
    )
    where = "the in-process sandbox" if in_process else settings.base_url
    checks: list[Check] = []
    async with LateClient(quick, transport=transport) as client:
        try:
            profiles = await client.list_profiles()
        except TransportError as exc:
            return [Check("FAIL", "base URL", f"cannot reach {where}: {exc.describe()}")]
        except (AuthenticationError, PermissionDeniedError) as exc:
            checks.append(Check("ok", "base URL", f"{where} answers"))
            if settings.api_key is not None:  # without a key the key line has said it all
                refused = exc.with_context(hint=KEY_REFUSED_HINT).describe()
                checks.append(Check("FAIL", "key accepted", f"Late refused the key: {refused}"))
            return [*checks, check_clock(client.server_date, in_process)]
        except LateError as exc:
            return [Check("FAIL", "base URL", f"{where} did not answer like the Late API: {exc.describe()}")]
        checks.append(Check("ok", "base URL", f"{where} answers"))
        checks.append(
            Check(
                "ok", "key accepted", "the sandbox takes any key" if in_process else "Late accepted the key"
            )
        )
        try:
            accounts = await client.list_accounts()
            health = await client.accounts_health()
        except LateError as exc:
            checks.append(Check("warn", "accounts", f"could not list accounts: {exc.describe()}"))
        else:
            inactive = sum(1 for a in accounts if not a.is_active)
            note = f" ({inactive} inactive)" if inactive else ""
            checks.append(
                Check("ok", "profiles", f"{len(profiles)} profiles, {len(accounts)} accounts{note}")
            )
            stale = [a for a in health.accounts if a.needs_reconnect]
            if stale:
                names = ", ".join(
                    f"{word(a.username or a.account_id)} ({word(a.platform)})" for a in stale[:8]
                )
                checks.append(
                    Check(
                        "warn",
                        "account health",
                        f"{len(stale)} of {health.summary.total} accounts need reconnecting: {names}; "
                        "send a fresh invite (invites_create) or accounts_connect_link",
                    )
                )
            else:
                checks.append(
                    Check(
                        "ok",
                        "account health",
                        f"none of {health.summary.total} accounts needs reconnecting",
                    )
                )
        checks.append(check_clock(client.server_date, in_process))
    return checks


async def check_journal(settings: Settings) -> Check:
    """Open the journal and prove it takes a write (written, then rolled back), then read it."""
    if settings.journal_path is None and not settings.redis_url:
        return Check("ok", "journal", "in memory (sandbox mode; set LATE_JOURNAL_PATH to keep one)")
    from late_mcp.server.build import make_journal

    journal = make_journal(settings)
    try:
        await journal.check()
        await journal.recent(limit=1)
    except JournalError as exc:
        return Check("FAIL", "journal", str(exc))
    finally:
        await journal.aclose()
    return Check("ok", "journal", f"writable: {journal.where}")


async def diagnose(sandbox: bool | None) -> list[Check]:
    checks = [check_python()]
    try:
        # Without a key, the base URL, the clock and the journal can still be checked.
        settings = Settings.from_env(sandbox=sandbox, require_key=False)
    except ConfigError as exc:
        return [*checks, Check("FAIL", "settings", str(exc))]
    if settings.api_key is None and not settings.sandbox:
        checks.append(Check("FAIL", "key", API_KEY_HELP))
    else:
        checks.append(check_key(settings))
    checks.extend(await check_late(settings))
    checks.append(await check_journal(settings))
    return checks


def run_doctor(*, sandbox: bool | None) -> int:
    """Print the report; exit 1 when any check failed, 0 otherwise (warnings included)."""
    checks = anyio.run(diagnose, sandbox)
    width = max(len(check.name) for check in checks)
    for check in checks:
        print(f"{check.status:<4}  {check.name:<{width}}  {one_line(check.detail)}")
    failed = sum(1 for check in checks if check.status == "FAIL")
    warned = sum(1 for check in checks if check.status == "warn")
    if failed:
        print(
            f"{failed} problem(s), {warned} warning(s): fix the FAIL lines, then run late-mcp doctor again."
        )
        return 1
    print("Ready." + (f" {warned} warning(s) above." if warned else ""))
    return 0
