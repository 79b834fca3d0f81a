"""Plan: pure decisions from a valid config (where guardrails attach, SCP and RCP packing, EC2
declarative policies, IAM per member account, trust documents, monitoring). Imports config/,
catalog/, policy/ and the shared helpers.

:data:`CHECKS` are the checks of what planning builds (trust shapes, IAM quotas); loading runs
them with its own, so every problem is reported at once (:func:`guardgen.pipeline.load`).
"""

from __future__ import annotations

from ..config import Check
from ..policy.documents import minify
from . import iam
from .organization import (
    POLICY_VERSION,
    OuPlan,
    Plan,
    Policy,
    PolicyDoc,
    Target,
    build,
    pack,
    policy_documents,
    size,
)

CHECKS: tuple[Check, ...] = (iam.check,)

__all__ = [
    "CHECKS", "POLICY_VERSION", "OuPlan", "Plan", "Policy", "PolicyDoc", "Target", "build",
    "minify", "pack", "policy_documents", "size",
]
