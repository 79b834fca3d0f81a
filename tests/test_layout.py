"""The package's shape: imports point one way, from the command line down to shared helpers.

The import graph is read from the source with ``ast`` (imports inside functions and under
TYPE_CHECKING count: they are dependencies all the same), so a cycle or a climb back up a layer
fails here before it confuses a reader. The checker is proved on small synthetic packages.
"""

from __future__ import annotations

import ast
from collections.abc import Iterable, Mapping
from pathlib import Path

from support import REPO

PACKAGE = REPO / "generator" / "guardgen"

# Lower layers first. A module may import its own layer's package and anything below it.
LAYERS: tuple[frozenset[str], ...] = (
    frozenset({"guardgen", "guardgen.errors", "guardgen.forked", "guardgen.hcl",
               "guardgen.resources"}),
    frozenset({"guardgen.policy"}),
    frozenset({"guardgen.catalog"}),
    frozenset({"guardgen.config"}),
    frozenset({"guardgen.plan"}),
    frozenset({"guardgen.render"}),
    frozenset({"guardgen.output"}),
    frozenset({"guardgen.prove"}),
    frozenset({"guardgen.aws"}),
    frozenset({"guardgen.adopt"}),
    frozenset({"guardgen.pipeline"}),
    frozenset({"guardgen.cli"}),
)
# Where render, output, prove, aws and adopt sit relative to each other: side by side, never
# importing one another. The list above orders them only to give each a rank.
SIBLINGS = frozenset({"guardgen.render", "guardgen.output", "guardgen.prove", "guardgen.aws",
                      "guardgen.adopt"})
# Third-party packages only one part of guardgen may import.
CONFINED = {"typer": "guardgen.cli", "jinja2": "guardgen.render", "boto3": "guardgen.aws",
            "botocore": "guardgen.aws"}


def modules(root: Path, name: str) -> dict[str, Path]:
    """Every module of the package at ``root``, by dotted name (packages by their own name)."""
    out = {}
    for path in sorted(root.rglob("*.py")):
        parts = path.relative_to(root).with_suffix("").parts
        if parts[-1] == "__init__":
            parts = parts[:-1]
        out[".".join((name, *parts))] = path
    return out


def imports(mods: Mapping[str, Path]) -> dict[str, set[str]]:
    """Module → the names it imports: modules of the package, and other top-level packages."""
    graph: dict[str, set[str]] = {}
    for mod, path in mods.items():
        is_pkg = path.name == "__init__.py"
        here = mod.split(".") if is_pkg else mod.split(".")[:-1]
        found: set[str] = set()
        for node in ast.walk(ast.parse(path.read_text(encoding="utf-8"))):
            if isinstance(node, ast.Import):
                found.update(a.name for a in node.names)
            elif isinstance(node, ast.ImportFrom):
                if node.level:
                    base = here[: len(here) - node.level + 1]
                    target = ".".join(base + ([node.module] if node.module else []))
                else:
                    target = node.module or ""
                for a in node.names:
                    # `from pkg import sub` imports the module pkg.sub when there is one.
                    found.add(f"{target}.{a.name}" if f"{target}.{a.name}" in mods else target)
        graph[mod] = found
    return graph


def cycle(graph: Mapping[str, Iterable[str]]) -> list[str] | None:
    """One import cycle among the graph's own modules, as a path that returns to its start."""
    state: dict[str, int] = {}  # 1 on the stack, 2 done
    stack: list[str] = []

    def visit(m: str) -> list[str] | None:
        state[m] = 1
        stack.append(m)
        for n in sorted(graph.get(m, ())):
            if n not in graph:
                continue
            if state.get(n) == 1:
                return stack[stack.index(n):] + [n]
            if n not in state and (found := visit(n)) is not None:
                return found
        stack.pop()
        state[m] = 2
        return None

    for m in sorted(graph):
        if m not in state and (found := visit(m)) is not None:
            return found
    return None


def layer_of(mod: str, layers: tuple[frozenset[str], ...]) -> int:
    """The rank of the deepest layer entry that is ``mod`` or contains it."""
    best, rank = -1, -1
    for i, entries in enumerate(layers):
        for e in entries:
            if (mod == e or mod.startswith(e + ".")) and len(e) > best:
                best, rank = len(e), i
    return rank


def layer_violations(graph: Mapping[str, Iterable[str]], layers: tuple[frozenset[str], ...],
                     siblings: frozenset[str] = frozenset()) -> list[str]:
    """Imports that climb to a higher layer, or cross between sibling packages."""
    out = []
    for mod, targets in sorted(graph.items()):
        mine = layer_of(mod, layers)
        for t in sorted(targets):
            if t not in graph:
                continue
            theirs = layer_of(t, layers)
            own = next((e for e in layers[mine] if mod == e or mod.startswith(e + ".")), None)
            other = next((e for e in layers[theirs] if t == e or t.startswith(e + ".")), None)
            crosses = own in siblings and other in siblings and own != other
            if theirs > mine or crosses:
                out.append(f"{mod} imports {t}")
    return out


def confined_violations(graph: Mapping[str, Iterable[str]], confined: Mapping[str, str]) -> list[str]:
    """Imports of a confined third-party package from outside the part allowed to use it."""
    return [f"{mod} imports {t}" for mod, targets in sorted(graph.items()) for t in sorted(targets)
            for pkg, home in confined.items()
            if (t == pkg or t.startswith(pkg + ".")) and not (mod == home or mod.startswith(home + "."))]


GRAPH = imports(modules(PACKAGE, "guardgen"))


def test_every_module_has_a_layer() -> None:
    assert [m for m in GRAPH if layer_of(m, LAYERS) < 0] == []


def test_the_package_has_no_import_cycle() -> None:
    assert cycle(GRAPH) is None


def test_imports_point_down_the_layers() -> None:
    assert layer_violations(GRAPH, LAYERS, SIBLINGS) == []


def test_typer_jinja2_and_boto3_stay_in_their_layer() -> None:
    assert confined_violations(GRAPH, CONFINED) == []


def test_each_package_says_what_lives_there_and_what_it_may_import() -> None:
    for init in sorted(PACKAGE.glob("*/__init__.py")):
        doc = ast.get_docstring(ast.parse(init.read_text(encoding="utf-8")))
        assert doc and "import" in doc.split("\n\n")[0].lower(), init


# -- the checker on synthetic packages -------------------------------------------------------------

def _package(root: Path, files: Mapping[str, str]) -> dict[str, set[str]]:
    for rel, text in files.items():
        (root / rel).parent.mkdir(parents=True, exist_ok=True)
        (root / rel).write_text(text, encoding="utf-8")
    return imports(modules(root, "pkg"))


def test_a_cycle_is_found(tmp_path: Path) -> None:
    graph = _package(tmp_path, {
        "__init__.py": "",
        "low/__init__.py": "",
        "low/a.py": "def f():\n    from ..high import b  # a lazy import still makes a cycle\n",
        "high/__init__.py": "",
        "high/b.py": "from ..low import a\n",
    })
    found = cycle(graph)
    assert found is not None and found[0] == found[-1]
    assert set(found) == {"pkg.low.a", "pkg.high.b"}


def test_a_package_init_that_reexports_is_not_a_cycle(tmp_path: Path) -> None:
    graph = _package(tmp_path, {
        "__init__.py": "",
        "sub/__init__.py": "from .a import f\n",
        "sub/a.py": "from .b import g\ndef f(): return g()\n",
        "sub/b.py": "def g(): return 1\n",
    })
    assert graph["pkg.sub"] == {"pkg.sub.a"}
    assert cycle(graph) is None


def test_a_climb_and_a_confined_import_are_found(tmp_path: Path) -> None:
    graph = _package(tmp_path, {
        "__init__.py": "",
        "low.py": "import typer\nfrom . import high\n",
        "high.py": "from .low import x\n",
        "side/__init__.py": "from ..other import y\n",
        "other.py": "",
    })
    layers = (frozenset({"pkg", "pkg.low"}), frozenset({"pkg.side", "pkg.other"}),
              frozenset({"pkg.high"}))
    assert layer_violations(graph, layers, frozenset({"pkg.side", "pkg.other"})) == [
        "pkg.low imports pkg.high", "pkg.side imports pkg.other"]
    assert confined_violations(graph, {"typer": "pkg.high"}) == ["pkg.low imports typer"]
    assert cycle(graph) is not None  # low ↔ high
