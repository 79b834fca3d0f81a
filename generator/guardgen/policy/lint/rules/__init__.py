"""Every lint rule, one family per module; each rule's metadata sits beside its check.

The order of :data:`REGISTRY` is the order of the ids. Imports only ``..model`` and the IAM catalog.
"""

from __future__ import annotations

from ..model import Rule
from . import catalog, conditions, grants, language, quotas, rcp, scp, trust

REGISTRY: tuple[Rule, ...] = (
    *language.RULES, *catalog.RULES, *quotas.RULES, *grants.RULES, *trust.RULES,
    *conditions.RULES, *scp.RULES, *rcp.RULES,
)

BY_ID: dict[str, Rule] = {r.id: r for r in REGISTRY}
