"""Table, JSON and SARIF renderings of an audit (recorded data)."""

from __future__ import annotations

import json

from guardgen.aws import fetch as f
from guardgen.aws.audit import CHECKS, analyze
from guardgen.aws.report import format_json, format_sarif, format_table
from recorded import ACCOUNT, NOW, refused, snapshot


def test_json_report_round_trips_the_audit() -> None:
    audit = analyze(refused(snapshot(), f.STEP_TRAILS), now=NOW)
    doc = json.loads(format_json(audit))
    assert doc == audit.to_json()
    assert doc["account"] == ACCOUNT
    assert len(doc["findings"]) == len(audit.findings) and doc["unknown"]
    assert {u["check"] for u in doc["unknown"]} >= {"cloudtrail-not-logging-all-regions"}


def test_table_lists_every_finding_and_unknown() -> None:
    audit = analyze(refused(snapshot(), f.STEP_ALARMS), now=NOW)
    text = format_table([audit])
    lines = text.splitlines()
    assert lines[0].startswith(f"Account {ACCOUNT}: ")
    for x in audit.findings:
        assert any(x.id in line and x.resource in line and x.message in line for line in lines), x
    assert sum(1 for line in lines if line.startswith("unknown ")) == len(audit.unknown)


def test_sarif_is_2_1_0_with_a_rule_per_check() -> None:
    audit = analyze(snapshot(), now=NOW)
    log = json.loads(format_sarif([audit], "0.1.0"))
    assert log["version"] == "2.1.0" and log["$schema"].endswith("sarif-2.1.0.json")
    (run,) = log["runs"]
    rules = run["tool"]["driver"]["rules"]
    assert [r["id"] for r in rules] == [c.id for c in CHECKS]
    assert len(run["results"]) == len(audit.findings)
    fingerprints = set()
    for result, finding in zip(run["results"], audit.findings, strict=True):
        assert rules[result["ruleIndex"]]["id"] == result["ruleId"] == finding.id
        assert result["level"] in {"error", "warning", "note"}
        (location,) = result["locations"]
        assert location["logicalLocations"][0]["fullyQualifiedName"] == finding.resource
        fingerprints.add(result["partialFingerprints"]["guardgenFinding/v1"])
    assert len(fingerprints) == len(audit.findings)  # each finding keeps its own identity
    levels = {r["ruleId"]: r["level"] for r in run["results"]}
    assert levels["root-mfa-disabled"] == "error" and levels["role-without-boundary"] == "note"
