"""`guardgen verify`: the built-in suite, scenario files, and mutations it must catch."""

from __future__ import annotations

import dataclasses
import json
import re
from pathlib import Path

import pytest

from guardgen import catalog, pipeline, plan
from guardgen.prove import verify
from support import EXAMPLES

CONFIGS = sorted(EXAMPLES.glob("*/guardgen.yaml"))
IAM = EXAMPLES / "iam"


def build(cfg: Path) -> plan.Plan:
    return plan.build(pipeline.load(cfg).config)


@pytest.mark.parametrize("cfg", CONFIGS, ids=lambda p: p.parent.name)
def test_every_example_verifies_clean(cfg: Path) -> None:
    p = build(cfg)
    outcomes = verify.run(p, verify.builtin_scenarios(p))
    assert outcomes
    assert verify.failures(outcomes) == []


def test_builtin_suite_covers_every_guardrail_case_and_break_glass() -> None:
    p = build(IAM / "guardgen.yaml")
    names = [s.name for s in verify.builtin_scenarios(p)]
    assert any("protect-cloudtrail denies cloudtrail:StopLogging" in n for n in names)
    assert any("spares arn:aws:iam::*:role/BreakGlassAdmin" in n for n in names)
    assert any("deny-leave-organization still denies arn:aws:iam::*:role/BreakGlassAdmin" in n
               for n in names)
    assert any("enforce-boundary-workload-boundary denies creating a role without a boundary" in n
               for n in names)


def _with_policy(p: plan.Plan, index: int, doc: dict[str, object]) -> plan.Plan:
    pol = dataclasses.replace(p.policies[index], content=json.dumps(doc, separators=(",", ":")))
    return dataclasses.replace(p, policies=p.policies[:index] + (pol,) + p.policies[index + 1:])


def _mutants(p: plan.Plan) -> list[tuple[str, plan.Plan]]:
    """Every plan obtained by removing one statement or one break-glass exemption."""
    out = []
    for i, pol in enumerate(p.policies):
        stmts = json.loads(pol.content)["Statement"]
        for k, stmt in enumerate(stmts):
            doc = json.loads(pol.content)
            del doc["Statement"][k]
            if doc["Statement"]:
                out.append((f"{pol.name}: without {stmt['Sid']}", _with_policy(p, i, doc)))
            if "ArnNotLike" in stmt.get("Condition", {}):
                doc = json.loads(pol.content)
                del doc["Statement"][k]["Condition"]["ArnNotLike"]
                out.append((f"{pol.name}: {stmt['Sid']} without its exemption",
                            _with_policy(p, i, doc)))
    return out


@pytest.mark.parametrize("cfg", CONFIGS, ids=lambda p: p.parent.name)
def test_every_mutation_is_caught_with_a_counterexample(cfg: Path) -> None:
    p = build(cfg)
    mutants = _mutants(p)
    assert mutants
    for what, m in mutants:
        failed = verify.failures(verify.run(m, verify.builtin_scenarios(m)))
        assert failed, f"verify did not notice: {what}"
        text = failed[0].describe()
        assert text.startswith("FAILED: built-in: ")
        assert "Denied:" in text or "Allowed:" in text


def test_a_scp_without_full_aws_access_denies_everything(monkeypatch) -> None:
    p = build(IAM / "guardgen.yaml")
    s = verify.Scenario(name="read a bucket", principal="arn:aws:iam::444444444444:role/Admin",
                        account="444444444444", action="s3:GetObject",
                        resource="arn:aws:s3:::b/k", context={"aws:RequestedRegion": "us-east-1"},
                        expect="allow")
    assert verify.run(p, [s])[0].ok
    # Detaching FullAWSAccess leaves levels that only deny: everything else is denied.
    monkeypatch.setattr(verify, "FULL_AWS_ACCESS", verify.evaluate.Policy("deny-only", {
        "Version": "2012-10-17", "Statement": [{"Effect": "Deny", "Action": "x:Y", "Resource": "*"}]}))
    out = verify.run(p, [s])[0]
    assert not out.ok and out.decision.reason == "scp-implicit-deny"


def test_issue_scenario_file_loads_and_holds(cli) -> None:
    r = cli("verify", "--config", IAM / "guardgen.yaml", IAM / "scenarios.yaml", "--verbose")
    assert r.exit_code == 0, r.output
    assert "ok: " in r.output and "scenarios.yaml:3:5: workload admin cannot stop cloudtrail" \
        in r.output


def test_a_failing_scenario_exits_1_and_names_the_deciding_statement(cli, tmp_path: Path) -> None:
    f = tmp_path / "s.yaml"
    f.write_text("scenarios:\n"
                 "  - name: admin can stop cloudtrail (wrong)\n"
                 "    principal: arn:aws:iam::444444444444:role/Admin\n"
                 '    account: "444444444444"\n'
                 "    action: cloudtrail:StopLogging\n"
                 "    resource: arn:aws:cloudtrail:us-east-1:444444444444:trail/org\n"
                 "    context: { \"aws:RequestedRegion\": us-east-1 }\n"
                 "    expect: allow\n")
    r = cli("verify", "-c", IAM / "guardgen.yaml", f)
    assert r.exit_code == 1
    assert f"FAILED: {f}:2:5: admin can stop cloudtrail (wrong)" in r.output
    assert 'Sid "ProtectCloudtrail"' in r.output and "guardgen-ou-workloads-1" in r.output


@pytest.mark.parametrize(("body", "pattern"), [
    ("scenarios:\n  - name: x\n    principal: arn:aws:iam::444444444444:role/A\n"
     '    account: "44"\n    action: s3:GetObject\n    expect: deny\n',
     r"s\.yaml:4:5: scenarios\[0\]\.account"),
    ("scenarios:\n  - name: x\n    principal: arn:aws:iam::444444444444:role/A\n"
     '    account: "444444444444"\n    action: s3:GetObject\n    expect: maybe\n',
     r"s\.yaml:6:5: scenarios\[0\]\.expect"),
    ("scenarios:\n  - name: x\n    principal: arn:aws:iam::999999999999:role/A\n"
     '    account: "999999999999"\n    action: s3:GetObject\n    expect: deny\n',
     r"s\.yaml:2:5: account 999999999999 is not in the organization description"),
    ("scenarios: [\n", r"s\.yaml:\d+:\d+: YAML syntax error"),
])
def test_bad_scenario_files_exit_2(cli, tmp_path: Path, body: str, pattern: str) -> None:
    f = tmp_path / "s.yaml"
    f.write_text(body)
    r = cli("verify", "-c", IAM / "guardgen.yaml", f)
    assert r.exit_code == 2, r.output
    assert re.search(pattern, r.output), r.output


def test_check_runs_the_builtin_suite(cli, tmp_path: Path, monkeypatch) -> None:
    cfg = tmp_path / "guardgen.yaml"
    cfg.write_text((EXAMPLES / "acme" / "guardgen.yaml").read_text())
    assert cli("generate", "-c", cfg).exit_code == 0
    r = cli("check", "-c", cfg)
    assert r.exit_code == 0 and "verify: all" in r.output
    # A guardrail whose statements no longer deny what its cases say is caught by check.
    g = catalog.BY_ID["protect-cloudtrail"]
    broken = dataclasses.replace(g, cases=lambda p: [
        *g.cases(p), catalog.Case("reading trails", "cloudtrail:DescribeTrails")])
    monkeypatch.setitem(catalog.BY_ID, "protect-cloudtrail", broken)
    r = cli("check", "-c", cfg)
    assert r.exit_code == 1
    assert "protect-cloudtrail denies reading trails" in r.output


def test_guardgen_managed_roles_get_their_boundary() -> None:
    p = build(IAM / "guardgen.yaml")
    s = verify.Scenario(name="CI role runs instances", principal="arn:aws:iam::444444444444:role/shop-deploy",
                        account="444444444444", action="ec2:RunInstances",
                        resource="arn:aws:ec2:us-east-1:444444444444:instance/*",
                        context={"aws:RequestedRegion": "us-east-1",
                                 "ec2:MetadataHttpTokens": "required"}, expect="deny")
    out = verify.run(p, [s])[0]
    assert out.ok and out.decision.reason == "boundary-implicit-deny"
