"""Settings from the environment: what is required, what is defaulted, what is refused."""

from __future__ import annotations

from pathlib import Path

import pytest

from late_mcp.config.settings import DEFAULT_BASE_URL, SANDBOX_BASE_URL, ConfigError, Settings

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


@pytest.mark.parametrize("word", ["1", "true", "YES", "On", " on "])
def test_every_switch_takes_the_same_true_words(word: str) -> None:
    settings = Settings.from_env({"LATE_SANDBOX": word, "LATE_READ_ONLY": word, "LATE_CONFIRM": word})
    assert settings.sandbox and settings.read_only and settings.confirm


@pytest.mark.parametrize("word", ["0", "false", "NO", "Off"])
def test_every_switch_takes_the_same_false_words(word: str) -> None:
    settings = Settings.from_env(
        {"LATE_API_KEY": KEY, "LATE_SANDBOX": word, "LATE_READ_ONLY": word, "LATE_CONFIRM": word}
    )
    assert not settings.sandbox and not settings.read_only and not settings.confirm


@pytest.mark.parametrize("name", ["LATE_SANDBOX", "LATE_READ_ONLY", "LATE_CONFIRM"])
def test_a_switch_refuses_other_words_and_names_itself(name: str) -> None:
    with pytest.raises(ConfigError) as refused:
        Settings.from_env({"LATE_API_KEY": KEY, name: "maybe"})
    assert str(refused.value) == f"{name} must be on or off (also true/false, yes/no, 1/0); got 'maybe'."


def test_log_levels_are_case_insensitive() -> None:
    assert Settings.from_env({"LATE_SANDBOX": "on", "LATE_LOG_LEVEL": "info"}).log_level == "INFO"
    assert Settings.from_env({"LATE_SANDBOX": "on", "LATE_LOG_LEVEL": "Warn"}).log_level == "WARNING"
    assert Settings.from_env({"LATE_SANDBOX": "on"}).log_level == "WARNING"
    with pytest.raises(ConfigError) as refused:
        Settings.from_env({"LATE_SANDBOX": "on", "LATE_LOG_LEVEL": "loud"})
    assert str(refused.value) == (
        "LATE_LOG_LEVEL must be one of DEBUG, INFO, WARNING, ERROR, CRITICAL (any case); got 'loud'."
    )


def test_retry_attempts_are_a_whole_number_not_seconds() -> None:
    assert Settings.from_env({"LATE_SANDBOX": "on", "LATE_RETRY_ATTEMPTS": "3"}).retry_attempts == 3
    for raw in ("0.5", "0", "-2", "many"):
        with pytest.raises(ConfigError) as refused:
            Settings.from_env({"LATE_SANDBOX": "on", "LATE_RETRY_ATTEMPTS": raw})
        message = str(refused.value)
        assert message == f"LATE_RETRY_ATTEMPTS must be a whole number of at least 1, such as 6; got {raw!r}."
        assert "seconds" not in message


def test_durations_are_seconds_and_say_so() -> None:
    settings = Settings.from_env({"LATE_SANDBOX": "on", "LATE_READ_TIMEOUT": "2.5"})
    assert settings.read_timeout == 2.5
    for raw in ("soon", "0", "nan", "inf"):
        with pytest.raises(ConfigError) as refused:
            Settings.from_env({"LATE_SANDBOX": "on", "LATE_DUPLICATE_WINDOW": raw})
        assert str(refused.value) == (
            f"LATE_DUPLICATE_WINDOW must be a number of seconds greater than 0, such as 1800; got {raw!r}."
        )


def test_timezone_confirm_and_transport_keep_their_meaning() -> None:
    settings = Settings.from_env({"LATE_SANDBOX": "on", "LATE_TIMEZONE": "Europe/Amsterdam"})
    assert settings.timezone == "Europe/Amsterdam" and settings.confirm and settings.transport == "stdio"
    with pytest.raises(ConfigError, match="LATE_TIMEZONE must be an IANA time zone name"):
        Settings.from_env({"LATE_SANDBOX": "on", "LATE_TIMEZONE": "Mars/Olympus"})
