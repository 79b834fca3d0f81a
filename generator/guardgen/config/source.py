"""Safe YAML loading that remembers where every value came from.

PyYAML's composer gives nodes with marks; we build plain Python data from them ourselves so that
(1) every mapping key and value is mapped to its ``line:column``, (2) duplicate keys are an error
rather than a silent overwrite, and (3) alias expansion is bounded (a "billion laughs" document is
refused instead of exhausting memory).
"""

from __future__ import annotations

from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import yaml

from ..errors import ConfigError

MAX_BYTES = 64 * 1024 * 1024
# Values in the document once every alias is expanded; an organization of 10,000 accounts needs
# a few hundred thousand.
MAX_NODES = 2_000_000

Loc = tuple[str | int, ...]

try:  # libyaml is several times faster on multi-megabyte configs
    _Loader: Any = yaml.CSafeLoader
except AttributeError:  # pragma: no cover - depends on how PyYAML was built
    _Loader = yaml.SafeLoader


@dataclass
class Located:
    """Parsed data plus the position (1-based line, column) of every path in it."""

    data: Any
    file: str
    marks: dict[Loc, tuple[int, int]] = field(default_factory=dict)

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
            out += f".{part}" if out else str(part)
    return out or "(top level)"


_SCALAR_TAGS = {
    "tag:yaml.org,2002:str",
    "tag:yaml.org,2002:int",
    "tag:yaml.org,2002:bool",
    "tag:yaml.org,2002:null",
    "tag:yaml.org,2002:float",
}


class _Builder:
    def __init__(self, file: str) -> None:
        self.file = file
        self.marks: dict[Loc, tuple[int, int]] = {}
        self.count = 0
        self.constructor = yaml.SafeLoader("")  # only for its scalar constructors

    def fail(self, node: yaml.Node, msg: str) -> ConfigError:
        m = node.start_mark
        return ConfigError([f"{self.file}:{m.line + 1}:{m.column + 1}: {msg}"])

    def build(self, node: yaml.Node, loc: Loc) -> Any:
        if loc not in self.marks:
            self.marks[loc] = (node.start_mark.line + 1, node.start_mark.column + 1)
        if isinstance(node, yaml.ScalarNode):
            if node.tag not in _SCALAR_TAGS:
                raise self.fail(node, f"unsupported YAML tag {node.tag}")
            return self.constructor.construct_object(node, deep=True)
        if isinstance(node, yaml.SequenceNode):
            return [self.build(child, (*loc, i)) for i, child in enumerate(node.value)]
        if isinstance(node, yaml.MappingNode):
            if node.tag != "tag:yaml.org,2002:map":
                raise self.fail(node, f"unsupported YAML tag {node.tag}")
            out: dict[Any, Any] = {}
            for key_node, value_node in node.value:
                if not isinstance(key_node, yaml.ScalarNode) or key_node.tag == "tag:yaml.org,2002:merge":
                    raise self.fail(key_node, "mapping keys must be plain scalars (no merge keys)")
                key = self.constructor.construct_object(key_node)
                if not isinstance(key, str):
                    key = str(key)
                if key in out:
                    raise self.fail(key_node, f"duplicate key {key!r} in {dotted(loc)}")
                self.marks[(*loc, key)] = (key_node.start_mark.line + 1,
                                           key_node.start_mark.column + 1)
                out[key] = self.build(value_node, (*loc, key))
            return out
        raise self.fail(node, "unsupported YAML node")  # pragma: no cover


def _expanded_size(node: yaml.Node, memo: dict[int, int]) -> int:
    """How many values ``node`` becomes once aliases are expanded, in time linear in the graph."""
    known = memo.get(id(node))
    if known is not None:
        return known
    size = 1
    if isinstance(node, yaml.SequenceNode):
        size += sum(_expanded_size(child, memo) for child in node.value)
    elif isinstance(node, yaml.MappingNode):
        size += sum(_expanded_size(k, memo) + _expanded_size(v, memo) for k, v in node.value)
    size = min(size, MAX_NODES + 1)  # keeps the integers small on hostile input
    memo[id(node)] = size
    return size


def loads(text: str, file: str = "<string>") -> Located:
    """Parse YAML text into :class:`Located` data. Raises :class:`ConfigError` with file:line."""
    if len(text.encode("utf-8")) > MAX_BYTES:
        raise ConfigError([f"{file}: larger than {MAX_BYTES // (1024 * 1024)} MiB; refusing to load it"])
    try:
        node = yaml.compose(text, Loader=_Loader)
    except RecursionError:
        raise ConfigError([f"{file}: nested too deeply; refusing to load it"]) from None
    except yaml.MarkedYAMLError as exc:
        mark = exc.problem_mark or exc.context_mark
        where = f"{file}:{mark.line + 1}:{mark.column + 1}" if mark else file
        raise ConfigError([f"{where}: YAML syntax error: {exc.problem or exc}"]) from None
    except yaml.YAMLError as exc:
        raise ConfigError([f"{file}: YAML error: {exc}"]) from None
    if node is None:
        return Located(None, file)
    try:
        if _expanded_size(node, {}) > MAX_NODES:
            m = node.start_mark
            raise ConfigError([f"{file}:{m.line + 1}:{m.column + 1}: document expands to more "
                               f"than {MAX_NODES:,} values (alias bomb?); refusing to load it"])
        builder = _Builder(file)
        data = builder.build(node, ())
    except RecursionError:
        raise ConfigError([f"{file}: nested too deeply; refusing to load it"]) from None
    return Located(data, file, builder.marks)


def load(path: Path, display: str | None = None) -> Located:
    """Read and parse a YAML file, refusing oversized files before reading them whole."""
    name = display or str(path)
    try:
        size = path.stat().st_size
    except OSError as exc:
        raise ConfigError([f"{name}: cannot read: {exc.strerror}"]) from None
    if size > MAX_BYTES:
        raise ConfigError([f"{name}: {size:,} bytes is larger than "
                           f"{MAX_BYTES // (1024 * 1024)} MiB; refusing to load it"])
    try:
        text = path.read_text(encoding="utf-8")
    except UnicodeDecodeError as exc:
        raise ConfigError([f"{name}: not UTF-8 text ({exc.reason} at byte {exc.start})"]) from None
    return loads(text, name)
