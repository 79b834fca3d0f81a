"""The audit's organization check (the article's mistake 6): guardrails the config puts in force
on an account that the live SCPs do not. Pure: recorded organizations, no AWS."""

from __future__ import annotations

from dataclasses import replace

import pytest
from test_org_import_drift import DRIFT_CONFIG, _edit, _policy, _swap, deployed

from guardgen import pipeline, plan
from guardgen.aws import in_force
from guardgen.aws.audit import AccountAudit

PROD = "444444444444"
LOG = "222222222222"


@pytest.fixture(scope="module")
def p() -> plan.Plan:
    return plan.build(pipeline.loads(DRIFT_CONFIG).config)


def test_an_organization_as_planned_has_every_guardrail_in_force(p: plan.Plan) -> None:
    org = deployed(p)
    assert in_force.findings(org, p, PROD) == [] and in_force.findings(org, p, LOG) == []


def test_a_detached_ou_scp_is_reported_only_for_accounts_below_that_ou(p: plan.Plan) -> None:
    org = _edit("scp-detached", deployed(p))  # guardgen-ou-security-1, on OU Security
    (found,) = in_force.findings(org, p, LOG)
    assert found.id == "guardrails-not-in-force" and found.mistake == 6 and found.resource == LOG
    assert "protect-cloudtrail" in found.message and "is not attached" in found.message
    assert in_force.findings(org, p, PROD) == []


def test_a_changed_root_scp_reaches_every_account(p: plan.Plan) -> None:
    org = deployed(p)
    root = next(pol for pol in p.policies if pol.target.kind == "root")
    live = _policy(org, root.name)
    org = _swap(org, live, replace(live, content=live.content.replace("LeaveOrganization", "Leave")))
    for account in (PROD, LOG):
        (found,) = in_force.findings(org, p, account)
        assert "deny-leave-organization" in found.message and "does not say" in found.message


def test_an_account_outside_its_ou_is_reported(p: plan.Plan) -> None:
    org = _edit("account-misplaced", deployed(p))
    messages = [f.message for f in in_force.findings(org, p, PROD)]
    assert len(messages) == 1 and "do not protect it" in messages[0]


def test_merged_keeps_the_audit_order(p: plan.Plan) -> None:
    org = _edit("scp-missing", deployed(p))
    audit = AccountAudit(LOG, (), ())
    merged = in_force.merged(audit, in_force.findings(org, p, LOG),
                             [in_force.unavailable("not tested")])
    assert [f.id for f in merged.findings] == ["guardrails-not-in-force"]
    assert merged.unknown[0].check == "guardrails-not-in-force"


def test_the_management_account_is_never_reported(p: plan.Plan) -> None:
    org = _edit("scp-missing", deployed(p))
    assert in_force.findings(org, p, p.config.organization.management_account_id) == []
