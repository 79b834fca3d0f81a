"""Findings as text for a terminal, JSON for tools, SARIF 2.1.0 for code scanning."""

from __future__ import annotations

import hashlib
import re
from collections.abc import Sequence
from typing import TYPE_CHECKING, Any
from urllib.parse import quote

from ..documents import pretty
from .model import KINDS, SEVERITIES, Finding, LintInput, Rule, Severity
from .rules import REGISTRY

if TYPE_CHECKING:
    pass

# -- output formats --------------------------------------------------------------------------------

def summary(findings: Sequence[Finding], documents: int) -> str:
    """One line: how many documents, how many findings of each severity."""
    if not findings:
        return f"{documents} policy document{'s' if documents != 1 else ''} checked: no findings."
    count = {s: sum(1 for f in findings if f.severity == s) for s in SEVERITIES}
    files = len({f.path for f in findings})
    return (f"{len(findings)} finding{'s' if len(findings) != 1 else ''} in {files} of {documents} "
            f"policy documents: {count['error']} error(s), {count['warning']} warning(s), "
            f"{count['info']} info.")


def format_text(findings: Sequence[Finding]) -> str:
    """Render findings for a terminal or a CI log.

    Args:
        findings: What :func:`lint` returned.

    Returns:
        One line per finding, ``path:line:col: severity ID name: message (at POINTER; where)``
        (``path:`` alone when the line is unknown); empty when there are none.
    """
    lines = []
    for f in findings:
        place = f"{f.path}:{f.line}:{f.column}" if f.line is not None else f.path
        context = "; ".join(x for x in (f"at {f.pointer or '/'}", f.where) if x)
        lines.append(f"{place}: {f.severity} {f.rule} {f.name}: {f.message} ({context})")
    return "".join(line + "\n" for line in lines)


def _finding_json(f: Finding) -> dict[str, Any]:
    return {"rule": f.rule, "name": f.name, "severity": f.severity, "message": f.message,
            "path": f.path, "pointer": f.pointer, "line": f.line, "column": f.column,
            "where": f.where, "source": f.source}


def format_json(findings: Sequence[Finding], docs: Sequence[LintInput], version: str) -> str:
    """Render a machine-readable report.

    Args:
        findings: What :func:`lint` returned.
        docs: The documents linted (listed with their type and why it was chosen).
        version: guardgen's version.

    Returns:
        JSON with ``tool``, ``version``, ``documents``, ``findings`` (rule, name, severity,
        message, path, pointer, line, column, where, source) and ``summary`` (counts).
    """
    count = {s: sum(1 for f in findings if f.severity == s) for s in SEVERITIES}
    report: dict[str, Any] = {
        "tool": "guardgen", "version": version,
        "documents": [{"path": d.path, "kind": d.kind, "kind_reason": d.kind_reason, "where": d.where}
                      for d in docs],
        "findings": [_finding_json(f) for f in findings],
        "summary": {"documents": len(docs), "findings": len(findings), **count},
    }
    # json.dumps(..., indent=2, ensure_ascii=False) exactly, without the standard library's
    # pure-Python encoder: a plan's report lists tens of thousands of documents.
    return pretty(report) + "\n"


SARIF_SCHEMA = "https://json.schemastore.org/sarif-2.1.0.json"
_SARIF_LEVEL: dict[Severity, str] = {"error": "error", "warning": "warning", "info": "note"}
_SECURITY_SEVERITY: dict[Severity, str] = {"error": "7.5", "warning": "5.0", "info": "2.0"}


def _sarif_rule(rule: Rule) -> dict[str, Any]:
    kinds = sorted(rule.applies_to, key=KINDS.index)
    return {
        "id": rule.id,
        "name": rule.name,
        "shortDescription": {"text": rule.title},
        "fullDescription": {"text": rule.description},
        "help": {"text": f"{rule.description}\n\nSee {rule.source}",
                 "markdown": f"{rule.description}\n\n[Reference]({rule.source})"},
        "helpUri": rule.source,
        "defaultConfiguration": {"level": _SARIF_LEVEL[rule.severity]},
        # security-severity makes GitHub rank the alerts (>= 7 high, >= 4 medium, else low).
        "properties": {"tags": ["security", "iam", *kinds], "precision": "high",
                       "security-severity": _SECURITY_SEVERITY[rule.severity]},
    }


def _fingerprint(f: Finding) -> str:
    text = "\0".join((f.rule, f.path, f.pointer, f.message))
    return hashlib.sha256(text.encode("utf-8")).hexdigest()[:32]


def _uri(path: str) -> str:
    """A SARIF artifact URI: a relative reference (GitHub resolves it against the repository
    root) or, for a file outside the working directory, an absolute file: URI."""
    posix = path.replace("\\", "/")
    if posix.startswith("/"):
        return "file://" + quote(posix)
    if re.match(r"[A-Za-z]:/", posix):  # a Windows drive
        return "file:///" + quote(posix)
    return quote(posix)


def _sarif_result(f: Finding, index: int) -> dict[str, Any]:
    physical: dict[str, Any] = {"artifactLocation": {"uri": _uri(f.path)}}
    if f.line is not None:
        physical["region"] = {"startLine": f.line, "startColumn": f.column or 1}
    result: dict[str, Any] = {
        "ruleId": f.rule,
        "ruleIndex": index,
        "level": _SARIF_LEVEL[f.severity],
        "message": {"text": f.message + (f" ({f.where})" if f.where else "")},
        "locations": [{"physicalLocation": physical,
                       "logicalLocations": [{"fullyQualifiedName": f.pointer or "/",
                                             "kind": "member"}]}],
        "partialFingerprints": {"guardgenFinding/v1": _fingerprint(f)},
    }
    return result


def _sarif_artifact(doc: LintInput) -> dict[str, Any]:
    return {"location": {"uri": _uri(doc.path)},
            "properties": {"policyType": doc.kind, "policyTypeReason": doc.kind_reason}}


def format_sarif(findings: Sequence[Finding], version: str,
                 docs: Sequence[LintInput] | None = None) -> str:
    """Render a SARIF 2.1.0 log for GitHub code scanning (``upload-sarif``).

    Args:
        findings: What :func:`lint` returned.
        version: guardgen's version, the driver's.
        docs: The documents linted; when given, listed as the run's artifacts with the policy
            type each was linted as and why (``properties.policyType``, ``policyTypeReason``).

    Returns:
        One run whose driver lists every rule of the registry (id, name, descriptions, helpUri,
        default level) and whose results locate each finding by file URI, line and column when
        known, and JSON pointer (as a logical location).
    """
    index = {r.id: n for n, r in enumerate(REGISTRY)}
    run: dict[str, Any] = {
        "tool": {"driver": {"name": "guardgen", "version": version, "semanticVersion": version,
                            "rules": [_sarif_rule(r) for r in REGISTRY]}},
        "columnKind": "unicodeCodePoints",
    }
    if docs is not None:
        run["artifacts"] = [_sarif_artifact(d) for d in docs]
    run["results"] = [_sarif_result(f, index[f.rule]) for f in findings]
    log = {"$schema": SARIF_SCHEMA, "version": "2.1.0", "runs": [run]}
    return pretty(log) + "\n"
