"""`guardgen schema` and `guardgen version`."""

from __future__ import annotations

import json

import typer


def schema() -> None:
    """Print the JSON Schema of guardgen.yaml (for editors and validation)."""
    from .. import config

    typer.echo(json.dumps(config.json_schema(), indent=2, sort_keys=True))


def version() -> None:
    """Print guardgen's version."""
    from .. import __version__

    typer.echo(__version__)


def register(app: typer.Typer) -> None:
    """Add the commands to the main app."""
    app.command()(schema)
    app.command()(version)
