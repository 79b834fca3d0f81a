"""The audit's checks on recorded data shaped like AWS's responses (facts moto cannot represent)."""

from __future__ import annotations

import json
from dataclasses import replace
from datetime import timedelta
from pathlib import Path

import pytest

from guardgen.aws import fetch as f
from guardgen.aws.audit import (
    BY_ID,
    CHECKS,
    NOT_ROOT_USAGE_EVENTS,
    ROOT_USAGE_EVENTS,
    AuditOptions,
    analyze,
    matches_root_usage,
)
from recorded import ACCOUNT, DATA, NOW, arn, refused, snapshot

CIS_ROOT = ('{ $.userIdentity.type = "Root" && $.userIdentity.invokedBy NOT EXISTS '
            '&& $.eventType != "AwsServiceEvent" }')
CORPUS = Path(__file__).resolve().parents[1] / "data" / "cloudtrail"


def found(snap: f.AccountSnapshot, **options: object) -> set[tuple[str, str]]:
    audit = analyze(snap, now=NOW, options=AuditOptions(**options))  # type: ignore[arg-type]
    return {(x.id, x.resource) for x in audit.findings}


def by_id(snap: f.AccountSnapshot, check: str, **options: object) -> dict[str, str]:
    audit = analyze(snap, now=NOW, options=AuditOptions(**options))  # type: ignore[arg-type]
    return {x.resource: x.severity for x in audit.findings if x.id == check}


# -- parsing ----------------------------------------------------------------------------------------

def test_credential_report_parses_root_row_and_key_slots() -> None:
    rows = {r.user: r for r in snapshot().credential_report or ()}
    root = rows[f.ROOT_ROW]
    assert root.is_root and root.password_enabled is None and not root.mfa_active
    assert [k.slot for k in root.access_keys if k.active] == [1]
    assert root.access_keys[0].last_used_service == "s3"
    # an inactive second key still shows (it exists), with its dates
    stale = rows["stale-key"]
    assert [(k.slot, k.active) for k in stale.access_keys] == [(1, True), (2, False)]
    assert rows["never-used"].access_keys[0].last_used is None
    assert rows["alice"].access_keys == ()


def test_authorization_pages_merge_and_documents_decode() -> None:
    auth = snapshot().authorization
    assert auth is not None
    assert {r.name for r in auth.roles} == {"break-glass", "vendor-audit", "AWSServiceRoleForSupport",
                                            "github-deploy"}
    bob = next(u for u in auth.users if u.name == "bob")
    # the URL-encoded inline document became data
    assert bob.inline[0].document["Statement"][0]["NotAction"] == "iam:*"
    # the default version's document, not v1's
    power = next(p for p in auth.policies if p.name == "PowerUserAccess")
    assert power.aws_managed and "NotAction" in power.document["Statement"][0]
    assert next(r for r in auth.roles if r.name == "AWSServiceRoleForSupport").service_linked


# -- root (mistake 1) ------------------------------------------------------------------------------------

def test_root_row_findings() -> None:
    got = found(snapshot())
    root = ("root-mfa-disabled", "root-access-keys", "root-used-recently")
    assert {(check, ACCOUNT) for check in root} <= got


def test_root_keys_seen_in_the_report_even_when_the_summary_says_none() -> None:
    snap = snapshot()
    assert snap.summary is not None
    quiet = replace(snap, summary={**snap.summary, "AccountAccessKeysPresent": 0, "AccountMFAEnabled": 1})
    got = found(quiet)
    assert ("root-access-keys", ACCOUNT) in got  # the row's active key 1
    assert ("root-mfa-disabled", ACCOUNT) in got  # the row's mfa_active=false


def test_root_not_used_recently_is_not_reported() -> None:
    assert ("root-used-recently", ACCOUNT) not in found(replace(snapshot()), root_recent_days=5)
    later = analyze(snapshot(), now=NOW + timedelta(days=200), options=AuditOptions())
    assert "root-used-recently" not in {x.id for x in later.findings}


def test_root_without_row_is_unknown_not_clean() -> None:
    snap = snapshot()
    no_row = replace(snap, credential_report=tuple(r for r in snap.credential_report or () if not r.is_root))
    audit = analyze(no_row, now=NOW)
    assert [u.check for u in audit.unknown] == ["root-used-recently"]
    assert "root-used-recently" not in {x.id for x in audit.findings}


def test_root_virtual_mfa() -> None:
    snap = snapshot()
    assert snap.summary is not None
    device = f.VirtualMfaDevice(f"arn:aws:iam::{ACCOUNT}:mfa/root-account-mfa-device",
                                f"arn:aws:iam::{ACCOUNT}:root")
    with_mfa = replace(snap, summary={**snap.summary, "AccountMFAEnabled": 1})
    assert ("root-virtual-mfa", ACCOUNT) not in found(with_mfa)  # hardware (no virtual device listed)
    devices = (*(with_mfa.virtual_mfa or ()), device)
    assert ("root-virtual-mfa", ACCOUNT) in found(replace(with_mfa, virtual_mfa=devices))


# -- users and keys (mistake 3) --------------------------------------------------------------------------

def test_key_age_use_and_count() -> None:
    got = found(snapshot())
    bob, ci = arn("user", "bob"), arn("user", "automation/ci-deployer")
    stale, never = arn("user", "stale-key"), arn("user", "never-used")
    assert ("access-key-too-old", bob) in got  # key 1, rotated 2020
    assert ("access-key-too-old", stale) in got and ("access-key-too-old", never) in got
    assert ("access-key-too-old", ci) not in got  # 42 days old
    assert ("access-key-unused", stale) in got  # last used 92 days ago
    assert ("access-key-unused", never) in got  # never used, 142 days old
    assert ("access-key-unused", bob) not in got  # key 2 never used but only 31 days old
    assert ("two-active-access-keys", bob) in got and ("two-active-access-keys", stale) not in got
    assert ("console-user-with-access-keys", bob) in got
    assert ("console-without-mfa", bob) in got
    assert not {x for x in got if x[1] == arn("user", "alice")}  # console user with MFA, no keys


def test_max_key_age_is_a_parameter() -> None:
    ci = arn("user", "automation/ci-deployer")
    assert ("access-key-too-old", ci) not in found(snapshot(), max_key_age_days=90)
    assert ("access-key-too-old", ci) in found(snapshot(), max_key_age_days=30)


def test_unused_message_says_never_used() -> None:
    audit = analyze(snapshot(), now=NOW)
    never = [x.message for x in audit.findings
             if x.id == "access-key-unused" and x.resource.endswith("never-used")]
    assert len(never) == 1 and "never been used in its 142 days" in never[0]


# -- policies (mistake 2) ---------------------------------------------------------------------------------

def test_policy_findings_and_their_severity() -> None:
    snap = snapshot()
    assert by_id(snap, "admin-policy-attached") == {arn("role", "break-glass"): "high"}
    assert by_id(snap, "policy-allows-all-actions") == {
        f"arn:aws:iam::{ACCOUNT}:policy/bucket-everything": "medium",  # * on one bucket only
        f"arn:aws:iam::{ACCOUNT}:policy/unused-admin": "low",  # attached to nothing
    }
    assert by_id(snap, "policy-allow-not-action") == {
        "arn:aws:iam::aws:policy/PowerUserAccess": "high",  # attached AWS managed: linted too
        arn("user", "bob"): "medium",  # NotAction on ops-* buckets only
    }


def test_boundary_only_policy_is_linted_as_a_boundary() -> None:
    auth = snapshot().authorization
    assert auth is not None
    star = {"Version": "2012-10-17", "Statement": [{"Effect": "Allow", "Action": "*", "Resource": "*"},
                                                   {"Effect": "Deny", "Action": "iam:*", "Resource": "*"}]}
    policies = tuple(replace(p, document=star) if p.name == "workload-boundary" else p for p in auth.policies)
    got = found(snapshot(authorization=replace(auth, policies=policies)))
    assert ("policy-allows-all-actions", f"arn:aws:iam::{ACCOUNT}:policy/workload-boundary") not in got


# -- trust (mistake 5) ----------------------------------------------------------------------------------

def test_trust_findings() -> None:
    snap = snapshot()
    assert by_id(snap, "role-trusts-account-root") == {arn("role", "break-glass"): "medium"}  # own account
    # ForAllValues:StringLike on sub passes when the claim is missing: no real sub condition
    assert by_id(snap, "oidc-trust-broad-subject") == {arn("role", "ci/github-deploy"): "critical"}
    assert by_id(snap, "oidc-trust-without-audience") == {}
    got = found(snap)
    assert not {x for x in got if x[1] == arn("role", "vendor-audit")}  # foreign root + ExternalId
    assert ("oidc-provider-unused", f"arn:aws:iam::{ACCOUNT}:oidc-provider/gitlab.example.com") in got
    github = f"arn:aws:iam::{ACCOUNT}:oidc-provider/token.actions.githubusercontent.com"
    assert ("oidc-provider-unused", github) not in got


def test_foreign_account_root_without_external_id_is_high() -> None:
    auth = snapshot().authorization
    assert auth is not None
    trust = {"Version": "2012-10-17", "Statement": [{"Effect": "Allow", "Action": "sts:AssumeRole",
                                                     "Principal": {"AWS": "999988887777"}}]}
    roles = tuple(replace(r, trust=trust) if r.name == "vendor-audit" else r for r in auth.roles)
    assert by_id(snapshot(authorization=replace(auth, roles=roles)), "role-trusts-account-root")[
        arn("role", "vendor-audit")] == "high"


# -- boundaries (mistake 4) ------------------------------------------------------------------------------

def test_boundary_is_info_unless_the_account_enforces_one() -> None:
    expected = {arn("role", "break-glass"), arn("role", "ci/github-deploy")}  # not vendor-audit, not the SLR
    assert by_id(snapshot(), "role-without-boundary") == dict.fromkeys(expected, "info")
    enforced = by_id(snapshot(), "role-without-boundary", enforced_boundary_accounts=frozenset({ACCOUNT}))
    assert enforced == dict.fromkeys(expected, "high")
    other = by_id(snapshot(), "role-without-boundary", enforced_boundary_accounts=frozenset({"999988887777"}))
    assert other == dict.fromkeys(expected, "info")


# -- CloudTrail and CloudWatch (mistake 7) -----------------------------------------------------------------

MONITORING = {"cloudtrail-not-logging-all-regions", "root-usage-alarm-missing",
              "root-usage-alarm-without-actions"}


def _monitoring_ids(snap: f.AccountSnapshot) -> set[str]:
    return {x.id for x in analyze(snap, now=NOW).findings} & MONITORING


def test_recorded_monitoring_is_clean() -> None:
    assert _monitoring_ids(snapshot()) == set()


def test_trail_stopped_or_single_region() -> None:
    snap = snapshot()
    assert snap.trails is not None
    stopped = tuple(replace(t, is_logging=False) for t in snap.trails)
    assert _monitoring_ids(replace(snap, trails=stopped)) == {"cloudtrail-not-logging-all-regions",
                                                              "root-usage-alarm-missing"}
    single = tuple(replace(t, multi_region=False) for t in snap.trails)
    assert "cloudtrail-not-logging-all-regions" in _monitoring_ids(replace(snap, trails=single))


def test_filter_that_does_not_match_root_usage() -> None:
    snap = snapshot()
    assert snap.metric_filters is not None
    wrong = tuple(replace(mf, pattern='{ $.userIdentity.type = "IAMUser" }') for mf in snap.metric_filters)
    assert _monitoring_ids(replace(snap, metric_filters=wrong)) == {"root-usage-alarm-missing"}
    everything = tuple(replace(mf, pattern="{ $.eventName = * }") for mf in snap.metric_filters)
    assert _monitoring_ids(replace(snap, metric_filters=everything)) == {"root-usage-alarm-missing"}


def test_filter_on_another_log_group_does_not_count() -> None:
    snap = snapshot()
    assert snap.metric_filters is not None
    elsewhere = tuple(replace(mf, log_group="some-other-group") for mf in snap.metric_filters)
    assert _monitoring_ids(replace(snap, metric_filters=elsewhere)) == {"root-usage-alarm-missing"}


def test_alarm_missing_or_silent() -> None:
    snap = snapshot()
    assert snap.alarms is not None
    assert _monitoring_ids(replace(snap, alarms=())) == {"root-usage-alarm-missing"}
    silent = tuple(replace(a, actions=()) for a in snap.alarms)
    assert _monitoring_ids(replace(snap, alarms=silent)) == {"root-usage-alarm-without-actions"}
    disabled = tuple(replace(a, actions_enabled=False) for a in snap.alarms)
    assert _monitoring_ids(replace(snap, alarms=disabled)) == {"root-usage-alarm-without-actions"}


def test_organization_trail_log_group_in_another_account_is_unknown() -> None:
    snap = snapshot()
    assert snap.trails is not None
    org = tuple(replace(t, log_group_arn=(t.log_group_arn or "").replace(ACCOUNT, "444455556666"))
                for t in snap.trails)
    audit = analyze(replace(snap, trails=org, metric_filters=(), alarms=()), now=NOW)
    assert {u.check for u in audit.unknown} == MONITORING - {"cloudtrail-not-logging-all-regions"}
    assert "root-usage-alarm-missing" not in {x.id for x in audit.findings}


def test_root_usage_probes_agree_with_the_cloudtrail_corpus() -> None:
    """The CIS filter, run by guardgen's evaluator, fires on the corpus's root-usage records only."""
    expectations = json.loads((CORPUS / "expectations.json").read_text(encoding="utf-8"))
    from guardgen.policy import logfilter

    pattern = logfilter.parse(CIS_ROOT)
    for name, alarms in expectations.items():
        event = json.loads((CORPUS / name).read_text(encoding="utf-8"))
        assert pattern.matches(event) == ("root-usage" in alarms), name
    assert matches_root_usage(CIS_ROOT) is True
    assert all(pattern.matches(e) for e in ROOT_USAGE_EVENTS)
    assert not any(pattern.matches(e) for e in NOT_ROOT_USAGE_EVENTS)


@pytest.mark.parametrize("pattern, verdict", [
    (CIS_ROOT, True),
    ('{ $.userIdentity.type = "Root" }', True),  # noisier than CIS but counts every root action
    ('{ $.userIdentity.type = Root && $.eventName = ConsoleLogin }', False),  # misses root API calls
    ('{ $.userIdentity.type = "IAMUser" }', False),
    ("{ $.eventName = * }", False),  # counts everyone
    ('"Root"', None),  # a term pattern: guardgen cannot evaluate it
    ("{ $.userIdentity.type = ", None),  # CloudWatch would reject it
])
def test_matches_root_usage(pattern: str, verdict: bool | None) -> None:
    assert matches_root_usage(pattern) is verdict


# -- AccessDenied -> unknown -------------------------------------------------------------------------

@pytest.mark.parametrize("step", [f.STEP_CREDENTIAL_REPORT, f.STEP_AUTHORIZATION, f.STEP_SUMMARY,
                                  f.STEP_VIRTUAL_MFA, f.STEP_OIDC, f.STEP_TRAILS, f.STEP_TRAIL_STATUS,
                                  f.STEP_METRIC_FILTERS, f.STEP_ALARMS])
def test_refused_step_makes_exactly_its_checks_unknown(step: str) -> None:
    full = analyze(snapshot(), now=NOW)
    partial = analyze(refused(snapshot(), step), now=NOW)
    needing = {c.id for c in CHECKS if step in c.needs}
    assert needing, step
    assert {u.check for u in partial.unknown} - {u.check for u in full.unknown} == needing
    assert all(u.step == step and "AccessDenied" in u.reason for u in partial.unknown if u.check in needing)
    # every other check still ran and found what it found before
    assert ({(x.id, x.resource) for x in partial.findings if x.id not in needing}
            == {(x.id, x.resource) for x in full.findings if x.id not in needing})
    assert not {x.id for x in partial.findings} & needing


def test_registry_is_well_formed() -> None:
    assert len(BY_ID) == len(CHECKS)
    for c in CHECKS:
        assert c.id == c.id.lower() and " " not in c.id
        assert c.mistake is None or 1 <= c.mistake <= 7
        assert c.needs and c.source.startswith("https://")


def test_findings_are_ordered_and_json_shaped() -> None:
    audit = analyze(snapshot(), now=NOW)
    ranks = [("info", "low", "medium", "high", "critical").index(x.severity) for x in audit.findings]
    assert ranks == sorted(ranks, reverse=True)
    doc = audit.to_json()
    assert doc["account"] == ACCOUNT and set(doc) == {"account", "findings", "unknown"}
    for x in doc["findings"]:
        assert set(x) == {"id", "severity", "resource", "message", "mistake"}
        assert x["resource"] == ACCOUNT or x["resource"].startswith("arn:aws:iam::")


@pytest.mark.parametrize("name, path", [("ci,deploy@example.com", "/"), ("a,b,c", "/team,x/")])
def test_unquoted_commas_in_names_and_paths(name: str, path: str) -> None:
    """moto writes the report without CSV quoting; IAM names and paths may hold commas."""
    header = (DATA / "credential-report.csv").read_text(encoding="utf-8").splitlines()[0]
    user_arn = f"arn:aws:iam::{ACCOUNT}:user{path}{name}"
    row = (f"{name},{user_arn},2025-01-01T00:00:00+00:00,true,N/A,N/A,N/A,false,true,"
           "2025-01-02T00:00:00+00:00,N/A,N/A,N/A,false,N/A,N/A,N/A,N/A,false,N/A,false,N/A")
    (parsed,) = f.parse_credential_report(f"{header}\n{row}\n")
    assert (parsed.user, parsed.arn, parsed.password_enabled) == (name, user_arn, True)
    assert [(k.slot, k.active) for k in parsed.access_keys] == [(1, True)]
