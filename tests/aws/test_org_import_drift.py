"""`guardgen import` and `guardgen drift`: the pure analyses on inline data, then the whole round trip
against a real moto_server (seed an organization → import → load, plan, render → deploy the plan's
SCPs → drift in sync → change, detach, move → drift reports exactly that)."""

from __future__ import annotations

import json
import re
from collections.abc import Callable
from dataclasses import dataclass, field, replace
from pathlib import Path
from typing import Any

import hcl2
import pytest
import typer
import yaml
from hypothesis import HealthCheck, example, given, settings
from hypothesis import strategies as st
from typer.testing import CliRunner

from guardgen import catalog, pipeline, plan, render
from guardgen.aws import drift as d
from guardgen.aws import importer as imp
from guardgen.aws.errors import ReadOnlyViolation
from guardgen.aws.organization import (
    OrgAccount,
    Organization,
    OrganizationUnavailable,
    OrgPolicy,
    OrgUnit,
    fetch_organization,
    parse_account,
)
from guardgen.aws.session import AwsSession, SessionOptions
from guardgen.cli import org as org_cli
from guardgen.config import walk
from guardgen.config.models import EMAIL
from guardgen.policy.lint import normalized_statement
from motoharness import MotoServer, client

BREAK_GLASS = "arn:aws:iam::*:role/BreakGlassAdmin"
AWKWARD = 'Team "Ops" ${x} %{y}\nZürich — 東京'
REGIONS = ("eu-west-1", "us-east-1")
FULL = json.dumps({"Version": "2012-10-17", "Statement": [
    {"Effect": "Allow", "Action": "*", "Resource": "*"}]})
CUSTOM = json.dumps({"Version": "2012-10-17", "Statement": [
    {"Effect": "Deny", "Action": "s3:DeleteBucket", "Resource": "*"}]})
HCL = hcl2.SerializationOptions(strip_string_quotes=True, explicit_blocks=False, preserve_heredocs=False,
                                with_comments=False)


def scp(*guardrails: str, break_glass: tuple[str, ...] = (BREAK_GLASS,), indent: int | None = 2,
        params: catalog.Params | None = None, strip_sids: bool = False, reverse: bool = False) -> str:
    """An SCP as a person might have written it: a catalog guardrail's statements, laid out freely."""
    statements = [s for g in guardrails
                  for s in catalog.statements(catalog.BY_ID[g], params or catalog.Params(), break_glass)]
    if strip_sids:
        statements = [{k: v for k, v in s.items() if k != "Sid"} for s in statements]
    if reverse:
        statements.reverse()
    return json.dumps({"Version": "2012-10-17", "Statement": statements}, indent=indent)


# -- importer: matching SCPs with guardrails ------------------------------------------------------------

def test_an_scp_laid_out_differently_still_matches_its_guardrail() -> None:
    text = scp("require-imdsv2", indent=4, strip_sids=True, reverse=True,
               break_glass=("arn:aws:iam::*:role/Other",))
    assert imp.match_guardrails(text, catalog.Params()) == ("require-imdsv2",)
    # guardgen's own packing: several guardrails in one SCP, minified
    packed = scp("protect-cloudtrail", "deny-root-user", "deny-iam-user-access-keys", indent=None)
    assert imp.match_guardrails(packed, catalog.Params()) == (
        "protect-cloudtrail", "deny-root-user", "deny-iam-user-access-keys")


@pytest.mark.parametrize("change", ["extra statement", "missing statement", "other action", "not json",
                                    "other hop limit"])
def test_an_scp_that_is_not_exactly_guardrails_matches_nothing(change: str) -> None:
    doc = json.loads(scp("require-imdsv2", "protect-cloudtrail"))
    if change == "extra statement":
        doc["Statement"].append({"Effect": "Deny", "Action": "s3:DeleteBucket", "Resource": "*"})
    elif change == "missing statement":
        doc["Statement"].pop(1)
    elif change == "other action":
        doc["Statement"][-1]["Action"][0] = "cloudtrail:CreateTrail"
    elif change == "other hop limit":
        doc["Statement"][1]["Condition"]["NumericGreaterThan"]["ec2:MetadataHttpPutResponseHopLimit"] = "3"
    text = "{not json" if change == "not json" else json.dumps(doc)
    assert imp.match_guardrails(text, catalog.Params()) == ()


def test_exemption_is_removed_and_reported() -> None:
    statement = {"Effect": "Deny", "Action": "x:Y", "Resource": "*", "Condition": {
        "ArnNotLike": {"aws:PrincipalARN": ["arn:aws:iam::*:role/A"], "aws:SourceArn": "arn:x"},
        "StringEquals": {"aws:RequestedRegion": "us-east-1"}}}
    stripped, spared = imp.without_exemption(statement)
    assert spared == ("arn:aws:iam::*:role/A",)
    assert stripped["Condition"] == {"ArnNotLike": {"aws:SourceArn": "arn:x"},
                                     "StringEquals": {"aws:RequestedRegion": "us-east-1"}}
    only = imp.without_exemption({"Effect": "Deny", "Action": "*", "Condition": {
        "ArnNotLike": {"aws:PrincipalArn": "arn:aws:iam::*:role/A"}}})[0]
    assert "Condition" not in only
    assert statement["Condition"]["ArnNotLike"]["aws:PrincipalARN"]  # the input is left alone


def _org(*, units: tuple[OrgUnit, ...] = (), accounts: tuple[OrgAccount, ...] = (),
         policies: tuple[OrgPolicy, ...] = ()) -> Organization:
    return Organization("o-abcd123456", "111111111111", "r-ab12", units, accounts, policies)


def _unit(ident: str, name: str, parent: str = "r-ab12", path: tuple[str, ...] | None = None) -> OrgUnit:
    return OrgUnit(f"ou-ab12-{ident}", name, parent, path or (name,))


def _full(*targets: str) -> OrgPolicy:
    return OrgPolicy("p-FullAWSAccess", "FullAWSAccess", "", True, FULL, tuple(targets))


def test_parameters_are_taken_from_the_scps_that_match_with_them() -> None:
    regions = catalog.Params(allowed_regions=REGIONS, imds_max_hop_limit=3)
    ou = _unit("11111111", "Workloads")
    org = _org(units=(ou,), policies=(
        OrgPolicy("p-1", "regions", "", False, scp("deny-unapproved-regions", params=regions), (ou.id,)),
        OrgPolicy("p-2", "imds", "", False, scp("require-imdsv2", params=regions), (ou.id,)),
        # the same guardrail with another region list, attached nowhere: it must not win
        OrgPolicy("p-3", "old", "", False, scp("deny-unapproved-regions",
                                               params=catalog.Params(allowed_regions=("ap-south-1",))), ())))
    assert imp.choose_params(org) == regions
    text = imp.import_config(org, home_region="eu-west-1", break_glass=[BREAK_GLASS]).text
    cfg = pipeline.loads(text).config
    assert cfg.organization.allowed_regions == list(REGIONS)
    assert cfg.organization.imds_max_hop_limit == 3
    assert cfg.units[0].guardrails == ["deny-unapproved-regions", "require-imdsv2"]


def test_reserved_slots_are_the_most_unmanaged_scps_on_any_target() -> None:
    a, b = _unit("11111111", "A"), _unit("22222222", "B")
    member = OrgAccount("222222222222", "member", "m@example.com", "ACTIVE", b.id)
    at_root = OrgAccount("333333333333", "loose", "l@example.com", "ACTIVE", "r-ab12")
    mgmt = OrgAccount("111111111111", "management", "x@example.com", "ACTIVE", a.id)
    customs = tuple(OrgPolicy(f"p-c{i}", f"custom-{i}", "", False, CUSTOM.replace("DeleteBucket", f"Op{i}"),
                              targets) for i, targets in enumerate([
                                  (b.id, member.id), (b.id,), (member.id, at_root.id, mgmt.id),
                                  (at_root.id, mgmt.id), (mgmt.id,)]))
    every = ("r-ab12", a.id, b.id, member.id, at_root.id, mgmt.id)
    org = _org(units=(a, b), accounts=(mgmt, member, at_root),
               policies=(_full(*every), *customs,
                         OrgPolicy("p-g", "guarded", "", False, scp("protect-cloudtrail"), (member.id,))))
    result = imp.import_config(org, home_region="us-east-1", break_glass=[BREAK_GLASS])
    # B: FullAWSAccess + 2; member: FullAWSAccess + 2 (the catalog match does not count); the
    # management account (4) and the account under the root (3) are not targets guardgen manages.
    assert result.reserved_scp_slots == 3
    cfg = pipeline.loads(result.text).config
    assert cfg.organization.reserved_scp_slots == 3
    assert "(3, at OU \"B\")" in result.text
    assert [x.policy.id for x in result.replaced] == ["p-g"]
    accounts = {x.id: x for u in cfg.units for x in u.accounts}
    assert set(accounts) == {"111111111111", "222222222222"}  # the one under the root has no place
    assert accounts["222222222222"].guardrails == ["protect-cloudtrail"]
    assert accounts["111111111111"].guardrails == []
    assert any("333333333333" in n and "directly under the root" in n for n in result.notes)


def test_no_room_left_is_said_and_the_config_still_loads() -> None:
    ou = _unit("11111111", "Crowded")
    customs = tuple(OrgPolicy(f"p-c{i}", f"c{i}", "", False, CUSTOM.replace("DeleteBucket", f"Op{i}"),
                              (ou.id,)) for i in range(9))
    result = imp.import_config(_org(units=(ou,), policies=(_full("r-ab12", ou.id), *customs)),
                               home_region="us-east-1")
    assert result.reserved_scp_slots == 9
    assert any("OU \"Crowded\" already use 10 of 10" in n for n in result.notes)
    assert pipeline.loads(result.text).config.organization.reserved_scp_slots == 9


def test_duplicate_account_names_get_the_id_and_keep_the_aws_name_in_a_comment() -> None:
    ou = _unit("11111111", "Apps")
    long = "x" * 60
    accounts = (OrgAccount("222222222222", "shop", "a@example.com", "ACTIVE", ou.id),
                OrgAccount("333333333333", "shop", "b@example.com", "SUSPENDED", ou.id),
                OrgAccount("444444444444", long, "c@example.com", "ACTIVE", ou.id),
                OrgAccount("555555555555", "unique", "d@example.com", "ACTIVE", ou.id))
    names = imp.account_names(accounts)
    assert names["222222222222"] == ("shop-222222222222", "another account has the same name")
    assert names["555555555555"] == ("unique", None)
    assert len(names["444444444444"][0]) <= 50 and names["444444444444"][0].endswith("-444444444444")
    result = imp.import_config(_org(units=(ou,), accounts=accounts), home_region="us-east-1")
    loaded = {a.id: a.name for a in pipeline.loads(result.text).config.units[0].accounts}
    assert loaded == {k: v for k, (v, _) in names.items()}
    assert '# AWS name "shop": another account has the same name' in result.text
    assert "# status SUSPENDED" in result.text


def test_sibling_ous_of_the_same_name_are_refused() -> None:
    org = _org(units=(_unit("11111111", "Twin"), _unit("22222222", "Twin")))
    with pytest.raises(imp.ImportInputError, match="same name under the same parent"):
        imp.import_config(org, home_region="us-east-1")


@pytest.mark.parametrize("arns, region, message", [
    (["not-an-arn"], "us-east-1", "--break-glass must be IAM role or user ARNs"),
    ([], "us-east-1", "--break-glass must be"),
    ([BREAK_GLASS], "moon-1", "not an AWS region"),
])
def test_bad_input_is_refused(arns: list[str], region: str, message: str) -> None:
    with pytest.raises(imp.ImportInputError, match=message):
        imp.import_config(_org(), home_region=region, break_glass=arns)


def test_principals_spared_by_replaced_scps_but_not_by_the_config_are_named() -> None:
    ou = _unit("11111111", "A")
    other = "arn:aws:iam::*:role/LegacyAdmin"
    org = _org(units=(ou,), policies=(OrgPolicy("p-1", "ct", "", False, scp(
        "protect-cloudtrail", break_glass=(BREAK_GLASS, other)), (ou.id,)),))
    notes = imp.import_config(org, home_region="us-east-1", break_glass=[BREAK_GLASS]).notes
    assert any(other in n and "--break-glass" in n for n in notes)
    assert not any(BREAK_GLASS in n for n in notes)


def test_default_break_glass_is_commented_and_the_cli_default_matches() -> None:
    text = imp.import_config(_org(), home_region="us-east-1").text
    assert "# The default of `guardgen import`" in text
    assert pipeline.loads(text).config.organization.break_glass_principals == [imp.DEFAULT_BREAK_GLASS]
    assert org_cli.DEFAULT_BREAK_GLASS == imp.DEFAULT_BREAK_GLASS


# -- importer: awkward names survive the YAML round trip ----------------------------------------------

NASTY = ['"', "'", "\\", "${", "%{", "\n", "\r", "\t", "#", ": ", "- ", "é", "東京", "\u2028", "\x85",
         "\ufeff", "\x00", "\x1b[31m", "&a", "*a", "!tag", "---", "...", "{", "[", "|", ">", " "]
text = st.lists(st.one_of(st.sampled_from(NASTY), st.text(max_size=5)), min_size=1, max_size=8).map("".join)


@settings(max_examples=80, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(value=st.one_of(text, st.text(), st.from_regex(r"[A-Za-z0-9][A-Za-z0-9_.@+/:*# -]{0,12}",
                                                      fullmatch=True)))
@example(value="yes")
@example(value="012345678901")
@example(value="1e3")
@example(value="abc:")
@example(value="2024-01-01")
@example(value="0x1f")
@example(value="1_000")
@example(value="Null")
def test_every_scalar_reads_back_exactly(value: str) -> None:
    assert yaml.safe_load(f"key: {imp.scalar(value)}\n") == {"key": value}
    assert "\n" not in imp.scalar(value)
    assert "\n" not in imp.quoted(value) and imp.quoted(value).isascii()


@settings(max_examples=40, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(ou=text.filter(lambda s: 0 < len(s) <= 128), child=text.filter(lambda s: 0 < len(s) <= 128),
       account=text.filter(lambda s: 0 < len(s) <= 50), email=text)
@example(ou=AWKWARD, child="# not a comment", account='a"b', email="x@example.com")
def test_awkward_names_survive_import_and_load(ou: str, child: str, account: str, email: str) -> None:
    top = _unit("11111111", ou)
    sub = _unit("22222222", child, top.id, (ou, child))
    acct = OrgAccount("222222222222", account, email, "ACTIVE", sub.id)
    policy = OrgPolicy("p-1", account, ou, False, scp("deny-root-user"), (sub.id,))
    custom = OrgPolicy("p-2", child, "", False, CUSTOM, (top.id, acct.id))
    result = imp.import_config(_org(units=(top, sub), accounts=(acct,), policies=(policy, custom)),
                               home_region="us-east-1")
    cfg = pipeline.loads(result.text).config
    assert cfg.units[0].name == ou and cfg.units[0].id == top.id
    assert cfg.units[0].units[0].name == child
    assert cfg.units[0].units[0].guardrails == ["deny-root-user"]
    got = [(a.name, a.id, a.email) for a in cfg.units[0].units[0].accounts]
    valid = re.fullmatch(EMAIL, email) is not None and len(email) <= 254
    assert got == [(account, acct.id, email if valid else None)]
    assert cfg.organization.reserved_scp_slots == 1  # FullAWSAccess is absent: the custom SCP alone


# -- drift on inline data ----------------------------------------------------------------------------

DRIFT_CONFIG = f"""\
version: 1
organization:
  name: acme
  management_account_id: "111111111111"
  home_region: us-east-1
  reserved_scp_slots: 2
  break_glass_principals: ["{BREAK_GLASS}"]
  guardrails: [deny-leave-organization]
units:
  - name: Security
    id: ou-ab12-11111111
    guardrails: [protect-cloudtrail, deny-root-user]
    accounts:
      - {{ name: log-archive, id: "222222222222" }}
  - name: Workloads
    id: ou-ab12-22222222
    guardrails: [require-imdsv2]
    units:
      - name: Prod
        id: ou-ab12-33333333
        accounts:
          - {{ name: shop-prod, id: "444444444444", guardrails: [deny-iam-user-access-keys] }}
      - name: Empty
        id: ou-ab12-55555555
"""


@pytest.fixture(scope="module")
def drift_plan() -> plan.Plan:
    return plan.build(pipeline.loads(DRIFT_CONFIG).config)


def deployed(p: plan.Plan) -> Organization:
    """The organization exactly as the plan describes it, FullAWSAccess on every target."""
    ids = {o.path: o.import_id or "" for o in p.ous}
    units = tuple(OrgUnit(ids[o.path], o.name, ids.get(o.path[:-1], "r-ab12"), o.path) for o in p.ous)
    accounts = tuple(OrgAccount(aid, name, f"{name}@example.com", "ACTIVE", ids[o.path])
                     for o in p.ous for name, aid in o.accounts)
    where = {"root": "r-ab12", **{str(o.ident): ids[o.path] for o in p.ous}}
    policies = tuple(OrgPolicy(f"p-{i:08d}", pol.name, pol.description, False, pol.content,
                               (where[str(pol.target.ou)] if pol.target.kind == "ou"
                                else pol.target.account_id or where["root"],))
                     for i, pol in enumerate(p.policies))
    every = ("r-ab12", *(u.id for u in units), *(a.id for a in accounts))
    return Organization("o-abcd123456", "111111111111", "r-ab12", units, accounts, (_full(*every), *policies))


def _policy(org: Organization, name: str) -> OrgPolicy:
    return next(p for p in org.policies if p.name == name)


def _swap(org: Organization, old: OrgPolicy, new: OrgPolicy | None) -> Organization:
    rest = tuple(p for p in org.policies if p is not old)
    return replace(org, policies=rest + ((new,) if new else ()))


def test_the_organization_the_plan_describes_is_in_sync(drift_plan: plan.Plan) -> None:
    result = d.analyze(deployed(drift_plan), drift_plan)
    assert result.in_sync and result.findings == ()
    assert d.format_text(result) == "Organization o-abcd123456 is in sync with guardgen.yaml.\n"
    assert json.loads(d.format_json(result)) == {"organization": "o-abcd123456", "config": "guardgen.yaml",
                                                 "in_sync": True, "findings": []}


def _edit(kind: str, org: Organization) -> Organization:
    units = {u.path: u for u in org.units}
    security = _policy(org, "guardgen-ou-security-1")
    if kind == "ou-missing":
        return replace(org, units=tuple(u for u in org.units if u.path != ("Workloads", "Empty")))
    if kind == "ou-extra":
        return replace(org, units=(*org.units, OrgUnit("ou-ab12-99999999", "Stray", "r-ab12", ("Stray",))))
    if kind == "ou-id-differs":
        empty = units[("Workloads", "Empty")]
        return replace(org, units=tuple(replace(u, id="ou-ab12-77777777") if u is empty else u
                                        for u in org.units))
    if kind == "account-missing":
        return replace(org, accounts=tuple(a for a in org.accounts if a.id != "222222222222"))
    if kind == "account-misplaced":
        return replace(org, accounts=tuple(replace(a, parent_id=units[("Workloads", "Empty")].id)
                                           if a.id == "444444444444" else a for a in org.accounts))
    if kind == "scp-missing":
        return _swap(org, security, None)
    if kind == "scp-extra":
        stale = OrgPolicy("p-x", "guardgen-old-1", "", False, CUSTOM, ())
        return replace(org, policies=(*org.policies, stale))
    if kind == "scp-detached":
        return _swap(org, security, replace(security, targets=()))
    if kind == "scp-attached-elsewhere":
        return _swap(org, security, replace(security, targets=(*security.targets, "444444444444")))
    if kind == "scp-content-differs":
        edited = security.content.replace("StopLogging", "StartLogging")
        return _swap(org, security, replace(security, content=edited))
    assert kind == "over-quota"
    return replace(org, policies=(*org.policies, *_customs(9, units[("Security",)].id)))


def _customs(n: int, target: str) -> tuple[OrgPolicy, ...]:
    return tuple(OrgPolicy(f"p-c{i}", f"custom-{i}", "", False, CUSTOM, (target,)) for i in range(n))


@pytest.mark.parametrize("kind, subject", [
    ("ou-missing", "Workloads/Empty"), ("ou-extra", "Stray"), ("ou-id-differs", "Workloads/Empty"),
    ("account-missing", "222222222222"), ("account-misplaced", "444444444444"),
    ("scp-missing", "guardgen-ou-security-1"), ("scp-extra", "guardgen-old-1"),
    ("scp-detached", "guardgen-ou-security-1"), ("scp-attached-elsewhere", "guardgen-ou-security-1"),
    ("scp-content-differs", "guardgen-ou-security-1"), ("over-quota", "ou-ab12-11111111"),
])
def test_each_difference_is_reported_alone(drift_plan: plan.Plan, kind: str, subject: str) -> None:
    result = d.analyze(_edit(kind, deployed(drift_plan)), drift_plan)
    assert [(f.kind, f.subject) for f in result.findings] == [(kind, subject)]
    assert kind in d.KINDS
    report = json.loads(d.format_json(result))
    assert report["in_sync"] is False and report["findings"][0]["kind"] == kind


def test_quota_counts_what_the_plan_will_attach(drift_plan: plan.Plan) -> None:
    org = deployed(drift_plan)
    security = _policy(org, "guardgen-ou-security-1")
    # Not deployed yet: FullAWSAccess and 9 others fit today, but the plan's SCP would be the 11th.
    pending = replace(_swap(org, security, None), policies=(*_swap(org, security, None).policies,
                                                            *_customs(9, "ou-ab12-11111111")))
    findings = d.analyze(pending, drift_plan).findings
    assert [(f.kind, f.subject) for f in findings] == [("scp-missing", "guardgen-ou-security-1"),
                                                        ("over-quota", "ou-ab12-11111111")]
    assert "would hold 11 SCPs, more than the 10 AWS allows: 10 not guardgen's" in findings[1].message
    assert "and 1 generated (reserved_scp_slots is 2)" in findings[1].message


def test_an_account_scp_names_its_account(drift_plan: plan.Plan) -> None:
    org = deployed(drift_plan)
    account_scp = next(p for p in org.policies if "444444444444" in p.targets and d.is_guardgen(p))
    finding = d.analyze(_swap(org, account_scp, None), drift_plan).findings[0]
    assert finding.message == (f'SCP "{account_scp.name}" for account "shop-prod" (444444444444) '
                               "does not exist")


def test_a_content_diff_names_the_changed_statement(drift_plan: plan.Plan) -> None:
    result = d.analyze(_edit("scp-content-differs", deployed(drift_plan)), drift_plan)
    diff = result.findings[0].diff.splitlines()
    assert diff[0].startswith("--- live guardgen-ou-security-1")
    assert diff[1] == "+++ generated guardgen-ou-security-1"
    changed = [line for line in diff[2:] if line[:1] in "+-"]
    assert len(changed) == 2
    assert "cloudtrail:StartLogging" in changed[0] and "cloudtrail:StopLogging" in changed[1]
    text = d.format_text(result)
    assert "has drifted from guardgen.yaml: 1 finding." in text
    assert "      -{" in text


def test_a_reformatted_scp_is_not_drift(drift_plan: plan.Plan) -> None:
    org = deployed(drift_plan)
    security = _policy(org, "guardgen-ou-security-1")
    pretty = json.dumps(json.loads(security.content), indent=2)
    assert d.analyze(_swap(org, security, replace(security, content=pretty)), drift_plan).in_sync


def test_missing_parents_are_not_also_reported_as_detached(drift_plan: plan.Plan) -> None:
    org = deployed(drift_plan)
    security = next(u for u in org.units if u.path == ("Security",))
    gone = replace(org, units=tuple(u for u in org.units if u is not security),
                   accounts=tuple(a for a in org.accounts if a.parent_id != security.id),
                   policies=tuple(replace(p, targets=tuple(t for t in p.targets if t != security.id))
                                  for p in org.policies))
    kinds = [(f.kind, f.subject) for f in d.analyze(gone, drift_plan).findings]
    assert kinds == [("ou-missing", "Security"), ("account-missing", "222222222222")]


def test_names_in_messages_cannot_break_the_report() -> None:
    cfg = DRIFT_CONFIG.replace("name: Prod", 'name: "Prod\\n\\u001b[2Jx"')
    p = plan.build(pipeline.loads(cfg).config)
    org = _edit("account-misplaced", deployed(p))
    lines = d.format_text(d.analyze(org, p)).splitlines()
    assert len(lines) == 2 and "\x1b" not in lines[1] and '"Workloads/Prod\\n\\u001b[2Jx"' in lines[1]


def test_parse_account_reads_state_or_the_older_status() -> None:
    entry = {"Id": "222222222222", "Name": "n", "Email": "e@example.com", "Status": "SUSPENDED"}
    assert parse_account(entry, "ou-ab12-11111111").status == "SUSPENDED"
    assert parse_account({**entry, "State": "PENDING_CLOSURE"}, "r-ab12").status == "PENDING_CLOSURE"


# -- against a real moto_server --------------------------------------------------------------------

@dataclass
class Seeded:
    """What seed_organization planted, by name."""

    root: str
    ous: dict[tuple[str, ...], str] = field(default_factory=dict)
    accounts: dict[str, str] = field(default_factory=dict)
    policies: dict[str, str] = field(default_factory=dict)
    catalog_scps: dict[str, str] = field(default_factory=dict)  # name → content, SCPs that are guardrails


def seed_organization(endpoint: str) -> Seeded:
    """An organization made by hand: nested OUs, accounts moved into them, SCPs at every level."""
    o = client(endpoint, "organizations")
    o.create_organization(FeatureSet="ALL")
    seeded = Seeded(o.list_roots()["Roots"][0]["Id"])

    def ou(*path: str) -> str:
        parent = seeded.ous[path[:-1]] if len(path) > 1 else seeded.root
        made = o.create_organizational_unit(ParentId=parent, Name=path[-1])["OrganizationalUnit"]
        seeded.ous[path] = made["Id"]
        return seeded.ous[path]

    def account(name: str, *path: str) -> str:
        made = o.create_account(AccountName=name, Email=f"{name}@example.com")["CreateAccountStatus"][
            "AccountId"]
        if path:
            o.move_account(AccountId=made, SourceParentId=seeded.root, DestinationParentId=seeded.ous[path])
        seeded.accounts[name] = made
        return made

    def policy(name: str, content: str, *targets: str, guardrails: bool = True) -> None:
        made = o.create_policy(Content=content, Description=f"made by hand: {name}", Name=name,
                               Type="SERVICE_CONTROL_POLICY")["Policy"]["PolicySummary"]["Id"]
        for t in targets:
            o.attach_policy(PolicyId=made, TargetId=t)
        seeded.policies[name] = made
        if guardrails:
            seeded.catalog_scps[name] = content

    ou("Security")
    ou("Workloads")
    ou("Workloads", "Prod")
    ou("Workloads", "Prod", "Web")
    ou(AWKWARD)
    account("shop-dev", "Workloads")
    account("shop-web", "Workloads", "Prod", "Web")
    account("odd-one", AWKWARD)
    account("sandbox")  # stays under the root
    regions = catalog.Params(allowed_regions=REGIONS)
    policy("no-leave", scp("deny-leave-organization"), seeded.root)
    policy("security-baseline", scp("protect-cloudtrail", "deny-root-user", indent=None),
           seeded.ous[("Security",)])
    policy("regions", scp("deny-unapproved-regions", params=regions), seeded.ous[("Workloads",)])
    policy("imds", scp("require-imdsv2", strip_sids=True, reverse=True), seeded.ous[("Workloads", "Prod")])
    policy("team-custom", CUSTOM, seeded.ous[("Workloads", "Prod")], guardrails=False)
    policy("no-keys", scp("deny-iam-user-access-keys"), seeded.accounts["shop-web"])
    policy("security-services", scp("protect-security-services"), seeded.ous[(AWKWARD,)])
    return seeded


def _normalized(content: str) -> set[str]:
    return {normalized_statement(s) for s in json.loads(content)["Statement"]}


def rendered_attachments(files: dict[str, str], root: str) -> tuple[set[tuple[str, str]], dict[str, str]]:
    """(live target id, normalized statement) for every SCP the rendered Terraform attaches, and
    each OU resource's imported id by OU name, read back from the .tf files with python-hcl2."""
    organization = hcl2.loads(files["management/organization.tf"], serialization_options=HCL)
    adopted = {b["to"].removeprefix("${").removesuffix("}").split(".")[1]: b["id"]
               for b in organization["import"]}
    names = {label: body["name"] for block in organization["resource"]
             for label, body in block["aws_organizations_organizational_unit"].items()}
    refs = {f"${{aws_organizations_organizational_unit.{label}.id}}": ou_id
            for label, ou_id in adopted.items()}
    refs["${data.aws_organizations_organization.this.roots[0].id}"] = root
    out = set()
    for block in hcl2.loads(files["management/scps.tf"], serialization_options=HCL)["module"]:
        for label, body in block.items():
            content = files[f"management/policies/{label}.json"]
            for ref in body["target_ids"].values():
                out |= {(refs.get(ref, ref), s) for s in _normalized(content)}
    return out, {names[label]: ou_id for label, ou_id in adopted.items()}


def live_attachments(endpoint: str, seeded: Seeded) -> set[tuple[str, str]]:
    """(target id, normalized statement) for every SCP in moto that is catalog guardrails."""
    o = client(endpoint, "organizations")
    out = set()
    for name, content in seeded.catalog_scps.items():
        for t in o.list_targets_for_policy(PolicyId=seeded.policies[name])["Targets"]:
            out |= {(t["TargetId"], s) for s in _normalized(content)}
    return out


def deploy(endpoint: str, p: plan.Plan, seeded: Seeded) -> dict[str, str]:
    """Create and attach the plan's SCPs in moto with plain boto3, as `terraform apply` would."""
    o = client(endpoint, "organizations")
    ous = {o_.ident: o_.import_id for o_ in p.ous}
    made = {}
    for pol in p.policies:
        t = pol.target
        target = seeded.root if t.kind == "root" else ous[t.ou] if t.kind == "ou" else t.account_id
        made[pol.name] = o.create_policy(Content=pol.content, Description=pol.description, Name=pol.name,
                                         Type="SERVICE_CONTROL_POLICY")["Policy"]["PolicySummary"]["Id"]
        o.attach_policy(PolicyId=made[pol.name], TargetId=target)
    return made


@pytest.fixture
def org_cli_app() -> Callable[..., Any]:
    app = typer.Typer()
    org_cli.register(app)
    runner = CliRunner()

    def invoke(*args: str | Path) -> Any:
        return runner.invoke(app, [str(a) for a in args], catch_exceptions=False)

    return invoke


def test_import_generate_drift_round_trip(moto: MotoServer, tmp_path: Path,
                                          org_cli_app: Callable[..., Any]) -> None:
    seeded = seed_organization(moto.endpoint)
    config = tmp_path / "guardgen.yaml"
    r = org_cli_app("import", "--config", config, "--endpoint-url", moto.endpoint,
                    "--break-glass", BREAK_GLASS)
    assert r.exit_code == 0, r.output
    assert "sandbox" in r.output and "directly under the root" in r.output

    loaded = pipeline.load(config)
    cfg = loaded.config
    assert cfg.organization.reserved_scp_slots == 2  # Prod: FullAWSAccess and team-custom
    assert cfg.organization.allowed_regions == list(REGIONS)
    p = plan.build(cfg)
    files = render.render(p, "../guardgen.yaml")
    attached, adopted = rendered_attachments(files, seeded.root)
    # every OU is adopted by its id, the awkward name read back from the Terraform unchanged
    assert adopted == {path[-1]: ou_id for path, ou_id in seeded.ous.items()}
    # the SCPs the Terraform attaches are, statement for statement and target for target, the
    # organization's SCPs that are guardrails; the other ones (FullAWSAccess, team-custom) stay out
    assert attached == live_attachments(moto.endpoint, seeded)
    assert {t for t, _ in attached} == {seeded.root, *(seeded.ous[k] for k in [
        ("Security",), ("Workloads",), ("Workloads", "Prod"), (AWKWARD,)]), seeded.accounts["shop-web"]}
    placed = {a.name: path for path, _, u in walk(cfg.units) for a in u.accounts}
    assert placed == {"shop-dev": ("Workloads",),
                      "shop-web": ("Workloads", "Prod", "Web"), "odd-one": (AWKWARD,)}

    made = deploy(moto.endpoint, p, seeded)
    r = org_cli_app("drift", "--config", config, "--endpoint-url", moto.endpoint, "--format", "json")
    assert r.exit_code == 0, r.output
    assert json.loads(r.stdout)["findings"] == []

    o = client(moto.endpoint, "organizations")
    findings: set[tuple[str, str]] = set()

    def drift_now() -> set[tuple[str, str]]:
        r = org_cli_app("drift", "--config", config, "--endpoint-url", moto.endpoint, "--format", "json")
        assert r.exit_code == 1, r.output
        found = [(f["kind"], f["subject"]) for f in json.loads(r.stdout)["findings"]]
        assert len(found) == len(set(found))
        return set(found)

    security = "guardgen-ou-security-1"
    changed = json.loads(o.describe_policy(PolicyId=made[security])["Policy"]["Content"])
    changed["Statement"].pop()
    o.update_policy(PolicyId=made[security], Content=json.dumps(changed))
    findings.add(("scp-content-differs", security))
    assert drift_now() == findings

    workloads = "guardgen-ou-workloads-1"
    o.detach_policy(PolicyId=made[workloads], TargetId=seeded.ous[("Workloads",)])
    findings.add(("scp-detached", workloads))
    assert drift_now() == findings

    o.move_account(AccountId=seeded.accounts["shop-dev"], SourceParentId=seeded.ous[("Workloads",)],
                   DestinationParentId=seeded.ous[("Security",)])
    findings.add(("account-misplaced", seeded.accounts["shop-dev"]))
    assert drift_now() == findings

    r = org_cli_app("drift", "--config", config, "--endpoint-url", moto.endpoint)
    assert r.exit_code == 1
    assert 'account "shop-dev"' in r.stdout and 'is in OU "Security", not in OU "Workloads"' in r.stdout
    # the live SCP lost a statement: the diff from live to generated adds it back, removes nothing
    diff = [line.strip() for line in r.stdout.splitlines() if line.startswith("      ")]
    assert [line[:1] for line in diff if line[:1] in "+-" and not line.startswith(("---", "+++"))] == ["+"]
    assert '"Sid":"DenyRootUser"' in next(line for line in diff if line.startswith("+{"))


def test_fetch_reads_only_and_its_calls_grow_with_ous_and_scps_not_accounts(moto: MotoServer) -> None:
    seeded = seed_organization(moto.endpoint)
    session = AwsSession(SessionOptions(endpoint_url=moto.endpoint))
    org = fetch_organization(session)
    assert {u.path for u in org.units} == set(seeded.ous)
    assert {a.name for a in org.accounts} >= set(seeded.accounts)
    assert all(op.split(":")[1].startswith(("List", "Describe")) for op in session.operations())
    parents, scps = 1 + len(org.units), len(org.policies)
    # describe_organization, list_roots, list_policies; two lists per parent; two calls per SCP
    assert session.calls == 3 + 2 * parents + 2 * scps == 3 + 2 * 6 + 2 * 8

    o = client(moto.endpoint, "organizations")
    # moto loads every AWS managed IAM policy into each account it creates (~1.3 s each here),
    # so a few more accounts make the point: none of them costs a call.
    for i in range(3):
        made = o.create_account(AccountName=f"more-{i}", Email=f"more-{i}@example.com")["CreateAccountStatus"]
        o.move_account(AccountId=made["AccountId"], SourceParentId=seeded.root,
                       DestinationParentId=list(seeded.ous.values())[i % len(seeded.ous)])
    again = AwsSession(SessionOptions(endpoint_url=moto.endpoint))
    assert len(fetch_organization(again).accounts) == len(org.accounts) + 3
    assert again.calls == session.calls

    # the Organizations client carries the read-only hook: a write is refused before it is sent
    sent = moto.requests()
    with pytest.raises(ReadOnlyViolation) as refused:
        session.organizations().create_organizational_unit(ParentId=seeded.root, Name="intruder")
    assert (refused.value.service, refused.value.operation) == ("organizations", "CreateOrganizationalUnit")
    with pytest.raises(ReadOnlyViolation):
        session.organizations().detach_policy(PolicyId=seeded.policies["no-leave"], TargetId=seeded.root)
    assert moto.requests() == sent
    listed = o.list_organizational_units_for_parent(ParentId=seeded.root)["OrganizationalUnits"]
    assert "intruder" not in [u["Name"] for u in listed]


def test_import_refuses_to_overwrite_and_honours_the_environment(
        moto: MotoServer, tmp_path: Path, monkeypatch: pytest.MonkeyPatch,
        org_cli_app: Callable[..., Any]) -> None:
    o = client(moto.endpoint, "organizations")
    o.create_organization(FeatureSet="ALL")
    o.create_organizational_unit(ParentId=o.list_roots()["Roots"][0]["Id"], Name="Only")
    config = tmp_path / "guardgen.yaml"
    config.write_text("mine\n")
    monkeypatch.setenv("AWS_ENDPOINT_URL", moto.endpoint)
    monkeypatch.setenv("AWS_REGION", "eu-west-1")
    r = org_cli_app("import", "--config", config)
    assert r.exit_code == 2 and "already exists" in r.output and "--force" in r.output
    assert config.read_text() == "mine\n"
    r = org_cli_app("import", "--config", config, "--force", "--quiet")
    assert r.exit_code == 0 and r.output == ""
    cfg = pipeline.load(config).config
    assert cfg.organization.home_region == "eu-west-1"
    assert cfg.organization.break_glass_principals == [imp.DEFAULT_BREAK_GLASS]

    target = tmp_path / "lz"
    assert org_cli.import_to(target, endpoint_url=moto.endpoint, quiet=True) == target / "guardgen.yaml"
    assert [u.name for u in pipeline.load(target / "guardgen.yaml").config.units] == ["Only"]


def test_outside_an_organization_both_commands_exit_2(moto: MotoServer, tmp_path: Path,
                                                     org_cli_app: Callable[..., Any]) -> None:
    r = org_cli_app("import", "--config", tmp_path / "guardgen.yaml", "--endpoint-url", moto.endpoint)
    assert r.exit_code == 2 and "not in an AWS Organization" in r.output
    assert not (tmp_path / "guardgen.yaml").exists()
    config = tmp_path / "config.yaml"
    config.write_text(DRIFT_CONFIG)
    r = org_cli_app("drift", "--config", config, "--endpoint-url", moto.endpoint)
    assert r.exit_code == 2 and "not in an AWS Organization" in r.output
    with pytest.raises(OrganizationUnavailable):
        fetch_organization(AwsSession(SessionOptions(endpoint_url=moto.endpoint)))


def test_usage_errors_exit_2(tmp_path: Path, aws_env: None, org_cli_app: Callable[..., Any]) -> None:
    r = org_cli_app("import", "--config", tmp_path / "g.yaml", "--endpoint-url", "localhost:1")
    assert r.exit_code == 2 and "--endpoint-url must start with http" in r.output
    r = org_cli_app("drift", "--config", tmp_path / "missing.yaml")
    assert r.exit_code == 2 and "cannot read" in r.output
    r = org_cli_app("import", "--config", tmp_path / "g.yaml", "--endpoint-url", "http://127.0.0.1:9",
                    "--break-glass", "nope")
    assert r.exit_code == 2 and "--break-glass must be IAM role or user ARNs" in r.output
    r = org_cli_app("import", "--config", tmp_path / "g.yaml", "--endpoint-url", "http://127.0.0.1:9")
    assert r.exit_code == 2 and "cannot reach AWS" in r.output
    assert not (tmp_path / "g.yaml").exists()
