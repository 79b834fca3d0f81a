"""Audit reports as text: a plain table, JSON and SARIF 2.1.0. Pure: audits in, strings out."""

from __future__ import annotations

import hashlib
import json
from collections import Counter
from collections.abc import Sequence
from typing import Any

from .audit import BY_ID, CHECKS, RANK, AccountAudit, Finding

SARIF_SCHEMA = "https://json.schemastore.org/sarif-2.1.0.json"
_SARIF_LEVEL = {"critical": "error", "high": "error", "medium": "warning", "low": "note", "info": "note"}
# GitHub code scanning orders results by this property (0.0-10.0), beside the level.
_SECURITY_SEVERITY = {"critical": "9.5", "high": "8.0", "medium": "5.5", "low": "3.0", "info": "0.0"}


def _mistake(value: int | None) -> str:
    return f"#{value}" if value is not None else "-"


def format_table(audits: Sequence[AccountAudit]) -> str:
    """A text table per account: severity, check id, mistake, resource, message; then unknowns.

    Args:
        audits: One or more account audits.

    Returns:
        The text, ending with a newline.
    """
    out: list[str] = []
    for audit in audits:
        counts = Counter(x.severity for x in audit.findings)
        tally = ", ".join(f"{counts[s]} {s}" for s in sorted(counts, key=lambda s: -RANK[s])) or "no findings"
        out.append(f"Account {audit.account}: {tally}")
        if audit.findings:
            rows = [("SEVERITY", "CHECK", "MISTAKE", "RESOURCE", "MESSAGE")]
            rows += [(x.severity, x.id, _mistake(x.mistake), x.resource, x.message) for x in audit.findings]
            widths = [max(len(r[i]) for r in rows) for i in range(4)]
            for r in rows:
                out.append("  ".join(c.ljust(w) for c, w in zip(r[:4], widths, strict=True)) + "  " + r[4])
        for u in audit.unknown:
            out.append(f"unknown  {u.check}: {u.reason}")
        out.append("")
    return "\n".join(out)


def format_json(audit: AccountAudit) -> str:
    """The JSON report of one account: ``{"account": ..., "findings": [...], "unknown": [...]}``."""
    return json.dumps(audit.to_json(), indent=2) + "\n"


def _fingerprint(account: str, x: Finding) -> str:
    return hashlib.sha256(f"{account}|{x.id}|{x.resource}|{x.message}".encode()).hexdigest()


def format_sarif(audits: Sequence[AccountAudit], version: str) -> str:
    """A SARIF 2.1.0 log: one run, a rule per check, a result per finding located by its resource.

    Findings are not in files, so each result carries a logical location (the resource ARN or
    account id) and no physical one; ``partialFingerprints`` keep a finding's identity stable
    across runs so code scanning can track it.

    Args:
        audits: One or more account audits.
        version: guardgen's version, for the tool driver.
    """
    index = {c.id: n for n, c in enumerate(CHECKS)}
    rules = [{
        "id": c.id, "name": c.id, "shortDescription": {"text": c.title},
        "helpUri": c.source,
        "defaultConfiguration": {"level": _SARIF_LEVEL[c.severity]},
        "properties": {"mistake": c.mistake, "security-severity": _SECURITY_SEVERITY[c.severity],
                       "tags": ["security", "aws"]},
    } for c in CHECKS]
    results: list[dict[str, Any]] = []
    for audit in audits:
        for x in audit.findings:
            results.append({
                "ruleId": x.id, "ruleIndex": index[x.id], "level": _SARIF_LEVEL[x.severity],
                "message": {"text": x.message},
                "locations": [{"logicalLocations": [{"fullyQualifiedName": x.resource, "kind": "resource"}]}],
                "partialFingerprints": {"guardgenFinding/v1": _fingerprint(audit.account, x)},
                "properties": {"account": audit.account, "severity": x.severity, "mistake": x.mistake,
                               "security-severity": _SECURITY_SEVERITY[x.severity]},
            })
    notifications = [{"level": "warning", "message": {"text": f"{a.account}: {u.check} unknown: {u.reason}"},
                      "descriptor": {"id": u.check}} for a in audits for u in a.unknown if u.check in BY_ID]
    log = {
        "$schema": SARIF_SCHEMA, "version": "2.1.0",
        "runs": [{
            "tool": {"driver": {"name": "guardgen", "version": version, "semanticVersion": version,
                                "rules": rules}},
            "results": results,
            "invocations": [{"executionSuccessful": True, "toolExecutionNotifications": notifications}],
        }],
    }
    return json.dumps(log, indent=2) + "\n"
