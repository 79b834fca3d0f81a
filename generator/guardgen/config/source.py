"""Safe YAML loading that remembers where every value came from.

The document is read as a stream of parser events (libyaml's C parser where PyYAML was built
with it) and plain Python data is built from them directly, in one pass and without recursion:

- every mapping key and value is mapped to its ``line:column``;
- duplicate keys, merge keys, tags and non-string keys are errors, not silent rewrites;
- the document is refused as soon as it exceeds a size, a value count (aliases expanded), a
  nesting depth or a value length, before anything large is built; each limit is sized from a
  10,000-account organization with IAM everywhere (about 3.5 MB and 300,000 values) with room to
  spare, and every error names it;
- an error quotes at most a short prefix of the offending value.

Plain scalars resolve as in PyYAML's safe loader (YAML 1.1: ``yes`` is a boolean, ``012`` is
octal), so a config reads the same as with ``yaml.safe_load``.
"""

from __future__ import annotations

import hashlib
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import yaml
from yaml.constructor import SafeConstructor
from yaml.resolver import Resolver

from ..errors import ConfigError

_MIB = 1024 * 1024
MAX_BYTES = 16 * _MIB
# Values in the document once every alias is expanded (scalars, lists and mappings); a
# 10,000-account organization with IAM in every account (3.5 MB) has about 200,000.
MAX_NODES = 400_000
MAX_DEPTH = 64
# The longest legitimate value (an external id, a description) is about 1,200 characters.
MAX_SCALAR = 4096
_MAX_DIGITS = 32
_QUOTE = 40

Loc = tuple[str | int, ...]

try:  # libyaml is several times faster on multi-megabyte configs
    _Loader: Any = yaml.CSafeLoader
except AttributeError:  # pragma: no cover - depends on how PyYAML was built
    _Loader = yaml.SafeLoader

_STR = "tag:yaml.org,2002:str"
_INT = "tag:yaml.org,2002:int"
_FLOAT = "tag:yaml.org,2002:float"
_BOOL = "tag:yaml.org,2002:bool"
_NULL = "tag:yaml.org,2002:null"
_MERGE = "tag:yaml.org,2002:merge"
_TIMESTAMP = "tag:yaml.org,2002:timestamp"
_RESOLVERS = Resolver.yaml_implicit_resolvers
_CONSTRUCT = SafeConstructor()


@dataclass
class Located:
    """Parsed data plus the position (1-based line, column) of every path in it."""

    data: Any
    file: str
    marks: dict[Loc, tuple[int, int]] = field(default_factory=dict)
    digest: str = ""  # SHA-256 of the text parsed: what was read, not what the file holds now

    def where(self, loc: Loc) -> str:
        """``file:line:col`` of the deepest known prefix of ``loc``."""
        for n in range(len(loc), -1, -1):
            mark = self.marks.get(tuple(loc[:n]))
            if mark is not None:
                return f"{self.file}:{mark[0]}:{mark[1]}"
        return self.file


def dotted(loc: Loc) -> str:
    """``units[1].accounts[0].id`` from ``('units', 1, 'accounts', 0, 'id')``."""
    out = ""
    for part in loc:
        if isinstance(part, int):
            out += f"[{part}]"
        else:
            # A key is echoed in full only when short: an unknown key may be any length.
            text = part if len(part) <= _QUOTE else f"{part[:_QUOTE]}... ({len(part):,} characters)"
            out += f".{text}" if out else text
    return out or "(top level)"


def quote(value: str, limit: int = _QUOTE) -> str:
    """``repr`` of ``value``, cut to a short prefix: a message never echoes a huge value."""
    if len(value) <= limit:
        return repr(value)
    return f"{value[:limit]!r}... ({len(value):,} characters)"


def _tag_name(tag: str) -> str:
    return "!!" + tag.removeprefix("tag:yaml.org,2002:") if tag.startswith("tag:yaml.org,2002:") else tag


class _Refused(Exception):
    """A problem at a parser event; turned into a located :class:`ConfigError`."""

    def __init__(self, event: Any, msg: str) -> None:
        super().__init__(msg)
        self.event = event
        self.msg = msg


def _plain_tag(value: str) -> str:
    """The tag PyYAML's safe resolver gives a plain (unquoted) scalar."""
    for tag, regexp in _RESOLVERS.get(value[0] if value else "", ()):
        if regexp.match(value):
            return str(tag)
    for tag, regexp in _RESOLVERS.get(None, ()):
        if regexp.match(value):  # pragma: no cover - the safe resolver has no wildcard
            return str(tag)
    return _STR


def _scalar(event: Any) -> Any:
    """The Python value of a scalar event, refusing what a config never needs."""
    value: str = event.value
    if len(value) > MAX_SCALAR:
        raise _Refused(event, f"a value of {len(value):,} characters is longer than the "
                       f"{MAX_SCALAR:,} guardgen accepts: {quote(value)}")
    if event.tag is not None:
        hint = "quote the value instead" if event.tag == _STR else "write the value without it"
        raise _Refused(event, f"YAML tags are not supported (found {_tag_name(event.tag)}); {hint}")
    if not event.implicit[0]:  # quoted or block scalar: always a string
        return value
    tag = _plain_tag(value)
    if tag == _STR:
        return value
    if tag == _NULL:
        return None
    if tag == _BOOL:
        return _CONSTRUCT.bool_values[value.lower()]
    if tag in (_INT, _FLOAT):
        if len(value) > _MAX_DIGITS:
            raise _Refused(event, f"the number {quote(value)} has more than {_MAX_DIGITS} "
                           "characters; quote it if it is a name")
        node = yaml.ScalarNode(tag, value)
        return (_CONSTRUCT.construct_yaml_int(node) if tag == _INT
                else _CONSTRUCT.construct_yaml_float(node))
    if tag == _TIMESTAMP:
        raise _Refused(event, f"{quote(value)} reads as a date in YAML; quote it")
    if tag == _MERGE:
        raise _Refused(event, "merge keys (<<) are not supported; write the keys out")
    raise _Refused(event, f"{quote(value)} reads as {_tag_name(tag)} in YAML; quote it")


def _key(event: Any) -> str:
    """A mapping key: a plain or quoted string, nothing else."""
    if isinstance(event, yaml.AliasEvent):
        raise _Refused(event, "mapping keys must be plain strings, not aliases")
    if not isinstance(event, yaml.ScalarEvent):
        raise _Refused(event, "mapping keys must be plain strings, not lists or mappings")
    if event.anchor is not None:
        raise _Refused(event, f"anchors on mapping keys are not supported (&{event.anchor})")
    value = _scalar(event)
    if not isinstance(value, str):
        shown = "empty" if event.value == "" else quote(event.value)
        raise _Refused(event, f"mapping key {shown} is not a string in YAML; quote it")
    return value


class _Frame:
    """A list or mapping being built."""

    __slots__ = ("container", "count_at_start", "event", "is_map", "key", "loc")

    def __init__(self, container: Any, loc: Loc, event: Any, count: int) -> None:
        self.container = container
        self.is_map = isinstance(container, dict)
        self.loc = loc
        self.event = event
        self.count_at_start = count
        self.key: str = ""  # mappings: the key whose value comes next ("" until one is read)


# First characters of plain scalars that PyYAML may resolve to something other than a string.
_SPECIAL_FIRST = frozenset(k for k in _RESOLVERS if k)


def _build(loader: Any, marks: dict[Loc, tuple[int, int]]) -> Any:
    """Consume the parser's events and return the document's data.

    One loop, no recursion: a mapping or list is a frame on a stack until its end event. Values
    are counted as they are placed (an alias counts its whole expanded subtree), so a document
    over the limits is refused before more of it is built.
    """
    get_event = loader.get_event
    # Event classes as locals: this loop runs once per event of a multi-megabyte document.
    scalar_event, alias_event = yaml.ScalarEvent, yaml.AliasEvent
    map_start, seq_start = yaml.MappingStartEvent, yaml.SequenceStartEvent
    map_end, seq_end = yaml.MappingEndEvent, yaml.SequenceEndEvent
    anchors: dict[str, tuple[Any, int]] = {}
    stack: list[_Frame] = []
    top: _Frame | None = None
    expecting_key = False  # the top is a mapping and its next event is a key
    count = 0
    documents = 0
    result: Any = None
    while True:
        event = get_event()
        kind = type(event)
        if kind is scalar_event and not expecting_key:
            value = event.value
            if (event.tag is None and len(value) <= MAX_SCALAR
                    and (not event.implicit[0] or value[:1] not in _SPECIAL_FIRST) and value):
                size = 1  # the common case: a string
            else:
                value = _scalar(event)
                size = 1
        elif kind is scalar_event or (expecting_key and kind is not map_end):
            assert top is not None
            key = event.value if kind is scalar_event else None
            if (not key or event.tag is not None or event.anchor is not None
                    or len(key) > MAX_SCALAR or (event.implicit[0] and key[0] in _SPECIAL_FIRST)):
                key = _key(event)  # anything but the common case: a plain string
            if key in top.container:
                raise _Refused(event, f"duplicate key {quote(key)} in {dotted(top.loc)}")
            top.key = key
            marks[(*top.loc, key)] = (event.start_mark.line + 1, event.start_mark.column + 1)
            expecting_key = False
            continue
        elif kind is alias_event:
            known = anchors.get(event.anchor)
            if known is None:
                raise _Refused(event, f"alias *{event.anchor} refers to no anchor defined "
                               "before it")
            value, size = known
        elif kind is map_start or kind is seq_start:
            if event.tag is not None:
                raise _Refused(event, f"YAML tags are not supported (found "
                               f"{_tag_name(event.tag)}); write the value without it")
            if len(stack) >= MAX_DEPTH:
                raise _Refused(event, f"nested more than {MAX_DEPTH} levels deep; refusing to "
                               "load it")
            count += 1
            frame = _Frame({} if kind is map_start else [], _next_loc(top, event, marks),
                           event, count)
            stack.append(frame)
            top = frame
            expecting_key = frame.is_map
            continue
        elif kind is map_end or kind is seq_end:
            assert top is not None
            done = stack.pop()
            top = stack[-1] if stack else None
            value = done.container
            size = count - done.count_at_start + 1
            count = done.count_at_start - 1  # added back whole below
            event = done.event
        elif kind is yaml.DocumentStartEvent:
            documents += 1
            if documents > 1:
                raise _Refused(event, "more than one YAML document (---); guardgen reads one")
            continue
        elif kind is yaml.StreamEndEvent:
            return result
        else:  # stream start, document end
            continue

        # Place ``value`` (``size`` values once expanded) in its parent.
        count += size
        if count > MAX_NODES:
            raise _Refused(event, f"the document holds more than {MAX_NODES:,} values once "
                           "aliases are expanded (alias bomb?); refusing to load it")
        if top is None:
            marks.setdefault((), (event.start_mark.line + 1, event.start_mark.column + 1))
        elif not top.is_map and kind is not map_end and kind is not seq_end:
            # A list item's position; a mapping value is reported where its key is (recorded).
            marks[(*top.loc, len(top.container))] = (event.start_mark.line + 1,
                                                     event.start_mark.column + 1)
        anchor = event.anchor if kind is not alias_event else None
        if anchor is not None:
            if anchor in anchors:
                raise _Refused(event, f"anchor &{anchor} is defined twice")
            anchors[anchor] = (value, size)
        if top is None:
            result = value
            expecting_key = False
        elif top.is_map:
            top.container[top.key] = value
            expecting_key = True
        else:
            top.container.append(value)
            expecting_key = False


def _next_loc(top: _Frame | None, event: Any, marks: dict[Loc, tuple[int, int]]) -> Loc:
    """The location of the value that comes next in ``top``; records its mark unless its key's
    mark is already there (a value is reported where its key is)."""
    if top is None:
        loc: Loc = ()
    elif top.is_map:
        loc = (*top.loc, top.key)
    else:
        loc = (*top.loc, len(top.container))
    if loc not in marks:
        marks[loc] = (event.start_mark.line + 1, event.start_mark.column + 1)
    return loc


def loads(text: str, file: str = "<string>") -> Located:
    """Parse YAML text into :class:`Located` data. Raises :class:`ConfigError` with file:line."""
    encoded = text.encode("utf-8")
    if len(text) > MAX_BYTES or len(encoded) > MAX_BYTES:
        raise ConfigError([f"{file}: larger than the {MAX_BYTES // _MIB} MiB guardgen reads; "
                           "refusing to load it"])
    # Every value but an alias starts a line, follows a comma, opens a flow list or mapping, or
    # is a "- " item: counting those bounds the parser's work, so a flood of items is refused
    # before any of it is built (aliases are counted, cheaply, as they are expanded).
    bound = (text.count("\n") + text.count(",") + text.count("[") + text.count("{")
             + text.count("- ") + 1)
    if bound > MAX_NODES:
        raise ConfigError([f"{file}: holds up to {bound:,} values (lines, list items, nested "
                           f"lists and mappings), more than the {MAX_NODES:,} guardgen reads (a "
                           "10,000-account organization has about 200,000); refusing to load it"])
    marks: dict[Loc, tuple[int, int]] = {}
    loader = _Loader(text)
    try:
        data = _build(loader, marks)
    except _Refused as exc:
        m = exc.event.start_mark
        raise ConfigError([f"{file}:{m.line + 1}:{m.column + 1}: {exc.msg}"]) from None
    except yaml.MarkedYAMLError as exc:
        mark = exc.problem_mark or exc.context_mark
        where = f"{file}:{mark.line + 1}:{mark.column + 1}" if mark else file
        problem = exc.problem or str(exc)
        if mark and text[mark.index:mark.index + 1] == "\t":
            problem += " (a tab: YAML indents with spaces only)"
        raise ConfigError([f"{where}: YAML syntax error: {problem}"]) from None
    except yaml.reader.ReaderError as exc:
        line = text.count("\n", 0, exc.position) + 1
        col = exc.position - (text.rfind("\n", 0, exc.position) + 1) + 1
        char = exc.character if isinstance(exc.character, int) else ord(exc.character)
        raise ConfigError([f"{file}:{line}:{col}: the control character U+{char:04X} is not "
                           "allowed in YAML"]) from None
    except yaml.YAMLError as exc:
        raise ConfigError([f"{file}: YAML error: {exc}"]) from None
    finally:
        loader.dispose()
    return Located(data, file, marks, hashlib.sha256(encoded).hexdigest())


def load(path: Path, display: str | None = None) -> Located:
    """Read and parse a YAML file. Reads at most :data:`MAX_BYTES` (plus one), so a device or a
    pipe that never ends is refused like an oversized file."""
    name = display or str(path)
    limit = f"the {MAX_BYTES // _MIB} MiB guardgen reads (a 10,000-account organization is about 3.5 MB)"
    try:
        with open(path, "rb") as fh:
            size = path.stat().st_size
            if size > MAX_BYTES:
                raise ConfigError([f"{name}: {size:,} bytes is larger than {limit}; refusing to "
                                   "load it"])
            raw = fh.read(MAX_BYTES + 1)
    except OSError as exc:
        raise ConfigError([f"{name}: cannot read: {exc.strerror or exc}"]) from None
    if len(raw) > MAX_BYTES:
        raise ConfigError([f"{name}: larger than {limit}; refusing to load it"])
    try:
        text = raw.decode("utf-8")
    except UnicodeDecodeError as exc:
        line = raw.count(b"\n", 0, exc.start) + 1
        raise ConfigError([f"{name}:{line}: not UTF-8 text ({exc.reason} at byte {exc.start:,}); "
                           "save the file as UTF-8"]) from None
    return loads(text, name)
