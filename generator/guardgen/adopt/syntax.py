"""Terraform files as blocks and attributes, each with its line, read with python-hcl2.

python-hcl2's dictionary form loses what adoption needs (which line a value came from, a literal
``"${x}"`` versus the expression ``${x}``), so this module walks the Lark parse tree python-hcl2
builds and keeps each attribute's expression as a tree for :mod:`.evaluate`. Pure: text in.
"""

from __future__ import annotations

from dataclasses import dataclass, field

import hcl2
from lark import Token, Tree
from lark.exceptions import UnexpectedInput

from ..errors import GuardgenError

Node = Tree[Token] | Token


class SyntaxProblem(GuardgenError):
    """A file that is not valid HCL, located: ``file:line: message``."""


@dataclass(frozen=True)
class Where:
    """A place in a Terraform file."""

    file: str
    line: int

    def __str__(self) -> str:
        return f"{self.file}:{self.line}"


@dataclass(frozen=True)
class Attribute:
    name: str
    expr: Node
    where: Where


@dataclass
class Block:
    type: str
    labels: tuple[str, ...]
    where: Where
    attributes: dict[str, Attribute] = field(default_factory=dict)
    blocks: list[Block] = field(default_factory=list)

    def children(self, type_: str) -> list[Block]:
        """Nested blocks of one type, in file order."""
        return [b for b in self.blocks if b.type == type_]


def line_of(node: Node, default: int = 0) -> int:
    """The line a node starts on (Lark keeps positions on trees and tokens)."""
    if isinstance(node, Token):
        return node.line or default
    meta = node.meta
    return meta.line if not meta.empty else default


def _name(node: Node) -> str:
    """An attribute or block name: an identifier, a keyword or a literal word."""
    if isinstance(node, Token):
        return str(node)
    token = node.children[0]
    return str(token)


def _label(node: Node) -> str:
    if isinstance(node, Tree) and node.data == "string":
        text = "".join(str(p.children[0]) for p in node.children
                       if isinstance(p, Tree) and p.data == "string_part"
                       and isinstance(p.children[0], Token))
        return unescape(text)
    return _name(node)


_SIMPLE = {"n": "\n", "r": "\r", "t": "\t", '"': '"', "\\": "\\"}


def unescape(text: str) -> str:
    """The characters of a quoted string's literal part (``\\n``, ``\\"``, ``\\u00e9``...)."""
    if "\\" not in text:
        return text
    out: list[str] = []
    i = 0
    while i < len(text):
        c = text[i]
        if c != "\\" or i + 1 >= len(text):
            out.append(c)
            i += 1
            continue
        nxt = text[i + 1]
        if nxt == "u" and i + 6 <= len(text):
            out.append(chr(int(text[i + 2:i + 6], 16)))
            i += 6
        elif nxt == "U" and i + 10 <= len(text):
            out.append(chr(int(text[i + 2:i + 10], 16)))
            i += 10
        else:
            out.append(_SIMPLE.get(nxt, nxt))
            i += 2
    return "".join(out)


def _body(body: Tree[Token], file: str, into: Block) -> None:
    for item in body.children:
        if not isinstance(item, Tree):
            continue
        if item.data == "attribute":
            name = _name(item.children[0])
            into.attributes[name] = Attribute(name, item.children[-1], Where(file, line_of(item)))
        elif item.data == "block":
            parts = [c for c in item.children if isinstance(c, Tree)]
            head = [c for c in parts if c.data not in ("body", "new_line_or_comment")]
            inner = next(c for c in parts if c.data == "body")
            block = Block(_name(head[0]), tuple(_label(c) for c in head[1:]),
                          Where(file, line_of(item)))
            _body(inner, file, block)
            into.blocks.append(block)


def parse(text: str, file: str) -> Block:
    """The top-level blocks and attributes of a Terraform file, as the body of a nameless block.

    Raises:
        SyntaxProblem: the text is not HCL, with the file and line python-hcl2 stopped at.
    """
    try:
        tree = hcl2.parses_to_tree(text)
    except UnexpectedInput as exc:
        raise SyntaxProblem(f"{file}:{exc.line}: not valid HCL (python-hcl2 stopped at column "
                            f"{exc.column})") from None
    except Exception as exc:  # python-hcl2 raises plain exceptions from its post-lexer too
        raise SyntaxProblem(f"{file}: not valid HCL ({exc})") from None
    top = Block("", (), Where(file, 1))
    body = next(c for c in tree.children if isinstance(c, Tree) and c.data == "body")
    _body(body, file, top)
    return top


def bare_name(node: Node) -> str | None:
    """The word of an expression that is a single bare identifier (``iterator = st``)."""
    while isinstance(node, Tree) and node.data == "expr_term" and len(node.children) == 1:
        node = node.children[0]
    if isinstance(node, Tree) and node.data == "identifier":
        return str(node.children[0])
    return None


def expression(text: str, file: str, line: int) -> Node:
    """One HCL expression, parsed from its text (an interpolation inside a heredoc or a file)."""
    try:
        tree = hcl2.parses_to_tree(f"x = {text}\n")
    except UnexpectedInput:
        raise SyntaxProblem(f"{file}:{line}: not a valid expression: ${{{text[:60]}}}") from None
    body = next(c for c in tree.children if isinstance(c, Tree) and c.data == "body")
    attr = next(c for c in body.children if isinstance(c, Tree) and c.data == "attribute")
    return attr.children[-1]
