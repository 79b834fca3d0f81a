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


def slug(text: str, sep: str = "_") -> str:
    """A lowercase ASCII slug of ``text``: letters and digits kept, every other run becomes ``sep``."""
    out = re.sub(r"[^a-z0-9]+", sep, text.lower()).strip(sep)
    return out


def short_hash(text: str, length: int = 6) -> str:
    """A short stable hash of ``text`` (hex)."""
    return hashlib.sha256(text.encode("utf-8")).hexdigest()[:length]


def identifiers(prefix: str, keys: Iterable[str], max_len: int = 64) -> dict[str, Raw]:
    """Readable, unique Terraform identifiers for ``keys`` under ``prefix``.

    A key gets ``prefix_slug`` when that slug is non-empty, fits in ``max_len`` and no other key
    shares it; otherwise a short stable hash of the key is appended. The result for a key depends
    only on the set of keys, never on their order.
    """
    keys = list(dict.fromkeys(keys))
    wanted = {k: f"{prefix}_{slug(k)}" if slug(k) else prefix for k in keys}
    counts: dict[str, int] = {}
    for ident in wanted.values():
        counts[ident] = counts.get(ident, 0) + 1
    out: dict[str, Raw] = {}
    for k, ident in wanted.items():
        if ident != prefix and counts[ident] == 1 and len(ident) <= max_len:
            out[k] = Raw(ident)
        else:
            out[k] = Raw(f"{ident[: max_len - 7].rstrip('_')}_{short_hash(k)}")
    return out
