"""fetch + analyze against a real moto_server seeded with the article's mistakes and their fixes."""

from __future__ import annotations

import json
from datetime import datetime, timezone

import pytest

from guardgen.aws import fetch as f
from guardgen.aws.audit_run import AuditResult, run_audit
from guardgen.aws.session import SessionOptions
from motoharness import (
    ACCOUNT,
    CIS_ROOT_FILTER,
    MotoServer,
    Planted,
    client,
    seed_controls,
    seed_mistakes,
    seed_monitoring,
    seed_users,
)

NOW = datetime.now(timezone.utc)


def audit(moto: MotoServer, **kwargs: object) -> AuditResult:
    return run_audit(SessionOptions(endpoint_url=moto.endpoint), now=NOW, sleep=lambda _: None,
                     **kwargs)  # type: ignore[arg-type]


def pairs(result: AuditResult) -> set[tuple[str, str]]:
    return {(x.id, x.resource) for x in result.audit.findings}


def test_every_mistake_is_found_and_no_control_is_flagged(moto: MotoServer) -> None:
    planted = Planted()
    seed_mistakes(moto.endpoint, planted)
    seed_controls(moto.endpoint, planted)
    result = audit(moto)
    got = pairs(result)
    assert planted.expected - got == set(), "mistakes not found"
    assert got - planted.expected == set(), "findings nothing planted explains"
    assert [x for x in result.audit.findings if x.resource in planted.clean] == []
    # moto's credential report has no root row: that check says so instead of passing
    unknown = [(u.check, u.step) for u in result.audit.unknown]
    assert unknown == [("root-used-recently", f.STEP_CREDENTIAL_REPORT)]
    assert {x.mistake for x in result.audit.findings} >= {1, 2, 3, 4, 5, 7}


def test_enforced_boundary_turns_info_into_high(moto: MotoServer) -> None:
    planted = Planted()
    seed_mistakes(moto.endpoint, planted)
    seed_controls(moto.endpoint, planted)
    severities = {x.severity for x in audit(moto, enforced_boundary={ACCOUNT}).audit.findings
                  if x.id == "role-without-boundary"}
    assert severities == {"high"}


def test_monitoring_as_cis_asks_is_clean(moto: MotoServer) -> None:
    seed_monitoring(moto.endpoint)
    result = audit(moto)
    ids = {x.id for x in result.audit.findings}
    assert not ids & {"cloudtrail-not-logging-all-regions", "root-usage-alarm-missing",
                      "root-usage-alarm-without-actions"}
    assert result.snapshot.trails and result.snapshot.trails[0].is_logging
    assert [mf.pattern for mf in result.snapshot.metric_filters or ()] == [CIS_ROOT_FILTER]


@pytest.mark.parametrize("kwargs, expected", [
    ({"logging": False}, {"cloudtrail-not-logging-all-regions", "root-usage-alarm-missing"}),
    ({"multi_region": False}, {"cloudtrail-not-logging-all-regions", "root-usage-alarm-missing"}),
    ({"pattern": '{ $.userIdentity.type = "IAMUser" }'}, {"root-usage-alarm-missing"}),
    ({"alarm_actions": False}, {"root-usage-alarm-without-actions"}),
])
def test_monitoring_near_misses(moto: MotoServer, kwargs: dict[str, object], expected: set[str]) -> None:
    seed_monitoring(moto.endpoint, **kwargs)  # type: ignore[arg-type]
    ids = {x.id for x in audit(moto).audit.findings}
    assert ids & {"cloudtrail-not-logging-all-regions", "root-usage-alarm-missing",
                  "root-usage-alarm-without-actions"} == expected


def test_calls_do_not_grow_with_users(moto: MotoServer) -> None:
    planted = Planted()
    seed_mistakes(moto.endpoint, planted)
    seed_monitoring(moto.endpoint)
    seed_users(moto.endpoint, 10)
    small = audit(moto)
    seed_users(moto.endpoint, 990, start=10)
    large = audit(moto)
    assert len(large.snapshot.credential_report or ()) == len(small.snapshot.credential_report or ()) + 990
    assert large.calls == small.calls
    assert large.operations == small.operations
    # and the findings scale with the users (the audit did look at them)
    keys = sum(1 for x in large.audit.findings if x.id == "access-key-active")
    assert keys > sum(1 for x in small.audit.findings if x.id == "access-key-active") + 300


def test_access_denied_marks_only_its_checks_unknown(moto: MotoServer) -> None:
    """moto enforces IAM when asked (POST /moto-api/reset-auth): an auditor without CloudTrail access."""
    planted = Planted()
    seed_mistakes(moto.endpoint, planted)
    seed_monitoring(moto.endpoint)
    iam = client(moto.endpoint, "iam")
    iam.create_user(UserName="auditor")
    iam.put_user_policy(UserName="auditor", PolicyName="audit-but-not-trails", PolicyDocument=json.dumps({
        "Version": "2012-10-17", "Statement": [
            {"Effect": "Allow", "Action": "*", "Resource": "*"},
            {"Effect": "Deny", "Action": ["cloudtrail:*", "iam:GenerateCredentialReport"],
             "Resource": "*"}]}))
    key = iam.create_access_key(UserName="auditor")["AccessKey"]
    from guardgen.aws.session import Credentials

    options = SessionOptions(endpoint_url=moto.endpoint,
                             credentials=Credentials(key["AccessKeyId"], key["SecretAccessKey"]))
    moto.enforce_iam(True)
    result = run_audit(options, now=NOW, sleep=lambda _: None)
    moto.enforce_iam(False)
    refused = {u.step for u in result.snapshot.unavailable}
    assert refused == {f.STEP_CREDENTIAL_REPORT, f.STEP_TRAILS}
    unknown = {u.check for u in result.audit.unknown}
    assert {"console-without-mfa", "access-key-active", "cloudtrail-not-logging-all-regions",
            "root-usage-alarm-missing"} <= unknown
    assert all("AccessDenied" in u.reason for u in result.audit.unknown)
    # what the auditor may read was still analysed
    got = pairs(result)
    assert ("admin-policy-attached", f"arn:aws:iam::{ACCOUNT}:user/admin-user") in got
    assert ("role-trusts-anyone", f"arn:aws:iam::{ACCOUNT}:role/trusts-anyone") in got
    ids = {x.id for x in result.audit.findings}
    assert not ids & {"console-without-mfa", "cloudtrail-not-logging-all-regions"}


def test_aws_endpoint_url_from_the_environment(moto: MotoServer, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("AWS_ENDPOINT_URL", moto.endpoint)
    monkeypatch.setenv("AWS_REGION", "eu-west-1")
    result = run_audit(SessionOptions(), now=NOW, sleep=lambda _: None)
    assert result.audit.account == ACCOUNT
    assert result.snapshot.region == "eu-west-1"


def test_explicit_region_wins_over_the_environment(moto: MotoServer, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("AWS_REGION", "eu-west-1")
    seed_monitoring(moto.endpoint)  # a multi-region trail homed in us-east-1 shows in every region
    result = run_audit(SessionOptions(endpoint_url=moto.endpoint, region="ap-southeast-2"), now=NOW,
                       sleep=lambda _: None)
    assert result.snapshot.region == "ap-southeast-2"
    assert [t.home_region for t in result.snapshot.trails or ()] == ["us-east-1"]
    assert "cloudtrail-not-logging-all-regions" not in {x.id for x in result.audit.findings}


def test_user_names_with_commas_survive_the_credential_report(moto: MotoServer) -> None:
    """IAM allows ``+=,.@_-`` in names; moto writes the report without quoting them."""
    iam = client(moto.endpoint, "iam")
    for name in ("ci,deploy@example.com", "plain"):
        iam.create_user(UserName=name)
        iam.create_access_key(UserName=name)
    result = audit(moto)
    rows = {r.user: r for r in result.snapshot.credential_report or ()}
    assert rows["ci,deploy@example.com"].arn == f"arn:aws:iam::{ACCOUNT}:user/ci,deploy@example.com"
    assert [k.active for k in rows["ci,deploy@example.com"].access_keys] == [True]
    assert ("access-key-active", f"arn:aws:iam::{ACCOUNT}:user/ci,deploy@example.com") in pairs(result)
