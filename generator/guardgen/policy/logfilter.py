"""CloudWatch Logs JSON filter patterns: a parser and an evaluator, pure and without I/O.

guardgen ships metric filters whose only test in AWS is "did the alarm fire". This module lets the
test suite (and ``guardgen alarms test``) run the very same pattern text over CloudTrail records
offline. It covers the JSON form of the syntax documented at
https://docs.aws.amazon.com/AmazonCloudWatch/latest/logs/FilterAndPatternSyntax.html::

    { SELECTOR OP VALUE }                 OP: = != on strings; = != < > <= >= on numbers
    { SELECTOR IS NULL | IS TRUE | IS FALSE | NOT EXISTS }
    conditions combined with && and ||, grouped with ( ); && binds tighter than ||

Semantics, each as AWS documents it or, where AWS is silent, as chosen here (marked "choice"):

* A selector resolves to zero or more JSON nodes: ``$.a.b`` and ``$.a[0]`` to at most one,
  ``$.a[*]`` (any array element) and ``$.a.*`` (any object field) to several. A comparison holds
  when it holds for at least one resolved node (choice for ``!=`` under a wildcard: "some element
  differs", the reading consistent with ``=``).
* A comparison (``=``, ``!=``, ``<`` ...) needs a value node: a string, a number or a boolean.
  When the selector resolves to nothing, to ``null``, to an array or to an object, ``=`` and
  ``!=`` are *both* false. AWS documents the array/object case ("both {$.users = 1} and
  {$.users != 1} will fail to match"); absent fields behave the same way in CloudWatch, which is
  why CIS pairs ``!=`` tests with fields CloudTrail always writes (``eventType``) and tests
  optional ones with ``NOT EXISTS`` (``userIdentity.invokedBy``). Comparing a whole array does
  not look inside it: write ``[*]`` for "any element".
* ``NOT EXISTS`` holds when the selector resolves to nothing (a ``null`` value exists). ``IS
  NULL`` / ``IS TRUE`` / ``IS FALSE`` hold when a resolved node is JSON null / true / false.
  AWS rejects ``EXISTS`` and ``IS NOT``, and so does :func:`parse`.
* String values are case sensitive. ``*`` is a wildcard for any text, also inside quotes,
  anywhere in the value (``AccessDenied*``, ``*Operation``, ``Put*Policy``); ``*`` alone matches
  any value node. There is no escape for a literal ``*``. Numbers and booleans are compared by
  their JSON text (``true``, ``400``) against a string value (choice).
* A value that is a bare number (``400``, ``-1.5``, ``1e3``) compares numerically with numbers
  and with strings that hold a number (CloudTrail writes many numbers as strings: choice), and
  textually otherwise. ``<``, ``>``, ``<=``, ``>=`` require a number on both sides.
* Unquoted values may contain only letters, digits and ``_ . - + *``; anything else must be
  quoted. Inside quotes a backslash escapes the next character.
* AWS limits: a pattern is at most 1,024 characters, a selector holds at most one wildcard and a
  pattern at most three. :func:`parse` enforces them so a pattern accepted here deploys.

Not supported (rejected with :class:`FilterSyntaxError`): regular expressions ``%...%``,
unstructured term patterns and space-delimited ``[...]`` patterns.
"""

from __future__ import annotations

import re
from collections.abc import Iterator, Mapping
from dataclasses import dataclass
from decimal import Decimal, InvalidOperation
from enum import Enum
from typing import Any

from ..errors import GuardgenError

MAX_PATTERN_LENGTH = 1024  # PutMetricFilter's filterPattern length limit
MAX_WILDCARDS_PER_SELECTOR = 1
MAX_WILDCARDS_PER_PATTERN = 3
# AWS documents no nesting limit; this one only keeps the recursive parser far from Python's.
MAX_NESTING = 100

_NAME = re.compile(r"[A-Za-z0-9_-]+")
_WORD = re.compile(r"[A-Za-z0-9_.*+-]+")
_INDEX = re.compile(r"[0-9]+")
_NUMBER = re.compile(r"[+-]?(?:[0-9]+(?:\.[0-9]+)?|\.[0-9]+)(?:[eE][+-]?[0-9]+)?")
_OPERATORS = ("!=", "<=", ">=", "=", "<", ">")
_RELATIONAL = frozenset({"<", ">", "<=", ">="})
_JSON_ONLY = "guardgen evaluates JSON filter patterns only: { $.field = value }"


class FilterSyntaxError(GuardgenError, ValueError):
    """A filter pattern CloudWatch Logs would reject (or that guardgen cannot evaluate).

    Attributes:
        pattern: The pattern text.
        column: 1-based column of the offending character.
        reason: What is wrong there, without the position.
    """

    def __init__(self, pattern: str, column: int, reason: str) -> None:
        self.pattern = pattern
        self.column = column
        self.reason = reason
        super().__init__(f"column {column}: {reason}")


class Wildcard(Enum):
    """A wildcard step of a selector."""

    ELEMENT = "[*]"  # any element of an array
    FIELD = ".*"  # any field of an object


Step = str | int | Wildcard


@dataclass(frozen=True)
class Selector:
    """A property selector such as ``$.userIdentity.type`` or ``$.items[*].cidrIp``."""

    text: str
    steps: tuple[Step, ...]

    def resolve(self, event: Any) -> Iterator[Any]:
        """Every node the selector reaches in ``event`` (none when a step is missing)."""
        return _walk(event, self.steps)


def _walk(node: Any, steps: tuple[Step, ...]) -> Iterator[Any]:
    if not steps:
        yield node
        return
    step, rest = steps[0], steps[1:]
    if isinstance(step, str):
        if isinstance(node, Mapping) and step in node:
            yield from _walk(node[step], rest)
    elif isinstance(step, int):
        if isinstance(node, list | tuple) and step < len(node):
            yield from _walk(node[step], rest)
    elif step is Wildcard.ELEMENT:
        if isinstance(node, list | tuple):
            for item in node:
                yield from _walk(item, rest)
    elif isinstance(node, Mapping):
        for item in node.values():
            yield from _walk(item, rest)


def _is_scalar(value: Any) -> bool:
    # The "value nodes" of the AWS documentation; null, arrays and objects never compare.
    return isinstance(value, str | int | float | bool)


def _json_text(value: Any) -> str:
    if value is True:
        return "true"
    if value is False:
        return "false"
    return str(value)


def _as_number(value: Any) -> Decimal | None:
    if isinstance(value, bool):
        return None  # bool is an int in Python, never a number in JSON
    if isinstance(value, int):
        return Decimal(value)
    if isinstance(value, float):
        return Decimal(repr(value)) if value == value and abs(value) != float("inf") else None
    if isinstance(value, str) and _NUMBER.fullmatch(value):
        return Decimal(value)
    return None


@dataclass(frozen=True)
class Value:
    """The right-hand side of a comparison."""

    text: str  # the value without quotes or escapes
    quoted: bool
    number: Decimal | None  # set for an unquoted number such as 400 or 1e3
    glob: re.Pattern[str] | None  # set when the text has a * wildcard

    def equals(self, node: Any) -> bool:
        """True when ``node`` (a value node) equals this value, wildcards applied."""
        if self.number is not None:
            other = _as_number(node)
            if other is not None:
                return other == self.number
        text = _json_text(node)
        if self.glob is not None:
            return self.glob.fullmatch(text) is not None
        return text == self.text


def _glob(text: str) -> re.Pattern[str] | None:
    if "*" not in text:
        return None
    return re.compile(".*".join(re.escape(part) for part in text.split("*")), re.DOTALL)


class Node:
    """A boolean expression over one event."""

    def matches(self, event: Mapping[str, Any]) -> bool:
        """True when the expression holds for ``event``."""
        raise NotImplementedError


@dataclass(frozen=True)
class Compare(Node):
    """``SELECTOR OP VALUE``."""

    selector: Selector
    op: str
    value: Value

    def matches(self, event: Mapping[str, Any]) -> bool:
        return any(self._holds(node) for node in self.selector.resolve(event) if _is_scalar(node))

    def _holds(self, node: Any) -> bool:
        if self.op == "=":
            return self.value.equals(node)
        if self.op == "!=":
            return not self.value.equals(node)
        left, right = _as_number(node), self.value.number
        if left is None or right is None:
            return False
        try:
            if self.op == "<":
                return left < right
            if self.op == ">":
                return left > right
            if self.op == "<=":
                return left <= right
            return left >= right
        except InvalidOperation:  # pragma: no cover - _as_number never yields NaN
            return False


@dataclass(frozen=True)
class Is(Node):
    """``SELECTOR IS NULL|TRUE|FALSE``."""

    selector: Selector
    constant: None | bool

    def matches(self, event: Mapping[str, Any]) -> bool:
        # `is`, not ==: 1 == True in Python, but 1 is not JSON true.
        return any(node is self.constant for node in self.selector.resolve(event))


@dataclass(frozen=True)
class NotExists(Node):
    """``SELECTOR NOT EXISTS``."""

    selector: Selector

    def matches(self, event: Mapping[str, Any]) -> bool:
        return next(self.selector.resolve(event), _MISSING) is _MISSING


_MISSING = object()


@dataclass(frozen=True)
class And(Node):
    """Conditions joined with ``&&``."""

    parts: tuple[Node, ...]

    def matches(self, event: Mapping[str, Any]) -> bool:
        return all(p.matches(event) for p in self.parts)


@dataclass(frozen=True)
class Or(Node):
    """Conditions joined with ``||``."""

    parts: tuple[Node, ...]

    def matches(self, event: Mapping[str, Any]) -> bool:
        return any(p.matches(event) for p in self.parts)


@dataclass(frozen=True)
class Pattern:
    """A parsed JSON filter pattern."""

    text: str
    root: Node

    def matches(self, event: Mapping[str, Any]) -> bool:
        """True when CloudWatch Logs would count ``event`` for this pattern.

        Args:
            event: One log event as parsed JSON (a CloudTrail record).
        """
        return self.root.matches(event)


# ---------------------------------------------------------------------------------------------
# Tokens


@dataclass(frozen=True)
class _Token:
    kind: str  # { } ( ) && || OP SEL STR WORD END
    text: str
    col: int  # 0-based offset into the pattern
    selector: Selector | None = None


class _Lexer:
    def __init__(self, text: str) -> None:
        self.text = text
        self.pos = 0

    def fail(self, pos: int, reason: str) -> FilterSyntaxError:
        return FilterSyntaxError(self.text, pos + 1, reason)

    def tokens(self) -> list[_Token]:
        out: list[_Token] = []
        text = self.text
        while True:
            while self.pos < len(text) and text[self.pos].isspace():
                self.pos += 1
            if self.pos >= len(text):
                out.append(_Token("END", "", self.pos))
                return out
            out.append(self._next())

    def _next(self) -> _Token:
        text, start = self.text, self.pos
        ch = text[start]
        if ch in "{}()":
            self.pos += 1
            return _Token(ch, ch, start)
        for pair in ("&&", "||"):
            if text.startswith(pair, start):
                self.pos += 2
                return _Token(pair, pair, start)
        for op in _OPERATORS:
            if text.startswith(op, start):
                self.pos += len(op)
                return _Token("OP", op, start)
        if ch == "$":
            return self._selector()
        if ch == '"':
            return self._string()
        if ch == "%":
            raise self.fail(start, "regular expressions (%...%) are not supported by guardgen's "
                            "evaluator; use * wildcards")
        match = _WORD.match(text, start)
        if match:
            self.pos = match.end()
            return _Token("WORD", match.group(), start)
        if ch in "&|":
            raise self.fail(start, f"expected {ch * 2!r}")
        if ch == "!":
            raise self.fail(start, "expected '!='")
        raise self.fail(start, f"unexpected character {ch!r}; quote values that contain it")

    def _string(self) -> _Token:
        text, start = self.text, self.pos
        chars: list[str] = []
        i = start + 1
        while i < len(text):
            ch = text[i]
            if ch == "\\" and i + 1 < len(text):
                chars.append(text[i + 1])
                i += 2
                continue
            if ch == '"':
                self.pos = i + 1
                return _Token("STR", "".join(chars), start)
            chars.append(ch)
            i += 1
        raise self.fail(start, "unterminated string")

    def _selector(self) -> _Token:
        text, start = self.text, self.pos
        i = start + 1
        steps: list[Step] = []
        if not text.startswith(".", i):
            raise self.fail(i, "a selector starts with '$.' (as in $.eventName)")
        while i < len(text) and text[i] in ".[":
            if text[i] == ".":
                i += 1
                if text.startswith("*", i):
                    steps.append(Wildcard.FIELD)
                    i += 1
                elif text.startswith("[", i):
                    key, i = self._bracket_key(i)
                    steps.append(key)
                else:
                    name = _NAME.match(text, i)
                    if not name:
                        raise self.fail(i, "expected a property name after '.'")
                    steps.append(name.group())
                    i = name.end()
            else:
                step, i = self._bracket(i)
                steps.append(step)
        if i < len(text) and not text[i].isspace() and text[i] not in "()}=!<>&|":
            raise self.fail(i, f"unexpected character {text[i]!r} in selector")
        wild = [n for n, s in enumerate(steps) if isinstance(s, Wildcard)]
        if len(wild) > MAX_WILDCARDS_PER_SELECTOR:
            raise self.fail(start, f"a selector may use at most {MAX_WILDCARDS_PER_SELECTOR} "
                            "wildcard")
        self.pos = i
        sel = Selector(text[start:i], tuple(steps))
        return _Token("SEL", sel.text, start, sel)

    def _bracket(self, i: int) -> tuple[Step, int]:
        # `[N]` or `[*]` after a property
        text = self.text
        if text.startswith("[*]", i):
            return Wildcard.ELEMENT, i + 3
        index = _INDEX.match(text, i + 1)
        if not index or not text.startswith("]", index.end()):
            raise self.fail(i, "expected an array index such as [0] or [*]")
        return int(index.group()), index.end() + 1

    def _bracket_key(self, i: int) -> tuple[str, int]:
        # `.['key.with.dots']`: the documented way to select a property whose name has a period
        text = self.text
        quote = text[i + 1: i + 2]
        if quote not in ("'", '"'):
            raise self.fail(i, "expected a quoted property name such as ['cluster.name']")
        end = text.find(quote, i + 2)
        if end < 0 or not text.startswith("]", end + 1):
            raise self.fail(i, "unterminated bracketed property name")
        return text[i + 2: end], end + 2


# ---------------------------------------------------------------------------------------------
# Grammar: pattern := '{' or '}'; or := and ('||' and)*; and := primary ('&&' primary)*;
#          primary := '(' or ')' | condition


class _Parser:
    def __init__(self, text: str, tokens: list[_Token]) -> None:
        self.text = text
        self.toks = tokens
        self.i = 0
        self.wildcards = 0

    def fail(self, tok: _Token, reason: str) -> FilterSyntaxError:
        return FilterSyntaxError(self.text, tok.col + 1, reason)

    @property
    def tok(self) -> _Token:
        return self.toks[self.i]

    def take(self, kind: str, what: str) -> _Token:
        tok = self.tok
        if tok.kind != kind:
            raise self.fail(tok, f"expected {what}, found {_describe(tok)}")
        self.i += 1
        return tok

    def pattern(self) -> Node:
        self.take("{", "'{'")
        node = self.or_(1)
        self.take("}", "'&&', '||' or '}'")
        self.take("END", "the end of the pattern")
        return node

    def or_(self, depth: int) -> Node:
        parts = [self.and_(depth)]
        while self.tok.kind == "||":
            self.i += 1
            parts.append(self.and_(depth))
        return parts[0] if len(parts) == 1 else Or(tuple(parts))

    def and_(self, depth: int) -> Node:
        parts = [self.primary(depth)]
        while self.tok.kind == "&&":
            self.i += 1
            parts.append(self.primary(depth))
        return parts[0] if len(parts) == 1 else And(tuple(parts))

    def primary(self, depth: int) -> Node:
        tok = self.tok
        if tok.kind == "(":
            if depth >= MAX_NESTING:
                raise self.fail(tok, f"parentheses nested deeper than {MAX_NESTING}")
            self.i += 1
            node = self.or_(depth + 1)
            self.take(")", "'&&', '||' or ')'")
            return node
        return self.condition()

    def condition(self) -> Node:
        tok = self.take("SEL", "a condition such as $.eventName = ConsoleLogin")
        assert tok.selector is not None
        sel = tok.selector
        if any(isinstance(s, Wildcard) for s in sel.steps):
            self.wildcards += 1
            if self.wildcards > MAX_WILDCARDS_PER_PATTERN:
                raise self.fail(tok, f"a pattern may use at most {MAX_WILDCARDS_PER_PATTERN} "
                                "wildcard selectors")
        nxt = self.tok
        if nxt.kind == "WORD" and nxt.text == "NOT":
            self.i += 1
            word = self.tok
            if word.kind != "WORD" or word.text != "EXISTS":
                raise self.fail(word, "expected EXISTS after NOT")
            self.i += 1
            return NotExists(sel)
        if nxt.kind == "WORD" and nxt.text == "IS":
            self.i += 1
            word = self.tok
            constants: dict[str, None | bool] = {"NULL": None, "TRUE": True, "FALSE": False}
            if word.kind == "WORD" and word.text in constants:
                self.i += 1
                return Is(sel, constants[word.text])
            if word.kind == "WORD" and word.text == "NOT":
                raise self.fail(word, "IS NOT is not supported by CloudWatch Logs")
            raise self.fail(word, "expected NULL, TRUE or FALSE after IS")
        if nxt.kind == "WORD" and nxt.text == "EXISTS":
            raise self.fail(nxt, "EXISTS is not supported by CloudWatch Logs (only NOT EXISTS)")
        op = self.take("OP", "an operator (= != < > <= >=), IS or NOT EXISTS").text
        return Compare(sel, op, self.value(op))

    def value(self, op: str) -> Value:
        tok = self.tok
        if tok.kind not in ("STR", "WORD"):
            raise self.fail(tok, f"expected a value after {op!r}, found {_describe(tok)}")
        self.i += 1
        number = None
        if tok.kind == "WORD" and _NUMBER.fullmatch(tok.text):
            try:
                number = Decimal(tok.text)
            except InvalidOperation:  # pragma: no cover - the regex admits only valid numbers
                number = None
        if op in _RELATIONAL and number is None:
            raise self.fail(tok, f"{op!r} needs a number, found {_describe(tok)}")
        return Value(tok.text, tok.kind == "STR", number, _glob(tok.text))


def _describe(tok: _Token) -> str:
    if tok.kind == "END":
        return "the end of the pattern"
    if tok.kind == "STR":
        return f'"{tok.text}"'
    return repr(tok.text)


def parse(pattern: str) -> Pattern:
    """Parse a CloudWatch Logs JSON filter pattern.

    Args:
        pattern: The pattern text, such as ``{ $.eventName = "ConsoleLogin" }``.

    Returns:
        The parsed pattern; call :meth:`Pattern.matches` on events.

    Raises:
        FilterSyntaxError: The pattern is not valid JSON filter syntax (or uses a form guardgen
            does not evaluate); its ``column`` points at the problem.
    """
    if len(pattern) > MAX_PATTERN_LENGTH:
        raise FilterSyntaxError(pattern, MAX_PATTERN_LENGTH + 1, f"a filter pattern is at most "
                                f"{MAX_PATTERN_LENGTH} characters, this one has {len(pattern)}")
    start = len(pattern) - len(pattern.lstrip())
    if not pattern.startswith("{", start):
        # Before lexing: a term or space-delimited pattern would only confuse the lexer's message.
        raise FilterSyntaxError(pattern, start + 1, _JSON_ONLY)
    tokens = _Lexer(pattern).tokens()
    return Pattern(pattern, _Parser(pattern, tokens).pattern())
