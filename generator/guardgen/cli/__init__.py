"""CLI: a thin Typer layer, one module per command or group; :mod:`.common` maps errors to exit
codes in one place. May import everything; nothing imports it. Heavy imports wait for a command.

Exit codes: 0 success; 1 a check failed (``check`` found the tree stale or edited, a ``verify``
scenario or a ``lint`` finding failed); 2 invalid input or usage (bad config, guardrails that do
not fit, files guardgen will not overwrite).
"""

from __future__ import annotations

import gc

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


def main() -> None:
    """Console-script entry point."""
    # A run builds millions of small acyclic objects (the plan, rendered text) and frees them at
    # exit; the default thresholds rescan the whole growing heap again and again, about a fifth
    # of a 10,000-account run. Young cycles are still collected; the old heap is rescanned rarely.
    gc.set_threshold(20_000, 50, 1_000)
    app()


__all__ = ["app", "main"]
