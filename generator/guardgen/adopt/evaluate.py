"""Terraform expressions evaluated far enough to read a policy: literals, strings and heredocs with
interpolations, collections, ``for`` expressions, conditionals, ``var.``, ``local.``, ``each.``,
``count.``, ``path.`` and the functions hand-written SCP code uses (``jsonencode``, ``file``,
``templatefile``, ``concat``, ``merge``...).

What is only known at apply time (an ARN, a ``data.aws_caller_identity``), what is not in the
files (a variable without a value), and template directives raise :class:`Untranslatable` with
the file and line, so every policy is either read exactly or reported. References to other
objects (a resource, a module's outputs) are resolved by a :class:`Resolver` the caller provides.
Pure, except that ``file``-like functions read through the :class:`Files` given.
"""

from __future__ import annotations

import json
import math
import re
from collections.abc import Callable, Iterator, Sequence
from dataclasses import dataclass, field
from pathlib import PurePosixPath
from typing import Any, Protocol

import yaml
from lark import Token, Tree

from ..errors import GuardgenError
from .syntax import Node, SyntaxProblem, Where, expression, line_of, unescape


class Untranslatable(GuardgenError):
    """Something a policy depends on that cannot be known from the files alone."""

    def __init__(self, where: Where | None, reason: str) -> None:
        self.where = where
        self.reason = reason
        super().__init__(f"{where}: {reason}" if where else reason)


class Files(Protocol):
    """Reading files the way Terraform does: paths relative to the root module's folder."""

    def read(self, path: str) -> str:
        """The file's text; raises OSError or UnicodeDecodeError."""

    def glob(self, base: str, pattern: str) -> list[str]:
        """``fileset(base, pattern)``: matching file paths relative to ``base``, sorted."""

    def listdir(self, path: str) -> list[str]:
        """Names of the regular files in a folder, sorted; raises OSError."""


class Resolver(Protocol):
    """What references outside a module's own variables and locals mean."""

    def reference(self, scope: Scope, name: str, steps: list[Step], where: Where) -> tuple[Any, int]:
        """The value of ``name`` (``var``, ``data``, ``module`` or a resource type) followed by
        some of ``steps``; returns it with how many steps it consumed."""


@dataclass(frozen=True)
class Step:
    """One traversal step: ``.name``, ``[index]`` or a splat (``.*`` / ``[*]``) with its rest."""

    kind: str  # "attr" | "index" | "splat"
    value: Any = None
    rest: tuple[Step, ...] = ()


@dataclass
class Scope:
    """Where an expression is evaluated: a module instance, plus iteration variables."""

    module: Any  # the caller's module instance; only the Resolver looks inside it
    path: str  # path.module, relative to the root module's folder ("." for the root)
    file_reader: Files
    resolver: Resolver
    names: dict[str, Any] = field(default_factory=dict)  # each, count, for and iterator names
    only_names: bool = False  # templatefile: nothing but its variables and functions

    def with_names(self, **names: Any) -> Scope:
        return Scope(self.module, self.path, self.file_reader, self.resolver,
                     {**self.names, **names}, self.only_names)


# -- values ---------------------------------------------------------------------------------------

def _type(value: Any) -> str:
    if value is None:
        return "null"
    if isinstance(value, bool):
        return "bool"
    if isinstance(value, (int, float)):
        return "number"
    if isinstance(value, str):
        return "string"
    if isinstance(value, list):
        return "list"
    if isinstance(value, dict):
        return "object"
    return type(value).__name__


def to_text(value: Any, where: Where | None) -> str:
    """A value where Terraform wants a string (interpolation, a function argument)."""
    if isinstance(value, bool):
        return "true" if value else "false"
    if isinstance(value, int):
        return str(value)
    if isinstance(value, float):
        return str(int(value)) if value.is_integer() else repr(value)
    if isinstance(value, str):
        return value
    raise Untranslatable(where, f"a {_type(value)} where a string is needed")


def _number(value: Any, where: Where | None) -> int | float:
    if isinstance(value, bool) or value is None:
        raise Untranslatable(where, f"a {_type(value)} where a number is needed")
    if isinstance(value, (int, float)):
        return value
    if isinstance(value, str):
        try:
            n = float(value)
        except ValueError:
            raise Untranslatable(where, f"{value!r} is not a number") from None
        return int(n) if n.is_integer() else n
    raise Untranslatable(where, f"a {_type(value)} where a number is needed")


def _bool(value: Any, where: Where | None) -> bool:
    if isinstance(value, bool):
        return value
    if value in ("true", "false"):
        return bool(value == "true")
    raise Untranslatable(where, f"a {_type(value)} where a bool is needed")


def _items(value: Any, where: Where | None) -> list[tuple[Any, Any]]:
    """(key, value) pairs a ``for`` or ``for_each`` iterates: index or sorted key."""
    if isinstance(value, list):
        return list(enumerate(value))
    if isinstance(value, dict):
        return sorted(value.items())
    raise Untranslatable(where, f"cannot iterate over a {_type(value)}")


def json_value(value: Any, where: Where | None) -> Any:
    """``value`` as plain JSON data; references to objects that exist only after apply raise."""
    if value is None or isinstance(value, (bool, int, float, str)):
        return value
    if isinstance(value, list):
        return [json_value(v, where) for v in value]
    if isinstance(value, dict):
        return {str(k): json_value(v, where) for k, v in sorted(value.items())}
    raise Untranslatable(where, f"{value} is known only after apply")


# -- the evaluator --------------------------------------------------------------------------------

def evaluate(node: Node, scope: Scope, file: str) -> Any:
    """The value of an expression tree from python-hcl2.

    Raises:
        Untranslatable: with the file and line of the part that cannot be known.
    """
    try:
        return _Evaluator(scope, file).eval(node)
    except RecursionError:
        # Modules whose outputs feed each other, or a value nested beyond reason.
        raise Untranslatable(Where(file, line_of(node)), "references that lead back to "
                             "themselves (or nest too deep) to be evaluated") from None


class _Evaluator:
    def __init__(self, scope: Scope, file: str) -> None:
        self.scope = scope
        self.file = file

    def where(self, node: Node) -> Where:
        return Where(self.file, line_of(node))

    def eval(self, node: Node) -> Any:
        if isinstance(node, Token):
            raise Untranslatable(self.where(node), f"unexpected {node.type}")
        handler = getattr(self, "_" + str(node.data), None)
        if handler is None:
            raise Untranslatable(self.where(node), f"{node.data} expressions are not read")
        return handler(node)

    @staticmethod
    def trees(node: Tree[Token]) -> list[Tree[Token]]:
        return [c for c in node.children if isinstance(c, Tree) and c.data != "new_line_or_comment"]

    # literals --------------------------------------------------------------------------------
    def _expr_term(self, node: Tree[Token]) -> Any:
        kids = self.trees(node)
        if not kids:
            raise Untranslatable(self.where(node), "empty expression")
        inner = kids[0]
        traversal = inner.data in ("get_attr_expr_term", "index_expr_term", "attr_splat_expr_term",
                                   "full_splat_expr_term")
        if traversal or inner.data == "identifier":
            return self.traverse(inner)
        return self.eval(inner)

    def _int_lit(self, node: Tree[Token]) -> int:
        return int(str(node.children[0]))

    def _float_lit(self, node: Tree[Token]) -> float | int:
        n = float(str(node.children[0]))
        return int(n) if n.is_integer() else n

    def _literal_value(self, node: Tree[Token]) -> bool | None:
        word = str(node.children[0])
        return None if word == "null" else word == "true"

    def _string(self, node: Tree[Token]) -> Any:
        parts = [p for p in node.children if isinstance(p, Tree) and p.data == "string_part"]
        if len(parts) == 1 and isinstance(parts[0].children[0], Tree) \
                and parts[0].children[0].data == "interpolation":
            # "${x}" alone is x itself, whatever its type.
            return self._interpolation(parts[0].children[0])
        out: list[str] = []
        for p in parts:
            child = p.children[0]
            if isinstance(child, Token):
                if child.type in ("ESCAPED_INTERPOLATION", "ESCAPED_DIRECTIVE"):
                    out.append(str(child)[1:])  # $${ and %%{ stand for ${ and %{
                else:
                    out.append(unescape(str(child)))
            elif child.data == "interpolation":
                out.append(to_text(self._interpolation(child), self.where(child)))
            else:
                raise Untranslatable(self.where(child), "template directives (%{ ... }) are not "
                                     "evaluated")
        return "".join(out)

    def _interpolation(self, node: Tree[Token]) -> Any:
        return self.eval(self.trees(node)[0])

    def _heredoc_template(self, node: Tree[Token]) -> str:
        return self.heredoc(node, trim=False)

    def _heredoc_template_trim(self, node: Tree[Token]) -> str:
        return self.heredoc(node, trim=True)

    def heredoc(self, node: Tree[Token], *, trim: bool) -> str:
        raw = str(node.children[0])
        lines = raw.split("\n")
        body = lines[1:-2]  # the marker line, then the body, then the closing marker and ""
        if trim:
            indents = [len(x) - len(x.lstrip(" \t")) for x in body if x.strip()]
            cut = min(indents, default=0)
            body = [x[cut:] for x in body]
        text = "\n".join(body) + ("\n" if body else "")
        return render_template(text, self.scope, self.file, line_of(node) + 1)

    def _template_string(self, node: Tree[Token]) -> Any:
        raise Untranslatable(self.where(node), "template directives (%{ ... }) are not evaluated")

    # collections -----------------------------------------------------------------------------
    def _tuple(self, node: Tree[Token]) -> list[Any]:
        return [self.eval(c) for c in self.trees(node)]

    def _object(self, node: Tree[Token]) -> dict[str, Any]:
        out: dict[str, Any] = {}
        for elem in self.trees(node):
            key_node, value_node = self.trees(elem)[0], self.trees(elem)[-1]
            inner = self.trees(key_node)[0] if self.trees(key_node) else key_node
            bare = self.trees(inner)
            if inner.data == "expr_term" and bare and bare[0].data == "identifier":
                key = str(bare[0].children[0])  # `name = value`: a bare word is the key itself
            elif inner.data == "keyword":
                key = str(inner.children[0])
            else:
                key = to_text(self.eval(inner), self.where(inner))
            out[key] = self.eval(value_node)
        return out

    # operators -------------------------------------------------------------------------------
    def _conditional(self, node: Tree[Token]) -> Any:
        cond, yes, no = self.trees(node)
        return self.eval(yes) if _bool(self.eval(cond), self.where(cond)) else self.eval(no)

    def _unary_op(self, node: Tree[Token]) -> Any:
        op = str(node.children[0])
        value = self.eval(self.trees(node)[0])
        if op == "!":
            return not _bool(value, self.where(node))
        return -_number(value, self.where(node))

    def _binary_op(self, node: Tree[Token]) -> Any:
        lhs_node, term = self.trees(node)[:2]
        op_node, rhs_node = self.trees(term)[:2]
        op = str(op_node.children[0])
        where = self.where(node)
        lhs = self.eval(lhs_node)
        if op == "&&":
            return _bool(lhs, where) and _bool(self.eval(rhs_node), where)
        if op == "||":
            return _bool(lhs, where) or _bool(self.eval(rhs_node), where)
        rhs = self.eval(rhs_node)
        if op == "==":
            return lhs == rhs and _type(lhs) == _type(rhs)
        if op == "!=":
            return not (lhs == rhs and _type(lhs) == _type(rhs))
        a, b = _number(lhs, where), _number(rhs, where)
        ops: dict[str, Callable[[Any, Any], Any]] = {
            "+": lambda x, y: x + y, "-": lambda x, y: x - y, "*": lambda x, y: x * y,
            "/": lambda x, y: x / y, "%": lambda x, y: math.fmod(x, y), "<": lambda x, y: x < y,
            ">": lambda x, y: x > y, "<=": lambda x, y: x <= y, ">=": lambda x, y: x >= y}
        try:
            result = ops[op](a, b)
        except ZeroDivisionError:
            raise Untranslatable(where, "division by zero") from None
        return int(result) if isinstance(result, float) and result.is_integer() else result

    # for expressions -------------------------------------------------------------------------
    def _loop(self, node: Tree[Token]) -> Iterator[tuple[Scope, list[Tree[Token]]]]:
        intro = next(c for c in self.trees(node) if c.data == "for_intro")
        names = [str(c.children[0]) for c in self.trees(intro) if c.data == "identifier"]
        collection = next(c for c in self.trees(intro) if c.data != "identifier")
        rest = [c for c in self.trees(node) if c.data not in ("for_intro",)]
        cond = next((c for c in rest if c.data == "for_cond"), None)
        body = [c for c in rest if c.data != "for_cond"]
        for k, v in _items(self.eval(collection), self.where(collection)):
            scope = self.scope.with_names(**({names[0]: k, names[1]: v} if len(names) == 2
                                             else {names[0]: v}))
            inner = _Evaluator(scope, self.file)
            if cond is not None and not _bool(inner.eval(self.trees(cond)[0]), self.where(cond)):
                continue
            yield scope, body

    def _for_tuple_expr(self, node: Tree[Token]) -> list[Any]:
        return [_Evaluator(scope, self.file).eval(body[0]) for scope, body in self._loop(node)]

    def _for_object_expr(self, node: Tree[Token]) -> dict[str, Any]:
        group = any(isinstance(c, Token) and c.type == "ELLIPSIS" for c in node.children)
        out: dict[str, Any] = {}
        for scope, body in self._loop(node):
            inner = _Evaluator(scope, self.file)
            key = to_text(inner.eval(body[0]), self.where(body[0]))
            value = inner.eval(body[1])
            if group:
                out.setdefault(key, []).append(value)
            elif key in out:
                raise Untranslatable(self.where(node), f"duplicate key {key!r} in a for "
                                     "expression (use ... to group)")
            else:
                out[key] = value
        return out

    # references and traversals ---------------------------------------------------------------
    def steps(self, node: Tree[Token]) -> tuple[Tree[Token], list[Step]]:
        """The base of a traversal and its steps, in order."""
        steps: list[Step] = []
        while node.data in ("expr_term", "get_attr_expr_term", "index_expr_term",
                            "attr_splat_expr_term", "full_splat_expr_term"):
            kids = self.trees(node)
            if node.data == "expr_term":
                if len(kids) != 1 or kids[0].data not in (
                        "get_attr_expr_term", "index_expr_term", "attr_splat_expr_term",
                        "full_splat_expr_term", "identifier"):
                    break
                node = kids[0]
                continue
            base, step = kids[0], kids[1]
            if node.data in ("attr_splat_expr_term", "full_splat_expr_term"):
                rest = tuple(self.step(s) for s in self.trees(step))
                steps.insert(0, Step("splat", rest=rest))
            else:
                steps.insert(0, self.step(step))
            node = base
        return node, steps

    def step(self, node: Tree[Token]) -> Step:
        if node.data == "get_attr":
            return Step("attr", str(self.trees(node)[0].children[0]))
        if node.data == "short_index":
            return Step("index", int(str(node.children[-1])))
        if node.data == "braces_index":
            return Step("index", self.eval(self.trees(node)[0]))
        raise Untranslatable(self.where(node), f"{node.data} is not read")

    def traverse(self, node: Tree[Token]) -> Any:
        base, steps = self.steps(node)
        where = self.where(node)
        if base.data == "identifier":
            name = str(base.children[0])
            if name in self.scope.names:
                value, used = self.scope.names[name], 0
            elif self.scope.only_names:
                raise Untranslatable(where, f"{name} is not a variable of this template")
            elif name == "path":
                if not steps or steps[0].kind != "attr" or steps[0].value not in (
                        "module", "root", "cwd"):
                    raise Untranslatable(where, "path.module, path.root or path.cwd expected")
                value, used = (self.scope.path if steps[0].value == "module" else "."), 1
            elif name == "terraform" and steps and steps[0].value == "workspace":
                value, used = "default", 1
            else:
                value, used = self.scope.resolver.reference(self.scope, name, steps, where)
        else:
            value, used = self.eval(base), 0
        return apply_steps(value, steps[used:], where)

    # functions -------------------------------------------------------------------------------
    def _function_call(self, node: Tree[Token]) -> Any:
        names = [c for c in self.trees(node) if c.data == "identifier"]
        where = self.where(node)
        if len(names) != 1:
            raise Untranslatable(where, "provider-defined functions are not evaluated")
        name = str(names[0].children[0])
        args_node = next((c for c in self.trees(node) if c.data == "arguments"), None)
        arg_nodes = self.trees(args_node) if args_node is not None else []
        expand = args_node is not None and any(
            isinstance(c, Token) and c.type == "ELLIPSIS" for c in args_node.children)
        if name in ("try", "can"):
            return self.try_(name, arg_nodes, where)
        args = [self.eval(a) for a in arg_nodes]
        if expand:
            if not args or not isinstance(args[-1], list):
                raise Untranslatable(where, "... expands a list")
            args = args[:-1] + args[-1]
        fn = FUNCTIONS.get(name)
        if fn is None:
            raise Untranslatable(where, f"the function {name}() is not evaluated")
        try:
            return fn(_Call(self.scope, self.file, where), *args)
        except Untranslatable:
            raise
        except (TypeError, ValueError, KeyError, IndexError) as exc:
            raise Untranslatable(where, f"{name}(): {exc}") from None

    def try_(self, name: str, arg_nodes: list[Tree[Token]], where: Where) -> Any:
        for a in arg_nodes:
            try:
                value = self.eval(a)
            except Untranslatable:
                continue
            return True if name == "can" else value
        if name == "can":
            return False
        raise Untranslatable(where, "no argument of try() could be evaluated")


def apply_steps(value: Any, steps: Sequence[Step], where: Where) -> Any:
    """Follow ``.attr``, ``[index]`` and splats into a value."""
    for i, s in enumerate(steps):
        if s.kind == "splat":
            items = [] if value is None else value if isinstance(value, list) else [value]
            return apply_steps([apply_steps(v, s.rest, where) for v in items], steps[i + 1:], where)
        if hasattr(value, "get_attr") and s.kind == "attr":
            value = value.get_attr(s.value, where)
        elif isinstance(value, dict):
            key = to_text(s.value, where)
            if key not in value:
                raise Untranslatable(where, f"no key {key!r} here")
            value = value[key]
        elif isinstance(value, list) and s.kind == "index":
            idx = int(_number(s.value, where))
            if not 0 <= idx < len(value):
                raise Untranslatable(where, f"index {idx} is out of range")
            value = value[idx]
        else:
            raise Untranslatable(where, f"cannot take {'.' + str(s.value) if s.kind == 'attr' else '[...]'}"
                                 f" of a {_type(value)}")
    return value


# -- templates (heredocs, templatefile, template_file) ----------------------------------------------

def render_template(text: str, scope: Scope, file: str, first_line: int = 1) -> str:
    """A Terraform string template: ``${expr}`` interpolated, ``$${`` and ``%%{`` unescaped.

    Raises:
        Untranslatable: for ``%{`` directives, which are not evaluated.
    """
    out: list[str] = []
    i = 0
    while i < len(text):
        j = min((k for k in (text.find("${", i), text.find("%{", i)) if k >= 0), default=-1)
        if j < 0:
            out.append(text[i:])
            break
        line = first_line + text.count("\n", 0, j)
        escaped = j > 0 and text[j - 1] == text[j]
        if escaped:
            out.append(text[i:j - 1] + text[j:j + 2])
            i = j + 2
            continue
        out.append(text[i:j])
        if text[j] == "%":
            raise Untranslatable(Where(file, line), "template directives (%{ ... }) are not "
                                 "evaluated")
        end = _closing(text, j + 2)
        if end < 0:
            raise Untranslatable(Where(file, line), "an interpolation ${ is never closed")
        inner = text[j + 2:end].strip()
        if inner.startswith("~") or inner.endswith("~"):
            raise Untranslatable(Where(file, line), "whitespace strip markers (~) are not evaluated")
        try:
            node = expression(inner, file, line)
        except SyntaxProblem:
            raise Untranslatable(Where(file, line), f"${{{inner[:60]}}} is not an expression "
                                 "(an IAM policy variable in a template is written $${...})") from None
        out.append(to_text(_Evaluator(scope, file).eval(node), Where(file, line)))
        i = end + 1
    return "".join(out)


def _closing(text: str, start: int) -> int:
    """Index of the ``}`` that closes an interpolation opened just before ``start``."""
    depth, i, quote = 0, start, False
    while i < len(text):
        c = text[i]
        if quote:
            if c == "\\":
                i += 2
                continue
            if c == '"':
                quote = False
        elif c == '"':
            quote = True
        elif c == "{":
            depth += 1
        elif c == "}":
            if depth == 0:
                return i
            depth -= 1
        i += 1
    return -1


# -- functions ------------------------------------------------------------------------------------

@dataclass(frozen=True)
class _Call:
    scope: Scope
    file: str
    where: Where


def _read(c: _Call, path: Any) -> str:
    p = to_text(path, c.where)
    try:
        return c.scope.file_reader.read(p)
    except (OSError, UnicodeDecodeError) as exc:
        raise Untranslatable(c.where, f"cannot read {p}: {getattr(exc, 'strerror', None) or exc}") from None


def _templatefile(c: _Call, path: Any, variables: Any = None) -> str:
    if not isinstance(variables, (dict, type(None))):
        raise Untranslatable(c.where, "templatefile() takes a map of variables")
    text = _read(c, path)
    scope = Scope(None, c.scope.path, c.scope.file_reader, c.scope.resolver,
                  dict(variables or {}), only_names=True)
    return render_template(text, scope, relative(".", to_text(path, c.where)))


def _fileset(c: _Call, base: Any, pattern: Any) -> list[str]:
    return c.scope.file_reader.glob(to_text(base, c.where), to_text(pattern, c.where))


def _jsondecode(c: _Call, text: Any) -> Any:
    try:
        return json.loads(to_text(text, c.where))
    except ValueError as exc:
        raise Untranslatable(c.where, f"jsondecode(): not JSON ({exc})") from None


def _yamldecode(c: _Call, text: Any) -> Any:
    try:
        return yaml.safe_load(to_text(text, c.where))
    except yaml.YAMLError as exc:
        raise Untranslatable(c.where, f"yamldecode(): not YAML ({str(exc).splitlines()[0]})") from None


def _flatten(c: _Call, value: Any) -> list[Any]:
    out: list[Any] = []
    for v in value:
        out.extend(_flatten(c, v) if isinstance(v, list) else [v])
    return out


def _merge(c: _Call, *maps: Any) -> dict[str, Any]:
    out: dict[str, Any] = {}
    for m in maps:
        if m is None:
            continue
        if not isinstance(m, dict):
            raise Untranslatable(c.where, "merge() takes maps")
        out.update(m)
    return out


def _set(c: _Call, value: Any) -> list[Any]:
    if not isinstance(value, list):
        raise Untranslatable(c.where, "toset() takes a list")
    return sorted(dict.fromkeys(value), key=lambda v: (_type(v), str(v)))


def _replace(c: _Call, text: Any, search: Any, replacement: Any) -> str:
    s, pat, rep = to_text(text, c.where), to_text(search, c.where), to_text(replacement, c.where)
    if len(pat) > 1 and pat.startswith("/") and pat.endswith("/"):
        return re.sub(pat[1:-1], re.sub(r"\$\{?(\d+)\}?", r"\\\1", rep), s)
    return s.replace(pat, rep)


def _format(c: _Call, spec: Any, *args: Any) -> str:
    fmt = to_text(spec, c.where)
    values = iter(args)

    def one(m: re.Match[str]) -> str:
        verb = m.group(1)
        if verb == "%":
            return "%"
        value = next(values)
        if verb == "q":
            return json.dumps(to_text(value, c.where))
        if verb == "d":
            return str(int(_number(value, c.where)))
        return to_text(value, c.where)

    return re.sub(r"%([sdvq%])", one, fmt)


def _lookup(c: _Call, m: Any, key: Any, *default: Any) -> Any:
    k = to_text(key, c.where)
    if isinstance(m, dict) and k in m:
        return m[k]
    if default:
        return default[0]
    raise Untranslatable(c.where, f"lookup(): no key {k!r}")


def _coalesce(c: _Call, *values: Any) -> Any:
    for v in values:
        if v is not None and v != "":
            return v
    raise Untranslatable(c.where, "coalesce(): every argument is null or empty")


def _length(c: _Call, value: Any) -> int:
    if isinstance(value, (list, dict, str)):
        return len(value)
    raise Untranslatable(c.where, f"length() of a {_type(value)}")


def _element(c: _Call, values: Any, index: Any) -> Any:
    return values[int(_number(index, c.where)) % len(values)]


FUNCTIONS: dict[str, Callable[..., Any]] = {
    "jsonencode": lambda c, v: json.dumps(json_value(v, c.where), separators=(",", ":"),
                                          ensure_ascii=False),
    "jsondecode": _jsondecode,
    "yamldecode": _yamldecode,
    "file": _read,
    "templatefile": _templatefile,
    "fileset": _fileset,
    "fileexists": lambda c, p: _exists(c, p),
    "concat": lambda c, *lists: [v for x in lists for v in x],
    "flatten": _flatten,
    "merge": _merge,
    "tolist": lambda c, v: list(v),
    "toset": _set,
    "tomap": lambda c, v: dict(v),
    "tostring": lambda c, v: None if v is None else to_text(v, c.where),
    "tonumber": lambda c, v: None if v is None else _number(v, c.where),
    "tobool": lambda c, v: None if v is None else _bool(v, c.where),
    "distinct": lambda c, v: [json.loads(x) for x in dict.fromkeys(
        json.dumps(json_value(e, c.where), sort_keys=True) for e in v)],
    "compact": lambda c, v: [x for x in v if x not in (None, "")],
    "join": lambda c, sep, *lists: to_text(sep, c.where).join(
        to_text(x, c.where) for lst in lists for x in lst),
    "split": lambda c, sep, s: to_text(s, c.where).split(to_text(sep, c.where)),
    "trimprefix": lambda c, s, p: to_text(s, c.where).removeprefix(to_text(p, c.where)),
    "trimsuffix": lambda c, s, p: to_text(s, c.where).removesuffix(to_text(p, c.where)),
    "trimspace": lambda c, s: to_text(s, c.where).strip(),
    "basename": lambda c, s: PurePosixPath(to_text(s, c.where)).name,
    "dirname": lambda c, s: str(PurePosixPath(to_text(s, c.where)).parent),
    "trim": lambda c, s, chars: to_text(s, c.where).strip(to_text(chars, c.where)),
    "replace": _replace,
    "lower": lambda c, s: to_text(s, c.where).lower(),
    "title": lambda c, s: re.sub(r"\b[a-z]", lambda m: m.group(0).upper(), to_text(s, c.where)),
    "startswith": lambda c, s, p: to_text(s, c.where).startswith(to_text(p, c.where)),
    "endswith": lambda c, s, p: to_text(s, c.where).endswith(to_text(p, c.where)),
    "strcontains": lambda c, s, p: to_text(p, c.where) in to_text(s, c.where),
    "substr": lambda c, s, o, n: _substr(to_text(s, c.where), int(_number(o, c.where)),
                                         int(_number(n, c.where))),
    "upper": lambda c, s: to_text(s, c.where).upper(),
    "format": _format,
    "lookup": _lookup,
    "coalesce": _coalesce,
    "coalescelist": lambda c, *lists: next((x for x in lists if x), []),
    "values": lambda c, m: [m[k] for k in sorted(m)],
    "keys": lambda c, m: sorted(m),
    "length": _length,
    "contains": lambda c, lst, v: v in lst,
    "element": _element,
    "zipmap": lambda c, ks, vs: {to_text(k, c.where): v for k, v in zip(ks, vs, strict=True)},
    "sort": lambda c, v: sorted(to_text(x, c.where) for x in v),
    "reverse": lambda c, v: list(reversed(v)),
    "slice": lambda c, v, a, b: v[int(_number(a, c.where)):int(_number(b, c.where))],
    "range": lambda c, *a: list(range(*(int(_number(x, c.where)) for x in a))),
    "max": lambda c, *a: max(_number(x, c.where) for x in a),
    "min": lambda c, *a: min(_number(x, c.where) for x in a),
}


def _substr(s: str, offset: int, length: int) -> str:
    start = offset if offset >= 0 else len(s) + offset
    return s[start:] if length < 0 else s[start:start + length]


def _exists(c: _Call, path: Any) -> bool:
    try:
        c.scope.file_reader.read(to_text(path, c.where))
    except (OSError, UnicodeDecodeError):
        return False
    return True


def glob_match(paths: Sequence[str], pattern: str) -> list[str]:
    """``fileset`` matching: ``*`` within a folder, ``**`` across folders."""
    regex = re.escape(pattern).replace(r"\*\*/", "(?:.*/)?").replace(r"\*\*", ".*").replace(
        r"\*", "[^/]*").replace(r"\?", "[^/]")
    return sorted(p for p in paths if re.fullmatch(regex, p))


def relative(base: str, path: str) -> str:
    """``path`` (relative to the root module) under ``base``, normalised without resolving links."""
    parts: list[str] = []
    for part in PurePosixPath(base, path).parts:
        if part == "..":
            if parts and parts[-1] != "..":
                parts.pop()
            else:
                parts.append(part)
        elif part != ".":
            parts.append(part)
    return "/".join(parts) or "."


__all__ = ["FUNCTIONS", "Files", "Resolver", "Scope", "Step", "Untranslatable", "apply_steps",
           "evaluate", "glob_match", "json_value", "relative", "render_template",
           "to_text"]
