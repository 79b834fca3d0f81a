"""What every command shares: the Typer app, common options, and the one place that turns a
guardgen error into a message and an exit code."""

from __future__ import annotations

from pathlib import Path
from typing import Annotated, NoReturn

import typer

from ..errors import ConfigError, GuardgenError

# 0 success; 1 a check failed (stale tree, failing scenario, findings); 2 invalid input or usage.
EXIT_OK, EXIT_STALE, EXIT_INVALID = 0, 1, 2
# Problems printed for an invalid configuration; the rest are counted.
MAX_PROBLEMS = 50

app = typer.Typer(
    help="Turn one organization description (guardgen.yaml) into the Terraform that locks an "
    "AWS Organization down.\n\nStart with `guardgen init DIR`, commit what it writes, and let CI "
    "run `guardgen check` on every change.",
    no_args_is_help=True,
    add_completion=True,
    rich_markup_mode=None,
    pretty_exceptions_enable=False,
)



def _print_version(value: bool) -> None:
    if value:
        from .. import __version__

        typer.echo(__version__)
        raise typer.Exit()


@app.callback()
def _options(
    version: Annotated[bool, typer.Option(
        "--version", help="Print guardgen's version and exit.", is_eager=True,
        callback=_print_version)] = False,
) -> None:
    """Options for every command; the app's help text stays the one given above."""


ConfigOpt = Annotated[Path, typer.Option("--config", "-c", help="The organization description.",
                                         dir_okay=False)]
OutputOpt = Annotated[Path | None, typer.Option(
    "--output", "-o", help="Output directory (default: `output:` in the config, relative to it; "
    "`terraform` if unset).", file_okay=False)]
QuietOpt = Annotated[bool, typer.Option("--quiet", "-q", help="Print only errors.")]


def describe(exc: Exception) -> str:
    """The message for an error: a configuration's problems one per line, located."""
    if isinstance(exc, ConfigError):
        n = len(exc.problems)
        shown = [f"  {p}" for p in exc.problems[:MAX_PROBLEMS]]
        if n > MAX_PROBLEMS:  # a config gone wrong at scale must not flood a terminal or a CI log
            shown.append(f"  ... and {n - MAX_PROBLEMS:,} more")
        return "\n".join([f"error: invalid configuration ({n} problem{'s' if n != 1 else ''}):",
                          *shown])
    return f"error: {exc}"


def fail(exc: GuardgenError | str) -> NoReturn:
    """Print the error on stderr and exit 2 (invalid input or usage)."""
    typer.echo(describe(exc) if isinstance(exc, Exception) else f"error: {exc}", err=True)
    raise typer.Exit(EXIT_INVALID)


def say(quiet: bool, msg: str) -> None:
    """Progress and summaries go to stderr, so stdout carries only what a command produces."""
    if not quiet:
        typer.echo(msg, err=True)
