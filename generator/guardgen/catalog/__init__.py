"""Data with metadata: the SCP guardrail registry, the monitoring alarm registry, and the docs
generated from them. Imports only :mod:`guardgen.policy` and the shared helpers.

The guardrail registry's names are re-exported here (``catalog.REGISTRY``, ``catalog.statements``);
the alarm registry is :mod:`guardgen.catalog.alarms`.
"""

from __future__ import annotations

from .guardrails import (
    BY_ID,
    MISTAKES,
    REGISTRY,
    Case,
    Guardrail,
    Parameter,
    Params,
    Statement,
    everyone_statements,
    missing_parameters,
    statements,
)

__all__ = [
    "BY_ID", "MISTAKES", "REGISTRY", "Case", "Guardrail", "Parameter", "Params", "Statement",
    "everyone_statements", "missing_parameters", "statements",
]
