"""Policy documents as text: minified as AWS stores and counts them, indented for review.

:func:`pretty` is ``json.dumps(doc, indent=2, ensure_ascii=False)`` exactly. The standard
library falls back to its pure-Python encoder whenever ``indent`` is set; building the text here,
with the C string encoder for every string, is several times faster on the tens of thousands of
small documents a large organization has.
"""

from __future__ import annotations

import json
from json.encoder import encode_basestring
from typing import Any


def minify(document: Any) -> str:
    """The document as AWS stores it: compact JSON, key order kept, non-ASCII unescaped."""
    return json.dumps(document, separators=(",", ":"), ensure_ascii=False)


def pretty(document: Any) -> str:
    """The document indented by two spaces, as ``json.dumps(..., indent=2, ensure_ascii=False)``."""
    out: list[str] = []
    _write(document, out, "\n")
    return "".join(out)


def _write(value: Any, out: list[str], newline: str) -> None:
    if isinstance(value, str):
        out.append(encode_basestring(value))
    elif isinstance(value, dict):
        if not value:
            out.append("{}")
            return
        inner = newline + "  "
        out.append("{")
        first = True
        for key, item in value.items():
            out.append(inner if first else "," + inner)
            first = False
            out.append(encode_basestring(key if isinstance(key, str) else _key(key)))
            out.append(": ")
            _write(item, out, inner)
        out.append(newline + "}")
    elif isinstance(value, (list, tuple)):
        if not value:
            out.append("[]")
            return
        inner = newline + "  "
        out.append("[")
        first = True
        for item in value:
            out.append(inner if first else "," + inner)
            first = False
            _write(item, out, inner)
        out.append(newline + "]")
    else:
        out.append(json.dumps(value))


def _key(key: Any) -> str:
    """Non-string keys as json.dumps writes them (its text without quotes)."""
    text = json.dumps(key)
    return text[1:-1] if text.startswith('"') else text
