"""Read a YAML policy file safely, remembering the line of every key.

PyYAML's composer gives each node a start mark; we walk the node tree ourselves
instead of calling ``safe_load`` so that duplicate keys, anchors and aliases are
refused (rule 10) and every value can be traced back to its line when pydantic
later rejects it.
"""

from __future__ import annotations

from pathlib import Path
from typing import Any

import yaml

from .errors import ConfigError

MAX_FILE_BYTES = 1024 * 1024

Location = tuple[str | int, ...]


def render_key(loc: Location) -> str:
    """``("categories", "a", "cookies", 0, "name")`` → ``categories.a.cookies[0].name``."""
    out = ""
    for part in loc:
        if isinstance(part, int):
            out += f"[{part}]"
        else:
            out += f".{part}" if out else str(part)
    return out


class SourceMap:
    """Maps a location inside the document to the 1-based line that holds it."""

    def __init__(self) -> None:
        self._lines: dict[Location, int] = {}

    def record(self, loc: Location, line: int) -> None:
        self._lines[loc] = line

    def line_of(self, loc: Location) -> int | None:
        # A missing key has no line of its own: point at its nearest parent.
        for end in range(len(loc), -1, -1):
            line = self._lines.get(loc[:end])
            if line is not None:
                return line
        return None


def load_yaml(path: str | Path) -> tuple[Any, SourceMap]:
    """Parse ``path`` and return its data with a :class:`SourceMap`."""
    file = str(path)
    try:
        with open(path, "rb") as handle:
            raw = handle.read(MAX_FILE_BYTES + 1)
    except OSError as exc:
        raise ConfigError(f"cannot read the policy file: {exc.strerror or exc}", file=file) from exc
    if len(raw) > MAX_FILE_BYTES:
        raise ConfigError(
            f"the file is larger than {MAX_FILE_BYTES} bytes; a consent policy never needs that",
            file=file,
        )
    try:
        text = raw.decode("utf-8")
    except UnicodeDecodeError as exc:
        raise ConfigError(f"the file is not valid UTF-8 (byte {exc.start})", file=file) from exc
    return parse_yaml(text, file=file)


def parse_yaml(text: str, *, file: str = "<string>") -> tuple[Any, SourceMap]:
    loader = yaml.SafeLoader(text)
    try:
        try:
            node = loader.get_single_node()
        except yaml.MarkedYAMLError as exc:
            mark = exc.problem_mark or exc.context_mark
            line = mark.line + 1 if mark is not None else None
            problem = exc.problem or exc.context or "invalid YAML"
            raise ConfigError(f"invalid YAML: {problem}", file=file, line=line) from exc
        except yaml.YAMLError as exc:
            raise ConfigError(f"invalid YAML: {exc}", file=file) from exc
        source = SourceMap()
        if node is None:
            return None, source
        return _convert(loader, node, (), source, file), source
    finally:
        loader.dispose()


def _convert(
    loader: yaml.SafeLoader, node: yaml.Node, loc: Location, source: SourceMap, file: str
) -> Any:
    line = node.start_mark.line + 1
    source.record(loc, line)
    # The composer resolves aliases to the anchored node, so an anchor on any
    # node is where we catch both anchors and the aliases that reuse them.
    if getattr(node, "anchor", None) is not None:
        raise ConfigError(
            "YAML anchors and aliases are not allowed; write the value out in full",
            file=file,
            key=render_key(loc) or None,
            line=line,
        )
    if isinstance(node, yaml.MappingNode):
        result: dict[str, Any] = {}
        for key_node, value_node in node.value:
            key_line = key_node.start_mark.line + 1
            if (
                not isinstance(key_node, yaml.ScalarNode)
                or key_node.tag == "tag:yaml.org,2002:merge"
            ):
                raise ConfigError(
                    "keys must be plain names (merge keys and complex keys are not allowed)",
                    file=file,
                    key=render_key(loc) or None,
                    line=key_line,
                )
            key = str(key_node.value)
            child = (*loc, key)
            if key in result:
                raise ConfigError(
                    f"duplicate key {key!r}; each key may appear only once",
                    file=file,
                    key=render_key(child),
                    line=key_line,
                )
            source.record(child, key_line)
            result[key] = _convert(loader, value_node, child, source, file)
            source.record(child, key_line)
        return result
    if isinstance(node, yaml.SequenceNode):
        return [
            _convert(loader, item, (*loc, index), source, file)
            for index, item in enumerate(node.value)
        ]
    try:
        return loader.construct_object(node, deep=True)
    except yaml.YAMLError as exc:
        raise ConfigError(
            f"invalid value: {exc}", file=file, key=render_key(loc) or None, line=line
        ) from exc
