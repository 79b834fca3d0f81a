"""AWS quotas on policies and organizations: the one place each number lives.

SCP quotas changed on 2026-05-15 (10 SCPs per target, 10,240 characters each; before: 5 and
5,120); ``legacy`` keeps the old ones. Resource control policy (RCP) quotas did not change: 5 per
target and 5,120 characters in both profiles, one slot taken by ``RCPFullAWSAccess``, which AWS
attaches everywhere and which cannot be detached. Organizations quotas:
https://docs.aws.amazon.com/organizations/latest/userguide/orgs_reference_limits.html
IAM quotas: https://docs.aws.amazon.com/IAM/latest/UserGuide/reference_iam-quotas.html
"""

from __future__ import annotations

from dataclasses import dataclass


@dataclass(frozen=True)
class ScpLimits:
    """The organization policy quotas of one profile (``current`` or ``legacy``)."""

    policies_per_target: int  # SCPs attached to one root, OU or account
    max_bytes: int  # UTF-8 bytes of the deployed (minified) document
    rcps_per_target: int = 5  # RCPs attached to one root, OU or account
    rcp_max_bytes: int = 5_120  # UTF-8 bytes of a deployed (minified) RCP


PROFILES: dict[str, ScpLimits] = {
    "current": ScpLimits(policies_per_target=10, max_bytes=10_240, rcps_per_target=5,
                         rcp_max_bytes=5_120),
    "legacy": ScpLimits(policies_per_target=5, max_bytes=5_120, rcps_per_target=5,
                        rcp_max_bytes=5_120),
}
SCP_MAX_BYTES: dict[str, int] = {name: p.max_bytes for name, p in PROFILES.items()}
# RCPFullAWSAccess: attached by AWS to every root, OU and account once RCPs are enabled.
RCP_RESERVED_SLOTS = 1
RCP_MAX_BYTES = PROFILES["current"].rcp_max_bytes
# Declarative policies (DECLARATIVE_POLICY_EC2): 10,000 characters each.
DECLARATIVE_MAX_BYTES = 10_000

# aws_organizations_policy description limit.
MAX_DESCRIPTION = 512
# aws_organizations_policy name limit.
MAX_POLICY_NAME = 128
# OU nesting below the root that AWS Organizations allows.
MAX_OU_DEPTH = 5

MAX_MANAGED_POLICY_CHARS = 6_144  # whitespace not counted
MAX_TRUST_POLICY_CHARS = 2_048  # default; raisable to 4,096
MAX_MANAGED_POLICIES_PER_ROLE = 10

# CloudWatch Logs accepts only these retention periods (days).
CLOUDWATCH_RETENTION_DAYS = (1, 3, 5, 7, 14, 30, 60, 90, 120, 150, 180, 365, 400, 545, 731, 1096,
                             1827, 2192, 2557, 2922, 3288, 3653)
