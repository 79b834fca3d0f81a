"""Planning: attachment, inheritance, break-glass exemptions and SCP packing."""

from __future__ import annotations

import json
import re

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from guardgen import catalog, config, pipeline, plan
from guardgen.errors import BudgetError
from guardgen.plan import organization as plan_organization
from guardgen.policy.limits import PROFILES
from support import ACME

BREAK_GLASS = ["arn:aws:iam::*:role/OrganizationAccountAccessRole",
               "arn:aws:iam::*:role/BreakGlassAdmin"]


def acme_plan() -> plan.Plan:
    return plan.build(pipeline.load(ACME).config)


def test_registry_ids_are_unique_and_well_formed() -> None:
    ids = [g.id for g in catalog.REGISTRY]
    assert len(ids) == len(set(ids))
    for g in catalog.REGISTRY:
        assert re.fullmatch(config.GUARDRAIL_ID[1:-1], g.id)
        assert g.mistake in catalog.MISTAKES
        assert g.source.startswith("https://")
        assert g.title and g.description
        assert not g.applies_to_everyone or g.why_everyone


def test_issue_guardrails_are_all_present() -> None:
    assert {"deny-leave-organization", "protect-cloudtrail", "require-imdsv2", "deny-root-user",
            "deny-unapproved-regions", "deny-iam-user-access-keys",
            "protect-security-services"} <= set(catalog.BY_ID)


@pytest.mark.parametrize("g", catalog.REGISTRY, ids=lambda g: g.id)
def test_every_deny_spares_break_glass_unless_marked(g: catalog.Guardrail) -> None:
    params = catalog.Params(allowed_regions=("us-east-1",))
    for stmt in catalog.statements(g, params, BREAK_GLASS):
        assert stmt["Effect"] == "Deny"
        exempt = stmt.get("Condition", {}).get("ArnNotLike", {}).get("aws:PrincipalArn")
        if g.applies_to_everyone:
            assert exempt is None
        else:
            assert exempt == BREAK_GLASS


def test_every_deployed_deny_spares_break_glass() -> None:
    p = acme_plan()
    for pol in p.policies:
        for stmt in json.loads(pol.content)["Statement"]:
            gid = next(g.id for g in catalog.REGISTRY if stmt["Sid"].startswith(
                "".join(part.capitalize() for part in g.id.split("-"))))
            if not catalog.BY_ID[gid].applies_to_everyone:
                assert stmt["Condition"]["ArnNotLike"]["aws:PrincipalArn"] == BREAK_GLASS


def test_imdsv2_statements_follow_the_documented_shape() -> None:
    stmts = catalog.statements(catalog.BY_ID["require-imdsv2"],
                               catalog.Params(imds_max_hop_limit=3), BREAK_GLASS)
    by_sid = {s["Sid"]: s for s in stmts}
    assert by_sid["RequireImdsv2Tokens"]["Condition"]["StringNotEquals"] == {
        "ec2:MetadataHttpTokens": "required"}
    assert by_sid["RequireImdsv2Tokens"]["Resource"] == "arn:aws:ec2:*:*:instance/*"
    assert by_sid["RequireImdsv2HopLimit"]["Condition"]["NumericGreaterThan"] == {
        "ec2:MetadataHttpPutResponseHopLimit": "3"}
    assert by_sid["RequireImdsv2RoleDelivery"]["Condition"]["NumericLessThan"] == {
        "ec2:RoleDelivery": "2.0"}
    assert by_sid["RequireImdsv2Modify"]["Action"] == "ec2:ModifyInstanceMetadataOptions"


def test_region_guardrail_uses_not_action_and_the_allowed_regions() -> None:
    (stmt,) = catalog.statements(catalog.BY_ID["deny-unapproved-regions"],
                                 catalog.Params(allowed_regions=("eu-west-1", "us-east-1")),
                                 BREAK_GLASS)
    assert "Action" not in stmt and "iam:*" in stmt["NotAction"]
    assert stmt["Condition"]["StringNotEquals"] == {"aws:RequestedRegion": ["eu-west-1",
                                                                           "us-east-1"]}


def test_acme_attachments_and_inheritance() -> None:
    p = acme_plan()
    attached = {t.display: t.guardrails for t in p.targets}
    assert attached["the organization root"] == ("deny-leave-organization",)
    assert attached["OU Workloads/NonProd"] == ("deny-iam-user-access-keys",)
    shop_dev = next(t for t in p.targets if t.account_id == "555555555555")
    assert dict(shop_dev.in_force) == {
        "deny-leave-organization": "the root", "protect-cloudtrail": "OU Workloads",
        "deny-root-user": "OU Workloads", "require-imdsv2": "OU Workloads",
        "deny-unapproved-regions": "OU Workloads",
        "deny-iam-user-access-keys": "OU Workloads/NonProd"}
    assert [pol.name for pol in p.policies] == [
        "guardgen-root-1", "guardgen-ou-security-1", "guardgen-ou-workloads-1",
        "guardgen-ou-workloads-nonprod-1"]


def test_guardrail_inherited_from_above_is_not_attached_twice() -> None:
    text = ACME.read_text().replace("[deny-iam-user-access-keys]",
                                    "[deny-iam-user-access-keys, protect-cloudtrail]")
    p = plan.build(pipeline.loads(text).config)
    nonprod = next(t for t in p.targets if t.display == "OU Workloads/NonProd")
    assert nonprod.guardrails == ("deny-iam-user-access-keys",)
    assert nonprod.inherited == (("protect-cloudtrail", "OU Workloads"),)


def test_management_account_in_an_ou_is_called_out() -> None:
    text = ACME.read_text().replace('"333333333333"', '"111111111111"')
    p = plan.build(pipeline.loads(text).config)
    assert any("never restrict the management account" in n for n in p.notes)


def test_policies_fit_and_name_their_guardrails() -> None:
    p = acme_plan()
    for pol in p.policies:
        assert pol.size <= p.limits.max_bytes
        assert len(pol.description) <= 512
        for gid in pol.guardrails:
            assert gid in pol.description
        assert pol.content == json.dumps(json.loads(pol.content), separators=(",", ":"),
                                         ensure_ascii=False)


# -- packing ---------------------------------------------------------------------------------

def _stmt(n: int, gid: str, i: int) -> str:
    return json.dumps({"Sid": f"S{gid}{i}", "Effect": "Deny", "Action": "x:" + "a" * n,
                       "Resource": "*"}, separators=(",", ":"))


groups_strategy = st.lists(
    st.lists(st.integers(min_value=1, max_value=900), min_size=1, max_size=6),
    min_size=1, max_size=12)


@settings(max_examples=200, deadline=None)
@given(groups_strategy, st.sampled_from([1200, 2000, 5120]))
def test_packing_invariants(sizes: list[list[int]], max_bytes: int) -> None:
    groups = [(f"g{k}", [_stmt(n, f"g{k}", i) for i, n in enumerate(ns)])
              for k, ns in enumerate(sizes)]
    bins = plan.pack(groups, max_bytes)
    docs = [plan_organization._document([s for u in b for s in u.statements]) for b in bins]
    for doc in docs:
        assert plan.size(doc) <= max_bytes
        json.loads(doc)
    packed = [s for b in bins for u in b for s in u.statements]
    assert sorted(packed) == sorted(s for _, ss in groups for s in ss)
    assert bins == plan.pack(groups, max_bytes)  # deterministic
    # Never more documents than one per guardrail part would need.
    assert len(bins) <= sum(len(ss) for _, ss in groups)
    # A guardrail that fits in one document is never split.
    budget = max_bytes - plan_organization._EMPTY_DOC + 1
    for gid, ss in groups:
        if sum(plan.size(s) + 1 for s in ss) <= budget:
            assert sum(1 for b in bins if any(u.guardrail == gid for u in b)) == 1


def test_packing_is_tight_at_the_limit() -> None:
    one = _stmt(100, "a", 0)
    doc_one = plan_organization._document([one])
    exactly = plan.size(doc_one)
    assert len(plan.pack([("a", [one])], exactly)) == 1
    with pytest.raises(ValueError, match="more than a whole SCP"):
        plan.pack([("a", [one])], exactly - 1)


def test_budget_error_names_target_sizes_and_remedies() -> None:
    text = (ACME.read_text().replace("scp_limits: current ", "scp_limits: legacy  ")
            .replace("reserved_scp_slots: 1 ", "reserved_scp_slots: 4"))
    text = text.replace("    - arn:aws:iam::*:role/BreakGlassAdmin\n", "".join(
        f"    - arn:aws:iam::*:role/BreakGlassAdmin{i:03}\n" for i in range(20)))
    with pytest.raises(BudgetError) as exc:
        plan.build(pipeline.loads(text).config)
    msg = str(exc.value)
    assert msg.startswith("OU Workloads: ")
    assert "but only 1 of 5,120 bytes are free" in msg
    assert "parent OU" in msg and "reserved_scp_slots" in msg


def test_limits_profiles_match_the_2026_quotas() -> None:
    assert PROFILES["current"].policies_per_target == 10
    assert PROFILES["current"].max_bytes == 10_240
    assert PROFILES["legacy"].policies_per_target == 5
    assert PROFILES["legacy"].max_bytes == 5_120
