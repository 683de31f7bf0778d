"""YAML-level checks: the file is read safely and every refusal points at its line."""

from __future__ import annotations

from pathlib import Path

import pytest

from consent import ConfigError, load_policy
from consent.policy.yamlsource import MAX_FILE_BYTES, load_yaml, parse_yaml, render_key

VALID = """\
categories:
  necessary:
    title: Necessary
    required: true
    cookies:
      - name: sid
"""


def refused(path: Path, *, key: str | None, line: int | None) -> ConfigError:
    with pytest.raises(ConfigError) as info:
        load_policy(path)
    error = info.value
    assert isinstance(error, ValueError)
    assert (error.file, error.key, error.line) == (str(path), key, line)
    where = f"{path}:{line}" if line is not None else str(path)
    assert str(error).startswith(f"{where}: {key}: " if key else f"{where}: ")
    return error


def write(tmp_path: Path, content: str | bytes) -> Path:
    path = tmp_path / "consent.yaml"
    if isinstance(content, bytes):
        path.write_bytes(content)
    else:
        path.write_text(content, encoding="utf-8")
    return path


# -- reading the file --------------------------------------------------------


def test_file_larger_than_one_mebibyte(tmp_path: Path) -> None:
    padding = "#" * (MAX_FILE_BYTES + 1 - len(VALID)) + "\n"
    error = refused(write(tmp_path, VALID + padding), key=None, line=None)
    assert "larger than 1048576 bytes" in error.message


def test_file_of_exactly_one_mebibyte_loads(tmp_path: Path) -> None:
    padding = "#" * (MAX_FILE_BYTES - len(VALID) - 1) + "\n"
    path = write(tmp_path, VALID + padding)
    assert path.stat().st_size == MAX_FILE_BYTES
    assert load_policy(path).category_names == ("necessary",)


def test_non_utf8_file_points_at_the_line(tmp_path: Path) -> None:
    content = VALID.replace("title: Necessary", "title: N\xe9cessaire").encode("latin-1")
    error = refused(write(tmp_path, content), key=None, line=3)
    assert "not valid UTF-8" in error.message


def test_missing_file(tmp_path: Path) -> None:
    error = refused(tmp_path / "nope.yaml", key=None, line=None)
    assert "cannot read" in error.message


def test_directory_instead_of_a_file(tmp_path: Path) -> None:
    assert "cannot read" in refused(tmp_path, key=None, line=None).message


def test_utf8_text_and_a_byte_order_mark_load(tmp_path: Path) -> None:
    text = "\ufeff" + VALID.replace("title: Necessary", "title: Nécessaire ✓")
    policy = load_policy(write(tmp_path, text))
    assert policy.categories["necessary"].title == "Nécessaire ✓"


# -- YAML features that a policy must not use ---------------------------------


@pytest.mark.parametrize(
    ("text", "key", "line"),
    [
        (VALID + "revision: 1\nrevision: 2\n", "revision", 8),
        (
            VALID.replace("    required: true\n", "    required: true\n    title: Again\n"),
            "categories.necessary.title",
            5,
        ),
        (VALID + "      - name: a\n        name: b\n", "categories.necessary.cookies[1].name", 8),
    ],
)
def test_duplicate_keys(tmp_path: Path, text: str, key: str, line: int) -> None:
    error = refused(write(tmp_path, text), key=key, line=line)
    assert "duplicate key" in error.message


@pytest.mark.parametrize(
    ("text", "key", "line"),
    [
        # An anchor alone is refused at once.
        (VALID.replace("title: Necessary", "title: &t Necessary"), "categories.necessary.title", 3),
        # An alias reuses an anchored node: refused where the anchor is.
        (
            VALID + "  analytics: &base\n    title: Analytics\n  marketing: *base\n",
            "categories.analytics",
            7,
        ),
        # An anchored scalar.
        (
            "revision: &r 1\n" + VALID,
            "revision",
            1,
        ),
        # An anchored key.
        ("&k revision: 1\n" + VALID, None, 1),
        # A sequence item.
        (
            VALID.replace("- name: sid", "- &c\n        name: sid"),
            "categories.necessary.cookies[0]",
            6,
        ),
    ],
)
def test_anchors_and_aliases(tmp_path: Path, text: str, key: str | None, line: int) -> None:
    error = refused(write(tmp_path, text), key=key, line=line)
    assert "anchors" in error.message
    assert "aliases" in error.message


def test_merge_key(tmp_path: Path) -> None:
    text = "categories:\n  necessary:\n    <<: {title: Necessary}\n"
    error = refused(write(tmp_path, text), key="categories.necessary", line=3)
    assert "merge keys" in error.message


def test_complex_key(tmp_path: Path) -> None:
    text = VALID + "? [a, b]\n: 1\n"
    refused(write(tmp_path, text), key=None, line=7)


@pytest.mark.parametrize(
    ("text", "key", "line", "words"),
    [
        ("categories: !!set {a, b}\n", "categories", 1, "tags"),
        ("categories: !mine\n  necessary:\n    title: N\n", "categories", 1, "tags"),
        (
            "categories:\n  necessary:\n    title: N\n    cookies: !!omap []\n",
            "categories.necessary.cookies",
            4,
            "tags",
        ),
        (
            "categories:\n  a:\n    title: !!python/object:os.system x\n",
            "categories.a.title",
            3,
            "constructor",
        ),
        ("categories:\n  a:\n    title: !!binary aGVsbG8=\n", "categories.a.title", 3, "quotes"),
        (
            "categories:\n  a:\n    title: A\n    description: 2024-01-01\n",
            "categories.a.description",
            4,
            "quotes",
        ),
    ],
)
def test_tags_and_non_text_scalars(
    tmp_path: Path, text: str, key: str, line: int, words: str
) -> None:
    assert words in refused(write(tmp_path, text), key=key, line=line).message


# -- syntax errors report their line ------------------------------------------


@pytest.mark.parametrize(
    ("text", "line"),
    [
        ("categories:\n  necessary:\n    title: N\n   bad: x\n", 4),
        ("categories:\n  necessary:\n    title: [a, b\n  other: 1\n", 4),
        ("revision: 1\nendpoint: a: b\n", 2),
        ("categories:\n\tnecessary: 1\n", 2),
        ("revision: 1\nfoo: *nowhere\n", 2),
        (VALID + "---\n" + VALID, 7),
        ("categories:\n  necessary:\n    title: N\n    description: '\x07'\n", 4),
    ],
)
def test_invalid_yaml_reports_the_line(tmp_path: Path, text: str, line: int) -> None:
    error = refused(write(tmp_path, text), key=None, line=line)
    assert error.message.startswith("invalid YAML: ")


# -- the source map ------------------------------------------------------------


def test_every_key_and_item_has_its_line() -> None:
    data, source = parse_yaml(VALID + "      - name: _ga_*\n        path: /shop\n")
    assert data["categories"]["necessary"]["cookies"][1] == {"name": "_ga_*", "path": "/shop"}
    assert source.line_of(("categories",)) == 1
    assert source.line_of(("categories", "necessary", "required")) == 4
    assert source.line_of(("categories", "necessary", "cookies", 0)) == 6
    assert source.line_of(("categories", "necessary", "cookies", 1, "path")) == 8
    # A key the file lacks points at its nearest parent.
    assert source.line_of(("categories", "necessary", "cookies", 1, "domain")) == 7
    assert source.line_of(("nowhere",)) == 1


def test_empty_document() -> None:
    data, source = parse_yaml("# nothing here\n")
    assert data is None
    assert source.line_of(("categories",)) is None


def test_load_yaml_reads_a_file(tmp_path: Path) -> None:
    data, _ = load_yaml(write(tmp_path, "revision: 3\n"))
    assert data == {"revision": 3}


@pytest.mark.parametrize(
    ("loc", "key"),
    [
        ((), ""),
        (("revision",), "revision"),
        (("categories", "a", "cookies", 0, "name"), "categories.a.cookies[0].name"),
        (("trusted_origins", 2), "trusted_origins[2]"),
    ],
)
def test_render_key(loc: tuple[str | int, ...], key: str) -> None:
    assert render_key(loc) == key
