"""The docs stay true: their examples run, and the configuration reference matches the models.

Conventions for README.md and docs/*.md (also described in docs/index.md):

- every ```python block must compile;
- a block whose previous non-blank line is ``<!-- run -->`` is executed; the run blocks
  of one page share one namespace and run in page order, in a temporary directory that
  holds a copy of examples/consent.yaml, with CONSENT_SECRET_KEYS set;
- a ```console block marked ``<!-- cli -->`` starts with ``$ consent ...``; the lines
  after it are the exact output of that command, run in the same directory and in page
  order with the run blocks (so a run block may write a file that a cli block checks);
- a line ``--8<-- "path"`` is replaced by that file, as pymdownx.snippets does when
  mkdocs builds the site.
"""

from __future__ import annotations

import inspect
import re
import shlex
import shutil
from dataclasses import dataclass
from pathlib import Path
from typing import Any, get_args, get_origin

import pytest
import yaml
from pydantic import BaseModel
from pydantic.fields import FieldInfo
from starlette.testclient import TestClient

from consent import ConsentMiddleware, PolicyConfig
from consent.cli import main as cli_main

ROOT = Path(__file__).resolve().parent.parent
PAGES = sorted([ROOT / "README.md", *(ROOT / "docs").glob("*.md")])
EXAMPLE_POLICY = ROOT / "examples" / "consent.yaml"
KEY = "docs-test-key-0123456789abcdef"

_FENCE = re.compile(r"^(?P<indent>[ \t]*)(?P<fence>`{3,}|~{3,})(?P<lang>[\w+-]*)[ \t]*$")
_SNIPPET = re.compile(r'^[ \t]*--8<--[ \t]+"(?P<path>[^"]+)"[ \t]*$')
_MARKER = re.compile(r"^<!--\s*(?P<kind>run|cli)\s*-->$")
_MARKER_ANYWHERE = re.compile(r"<!--\s*(?:run|cli)\s*-->")


@dataclass(frozen=True)
class Block:
    page: Path
    line: int  # 1-based line of the first code line
    lang: str
    marker: str | None  # "run", "cli" or None
    code: str

    @property
    def where(self) -> str:
        return f"{self.page.relative_to(ROOT)}:{self.line}"


def _expand_snippets(lines: list[str]) -> list[str]:
    out: list[str] = []
    for line in lines:
        match = _SNIPPET.match(line)
        if match is None:
            out.append(line)
        else:
            # A missing file raises here, as check_paths makes mkdocs fail.
            out.extend((ROOT / match["path"]).read_text(encoding="utf-8").splitlines())
    return out


def blocks(page: Path) -> list[Block]:
    lines = page.read_text(encoding="utf-8").splitlines()
    found: list[Block] = []
    previous = ""  # last non-blank line outside a code block
    index = 0
    while index < len(lines):
        opening = _FENCE.match(lines[index])
        if opening is None:
            if lines[index].strip():
                previous = lines[index].strip()
            index += 1
            continue
        indent, fence = opening["indent"], opening["fence"]
        body: list[str] = []
        index += 1
        while index < len(lines) and lines[index].strip() != fence:
            body.append(lines[index].removeprefix(indent))
            index += 1
        if index == len(lines):
            raise AssertionError(f"{page.name}: unclosed code block")
        marker = _MARKER.match(previous)
        start = index - len(body) + 1
        code = "\n".join(_expand_snippets(body)) + "\n"
        found.append(Block(page, start, opening["lang"], marker and marker["kind"], code))
        previous = ""
        index += 1
    return found


def _ids(pages: list[Path]) -> list[str]:
    return [str(page.relative_to(ROOT)) for page in pages]


ALL_BLOCKS = [block for page in PAGES for block in blocks(page)]


@pytest.mark.parametrize("page", PAGES, ids=_ids(PAGES))
def test_every_python_block_compiles(page: Path) -> None:
    for block in blocks(page):
        if block.lang == "python":
            compile(block.code, block.where, "exec")


def test_markers_sit_on_the_right_blocks() -> None:
    for block in ALL_BLOCKS:
        if block.marker == "run":
            assert block.lang == "python", f"{block.where}: <!-- run --> needs a python block"
        if block.marker == "cli":
            assert block.lang == "console", f"{block.where}: <!-- cli --> needs a console block"
            assert block.code.startswith("$ consent "), f"{block.where}: start with '$ consent'"
    # A marker that does not sit right before a code block would silently test nothing.
    for page in PAGES:
        markers = len(_MARKER_ANYWHERE.findall(page.read_text(encoding="utf-8")))
        marked = sum(1 for block in blocks(page) if block.marker)
        assert markers == marked, f"{page.name}: a marker is not followed by a code block"
    # The conventions are only worth something if the pages use them.
    run_pages = {block.page.name for block in ALL_BLOCKS if block.marker == "run"}
    assert {"README.md", "index.md", "getting-started.md", "configuration.md"} <= run_pages


def _run_cli(block: Block, capsys: pytest.CaptureFixture[str]) -> None:
    command, _, expected = block.code.partition("\n")
    argv = shlex.split(command.removeprefix("$ "))[1:]
    capsys.readouterr()
    status = cli_main(argv)
    captured = capsys.readouterr()
    output = captured.out + captured.err
    assert output.rstrip("\n") == expected.rstrip("\n"), f"{block.where}: output differs"
    assert status == (1 if output.startswith("error:") else 0), f"{block.where}: exit {status}"


EXAMPLE_PAGES = [page for page in PAGES if any(b.marker for b in blocks(page))]


@pytest.fixture
def docs_directory(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Path:
    """Where the examples run: a copy of examples/consent.yaml, CONSENT_SECRET_KEYS set."""
    shutil.copy(EXAMPLE_POLICY, tmp_path / "consent.yaml")
    monkeypatch.chdir(tmp_path)
    monkeypatch.setenv("CONSENT_SECRET_KEYS", KEY)
    return tmp_path


@pytest.mark.parametrize("page", EXAMPLE_PAGES, ids=_ids(EXAMPLE_PAGES))
@pytest.mark.usefixtures("docs_directory")
def test_page_examples_run(page: Path, capsys: pytest.CaptureFixture[str]) -> None:
    namespace: dict[str, Any] = {"__name__": f"docs_{page.stem.replace('-', '_')}"}
    for block in blocks(page):
        if block.marker == "run":
            exec(compile(block.code, block.where, "exec"), namespace)  # noqa: S102 - our own docs
        elif block.marker == "cli":
            _run_cli(block, capsys)


@pytest.mark.usefixtures("docs_directory")
def test_readme_quickstart_is_a_page_to_click_through() -> None:
    # A newcomer opens the README's first example in a browser: it must show the banner,
    # and its "Accept all" must work as the browser submits it (no JavaScript needed).
    quickstart = next(block for block in blocks(ROOT / "README.md") if block.marker == "run")
    namespace: dict[str, Any] = {"__name__": "readme_quickstart"}
    exec(compile(quickstart.code, quickstart.where, "exec"), namespace)  # noqa: S102
    browser = TestClient(namespace["app"])

    page = browser.get("/")
    assert page.headers["content-type"].startswith("text/html")
    assert "Analytics allowed: False" in page.text
    assert 'id="consent-banner"' in page.text
    assert "set-cookie" not in page.headers  # no _ga before a choice
    form = re.search(r'<form [^>]*method="post" action="([^"]+)">(.*?)</form>', page.text, re.S)
    assert form is not None, "no consent form in the page"
    button = '<button class="cc-btn" type="submit" name="action" value="accept_all">Accept all'
    assert button in form[2]
    fields = dict(re.findall(r'<input type="hidden" name="(\w+)" value="([^"]*)">', form[2]))

    after = browser.post(form[1], data={**fields, "action": "accept_all"})
    assert after.url.path == "/"
    assert "Analytics allowed: True" in after.text
    assert 'id="consent-banner"' not in after.text
    assert after.headers["set-cookie"].startswith("_ga=GA1.1.123.456;")


# -- the configuration reference ---------------------------------------------------

_ROW = re.compile(r"^\|\s*`(?P<key>[^`]+)`\s*\|(?P<type>[^|]*)\|(?P<default>[^|]*)\|")
REQUIRED = "required"


def documented_keys() -> dict[str, str]:
    """Key → default cell of every row in the reference tables of configuration.md."""
    rows: dict[str, str] = {}
    in_table = False
    for line in (ROOT / "docs" / "configuration.md").read_text(encoding="utf-8").splitlines():
        if line.startswith("| Key | Type | Default |"):
            in_table = True
            continue
        if not line.startswith("|"):
            in_table = False
            continue
        match = _ROW.match(line)
        if in_table and match is not None:
            assert match["key"] not in rows, f"{match['key']} is documented twice"
            rows[match["key"]] = match["default"].strip()
    return rows


def _model(annotation: Any) -> type[BaseModel] | None:
    if isinstance(annotation, type) and issubclass(annotation, BaseModel):
        return annotation
    return None


def model_keys(
    model: type[BaseModel] = PolicyConfig, prefix: str = ""
) -> dict[str, FieldInfo | None]:
    """Every YAML key the models accept, spelled as the reference spells it.

    A mapping of models (the categories) contributes ``<name>``; a list of models
    (a category's cookies) contributes ``[]``. ``None`` marks a key with no field.
    """
    keys: dict[str, FieldInfo | None] = {}
    for name, field in model.model_fields.items():
        key = prefix + name
        keys[key] = field
        annotation, args = field.annotation, get_args(field.annotation)
        nested = _model(annotation)
        if nested is not None:
            keys.update(model_keys(nested, key + "."))
        elif get_origin(annotation) is dict and (nested := _model(args[1])) is not None:
            keys[key + ".<name>"] = None
            keys.update(model_keys(nested, key + ".<name>."))
        elif get_origin(annotation) is tuple and (nested := _model(args[0])) is not None:
            keys.update(model_keys(nested, key + "[]."))
    return keys


def test_configuration_reference_documents_exactly_the_model_keys() -> None:
    documented, accepted = set(documented_keys()), set(model_keys())
    assert documented - accepted == set(), "documented keys the models do not accept"
    assert accepted - documented == set(), "keys missing from docs/configuration.md"


def _plain(value: Any) -> Any:
    """A default as YAML would spell it: tuples are lists, at any depth."""
    if isinstance(value, tuple | list):
        return [_plain(item) for item in value]
    if isinstance(value, dict):
        return {key: _plain(item) for key, item in value.items()}
    return value


def test_configuration_reference_defaults_match_the_models() -> None:
    fields = model_keys()
    for key, cell in documented_keys().items():
        field = fields[key]
        if cell == REQUIRED:
            assert field is not None, f"{key}: no field"
            assert field.is_required(), f"{key} is documented as required but has a default"
            continue
        if cell.startswith("`") and cell.endswith("`"):
            assert field is not None, f"{key}: no field"
            assert not field.is_required(), f"{key} is required, not {cell}"
            default = _plain(field.get_default(call_default_factory=True))
            assert yaml.safe_load(cell.strip("`")) == default, f"{key}: default is {default!r}"
            continue
        # Anything else describes a mapping: a nested model or one named entry.
        nested = None if field is None else field.get_default(call_default_factory=True)
        assert field is None or isinstance(nested, BaseModel), f"{key}: give a `default`"


# -- the options of ConsentMiddleware -------------------------------------------------


def documented_options() -> dict[str, str]:
    """Option → default cell of the options table in getting-started.md."""
    rows: dict[str, str] = {}
    in_table = False
    for line in (ROOT / "docs" / "getting-started.md").read_text(encoding="utf-8").splitlines():
        if line.startswith("| Option | Default |"):
            in_table = True
        elif not line.startswith("|"):
            in_table = False
        elif in_table and (match := re.match(r"^\|\s*`(\w+)`\s*\|([^|]*)\|", line)):
            rows[match[1]] = match[2].strip()
    return rows


def test_middleware_options_are_documented() -> None:
    parameters = inspect.signature(ConsentMiddleware).parameters
    documented = documented_options()
    assert set(documented) == set(parameters), "update the options table in getting-started.md"
    for name, parameter in parameters.items():
        required = parameter.default is inspect.Parameter.empty
        assert (documented[name] == REQUIRED) == required, f"{name}: required or not?"
        if isinstance(parameter.default, int):
            assert documented[name] == f"`{parameter.default}`", f"{name}: default differs"
