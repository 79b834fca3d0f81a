"""HCL literals and Terraform identifiers: the only way a value from the config reaches a .tf file.

Every ``{{ value }}`` in a template goes through :func:`literal` (the Jinja ``finalize`` hook), so a
name can never close a string, start an interpolation (``${``) or a template directive (``%{``).
Those two sequences are written as ``\u0024{`` and ``\u0025{``: Terraform reads them as the
literal text, exactly like ``$${`` and ``%%{``, and unlike those they also parse with python-hcl2
when no closing brace follows.
Identifiers are the one exception and can only be produced by :func:`identifier`, which returns a
:class:`Raw` whose text matches ``[a-z][a-z0-9_]*``.
"""

from __future__ import annotations

import hashlib
import re
from collections.abc import Iterable, Mapping, Sequence
from functools import lru_cache
from typing import Any

_IDENT = re.compile(r"[a-z][a-z0-9_]*\Z")
# A reference such as module.scp_root_1.id or aws_organizations_organizational_unit.ou_x.id.
_REFERENCE = re.compile(r"[a-z][a-z0-9_]*(\.[a-z][a-z0-9_]*|\[[0-9]+\])+\Z")


class Raw(str):
    """Text emitted verbatim: identifiers and references built by this module, never user input."""

    __slots__ = ()

    def __new__(cls, text: str) -> Raw:
        if not (_IDENT.match(text) or _REFERENCE.match(text)):
            raise ValueError(f"not a Terraform identifier or reference: {text!r}")
        return super().__new__(cls, text)


_ESCAPES = {
    "\\": "\\\\",
    '"': '\\"',
    "\n": "\\n",
    "\r": "\\r",
    "\t": "\\t",
}
_SPECIAL = re.compile(r'[\\"\n\r\t]|\$\{|%\{|[\x00-\x08\x0b\x0c\x0e-\x1f\x7f]')


def _escape_match(m: re.Match[str]) -> str:
    s = m.group(0)
    if s in _ESCAPES:
        return _ESCAPES[s]
    if s in ("${", "%{"):
        return f"\\u{ord(s[0]):04x}{{"
    return f"\\u{ord(s):04x}"


def string(value: str) -> str:
    """Quote ``value`` as an HCL string literal that evaluates to exactly ``value``."""
    return '"' + _SPECIAL.sub(_escape_match, value) + '"'


def literal(value: Any) -> str:
    """Render a Python value as an HCL expression literal.

    Strings are quoted and escaped, numbers and booleans are bare, ``None`` is ``null``, sequences
    and mappings become HCL tuples and objects. :class:`Raw` passes through unchanged.
    """
    if isinstance(value, Raw):
        return str(value)
    if isinstance(value, str):
        return string(value)
    if isinstance(value, bool):
        return "true" if value else "false"
    if isinstance(value, int):
        return str(value)
    if value is None:
        return "null"
    if isinstance(value, Mapping):
        items = ", ".join(f"{string(str(k))} = {literal(v)}" for k, v in value.items())
        return "{ " + items + " }" if items else "{}"
    if isinstance(value, Sequence):
        return "[" + ", ".join(literal(v) for v in value) + "]"
    raise TypeError(f"cannot render {type(value).__name__} as HCL")


_NOT_SLUG = re.compile(r"[^a-z0-9]+")


def slug(text: str, sep: str = "_") -> str:
    """A lowercase ASCII slug of ``text``: letters and digits kept, every other run becomes ``sep``."""
    return _NOT_SLUG.sub(sep, text.lower()).strip(sep)


def short_hash(text: str, length: int = 6) -> str:
    """A short stable hash of ``text`` (hex)."""
    return hashlib.sha256(text.encode("utf-8")).hexdigest()[:length]


# Hash lengths (hex digits) tried in turn when a shorter form would make two identifiers equal.
_HASH_LENGTHS = (6, 10, 16, 24, 32)


def identifiers(prefix: str, keys: Iterable[str], max_len: int = 64) -> dict[str, Raw]:
    """Readable Terraform identifiers for ``keys`` under ``prefix``, unique by construction.

    A key gets ``prefix_slug`` when that slug is non-empty, fits in ``max_len`` and no other key
    shares it; otherwise a short stable hash of the key is appended. Whenever two keys would still
    end up with the same identifier (a name that reads like another's hashed form, a hash prefix
    shared by chance), each of them except the one already hashed the most gets a (longer) hash,
    until every identifier differs. The result for a key depends only on the set of keys, never on
    their order.

    Raises:
        ValueError: if two keys still collide with 128 bits of hash, which needs a SHA-256
            collision.
    """
    return dict(_identifiers(prefix, tuple(dict.fromkeys(keys)), max_len))


# Every account of a large organization asks for the identifiers of the same few role and
# boundary names; the answer depends only on the arguments.
@lru_cache(maxsize=4096)
def _identifiers(prefix: str, keys: tuple[str, ...], max_len: int) -> tuple[tuple[str, Raw], ...]:
    wanted: dict[str, str] = {}
    for k in keys:
        s = slug(k)
        wanted[k] = f"{prefix}_{s}" if s else prefix
    counts: dict[str, int] = {}
    for ident in wanted.values():
        counts[ident] = counts.get(ident, 0) + 1
    # 0: the readable slug; n > 0: the slug cut short plus _HASH_LENGTHS[n - 1] hex digits.
    level = {k: 0 if w != prefix and counts[w] == 1 and len(w) <= max_len else 1
             for k, w in wanted.items()}
    return tuple((k, Raw(ident)) for k, ident in _settle(wanted, level, max_len).items())


def hashed_identifiers(prefix: str, keys: Iterable[str], max_len: int = 64) -> dict[str, Raw]:
    """``prefix_<hash of key>`` for every key, unique by construction (see :func:`identifiers`)."""
    keys = list(dict.fromkeys(keys))
    return {k: Raw(ident) for k, ident in
            _settle({k: prefix for k in keys}, dict.fromkeys(keys, 1), max_len).items()}


def _settle(wanted: dict[str, str], level: dict[str, int], max_len: int) -> dict[str, str]:
    """Raise the hash level of colliding keys until every identifier is distinct."""

    def form(k: str) -> str:
        if level[k] == 0:
            return wanted[k]
        n = _HASH_LENGTHS[level[k] - 1]
        return f"{wanted[k][: max_len - n - 1].rstrip('_')}_{short_hash(k, n)}"

    while True:
        by_ident: dict[str, list[str]] = {}
        for k in wanted:
            by_ident.setdefault(form(k), []).append(k)
        clashes = [group for group in by_ident.values() if len(group) > 1]
        if not clashes:
            return {k: form(k) for k in wanted}
        for group in clashes:
            highest = max(level[k] for k in group)
            at_highest = [k for k in group if level[k] == highest]
            for k in group:
                # A key already hashed keeps its identifier when another key merely reads like
                # it: adding an account named like a hashed identifier renames nothing else.
                if len(at_highest) == 1 and k == at_highest[0]:
                    continue
                if level[k] == len(_HASH_LENGTHS):
                    raise ValueError(f"cannot make distinct identifiers for {group!r}")
                level[k] += 1
