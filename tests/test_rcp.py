"""Resource control policies: quotas, the catalog, exemptions, evaluation, packing, rendering,
lint rules, and `verify` catching every removed statement or exemption."""

from __future__ import annotations

import dataclasses
import json
from pathlib import Path
from typing import Any

import pytest

from external.checks import policy_problems
from guardgen import catalog, pipeline, plan
from guardgen.catalog import docs as explain
from guardgen.catalog import exemptions
from guardgen.errors import BudgetError, ConfigError
from guardgen.policy import evaluate
from guardgen.policy.limits import PROFILES, RCP_MAX_BYTES, RCP_RESERVED_SLOTS
from guardgen.policy.lint.model import Doc, LintInput, LintOptions
from guardgen.policy.lint.rules import rcp as rcp_rules
from guardgen.prove import verify
from support import EXAMPLES

PERIMETER = EXAMPLES / "perimeter" / "guardgen.yaml"
ORG = "o-nw4x7k2p9q"
BREAK_GLASS = ["arn:aws:iam::*:role/BreakGlassAdmin"]

BASE = """\
version: 1
organization:
  name: t
  management_account_id: "111111111111"
  org_id: o-abcdefghij
  home_region: eu-west-1
  break_glass_principals: ["arn:aws:iam::*:role/BreakGlassAdmin"]
  data_perimeter: {{ trusted_accounts: ["999999999999"] }}
  guardrails: [{root}]
units:
  - name: Apps
    guardrails: [{apps}]
    accounts:
      - {{ name: app, id: "222222222222" }}
{custom}"""


def load(root: str = "", apps: str = "", custom: str = "") -> plan.Plan:
    return plan.build(pipeline.loads(BASE.format(root=root, apps=apps, custom=custom)).config)


def perimeter() -> plan.Plan:
    return plan.build(pipeline.load(PERIMETER).config)


# -- quotas and the catalog ------------------------------------------------------------------

def test_rcp_quotas_did_not_grow_with_the_scp_ones() -> None:
    assert (PROFILES["current"].max_bytes, PROFILES["legacy"].max_bytes) == (10_240, 5_120)
    for profile in PROFILES.values():
        assert (profile.rcps_per_target, profile.rcp_max_bytes) == (5, 5_120)
    assert RCP_MAX_BYTES == 5_120 and RCP_RESERVED_SLOTS == 1


@pytest.mark.parametrize("g", catalog.RCP_REGISTRY, ids=lambda g: g.id)
def test_catalog_rcps_are_deny_only_principal_star_and_known_to_the_iam_catalog(
        g: catalog.Guardrail) -> None:
    doc = explain.example_policy(g)
    assert policy_problems(doc, g.id) == []
    for stmt in doc["Statement"]:  # type: ignore[union-attr]
        assert stmt["Effect"] == "Deny" and stmt["Principal"] == "*"
        for action in stmt["Action"]:
            assert action.split(":")[0] in evaluate.RCP_SERVICES
    assert g.source.startswith("https://") and g.mistake in catalog.MISTAKES
    assert any(c.denied for c in g.cases(explain.EXAMPLE_PARAMS))
    assert any(not c.denied for c in g.cases(explain.EXAMPLE_PARAMS))


def test_catalog_ids_are_unique_across_every_registry() -> None:
    ids = [g.id for g in catalog.ALL]
    assert len(ids) == len(set(ids)) == len(catalog.BY_ID)
    assert {g.policy_type for g in catalog.RCP_REGISTRY} == {"rcp"}


def test_the_org_principals_rcp_is_the_article_mistake_5_answer() -> None:
    """A role trusting a foreign :root cannot be assumed by that account, unless it is trusted."""
    g = catalog.BY_ID["data-perimeter-org-principals"]
    params = catalog.Params(org_id=ORG, trusted_accounts=("999999999999",))
    level = [[verify.RCP_FULL_AWS_ACCESS, evaluate.Policy("rcp", {
        "Version": "2012-10-17", "Statement": catalog.statements(g, params, BREAK_GLASS)})]]

    def assume(account: str, org: str) -> evaluate.Decision:
        return evaluate.evaluate(evaluate.Request(
            f"arn:aws:iam::{account}:role/x", account, "sts:AssumeRole",
            "arn:aws:iam::222222222222:role/trusts-foreign-root",
            {"aws:PrincipalOrgID": org, "aws:PrincipalIsAWSService": "false"}),
            scp_levels=None, identity=[verify.ASSUMED_IDENTITY], rcp_levels=level)

    foreign = assume("555555555555", "o-otherorg00")
    assert foreign.reason == "explicit-deny"
    assert foreign.deciding[0].sid == "DataPerimeterOrgPrincipals"
    assert "RCP" in foreign.explain()
    assert assume("999999999999", "o-otherorg00").allowed  # the trusted partner
    assert assume("333333333333", ORG).allowed  # a principal of the organization


# -- exemptions ------------------------------------------------------------------------------

def _deny(condition: dict[str, Any] | None = None) -> dict[str, Any]:
    stmt: dict[str, Any] = {"Sid": "X", "Effect": "Deny", "Principal": "*", "Action": "s3:*",
                            "Resource": "*"}
    if condition:
        stmt["Condition"] = condition
    return stmt


def test_break_glass_is_spared_only_inside_the_organization() -> None:
    out = exemptions.spare_rcp([_deny({"Bool": {"aws:SecureTransport": "false"}})],
                               break_glass=BREAK_GLASS, org_id=ORG, trusted_accounts=(),
                               trusted_services=())
    assert [s["Sid"] for s in out] == ["X", "XOutsideOrg"]
    assert out[0]["Condition"]["ArnNotLike"] == {"aws:PrincipalArn": BREAK_GLASS}
    assert out[1]["Condition"]["ArnLike"] == {"aws:PrincipalArn": BREAK_GLASS}
    assert out[1]["Condition"]["StringNotEqualsIfExists"] == {"aws:PrincipalOrgID": [ORG]}
    with pytest.raises(ValueError, match="org_id"):
        exemptions.spare_rcp([_deny()], break_glass=BREAK_GLASS, org_id=None,
                             trusted_accounts=(), trusted_services=())


def test_no_exemption_is_written_that_no_request_needs() -> None:
    outside = _deny({"StringNotEqualsIfExists": {"aws:PrincipalOrgID": ORG},
                     "BoolIfExists": {"aws:PrincipalIsAWSService": "false"}})
    services = _deny({"Bool": {"aws:PrincipalIsAWSService": "true"}})
    out = exemptions.spare_rcp([outside, services], break_glass=BREAK_GLASS, org_id=ORG,
                               trusted_accounts=["999999999999"], trusted_services=["a.amazonaws.com"])
    assert len(out) == 2  # no companion: neither can reach a break-glass principal
    assert out[0]["Condition"]["StringNotEqualsIfExists"] == {
        "aws:PrincipalOrgID": ORG, "aws:PrincipalAccount": ["999999999999"]}
    assert "ArnNotLike" not in out[0]["Condition"]
    assert out[1]["Condition"]["StringNotEqualsIfExists"] == {
        "aws:PrincipalServiceName": ["a.amazonaws.com"]}
    assert outside["Condition"]["StringNotEqualsIfExists"] == {"aws:PrincipalOrgID": ORG}


def test_an_rcp_that_applies_to_everyone_gets_no_exemption() -> None:
    g = dataclasses.replace(catalog.BY_ID["data-perimeter-tls-only"], applies_to_everyone=True)
    params = catalog.Params(org_id=ORG, trusted_accounts=("999999999999",))
    assert catalog.statements(g, params, BREAK_GLASS) == g.build(params)


# -- evaluation ------------------------------------------------------------------------------

DENY_ALL = evaluate.Policy("deny", {"Version": "2012-10-17", "Statement": [_deny()]})


def _ask(action: str = "s3:GetObject", resource: str = "arn:aws:s3:::b/k",
         principal: str = "arn:aws:iam::555555555555:role/x", account: str = "555555555555",
         levels: list[list[evaluate.Policy]] | None = None, **kw: Any) -> evaluate.Decision:
    return evaluate.evaluate(evaluate.Request(principal, account, action, resource),
                             scp_levels=None, identity=[verify.ASSUMED_IDENTITY],
                             rcp_levels=levels if levels is not None
                             else [[verify.RCP_FULL_AWS_ACCESS, DENY_ALL]], **kw)


def test_rcps_bind_everyone_on_member_account_resources() -> None:
    d = _ask()
    assert d.reason == "explicit-deny" and d.deciding[0].policy_type == "rcp"
    assert d.deciding[0].level_name == "the organization root (RCP level 0)"


def test_rcps_never_touch_the_management_account_or_unsupported_services() -> None:
    mgmt = _ask(resource_in_management_account=True)
    assert mgmt.allowed and any("management account" in n for n in mgmt.notes)
    ec2 = evaluate.evaluate(evaluate.Request("arn:aws:iam::555555555555:role/x", "555555555555",
                                             "ec2:RunInstances", "*"),
                            scp_levels=None, identity=[verify.ASSUMED_IDENTITY],
                            rcp_levels=[[verify.RCP_FULL_AWS_ACCESS, evaluate.Policy("d", {
                                "Version": "2012-10-17", "Statement": [
                                    {**_deny(), "Action": "*"}]})]])
    assert ec2.allowed and any("ec2 is not a service that supports them" in n for n in ec2.notes)
    slr = _ask("sts:AssumeRole", "arn:aws:iam::222222222222:role/aws-service-role/x.amazonaws.com/R",
               levels=[[verify.RCP_FULL_AWS_ACCESS, evaluate.Policy("d", {
                   "Version": "2012-10-17", "Statement": [{**_deny(), "Action": "sts:*"}]})]])
    assert slr.allowed and any("service-linked role" in n for n in slr.notes)


def test_every_rcp_level_must_allow() -> None:
    d = _ask(levels=[[verify.RCP_FULL_AWS_ACCESS], [evaluate.Policy("only-deny", {
        "Version": "2012-10-17", "Statement": [{**_deny(), "Action": "sqs:*"}]})]])
    assert d.reason == "rcp-implicit-deny"
    assert "RCPFullAWSAccess" in d.explain()


def test_an_rcp_principal_must_be_star() -> None:
    bad = evaluate.Policy("bad", {"Version": "2012-10-17", "Statement": [
        {**_deny(), "Principal": {"AWS": "arn:aws:iam::555555555555:root"}}]})
    with pytest.raises(evaluate.PolicyError, match='Principal must be "\\*"'):
        _ask(levels=[[verify.RCP_FULL_AWS_ACCESS, bad]])


def test_a_service_principal_carries_its_name_not_an_account() -> None:
    only_services = evaluate.Policy("svc", {"Version": "2012-10-17", "Statement": [_deny({
        "Bool": {"aws:PrincipalIsAWSService": "true"},
        "StringNotEqualsIfExists": {"aws:PrincipalServiceName": "logs.amazonaws.com"}})]})
    levels = [[verify.RCP_FULL_AWS_ACCESS, only_services]]
    assert _ask(principal="cloudtrail.amazonaws.com", account="", levels=levels).reason == \
        "explicit-deny"
    assert _ask(principal="logs.amazonaws.com", account="", levels=levels).allowed
    assert _ask(levels=levels).allowed  # an IAM role is no service


# -- config and planning ---------------------------------------------------------------------

def test_an_rcp_guardrail_needs_the_organization_id() -> None:
    text = BASE.format(root="data-perimeter-tls-only", apps="", custom="").replace(
        "  org_id: o-abcdefghij\n", "")
    with pytest.raises(ConfigError) as e:
        pipeline.loads(text)
    assert "guardgen.yaml:8:16: organization.guardrails[0]: guardrail " \
        "'data-perimeter-tls-only' needs organization.org_id" in str(e.value)


@pytest.mark.parametrize(("bad", "message"), [
    ("  org_id: o-abcdefghij\n", "  org_id: 123\n"),
    ("  data_perimeter: {{ trusted_accounts: [\"999999999999\"] }}\n",
     "  data_perimeter: {{ trusted_accounts: [\"9999\"] }}\n"),
    ("  data_perimeter: {{ trusted_accounts: [\"999999999999\"] }}\n",
     "  data_perimeter: {{ trusted_services: [lambda] }}\n"),
])
def test_data_perimeter_values_are_checked_where_they_are_written(bad: str, message: str) -> None:
    with pytest.raises(ConfigError) as e:
        pipeline.loads(BASE.replace(bad, message).format(root="", apps="", custom=""))
    assert "guardgen.yaml:" in str(e.value)


def test_rcp_slots_are_their_own_budget() -> None:
    with pytest.raises(ConfigError, match="reserved_rcp_slots: 5 reserved slots leave no room"):
        pipeline.loads(BASE.format(root="", apps="", custom="").replace(
            "  home_region", "  reserved_rcp_slots: 5\n  home_region"))
    p = load(root="deny-leave-organization, data-perimeter-org-principals",
             apps="data-perimeter-tls-only, protect-cloudtrail")
    assert [pol.name for pol in p.policies] == ["guardgen-root-1", "guardgen-ou-apps-1"]
    assert [pol.name for pol in p.rcps] == ["guardgen-rcp-root-1", "guardgen-rcp-ou-apps-1"]
    assert p.rcp_slots == 4 and p.slots == 9
    assert {pol.policy_type for pol in p.rcps} == {"rcp"}
    # Each RCP is minified and within 5,120 bytes; SCPs and RCPs never share a document.
    for pol in p.rcps:
        assert pol.size <= 5_120 and '"Principal":"*"' in pol.content
    assert all('"Principal"' not in pol.content for pol in p.policies)


def _big_rcp(n: int) -> str:
    resources = ", ".join(f'"arn:aws:s3:::bucket-{n}-{i:04d}/*"' for i in range(60))
    return (f"  - id: big-{n}\n    type: rcp\n    title: big {n}\n    description: big\n"
            f"    statements:\n      - {{ Effect: Deny, Principal: \"*\", Action: [\"s3:GetObject\"], "
            f"Resource: [{resources}] }}\n")


def test_rcps_pack_into_5120_byte_documents_even_under_the_current_scp_quota() -> None:
    custom = "custom_guardrails:\n" + "".join(_big_rcp(n) for n in range(3))
    p = load(apps="big-0, big-1, big-2", custom=custom)
    assert len(p.rcps) == 3 and all(4_000 < pol.size <= 5_120 for pol in p.rcps)
    custom = "custom_guardrails:\n" + "".join(_big_rcp(n) for n in range(5))
    with pytest.raises(BudgetError, match=r"OU Apps: its RCP guardrails .* need [\d,]+ bytes in 5 "
                       r"RCPs, but only 4 of 5,120 bytes are free \(5 per target, minus 1 "
                       r"reserved\)"):
        load(apps="big-0, big-1, big-2, big-3, big-4", custom=custom)


def test_a_management_account_in_an_ou_is_outside_the_data_perimeter() -> None:
    text = BASE.format(root="data-perimeter-org-principals", apps="", custom="").replace(
        '"222222222222" }', '"222222222222" }\n      - { name: mgmt, id: "111111111111" }')
    p = plan.build(pipeline.loads(text).config)
    assert any("RCPs never restrict the resources of the management account" in n for n in p.notes)


# -- rendering -------------------------------------------------------------------------------

def test_rcps_render_as_their_own_resources_and_outputs(tmp_path: Path) -> None:
    files = pipeline.run(PERIMETER, tmp_path / "out").files
    rcps = files["management/rcps.tf"]
    assert rcps.count('type        = "RESOURCE_CONTROL_POLICY"') == 3
    assert 'target_id = "400000000004"' in rcps
    assert "resource_control_policy_ids" in files["management/outputs.tf"]
    for name in ("rcp_root_1", "rcp_ou_workloads_1", "rcp_account_sandbox_1"):
        text = files[f"management/policies/{name}.json"]
        assert json.loads(text)["Statement"] and text == json.dumps(
            json.loads(text), separators=(",", ":"), ensure_ascii=False)
    readme = files["README.md"]
    assert "## Data perimeter" in readme and "`o-nw4x7k2p9q`" in readme
    assert "hashicorp/terraform-provider-aws#40534" in readme


def test_a_plan_without_rcps_renders_no_rcp_file(tmp_path: Path) -> None:
    files = pipeline.run(EXAMPLES / "acme" / "guardgen.yaml", tmp_path / "out").files
    assert "management/rcps.tf" not in files and "management/declarative.tf" not in files
    assert "Data perimeter" not in files["README.md"]


# -- verify ----------------------------------------------------------------------------------

def test_verify_proves_each_rcp_guardrail_in_every_account_and_the_management_account() -> None:
    p = perimeter()
    scenarios = verify.builtin_scenarios(p)
    outcomes = verify.run(p, scenarios)
    assert verify.failures(outcomes) == []
    names = [s.name for s in scenarios]
    for g in ("data-perimeter-org-principals", "data-perimeter-confused-deputy",
              "data-perimeter-tls-only", "deny-kms-key-deletion-from-outside"):
        mine = [n for n in names if f" {g} " in n]
        assert any(f"{g} denies: an outside account" in n or f"{g} denies: an AWS service" in n
                   or f"{g} denies: reading" in n for n in mine), g
        assert any("spares trusted account 777777777777" in n
                   or "for trusted account 777777777777" in n for n in mine), g
        assert any(n.startswith("the management account (100000000001)") for n in mine), g
    org = [n for n in names if " data-perimeter-org-principals " in n]
    for account in ("log-archive", "shop-prod", "sandbox"):
        assert any(n.startswith(f"account {account} ") for n in org), account
    assert any("allows: a principal of the organization reading an object" in n for n in org)
    assert any("still denies arn:aws:iam::*:role/BreakGlassAdmin borrowed by an account outside"
               in n for n in org)


def _with_rcp(p: plan.Plan, index: int, doc: dict[str, Any]) -> plan.Plan:
    pol = dataclasses.replace(p.rcps[index], content=json.dumps(doc, separators=(",", ":")))
    return dataclasses.replace(p, rcps=p.rcps[:index] + (pol,) + p.rcps[index + 1:])


def _exemption_values(p: plan.Plan) -> set[str]:
    org = p.config.organization
    return {*org.break_glass_principals, *org.data_perimeter.trusted_accounts,
            *org.data_perimeter.trusted_services, str(org.org_id)}


def _rcp_mutants(p: plan.Plan) -> list[tuple[str, plan.Plan]]:
    """Every plan with one RCP statement removed, or one exemption value taken out of one."""
    exempt = _exemption_values(p)
    out = []
    for i, pol in enumerate(p.rcps):
        for k, stmt in enumerate(json.loads(pol.content)["Statement"]):
            doc = json.loads(pol.content)
            del doc["Statement"][k]
            out.append((f"{pol.name}: without {stmt['Sid']}", _with_rcp(p, i, doc)))
            for op, tests in stmt.get("Condition", {}).items():
                for key, values in tests.items():
                    for v in values if isinstance(values, list) else [values]:
                        # Exemptions are the negated tests; the companion's ArnLike narrows a Deny.
                        if v not in exempt or key == "aws:SourceOrgID" or op not in (
                                "ArnNotLike", "StringNotEqualsIfExists"):
                            continue
                        doc = json.loads(pol.content)
                        test = doc["Statement"][k]["Condition"][op]
                        left = [x for x in (values if isinstance(values, list) else [values])
                                if x != v]
                        if left:
                            test[key] = left
                        else:
                            del test[key]
                            if not test:
                                del doc["Statement"][k]["Condition"][op]
                        out.append((f"{pol.name}: {stmt['Sid']} without {op} {key} {v}",
                                    _with_rcp(p, i, doc)))
    return out


def test_removing_any_rcp_statement_or_exemption_fails_with_a_counterexample() -> None:
    p = perimeter()
    mutants = _rcp_mutants(p)
    assert len(mutants) >= 20
    for what, m in mutants:
        failed = verify.failures(verify.run(m, verify.builtin_scenarios(m)))
        assert failed, f"verify did not notice: {what}"
        text = failed[0].describe()
        assert text.startswith("FAILED: built-in: ") and ("Denied:" in text or "Allowed:" in text)


def test_a_scenario_file_can_ask_for_a_resource_of_another_account(tmp_path: Path, cli) -> None:
    f = tmp_path / "s.yaml"
    f.write_text("scenarios:\n"
                 "  - name: a stranger reads a shop-prod object\n"
                 "    principal: arn:aws:iam::555555555555:role/stranger\n"
                 '    account: "555555555555"\n'
                 '    resource_account: "300000000003"\n'
                 "    action: s3:GetObject\n"
                 "    resource: arn:aws:s3:::shop-data/k\n"
                 "    context: { \"aws:SecureTransport\": \"true\" }\n"
                 "    expect: deny\n")
    r = cli("verify", "-c", PERIMETER, f, "--verbose")
    assert r.exit_code == 0, r.output
    assert 'Sid "DataPerimeterOrgPrincipals"' not in r.output  # only failures explain
    assert "ok: " in r.output and "a stranger reads a shop-prod object" in r.output


# -- lint rules (GG7xx) ----------------------------------------------------------------------

def _hits(document: dict[str, Any]) -> dict[str, list[str]]:
    doc = Doc(LintInput("rcp.json", "rcp", document), LintOptions())  # type: ignore[arg-type]
    return {r.id: [m for _, m in r.check(doc)] for r in rcp_rules.RULES}


def test_the_plan_rcps_pass_the_rcp_rules() -> None:
    for doc in plan.policy_documents(perimeter()):
        if doc.kind == "rcp":
            assert all(not hits for hits in _hits(doc.document).values()), doc.path


def test_the_rcp_rules_catch_what_aws_refuses() -> None:
    hits = _hits({"Version": "2012-10-17", "Statement": [
        {"Effect": "Allow", "Principal": {"AWS": "*"}, "Action": ["ec2:RunInstances", "s3:*"],
         "Resource": "*"},
        {"Effect": "Deny", "NotPrincipal": {"AWS": "arn:aws:iam::1:root"}, "Action": "s3:*",
         "Resource": "*"},
        {"Effect": "Allow", "Principal": "*", "Action": "*", "Resource": "*"}]})
    assert len(hits["GG701"]) == 2 and "NotPrincipal" in hits["GG701"][1]
    assert len(hits["GG702"]) == 1  # RCPFullAWSAccess's own Allow passes
    assert len(hits["GG703"]) == 1 and "ec2" in hits["GG703"][0]
    big = {"Version": "2012-10-17", "Statement": [
        {"Effect": "Deny", "Principal": "*", "Action": "s3:*", "Resource": [
            f"arn:aws:s3:::b{i:05d}/*" for i in range(300)]}]}
    assert "over the 5,120 AWS accepts" in _hits(big)["GG704"][0]
