"""Data with metadata: the guardrail registries (SCPs, resource control policies, the EC2
declarative policy), the monitoring alarm registry, and the docs generated from them. Imports only
:mod:`guardgen.policy` and the shared helpers.

The guardrail registry's names are re-exported here (``catalog.REGISTRY``, ``catalog.statements``).
``REGISTRY`` holds the SCP guardrails, ``RCP_REGISTRY`` and ``DECLARATIVE_REGISTRY`` the others,
``ALL`` all three in that order, and ``BY_ID`` finds any of them; the alarm registry is
:mod:`guardgen.catalog.alarms`.
"""

from __future__ import annotations

from . import declarative, rcps
from .guardrails import (
    MISTAKES,
    REGISTRY,
    Case,
    Ec2Settings,
    Guardrail,
    Parameter,
    Params,
    PolicyType,
    Statement,
    everyone_statements,
    missing_parameters,
    statements,
)

RCP_REGISTRY: tuple[Guardrail, ...] = rcps.REGISTRY
DECLARATIVE_REGISTRY: tuple[Guardrail, ...] = declarative.REGISTRY
ALL: tuple[Guardrail, ...] = (*REGISTRY, *RCP_REGISTRY, *DECLARATIVE_REGISTRY)
BY_ID: dict[str, Guardrail] = {g.id: g for g in ALL}

__all__ = [
    "ALL", "BY_ID", "DECLARATIVE_REGISTRY", "MISTAKES", "RCP_REGISTRY", "REGISTRY", "Case",
    "Ec2Settings", "Guardrail", "Parameter", "Params", "PolicyType", "Statement",
    "everyone_statements", "missing_parameters", "statements",
]
