"""Load: the organization description (guardgen.yaml) from YAML with positions to strict models,
with every problem located by file:line:col. Imports :mod:`guardgen.catalog` and the helpers below it.

:mod:`.source` reads YAML keeping positions, :mod:`.models` is the schema, :mod:`.checks` validates
and cross-checks, :mod:`.placement` resolves where IAM resources go.
"""

from __future__ import annotations

from .checks import Check, check_iam, check_monitoring, load, loads, validate
from .custom import ACCOUNT_ID, GUARDRAIL_ID
from .models import (
    PRINCIPAL_ARN,
    REGION,
    Account,
    Backend,
    CiRole,
    Config,
    CrossAccountRole,
    Grant,
    InstanceProfile,
    Loaded,
    Monitoring,
    Organization,
    PermissionBoundary,
    Placement,
    Unit,
    json_schema,
    walk,
)

__all__ = [
    "ACCOUNT_ID", "GUARDRAIL_ID", "PRINCIPAL_ARN", "REGION", "Account", "Backend", "Check",
    "CiRole", "Config", "CrossAccountRole", "Grant", "InstanceProfile", "Loaded", "Monitoring",
    "Organization", "PermissionBoundary", "Placement", "Unit", "check_iam", "check_monitoring",
    "json_schema", "load", "loads", "validate", "walk",
]
