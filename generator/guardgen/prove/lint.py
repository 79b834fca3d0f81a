"""Lint options for a plan's documents: its SCP limit, break-glass principals and the statements
of its guardrails that apply to everyone. Pure."""

from __future__ import annotations

from .. import catalog
from ..plan import Plan
from ..policy.limits import SCP_MAX_BYTES
from ..policy.lint import LintOptions


def plan_options(p: Plan, scp_limit: str | None = None) -> LintOptions:
    """Options for linting a plan's documents.

    Args:
        p: The plan.
        scp_limit: ``current`` or ``legacy`` to override the config's ``scp_limits``.

    Returns:
        Its SCP byte limit, its break-glass principals and the statements of its guardrails that
        apply to everyone.
    """
    org = p.config.organization
    limit = SCP_MAX_BYTES[scp_limit] if scp_limit else p.limits.max_bytes
    return LintOptions(limit, tuple(org.break_glass_principals),
                       catalog.everyone_statements(p.guardrails, p.config.params))
