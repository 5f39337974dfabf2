"""Settings from the environment: what is required, what is defaulted, what is refused."""

from __future__ import annotations

from pathlib import Path

import pytest

from late_mcp.config import DEFAULT_BASE_URL, SANDBOX_BASE_URL, ConfigError, Settings

KEY = "sk_" + "ab" * 32


def test_key_is_required_outside_the_sandbox_and_never_shown() -> None:
    with pytest.raises(ConfigError, match="LATE_API_KEY"):
        Settings.from_env({})
    settings = Settings.from_env({"LATE_API_KEY": KEY, "LATE_JOURNAL_PATH": "/tmp/j.sqlite3"})
    assert settings.base_url == DEFAULT_BASE_URL and settings.journal_path == Path("/tmp/j.sqlite3")
    assert KEY not in repr(settings)


def test_sandbox_needs_no_key_and_keeps_its_journal_in_memory() -> None:
    settings = Settings.from_env({"LATE_SANDBOX": "1"})
    assert settings.sandbox and settings.base_url == SANDBOX_BASE_URL and settings.journal_path is None
    assert Settings.from_env({}, sandbox=True).sandbox


def test_base_url_is_honoured_and_checked() -> None:
    assert Settings.from_env({"LATE_API_KEY": KEY, "LATE_BASE_URL": "http://127.0.0.1:9/api/"}).base_url == (
        "http://127.0.0.1:9/api"
    )
    with pytest.raises(ConfigError, match="LATE_BASE_URL"):
        Settings.from_env({"LATE_API_KEY": KEY, "LATE_BASE_URL": "getlate.dev/api"})


def test_numbers_and_fault_specs_are_validated() -> None:
    with pytest.raises(ConfigError, match="LATE_READ_TIMEOUT"):
        Settings.from_env({"LATE_API_KEY": KEY, "LATE_READ_TIMEOUT": "soon"})
    with pytest.raises(ConfigError, match="LATE_CALL_DEADLINE"):
        Settings.from_env({"LATE_API_KEY": KEY, "LATE_CALL_DEADLINE": "-1"})
    with pytest.raises(ConfigError, match="LATE_SANDBOX_FAULTS"):
        Settings.from_env({"LATE_SANDBOX": "1", "LATE_SANDBOX_FAULTS": "lost=2"})
    assert (
        Settings.from_env({"LATE_SANDBOX": "1", "LATE_SANDBOX_FAULTS": "lost=0.1"}).sandbox_faults
        == "lost=0.1"
    )
