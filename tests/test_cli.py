"""The ``consent`` command: ``check`` a policy file, ``keygen`` a secret key, its help and
``--version``, and the release metadata that version comes from."""

from __future__ import annotations

import argparse
import re
import subprocess
import sys
import tomllib
from collections.abc import Iterator
from importlib.metadata import metadata
from pathlib import Path
from typing import Any

import pytest
from trove_classifiers import classifiers as known_classifiers

import consent
from consent import load_policy
from consent.cli import build_parser, main
from consent.enforcement.tokens import normalize_keys

EXAMPLE = "examples/consent.yaml"
ROOT = Path(__file__).resolve().parent.parent


def _project() -> dict[str, Any]:
    with (ROOT / "pyproject.toml").open("rb") as file:
        project: dict[str, Any] = tomllib.load(file)["project"]
    return project


def test_check_prints_the_table(capsys: pytest.CaptureFixture[str]) -> None:
    assert main(["check", EXAMPLE]) == 0
    out, err = capsys.readouterr()
    assert err == ""
    lines = out.splitlines()
    assert lines[0] == (
        f"{EXAMPLE}: valid. revision 1, endpoint /consent, undeclared cookies: block, "
        "5 categories, 10 cookies"
    )
    assert lines[2].split() == [
        "category",
        "cookie",
        "provider",
        "duration",
        "path",
        "domain",
        "service",
    ]
    assert set(lines[3]) <= {"-", " "}
    rows = lines[4:-2]  # the table, then a blank line and the texts hash (issue 5)
    assert len(rows) == 10
    assert lines[-2:] == ["", f"texts hash: {load_policy(EXAMPLE).texts_hash}"]
    assert rows[0].split()[:4] == ["necessary", "(required)", "sid", "this"]
    assert rows[1].split()[0] == "csrftoken"  # the category is named once
    assert re.match(r"analytics +_ga +Google +2 years +/$", rows[3])
    assert "_pk_id.*" in rows[5]
    assert rows[-1].split()[:2] == ["IDE", "Google"]


def test_check_shows_domains_and_empty_categories(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    path = tmp_path / "policy.yaml"
    path.write_text(
        "categories:\n"
        "  necessary:\n    title: N\n    required: true\n"
        "  analytics:\n    title: A\n    cookies:\n"
        "      - name: _ga\n        domain: .Example.com\n        path: /shop\n"
        '        provider: "Google\\nIreland"\n',
        encoding="utf-8",
    )
    assert main(["check", str(path)]) == 0
    out = capsys.readouterr().out
    assert "2 categories, 1 cookies" in out
    assert re.search(r"^necessary \(required\) +- *$", out, re.MULTILINE)
    # Text from the file never breaks a row.
    assert re.search(r"^analytics +_ga +Google Ireland +/shop +\.example\.com$", out, re.MULTILINE)


def test_check_a_bad_file(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    path = tmp_path / "bad.yaml"
    path.write_text(
        "categories:\n  necessary:\n    title: N\n    cookies:\n      - name: a b\n",
        encoding="utf-8",
    )
    assert main(["check", str(path)]) == 1
    out, err = capsys.readouterr()
    assert out == ""
    assert err.startswith(f"error: {path}:5: categories.necessary.cookies[0].name: ")
    assert err.endswith("\n")


_CATEGORIES = "categories:\n  necessary:\n    title: N\n"


@pytest.mark.parametrize(
    ("text", "line", "key", "words"),
    [
        ("x: " + "[" * 400 + "]" * 400 + "\n", 1, "x[0][0]", "nested more than 64 levels"),
        ("gpc_last_update: 2024-02-30\n", 1, "gpc_last_update", "not a valid date"),
        ("gpc: !!bool maybe\n", 1, "gpc", "not a boolean"),
        ("revision: !!int abc\n", 1, "revision", "not a whole number"),
        ("records:\n  timeout_seconds: !!float abc\n", 2, "records.timeout_seconds", "number"),
        ("revision: " + "9" * 4301 + "\n", 1, "revision", "more than 64 characters"),
        ("records:\n  enabled: 'no'\n", 2, "records.enabled", "valid boolean"),
        ("records:\n  timeout_seconds: '5'\n", 2, "records.timeout_seconds", "valid number"),
        ("banner:\n  inject: 'false'\n", 2, "banner.inject", "valid boolean"),
        ("banner:\n  inject: 0\n", 2, "banner.inject", "valid boolean"),
        (
            "banner:\n  consent_mode:\n    enabled: 'yes'\n",
            3,
            "banner.consent_mode.enabled",
            "boolean",
        ),
        (
            "banner:\n  consent_mode:\n    wait_for_update: '100'\n",
            3,
            "banner.consent_mode.wait_for_update",
            "valid integer",
        ),
        ("records:\n  urll: x\n", 2, "records.urll", "did you mean 'url'? (keys allowed here: en"),
        (
            "banner:\n  injct: 1\n",
            2,
            "banner.injct",
            "did you mean 'inject'? (keys allowed here: i",
        ),
    ],
)
def test_check_reports_every_refusal_as_one_line(
    tmp_path: Path, capsys: pytest.CaptureFixture[str], text: str, line: int, key: str, words: str
) -> None:
    # Issue 12: each of these ended in a traceback or was accepted.
    path = tmp_path / "consent.yaml"
    path.write_text(text + _CATEGORIES, encoding="utf-8")
    assert main(["check", str(path)]) == 1
    out, err = capsys.readouterr()
    assert out == ""
    assert err.startswith(f"error: {path}:{line}: {key}")
    assert words in err
    assert err.count("\n") == 1
    assert err.endswith("\n")
    assert "Traceback" not in err


def test_check_a_missing_file(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    assert main(["check", str(tmp_path / "nope.yaml")]) == 1
    assert "cannot read the policy file" in capsys.readouterr().err


def test_keygen(capsys: pytest.CaptureFixture[str]) -> None:
    assert main(["keygen"]) == 0
    first = capsys.readouterr().out.strip()
    assert main(["keygen"]) == 0
    second = capsys.readouterr().out.strip()
    assert first != second
    for key in (first, second):
        assert re.fullmatch(r"[A-Za-z0-9_-]{43}", key)
        assert normalize_keys(key) == [key.encode()]  # the middleware accepts it


def test_keygen_bytes(capsys: pytest.CaptureFixture[str]) -> None:
    assert main(["keygen", "--bytes", "64"]) == 0
    assert len(capsys.readouterr().out.strip()) == 86
    assert main(["keygen", "--bytes", "16"]) == 0
    assert len(capsys.readouterr().out.strip()) == 22


@pytest.mark.parametrize(
    ("argv", "words"),
    [
        (["keygen", "--bytes", "8"], "between 16 and 1024"),
        (["keygen", "--bytes", "-1"], "between 16 and 1024"),
        (["keygen", "--bytes", "lots"], "not a whole number"),
        ([], "required"),
        (["check"], "file"),
        (["frobnicate"], "invalid choice"),
    ],
)
def test_usage_errors_exit_2(
    argv: list[str], words: str, capsys: pytest.CaptureFixture[str]
) -> None:
    with pytest.raises(SystemExit) as info:
        main(argv)
    assert info.value.code == 2
    assert words in capsys.readouterr().err


def test_entry_point_runs_as_a_module(tmp_path: Path) -> None:
    # One real process (they cost a second each): the exit status must reach the shell.
    bad = tmp_path / "bad.yaml"
    bad.write_text("revision: 1\n", encoding="utf-8")
    refused = subprocess.run(  # noqa: S603 - our own interpreter and module, no shell
        [sys.executable, "-m", "consent.cli", "check", str(bad)],
        capture_output=True,
        text=True,
        check=False,
        timeout=60,
    )
    assert refused.returncode == 1
    assert refused.stdout == ""
    assert refused.stderr.startswith(f"error: {bad}:1: categories: ")


# -- --version, --help and the release metadata ------------------------------------------


def test_version_comes_from_pyproject(capsys: pytest.CaptureFixture[str]) -> None:
    # pyproject.toml holds the only copy; the package reads it from the installed metadata.
    version = _project()["version"]
    assert consent.__version__ == version
    with pytest.raises(SystemExit) as info:
        main(["--version"])
    assert info.value.code == 0
    assert capsys.readouterr().out == f"consent {version}\n"


def test_version_without_installed_metadata() -> None:
    assert consent._installed_version("no-such-distribution") == "0+unknown"


def test_release_metadata() -> None:
    project = _project()
    # "consent" is someone else's project on PyPI: the import name and command stay.
    assert project["name"] == consent.DISTRIBUTION == "asgi-cookie-consent"
    assert project["scripts"] == {"consent": "consent.cli:main"}
    assert metadata(consent.DISTRIBUTION)["Name"] == "asgi-cookie-consent"
    # PyPI refuses an upload whose classifiers it does not know.
    unknown = set(project["classifiers"]) - known_classifiers
    assert unknown == set(), "not in trove-classifiers"
    assert "Typing :: Typed" in project["classifiers"]
    assert (ROOT / "consent" / "py.typed").is_file()
    assert set(project["urls"]) == {"Homepage", "Documentation", "Source", "Issues", "Changelog"}


def _parsers(parser: argparse.ArgumentParser) -> Iterator[argparse.ArgumentParser]:
    yield parser
    for action in parser._actions:
        if isinstance(action, argparse._SubParsersAction):
            for sub in action.choices.values():
                yield from _parsers(sub)


def test_help_is_plain_text_for_a_terminal(capsys: pytest.CaptureFixture[str]) -> None:
    parsers = list(_parsers(build_parser()))
    assert {parser.prog for parser in parsers} >= {
        "consent",
        "consent check",
        "consent keygen",
        "consent records",
        "consent records export",
        "consent records verify",
        "consent records prune",
        "consent records stats",
    }
    for parser in parsers:
        text = parser.format_help()
        assert "``" not in text, f"{parser.prog} --help shows reST markup"
        assert parser.description, f"{parser.prog} --help does not say what it does"
    with pytest.raises(SystemExit) as info:
        main(["--help"])
    assert info.value.code == 0
    out = capsys.readouterr().out
    assert out.startswith("usage: consent ")
    assert "consent check consent.yaml" in out  # the examples keep their lines
