"""JSON pointers to lines and columns, so findings point at the text of a file."""

from __future__ import annotations

import bisect
import json
import re
from collections.abc import Mapping
from typing import TYPE_CHECKING

from .model import escape_token

if TYPE_CHECKING:
    pass

# -- JSON pointers to lines -----------------------------------------------------------------------

_WS = re.compile(r"[ \t\n\r]*")
_DECODER = json.JSONDecoder()


def positions(text: str) -> dict[str, tuple[int, int]]:
    """Map every JSON pointer of a document to its (line, column): where an object member's key
    starts (findings about a member point at its name), or where an array element or the root
    value starts. Lines and columns count from 1, columns in characters. Expects valid JSON.
    """
    offsets: dict[str, int] = {}

    def skip(i: int) -> int:
        m = _WS.match(text, i)
        return m.end() if m else i

    def value(i: int, pointer: str) -> int:
        i = skip(i)
        offsets.setdefault(pointer, i)
        c = text[i] if i < len(text) else ""
        if c == "{":
            i = skip(i + 1)
            if text[i] == "}":
                return i + 1
            while True:
                key, key_end = _DECODER.raw_decode(text, i)
                child = f"{pointer}/{escape_token(key)}"
                offsets[child] = i
                i = value(skip(key_end) + 1, child)  # past the colon; the key's offset stays
                i = skip(i)
                if text[i] == "}":
                    return i + 1
                i = skip(i + 1)
        if c == "[":
            i = skip(i + 1)
            if text[i] == "]":
                return i + 1
            n = 0
            while True:
                i = skip(value(i, f"{pointer}/{n}"))
                n += 1
                if text[i] == "]":
                    return i + 1
                i += 1
        return int(_DECODER.raw_decode(text, i)[1])  # a string, number, true, false or null

    value(0, "")
    starts = [0] + [n + 1 for n, ch in enumerate(text) if ch == "\n"]
    result: dict[str, tuple[int, int]] = {}
    for pointer, offset in offsets.items():
        row = bisect.bisect_right(starts, offset)
        result[pointer] = (row, offset - starts[row - 1] + 1)
    return result


def locate(where: Mapping[str, tuple[int, int]], pointer: str) -> tuple[int | None, int | None]:
    if not where:
        return None, None
    while True:
        if pointer in where:
            return where[pointer]
        if not pointer:
            return None, None
        pointer = pointer.rsplit("/", 1)[0]
