"""SCP quota profiles. AWS raised both quotas on 2026-05-15; ``legacy`` keeps the old ones."""

from __future__ import annotations

from dataclasses import dataclass


@dataclass(frozen=True)
class ScpLimits:
    policies_per_target: int  # SCPs attached to one root, OU or account
    max_bytes: int  # UTF-8 bytes of the deployed (minified) document


PROFILES: dict[str, ScpLimits] = {
    "current": ScpLimits(policies_per_target=10, max_bytes=10_240),
    "legacy": ScpLimits(policies_per_target=5, max_bytes=5_120),
}

# aws_organizations_policy description limit.
MAX_DESCRIPTION = 512
# aws_organizations_policy name limit.
MAX_POLICY_NAME = 128
