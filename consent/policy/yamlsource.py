"""Read a YAML policy file safely, remembering the line of every key.

PyYAML's composer gives each node a start mark; we walk the node tree ourselves
instead of calling ``safe_load`` so that duplicate keys, anchors and aliases are
refused (rule 10) and every value can be traced back to its line when pydantic
later rejects it. Whatever the file holds, the outcome is a value or a
``ConfigError`` with a line: never a ``RecursionError``, ``KeyError`` or bare
``ValueError`` from inside PyYAML.
"""

from __future__ import annotations

from pathlib import Path
from typing import Any

import yaml

from ..errors import ConfigError

MAX_FILE_BYTES = 1024 * 1024
# Mappings and lists inside one another, the document's own included. A real policy
# needs 6 (banner.texts.fr.categories.ads). PyYAML composes nodes recursively, three
# Python frames a level: a few KB of "[[[[" would exhaust the interpreter's stack, so
# deeper documents are refused while composing, before the stack can run out.
MAX_DEPTH = 64
# No setting needs a longer number. Python refuses to read an integer of more than 4300
# digits, and a sexagesimal one (1:00:00:...) costs quadratic time to build.
MAX_NUMBER_CHARS = 64

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
        raise ConfigError(
            f"the file is not valid UTF-8 (byte {exc.start}); save it as UTF-8",
            file=file,
            line=raw.count(b"\n", 0, exc.start) + 1,
        ) from exc
    return parse_yaml(text, file=file)


class _Loader(yaml.SafeLoader):
    """PyYAML's safe loader, remembering which nodes carried an anchor, and bounding depth.

    The composer resolves an alias to the anchored node itself and keeps no trace
    of the anchor on the node, so we note it while composing.
    """

    def __init__(self, text: str, file: str) -> None:
        super().__init__(text)
        self.file = file
        self.anchored: set[int] = set()
        # The key or index of every node being composed, outermost first (None for the
        # document and for mapping keys), to name where a too-deep value sits.
        self._path: list[str | int | None] = []
        self._open_collections = 0

    def compose_node(self, parent: yaml.Node | None, index: Any) -> yaml.Node | None:
        event = self.peek_event()  # type: ignore[no-untyped-call]
        collection = isinstance(event, yaml.CollectionStartEvent)
        self._path.append(_path_part(index))
        if collection and self._open_collections >= MAX_DEPTH:
            loc = tuple(part for part in self._path if part is not None)
            # A mapping's value is reported at its key's line, as everywhere else.
            mark = index.start_mark if isinstance(index, yaml.Node) else event.start_mark
            raise ConfigError(
                f"mappings and lists are nested more than {MAX_DEPTH} levels deep here; "
                "a consent policy needs far fewer",
                file=self.file,
                key=render_key(loc) or None,
                line=mark.line + 1,
            )
        depth = 1 if collection else 0
        self._open_collections += depth
        try:
            node = super().compose_node(parent, index)
        finally:
            self._open_collections -= depth
            self._path.pop()
        # An alias event names the anchor it reuses: its node is anchored already.
        if node is not None and getattr(event, "anchor", None) is not None:
            self.anchored.add(id(node))
        return node


def _path_part(index: Any) -> str | int | None:
    # The composer passes a sequence item's position, a mapping value's key node, and
    # None for the document and for a mapping key (which sits at its mapping's place).
    if isinstance(index, int):
        return index
    if isinstance(index, yaml.ScalarNode):
        return str(index.value)
    return None


_PLAIN_TYPES = (str, int, float, bool, type(None))
_MAP_TAG = "tag:yaml.org,2002:map"
_SEQ_TAG = "tag:yaml.org,2002:seq"
# What a scalar of each tag should have been, for the message when it cannot be read.
_SCALAR_KINDS = {
    "tag:yaml.org,2002:bool": "a boolean (true or false)",
    "tag:yaml.org,2002:int": "a whole number",
    "tag:yaml.org,2002:float": "a number",
    "tag:yaml.org,2002:timestamp": "a valid date",
}
_NUMBER_TAGS = ("tag:yaml.org,2002:int", "tag:yaml.org,2002:float")


def parse_yaml(text: str, *, file: str = "<string>") -> tuple[Any, SourceMap]:
    try:
        # The reader checks for non-printable characters as soon as it is built.
        loader = _Loader(text, file)
    except yaml.reader.ReaderError as exc:
        raise ConfigError(
            f"invalid YAML: character {exc.character:#x} is not allowed in a YAML file",
            file=file,
            line=text.count("\n", 0, max(exc.position, 0)) + 1,
        ) from exc
    try:
        try:
            node = loader.get_single_node()
        except yaml.MarkedYAMLError as exc:
            mark = exc.problem_mark or exc.context_mark
            line = mark.line + 1 if mark is not None else None
            problem = exc.problem or exc.context or "invalid YAML"
            raise ConfigError(f"invalid YAML: {problem}", file=file, line=line) from exc
        except yaml.YAMLError as exc:  # pragma: no cover - defensive: parser errors are marked
            raise ConfigError(f"invalid YAML: {exc}", file=file) from exc
        source = SourceMap()
        if node is None:
            return None, source
        return _convert(loader, node, (), source, file), source
    finally:
        loader.dispose()


def _refuse_anchor(loader: _Loader, node: yaml.Node, loc: Location, file: str) -> None:
    # An alias is the anchored node itself and an anchor always comes before its
    # aliases, so refusing every anchored node catches both, at the anchor.
    if id(node) in loader.anchored:
        raise ConfigError(
            "YAML anchors (&name) and aliases (*name) are not allowed; write the value out in full",
            file=file,
            key=render_key(loc) or None,
            line=node.start_mark.line + 1,
        )


def _convert(loader: _Loader, node: yaml.Node, loc: Location, source: SourceMap, file: str) -> Any:
    line = node.start_mark.line + 1
    source.record(loc, line)
    _refuse_anchor(loader, node, loc, file)
    if node.tag not in (_MAP_TAG, _SEQ_TAG) and not isinstance(node, yaml.ScalarNode):
        raise ConfigError(
            f"YAML tags such as {node.tag!r} are not allowed; write a plain mapping or list",
            file=file,
            key=render_key(loc) or None,
            line=line,
        )
    if isinstance(node, yaml.MappingNode):
        result: dict[str, Any] = {}
        for key_node, value_node in node.value:
            key_line = key_node.start_mark.line + 1
            _refuse_anchor(loader, key_node, loc, file)
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
    where = render_key(loc) or None
    if node.tag in _NUMBER_TAGS and len(node.value) > MAX_NUMBER_CHARS:
        raise ConfigError(
            f"a number of more than {MAX_NUMBER_CHARS} characters "
            f"({_shorten(node.value)}); no setting needs one that long",
            file=file,
            key=where,
            line=line,
        )
    try:
        value = loader.construct_object(node, deep=True)
    except yaml.MarkedYAMLError as exc:
        raise ConfigError(f"invalid value: {exc.problem}", file=file, key=where, line=line) from exc
    except Exception as exc:
        # PyYAML's scalar constructors let the conversion's own error escape: KeyError
        # for `!!bool maybe`, ValueError for `!!int abc` or an unquoted 2024-02-30,
        # AttributeError for `!!timestamp abc`. Whichever it is, the value is at fault.
        kind = _SCALAR_KINDS.get(str(node.tag), f"a {node.tag} value")
        raise ConfigError(
            f"{_shorten(node.value)} is not {kind}; put text in quotes",
            file=file,
            key=where,
            line=line,
        ) from exc
    if not isinstance(value, _PLAIN_TYPES):
        # Dates, binary and tagged scalars: a policy holds text, numbers and booleans only.
        raise ConfigError(
            f"a {type(value).__name__} value is not allowed here; put the text in quotes",
            file=file,
            key=where,
            line=line,
        )
    return value


def _shorten(text: str) -> str:
    shown = repr(text)
    return shown if len(shown) <= 40 else shown[:37] + "..."


def document_location(loc: Location, data: Any, *, missing: bool) -> Location:
    """Keep only the parts of pydantic's ``loc`` that are keys or indexes of the file.

    pydantic adds labels of its own (a union member such as ``bool`` or
    ``literal['auto']``, a validator name); walking the data tells them apart even
    when a category happens to be called ``bool``.
    """
    result: list[str | int] = []
    current = data
    for position, part in enumerate(loc):
        in_dict = isinstance(current, dict) and part in current
        in_list = isinstance(current, list) and isinstance(part, int) and 0 <= part < len(current)
        if in_dict or in_list:
            current = current[part]
            result.append(part)
        elif missing and position == len(loc) - 1:
            result.append(part)  # a required key that the file lacks
    return tuple(result)
