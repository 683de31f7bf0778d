"""The ``records:`` section: shorthands, validation with line numbers, and URLs."""

from __future__ import annotations

from pathlib import Path

import pytest

from consent import ConfigError, policy_from_string
from consent.records.urls import async_url

BASE = "revision: 1\ncategories:\n  a:\n    title: A\n"


def _records(section: str) -> str:
    return BASE.replace("categories:", f"records:{section}\ncategories:", 1)


def test_shorthands_and_yaml_off() -> None:
    assert not policy_from_string(_records(" false")).config.records.enabled
    assert policy_from_string(_records(" true")).config.records.enabled
    settings = policy_from_string(_records("\n  ip: off")).config.records
    assert settings.ip == "off"
    assert policy_from_string(_records("\n  ip: truncate")).config.records.ip == "truncate"


def test_errors_name_the_key_and_line() -> None:
    with pytest.raises(ConfigError) as caught:
        policy_from_string(_records("\n  table_prefix: Bad-Prefix"))
    assert caught.value.key == "records.table_prefix"
    assert caught.value.line is not None
    with pytest.raises(ConfigError, match="unknown key"):
        policy_from_string(_records("\n  urll: sqlite:///x.db"))


@pytest.mark.parametrize(
    ("section", "key", "got"),
    [
        # 'no' used to turn recording off without a word: refused rather than guessed.
        ("\n  enabled: 'no'", "records.enabled", "(got 'no')"),
        ("\n  enabled: 'false'", "records.enabled", "(got 'false')"),
        ("\n  enabled: 0", "records.enabled", "(got 0)"),
        ("\n  timeout_seconds: '5'", "records.timeout_seconds", "(got '5')"),
        ("\n  timeout_seconds: true", "records.timeout_seconds", "(got True)"),
        (" 'no'", "records", "(got 'no')"),
        (" 0", "records", "(got 0)"),
    ],
)
def test_switches_and_numbers_are_not_text(section: str, key: str, got: str) -> None:
    with pytest.raises(ConfigError) as caught:
        policy_from_string(_records(section), source="consent.yaml")
    assert caught.value.key == key
    line = 3 if section.startswith("\n") else 2  # records: is line 2, its keys from line 3
    assert caught.value.line == line
    assert str(caught.value).startswith(f"consent.yaml:{line}: {key}: ")
    assert got in str(caught.value)


def test_timeout_takes_whole_and_decimal_numbers() -> None:
    assert (
        policy_from_string(_records("\n  timeout_seconds: 5")).config.records.timeout_seconds == 5
    )
    settings = policy_from_string(_records("\n  timeout_seconds: 0.5")).config.records
    assert settings.timeout_seconds == 0.5


def test_unknown_key_lists_the_records_keys() -> None:
    with pytest.raises(ConfigError) as caught:
        policy_from_string(_records("\n  url: sqlite:///x.db\n  timout_seconds: 5"))
    assert (caught.value.key, caught.value.line) == ("records.timout_seconds", 4)
    assert caught.value.message == (
        "unknown key; did you mean 'timeout_seconds'? (keys allowed here: "
        "enabled, url, ip, table_prefix, spool, timeout_seconds)"
    )


@pytest.mark.parametrize(
    ("plain", "driver"),
    [
        ("sqlite:///records.db", "sqlite+aiosqlite"),
        ("sqlite+aiosqlite:////tmp/records.db", "sqlite+aiosqlite"),
        ("postgresql://user@db.example/consent", "postgresql+asyncpg"),
        ("postgres://user:secret@db.example/consent", "postgresql+asyncpg"),
    ],
)
def test_plain_urls_get_async_drivers(plain: str, driver: str) -> None:
    assert async_url(plain).drivername == driver


@pytest.mark.parametrize(
    ("url", "message"),
    [
        ("mysql://x@y/z", "SQLite or PostgreSQL"),
        ("postgresql+psycopg2://u:secret@h/d", "not asynchronous"),
        ("sqlite://", "in-memory"),
        ("not a url", "not a database URL"),
    ],
)
def test_unusable_urls_are_explained(url: str, message: str) -> None:
    with pytest.raises(ConfigError, match=message) as caught:
        async_url(url)
    assert "secret" not in str(caught.value)


def test_the_documented_example_loads() -> None:
    doc = Path("docs/records.md").read_text()
    example = doc.split("```yaml\n", 1)[1].split("```", 1)[0]
    settings = policy_from_string(BASE + example).config.records
    assert settings.url == "postgresql://consent@db.internal/consent"
    assert settings.ip == "off"
    assert async_url(settings.url).drivername == "postgresql+asyncpg"
