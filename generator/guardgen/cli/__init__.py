"""CLI: a thin Typer layer, one module per command or group; :mod:`.common` maps errors to exit
codes in one place. May import everything; nothing imports it. Heavy imports wait for a command.

Exit codes: 0 success; 1 a check failed (``check`` found the tree stale or edited, a ``verify``
scenario or a ``lint`` finding failed); 2 invalid input or usage (bad config, guardrails that do
not fit, files guardgen will not overwrite).

``app`` is built on first use: importing Typer and the commands costs more than the whole of
``guardgen --help`` may, so ``--help`` and ``--version`` are answered without them (see
:func:`main`).
"""

from __future__ import annotations

import gc
import os
import sys
from typing import TYPE_CHECKING, Any

if TYPE_CHECKING:
    import typer

# The top-level help as Typer renders it at the widest width click uses (78 columns, for any
# terminal of 80 or more). `scripts/regenerate-docs` writes it; a test proves it current.
HELP_FILE = os.path.join(os.path.dirname(__file__), "help.txt")
# click wraps help to the terminal's width minus 2, at most 80 - 2 (click.formatting).
_HELP_COLUMNS = 80

_built: typer.Typer | None = None


def _app() -> typer.Typer:
    global _built
    if _built is None:
        from . import alarms, audit, diff, generate, guardrails, lint, org, schema, verify
        from .common import app

        # Registration order is the order `guardgen --help` lists the commands in.
        app.add_typer(alarms.app, name="alarms")
        lint.register(app)
        generate.register(app)
        diff.register(app)
        guardrails.register(app)
        verify.register(app)
        schema.register(app)
        audit.register(app)
        org.register(app)
        _built = app
    return _built


def __getattr__(name: str) -> Any:
    if name == "app":
        return _app()
    raise AttributeError(f"module {__name__!r} has no attribute {name!r}")


def _columns() -> int:
    """The width click would read: shutil.get_terminal_size() without importing shutil."""
    try:
        columns = int(os.environ.get("COLUMNS", "0"))
    except ValueError:
        columns = 0
    if columns <= 0:
        try:
            columns = os.get_terminal_size(sys.__stdout__.fileno()).columns  # type: ignore[union-attr]
        except (AttributeError, ValueError, OSError):
            columns = 0
    return columns or _HELP_COLUMNS


def _quick_answer(argv: list[str]) -> str | None:
    """`guardgen --version` and, on a terminal at least 80 wide, `guardgen --help`; else None
    (Typer answers)."""
    if sys.stdout is None:
        return None
    if argv == ["--version"]:
        from .. import __version__

        return __version__ + "\n"
    # The file is rendered as `guardgen`, with shell detection for the completion options.
    if (argv == ["--help"] and _columns() >= _HELP_COLUMNS
            and os.path.basename(sys.argv[0]) == "guardgen"
            and "_TYPER_COMPLETE_TEST_DISABLE_SHELL_DETECTION" not in os.environ):
        try:
            with open(HELP_FILE, encoding="utf-8") as f:
                return f.read()
        except OSError:
            return None
    return None


def main() -> None:
    """Console-script entry point."""
    quick = _quick_answer(sys.argv[1:])
    if quick is not None:
        try:
            sys.stdout.write(quick)
            sys.stdout.flush()
        except BrokenPipeError:  # as click does: exit 1, nothing on stderr
            os.dup2(os.open(os.devnull, os.O_WRONLY), sys.stdout.fileno())
            sys.exit(1)
        return
    # A run builds millions of small acyclic objects (the plan, rendered text) and frees them at
    # exit; the default thresholds rescan the whole growing heap again and again, about a fifth
    # of a 10,000-account run. Young cycles are still collected; the old heap is rescanned rarely.
    gc.set_threshold(20_000, 50, 1_000)
    _app()()


__all__ = ["app", "main"]
