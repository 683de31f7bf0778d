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
