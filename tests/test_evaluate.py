"""The offline policy evaluator against AWS's documented evaluation logic, and every guardrail."""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from typing import Any

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from guardgen import catalog
from guardgen.catalog import guardrails as catalog_guardrails
from guardgen.errors import GuardgenError
from guardgen.policy.evaluate import Decision, Match, Policy, PolicyError, Request, evaluate

ACCOUNT = "111122223333"
MGMT_ACCOUNT = "999999999999"
ADMIN = f"arn:aws:iam::{ACCOUNT}:role/Admin"
BREAK_GLASS = f"arn:aws:iam::{ACCOUNT}:role/BreakGlassAdmin"
ROOT = f"arn:aws:iam::{ACCOUNT}:root"
USER = f"arn:aws:iam::{ACCOUNT}:user/carlossalazar"
SESSION = f"arn:aws:sts::{ACCOUNT}:assumed-role/Admin/alice"
SLR = f"arn:aws:iam::{ACCOUNT}:role/aws-service-role/guardduty.amazonaws.com/AWSServiceRoleForAmazonGuardDuty"
V = "2012-10-17"

Statement = dict[str, Any]
Levels = Sequence[Sequence[Policy]] | None


def stmt(effect: str, action: str | list[str] = "*", resource: str | list[str] | None = "*",
         **extra: Any) -> Statement:
    out: Statement = {"Effect": effect, "Action": action}
    if resource is not None:
        out["Resource"] = resource
    out.update(extra)
    return out


def allow(action: str | list[str] = "*", resource: str | list[str] | None = "*", **extra: Any) -> Statement:
    return stmt("Allow", action, resource, **extra)


def deny(action: str | list[str] = "*", resource: str | list[str] | None = "*", **extra: Any) -> Statement:
    return stmt("Deny", action, resource, **extra)


def pol(name: str, *statements: Statement, version: str | None = V) -> Policy:
    document: dict[str, Any] = {"Statement": list(statements)}
    if version is not None:
        document = {"Version": version, **document}
    return Policy(name, document)


FULL = pol("FullAWSAccess", allow())
ADMIN_POLICY = pol("AdministratorAccess", allow())


def req(action: str, resource: str = "*", principal: str = ADMIN,
        context: Mapping[str, str | list[str]] | None = None, account: str = ACCOUNT) -> Request:
    ctx: dict[str, str | list[str]] = {"aws:RequestedRegion": "us-east-1"}
    ctx.update(context or {})
    return Request(principal, account, action, resource, ctx)


def run(request: Request, scps: Levels = ((FULL,), (FULL,)), identity: Sequence[Policy] = (ADMIN_POLICY,),
        **kwargs: Any) -> Decision:
    return evaluate(request, scp_levels=scps, identity=identity, **kwargs)


def holds(condition: Mapping[str, Any], context: Mapping[str, str | list[str]],
          version: str | None = V, resource: str = "*", policy_resource: str = "*") -> bool:
    """Whether a condition block holds: an identity Allow carrying it decides the request."""
    request = Request(ADMIN, ACCOUNT, "s3:GetObject", resource, dict(context))
    policy = pol("p", allow("s3:GetObject", policy_resource, Condition=dict(condition)), version=version)
    return evaluate(request, scp_levels=None, identity=[policy]).allowed


# --------------------------------------------------------------------------------------------------
# (a) SCPs: FullAWSAccess plus Deny statements


def test_full_access_with_a_deny_scp_denies_only_the_named_action() -> None:
    protect = pol("protect-cloudtrail", deny(["cloudtrail:StopLogging", "cloudtrail:DeleteTrail"],
                                            Sid="ProtectCloudtrail"))
    scps = [[FULL, protect], [FULL]]
    denied = run(req("cloudtrail:StopLogging"), scps)
    assert not denied.allowed and denied.decision == "deny" and denied.reason == "explicit-deny"
    assert denied.deciding == [Match("protect-cloudtrail", "scp", 0, "ProtectCloudtrail", 0,
                                     "the organization root (SCP level 0)")]
    ok = run(req("cloudtrail:DescribeTrails"), scps)
    assert ok.allowed and ok.decision == "allow" and ok.reason == "allowed"
    assert [m.policy for m in ok.deciding] == ["AdministratorAccess"]


def test_scp_deny_beats_an_identity_allow_and_a_deny_at_the_account_level_counts_too() -> None:
    scps = [[FULL], [FULL], [FULL, pol("no-s3-delete", deny("s3:DeleteBucket"))]]
    d = run(req("s3:DeleteBucket", "arn:aws:s3:::b"), scps)
    assert d.reason == "explicit-deny" and d.deciding[0].level == 2
    assert d.deciding[0].level_name == "the account (SCP level 2)"


def test_scps_do_not_grant_identity_policies_still_must_allow() -> None:
    d = run(req("s3:GetObject"), identity=[])
    assert d.reason == "no-allow" and d.deciding == []


# (b) a level with only Deny statements


def test_deny_only_level_denies_everything_even_actions_it_does_not_name() -> None:
    ou = pol("deny-delete-bucket", deny("s3:DeleteBucket"))
    scps = [[FULL], [ou], [FULL]]
    d = run(req("ec2:RunInstances"), scps)
    assert d.reason == "scp-implicit-deny"
    assert d.deciding == [Match("deny-delete-bucket", "scp", None, None, 1, "OU level 1")]
    assert "FullAWSAccess" in d.explain()
    # The named action is an explicit deny: the Deny is found before the missing Allow.
    assert run(req("s3:DeleteBucket"), scps).reason == "explicit-deny"


def test_a_level_without_any_scp_denies_everything() -> None:
    d = run(req("s3:GetObject"), [[FULL], []])
    assert d.reason == "scp-implicit-deny" and d.deciding == []
    assert "No SCP is attached" in d.explain()


# (c) every level must allow


def test_ou_allowing_only_s3_denies_ec2_although_the_root_allows_everything() -> None:
    scps = [[FULL], [pol("s3-only", allow("s3:*"))], [FULL]]
    d = run(req("ec2:RunInstances"), scps)
    assert d.reason == "scp-implicit-deny" and d.deciding[0].policy == "s3-only"
    assert run(req("s3:PutObject", "arn:aws:s3:::b/k"), scps).allowed


def test_an_scp_allow_with_a_condition_only_allows_when_it_holds() -> None:
    scps = [[pol("eu-only", allow(Condition={"StringEquals": {"aws:RequestedRegion": "eu-west-1"}}))]]
    assert not run(req("s3:GetObject"), scps).allowed
    assert run(req("s3:GetObject", context={"aws:RequestedRegion": "eu-west-1"}), scps).allowed


# (d) permissions boundaries


def test_boundary_and_identity_intersect() -> None:
    boundary = pol("boundary", allow(["s3:*", "iam:*"]))
    identity = [pol("identity", allow(["s3:*", "ec2:*"]))]
    assert run(req("s3:GetObject"), identity=identity, boundary=boundary).allowed
    ec2 = run(req("ec2:RunInstances"), identity=identity, boundary=boundary)
    assert ec2.reason == "boundary-implicit-deny"
    assert ec2.deciding == [Match("boundary", "boundary", None, None)]
    assert run(req("iam:CreateRole"), identity=identity, boundary=boundary).reason == "no-allow"


def test_documented_boundary_example_shirley_cannot_create_users() -> None:
    # access_policies_boundaries: boundary s3/cloudwatch/ec2, identity iam:CreateUser -> fails.
    shirley = f"arn:aws:iam::{ACCOUNT}:user/ShirleyRodriguez"
    boundary = pol("ShirleyBoundary", allow(["s3:*", "cloudwatch:*", "ec2:*"]))
    identity = [pol("CreateUser", allow("iam:CreateUser"))]
    d = run(req("iam:CreateUser", principal=shirley), None, identity, boundary=boundary)
    assert d.reason == "boundary-implicit-deny"


def test_a_deny_in_the_boundary_is_an_explicit_deny() -> None:
    boundary = pol("boundary", allow(), deny("s3:DeleteBucket", Sid="NoDelete"))
    d = run(req("s3:DeleteBucket"), boundary=boundary)
    assert d.reason == "explicit-deny" and d.deciding[0].policy_type == "boundary"


# (e) explicit deny in identity policies, and the documented examples


def test_identity_deny_beats_an_identity_allow() -> None:
    identity = [ADMIN_POLICY, pol("deny-iam", deny("iam:*", Sid="NoIam"))]
    d = run(req("iam:CreateRole"), identity=identity)
    assert d.reason == "explicit-deny"
    assert d.deciding == [Match("deny-iam", "identity", 0, "NoIam")]


def test_documented_example_explicit_and_implicit_denies() -> None:
    # evaluation-logic page, "The difference between explicit and implicit denies".
    policy = pol("example", allow(["iam:Get*", "iam:List*"], Sid="AllowGetList"),
                 deny("iam:*Report", Sid="DenyReports"))
    assert run(req("iam:GetUser"), None, [policy]).allowed
    assert run(req("iam:ListRoles"), None, [policy]).allowed
    assert run(req("iam:CreatePolicy"), None, [policy]).reason == "no-allow"
    report = run(req("iam:GetOrganizationsAccessReport"), None, [policy])
    assert report.reason == "explicit-deny" and report.deciding[0].sid == "DenyReports"
    # Another policy granting reports does not help: the Deny still wins.
    more = [policy, pol("reports", allow("iam:GenerateCredentialReport"))]
    assert run(req("iam:GenerateCredentialReport"), None, more).reason == "explicit-deny"


def _carlos_policies() -> tuple[Policy, Policy]:
    identity = pol("carlossalazar", allow(
        ["s3:GetBucketLocation", "s3:GetAccountPublicAccessBlock", "s3:ListAccessPoints",
         "s3:ListAllMyBuckets"], "arn:aws:s3:::*", Sid="AllowS3ListRead"),
        allow("s3:*", ["arn:aws:s3:::carlossalazar/*", "arn:aws:s3:::carlossalazar"], Sid="AllowS3Self"),
        deny("s3:*", "arn:aws:s3:::*log*", Sid="DenyS3Logs"))
    bucket = pol("carlossalazar bucket policy", allow(
        "s3:*", ["arn:aws:s3:::carlossalazar/*", "arn:aws:s3:::carlossalazar"], Principal={"AWS": USER}))
    return identity, bucket


def test_documented_example_carlos_saves_to_his_buckets() -> None:
    # evaluation-logic page, "Example identity-based and resource-based policy evaluation".
    identity, bucket = _carlos_policies()
    logs = run(req("s3:PutObject", "arn:aws:s3:::carlossalazar-logs/f", USER), None, [identity],
               resource_policies=[bucket])
    assert logs.reason == "explicit-deny" and logs.deciding[0].sid == "DenyS3Logs"
    own = run(req("s3:PutObject", "arn:aws:s3:::carlossalazar/f", USER), None, [identity],
              resource_policies=[bucket])
    assert own.allowed
    # Either policy alone allows within the same account.
    assert run(req("s3:PutObject", "arn:aws:s3:::carlossalazar/f", USER), None, [],
               resource_policies=[bucket]).allowed
    assert run(req("s3:PutObject", "arn:aws:s3:::carlossalazar/f", USER), None, [identity]).allowed


# (f) management account, (g) service-linked roles, not in an organization


def test_management_account_is_not_restricted_by_scps() -> None:
    deny_all = pol("deny-all", deny())
    request = req("organizations:LeaveOrganization", principal=f"arn:aws:iam::{MGMT_ACCOUNT}:role/Admin",
                  account=MGMT_ACCOUNT)
    assert run(request, [[FULL, deny_all]]).reason == "explicit-deny"
    d = run(request, [[FULL, deny_all]], is_management_account=True)
    assert d.allowed and "management account" in d.explain()
    # Identity policies still apply there.
    assert run(request, [[deny_all]], [], is_management_account=True).reason == "no-allow"


def test_service_linked_role_is_not_restricted_by_scps() -> None:
    scps = [[FULL, pol("protect", deny("guardduty:*"))], [pol("nothing-allowed", deny("s3:*"))]]
    d = run(req("guardduty:UpdateDetector", principal=SLR), scps)
    assert d.allowed and "service-linked role" in d.explain()
    assert run(req("guardduty:UpdateDetector"), scps).reason == "explicit-deny"
    # A session of the service-linked role, with aws:PrincipalArn carrying the path.
    session = f"arn:aws:sts::{ACCOUNT}:assumed-role/AWSServiceRoleForAmazonGuardDuty/GuardDuty"
    assert run(req("guardduty:UpdateDetector", principal=session, context={"aws:PrincipalArn": SLR}),
               scps).allowed


def test_outside_an_organization_no_scp_applies() -> None:
    d = run(req("s3:GetObject"), None)
    assert d.allowed and "not in an organization" in d.explain()


# --------------------------------------------------------------------------------------------------
# (h) condition operators

OPERATOR_CASES: list[tuple[str, Any, str | list[str], bool]] = [
    # (operator, policy value(s), context value, expected)
    ("StringEquals", "abc", "abc", True),
    ("StringEquals", "abc", "ABC", False),
    ("StringEquals", ["x", "abc"], "abc", True),
    ("StringEquals", "a*", "abc", False),  # no wildcards in StringEquals
    ("StringNotEquals", "abc", "abd", True),
    ("StringNotEquals", ["abd", "abc"], "abc", False),  # NOR over the values
    ("StringEqualsIgnoreCase", "ABC", "abc", True),
    ("StringEqualsIgnoreCase", "ABC", "abd", False),
    ("StringNotEqualsIgnoreCase", "ABC", "abc", False),
    ("StringNotEqualsIgnoreCase", "ABC", "abd", True),
    ("StringLike", "a*c", "abbbc", True),
    ("StringLike", "a?c", "abc", True),
    ("StringLike", "a?c", "abbc", False),
    ("StringLike", "a*", "ba", False),
    ("StringNotLike", "a*", "ba", True),
    ("StringNotLike", ["b*", "a*"], "ba", False),
    ("ArnEquals", "arn:aws:iam::111122223333:role/Admin", "arn:aws:iam::111122223333:role/Admin", True),
    ("ArnEquals", "arn:aws:iam::*:role/Admin", "arn:aws:iam::111122223333:role/Admin", True),
    ("ArnEquals", "arn:aws:iam::*:role/admin", "arn:aws:iam::111122223333:role/Admin", False),
    ("ArnLike", "arn:aws:iam::*:role/*", "arn:aws:iam::111122223333:role/path/Admin", True),
    ("ArnLike", "arn:aws:iam::*:role/*", "arn:aws:iam::111122223333:user/bob", False),
    ("ArnLike", "arn:aws:iam::*:role/*", "not-an-arn", False),
    # A wildcard in the first five components does not cross a colon.
    ("ArnLike", "arn:aws:*:role/*", "arn:aws:iam::111122223333:role/Admin", True),  # < 5 colons: glob
    ("ArnLike", "arn:aws:iam::*::role/*", "arn:aws:iam::111122223333:role/x:y", False),
    ("ArnNotEquals", "arn:aws:iam::*:role/Admin", "arn:aws:iam::111122223333:role/Other", True),
    ("ArnNotLike", "arn:aws:iam::*:role/Break*", "arn:aws:iam::111122223333:role/BreakGlass", False),
    ("ArnNotLike", "arn:aws:iam::*:role/Break*", "arn:aws:iam::111122223333:role/Admin", True),
    ("NumericEquals", "2", "2.0", True),
    ("NumericEquals", 2, "2", True),
    ("NumericEquals", "2.0", "2.5", False),
    ("NumericNotEquals", "2", "3", True),
    ("NumericNotEquals", "2", "2.00", False),
    ("NumericLessThan", "2.0", "1", True),
    ("NumericLessThan", "2.0", "2", False),
    ("NumericLessThanEquals", "2", "2.0", True),
    ("NumericLessThanEquals", "2", "10", False),  # numeric, not lexical
    ("NumericGreaterThan", "2", "10", True),
    ("NumericGreaterThan", "2", "2", False),
    ("NumericGreaterThan", "2", "abc", False),  # an unparsable context value never matches
    ("NumericGreaterThanEquals", "2", "2", True),
    ("NumericGreaterThanEquals", "2", "1.999", False),
    ("DateEquals", "2026-01-01T00:00:00Z", "2026-01-01T00:00:00+00:00", True),
    ("DateEquals", "2026-01-01T00:00:00Z", "1767225600", True),  # epoch seconds
    ("DateNotEquals", "2026-01-01T00:00:00Z", "2026-01-02T00:00:00Z", True),
    ("DateLessThan", "2026-01-01T00:00:00Z", "2025-12-31T23:59:59Z", True),
    ("DateLessThan", "2026-01-01T00:00:00Z", "2026-01-01T00:00:00Z", False),
    ("DateLessThanEquals", "2026-01-01", "2026-01-01T00:00:00Z", True),
    ("DateGreaterThan", "2026-01-01T00:00:00Z", "2026-06-01T00:00:00Z", True),
    ("DateGreaterThanEquals", "2026-01-01T00:00:00Z", "2025-06-01T00:00:00Z", False),
    ("Bool", "true", "true", True),
    ("Bool", True, "true", True),
    ("Bool", "true", "false", False),
    ("Bool", False, "FALSE", True),
    ("BinaryEquals", "QmluYXJ5VmFsdWU=", "QmluYXJ5VmFsdWU=", True),
    ("BinaryEquals", "QmluYXJ5VmFsdWU=", "b3RoZXI=", False),
    ("IpAddress", "203.0.113.0/24", "203.0.113.9", True),
    ("IpAddress", "203.0.113.0/24", "198.51.100.1", False),
    ("IpAddress", "2001:db8::/32", "2001:db8::1", True),
    ("IpAddress", "203.0.113.7", "203.0.113.7", True),
    ("IpAddress", "203.0.113.0/24", "not-an-ip", False),
    ("NotIpAddress", "203.0.113.0/24", "198.51.100.1", True),
    ("NotIpAddress", ["198.51.100.0/24", "203.0.113.0/24"], "203.0.113.9", False),
]


@pytest.mark.parametrize(("operator", "values", "context_value", "expected"), OPERATOR_CASES,
                         ids=lambda x: str(x)[:40])
def test_condition_operator(operator: str, values: Any, context_value: str | list[str],
                            expected: bool) -> None:
    assert holds({operator: {"test:Key": values}}, {"test:Key": context_value}) is expected


NEGATED = ["StringNotEquals", "StringNotEqualsIgnoreCase", "StringNotLike", "ArnNotEquals", "ArnNotLike",
           "NumericNotEquals", "DateNotEquals", "NotIpAddress"]
POSITIVE = ["StringEquals", "StringEqualsIgnoreCase", "StringLike", "ArnEquals", "ArnLike",
            "NumericEquals", "NumericLessThan", "NumericGreaterThanEquals", "DateEquals",
            "DateLessThan", "Bool", "BinaryEquals", "IpAddress"]
SAMPLE_VALUE = {"String": "x", "Arn": "arn:aws:iam::*:role/x", "Numeric": "1", "Date": "2026-01-01",
                "Bool": "true", "Binary": "eA==", "IpAddress": "10.0.0.0/8", "NotIpAddress": "10.0.0.0/8"}


def _sample(operator: str) -> str:
    return next(v for k, v in SAMPLE_VALUE.items() if operator.startswith(k))


@pytest.mark.parametrize("operator", NEGATED)
def test_negated_operator_with_a_missing_key_is_true(operator: str) -> None:
    assert holds({operator: {"test:Missing": _sample(operator)}}, {})


@pytest.mark.parametrize("operator", POSITIVE)
def test_positive_operator_with_a_missing_key_is_false(operator: str) -> None:
    assert not holds({operator: {"test:Missing": _sample(operator)}}, {})


@pytest.mark.parametrize("operator", POSITIVE + NEGATED)
def test_if_exists_is_true_when_the_key_is_missing_and_checks_when_present(operator: str) -> None:
    assert holds({operator + "IfExists": {"test:Missing": _sample(operator)}}, {})
    # Present: behaves as the operator itself.
    context = {"test:K": "zzz-no-match"}
    present = holds({operator: {"test:K": _sample(operator)}}, context)
    assert holds({operator + "IfExists": {"test:K": _sample(operator)}}, context) is present


def test_string_equals_if_exists_on_a_present_key_still_compares() -> None:
    assert holds({"StringEqualsIfExists": {"ec2:InstanceType": "t3.micro"}}, {"ec2:InstanceType": "t3.micro"})
    assert not holds({"StringEqualsIfExists": {"ec2:InstanceType": "t3.micro"}},
                     {"ec2:InstanceType": "m5.24xlarge"})


def test_for_all_values_with_a_missing_key_is_true() -> None:
    # Why ForAllValues is dangerous in an Allow: no key, no restriction.
    assert holds({"ForAllValues:StringEquals": {"aws:TagKeys": ["env", "team"]}}, {})
    assert holds({"ForAllValues:StringEquals": {"aws:TagKeys": ["env", "team"]}}, {"aws:TagKeys": []})
    assert holds({"ForAllValues:StringEquals": {"aws:TagKeys": ["env", "team"]}}, {"aws:TagKeys": ["env"]})
    assert not holds({"ForAllValues:StringEquals": {"aws:TagKeys": ["env", "team"]}},
                     {"aws:TagKeys": ["env", "owner"]})


def test_for_any_value_with_a_missing_key_is_false() -> None:
    assert not holds({"ForAnyValue:StringEquals": {"aws:TagKeys": ["env"]}}, {})
    assert not holds({"ForAnyValue:StringEquals": {"aws:TagKeys": ["env"]}}, {"aws:TagKeys": []})
    assert holds({"ForAnyValue:StringEquals": {"aws:TagKeys": ["env"]}}, {"aws:TagKeys": ["owner", "env"]})
    assert not holds({"ForAnyValue:StringEquals": {"aws:TagKeys": ["env"]}}, {"aws:TagKeys": ["owner"]})


def test_set_operators_with_negated_operators() -> None:
    # ForAllValues:StringNotEquals: no request value may be in the policy list.
    c = {"ForAllValues:StringNotEquals": {"aws:TagKeys": ["secret"]}}
    assert holds(c, {"aws:TagKeys": ["env", "team"]})
    assert not holds(c, {"aws:TagKeys": ["env", "secret"]})
    # ForAnyValue:StringNotLike: some request value matches none of the patterns.
    c = {"ForAnyValue:StringNotLike": {"aws:TagKeys": ["env*"]}}
    assert holds(c, {"aws:TagKeys": ["env", "team"]})
    assert not holds(c, {"aws:TagKeys": ["env", "environment"]})
    assert holds({"ForAnyValue:StringEqualsIfExists": {"aws:TagKeys": ["x"]}}, {})


def test_multivalued_key_without_a_set_operator() -> None:
    # Positive: any value matches; negated: the exact complement.
    assert holds({"StringEquals": {"aws:TagKeys": "env"}}, {"aws:TagKeys": ["team", "env"]})
    assert not holds({"StringNotEquals": {"aws:TagKeys": "env"}}, {"aws:TagKeys": ["team", "env"]})
    assert holds({"StringNotEquals": {"aws:TagKeys": "env"}}, {"aws:TagKeys": ["team", "owner"]})


def test_null_operator() -> None:
    assert holds({"Null": {"aws:TokenIssueTime": "true"}}, {})
    assert not holds({"Null": {"aws:TokenIssueTime": "true"}}, {"aws:TokenIssueTime": "2026-01-01T00:00:00Z"})
    assert holds({"Null": {"aws:TokenIssueTime": "false"}}, {"aws:TokenIssueTime": "2026-01-01T00:00:00Z"})
    assert not holds({"Null": {"aws:TokenIssueTime": False}}, {})
    assert holds({"Null": {"aws:TokenIssueTime": ["true", "false"]}}, {})  # values ORed


def test_operators_keys_and_values_combine_as_documented() -> None:
    both = {"StringEquals": {"aws:RequestedRegion": ["eu-west-1", "us-east-1"], "test:Env": "prod"},
            "Bool": {"aws:SecureTransport": "true"}}
    good = {"aws:RequestedRegion": "us-east-1", "test:Env": "prod", "aws:SecureTransport": "true"}
    assert holds(both, good)  # values ORed, keys ANDed, operators ANDed
    assert not holds(both, {**good, "test:Env": "dev"})
    assert not holds(both, {**good, "aws:SecureTransport": "false"})
    assert not holds(both, {**good, "aws:RequestedRegion": "ap-south-1"})


def test_condition_keys_and_operator_names_are_case_insensitive() -> None:
    assert holds({"StringEquals": {"AWS:REQUESTEDREGION": "us-east-1"}}, {"aws:requestedregion": "us-east-1"})
    assert holds({"stringequals": {"aws:RequestedRegion": "us-east-1"}}, {"AWS:RequestedRegion": "us-east-1"})
    with pytest.raises(ValueError, match="given twice"):
        holds({}, {"a:b": "1", "A:B": "2"})


def test_numeric_strings_compare_numerically_as_in_the_imds_guardrail() -> None:
    c = {"NumericLessThan": {"ec2:RoleDelivery": "2.0"}}
    assert holds(c, {"ec2:RoleDelivery": "1.0"})
    assert not holds(c, {"ec2:RoleDelivery": "2"})
    assert not holds(c, {"ec2:RoleDelivery": "10"})
    assert holds({"NumericGreaterThan": {"ec2:MetadataHttpPutResponseHopLimit": 2}},
                 {"ec2:MetadataHttpPutResponseHopLimit": "3"})


# --------------------------------------------------------------------------------------------------
# Action and resource matching


def test_actions_match_case_insensitively_with_wildcards() -> None:
    p = [pol("p", allow(["S3:get*", "iam:?etUser", "ec2:Describe*Instances"]))]
    for action in ("s3:GetObject", "s3:getobject", "IAM:GetUser", "iam:SetUser", "ec2:DescribeInstances"):
        assert run(req(action), None, p).allowed, action
    for action in ("s3:PutObject", "iam:GetUsers", "ec2:DescribeImages", "s3"):
        assert not run(req(action), None, p).allowed, action


def test_not_action_and_not_resource() -> None:
    p = [pol("p", {"Effect": "Allow", "NotAction": "iam:*", "NotResource": "arn:aws:s3:::secret/*"})]
    assert run(req("s3:GetObject", "arn:aws:s3:::public/k"), None, p).allowed
    assert not run(req("s3:GetObject", "arn:aws:s3:::secret/k"), None, p).allowed
    assert not run(req("iam:CreateRole"), None, p).allowed


def test_resources_match_per_arn_component_and_case_sensitively() -> None:
    def ok(pattern: str, resource: str) -> bool:
        return run(req("s3:GetObject", resource), None, [pol("p", allow("*", pattern))]).allowed

    assert ok("arn:aws:s3:::bucket/*", "arn:aws:s3:::bucket/a/b:c")
    assert not ok("arn:aws:s3:::bucket/*", "arn:aws:s3:::Bucket/a")
    assert ok("arn:aws:ec2:*:*:instance/*", "arn:aws:ec2:us-east-1:111122223333:instance/i-1")
    assert not ok("arn:aws:ec2:*:*:instance/*", "arn:aws:ec2:us-east-1:111122223333:volume/v-1")
    assert ok("arn:aws:s3:::*log*", "arn:aws:s3:::carlossalazar-logs")
    assert not ok("arn:aws:*:::bucket", "arn:aws:s3:x::bucket")  # "*" stays within the service part
    assert ok("arn:aws:s3:::bucket?", "arn:aws:s3:::bucket1")
    assert ok("*", "arn:aws:s3:::anything")
    assert ok("*", "*")
    # A request without a resource-level ARN only matches "*".
    assert not ok("arn:aws:s3:::*", "*")


def test_statement_without_resource_applies_to_any_resource() -> None:
    assert run(req("s3:GetObject", "arn:aws:s3:::b/k"), None, [pol("p", allow("s3:*", None))]).allowed


# --------------------------------------------------------------------------------------------------
# Resource-based policies in the same account


def test_resource_policy_granting_a_user_allows_without_identity_or_boundary() -> None:
    bucket = pol("bucket", allow("s3:GetObject", "arn:aws:s3:::b/*", Principal={"AWS": [USER]}))
    d = run(req("s3:GetObject", "arn:aws:s3:::b/k", USER), identity=[],
            boundary=pol("boundary", allow("ec2:*")), resource_policies=[bucket])
    assert d.allowed and d.deciding == [Match("bucket", "resource", 0, None)]


def test_resource_policy_granting_a_role_arn_is_capped_by_the_boundary() -> None:
    bucket = pol("bucket", allow("s3:GetObject", "arn:aws:s3:::b/*", Principal={"AWS": ADMIN}))
    request = req("s3:GetObject", "arn:aws:s3:::b/k")
    assert run(request, identity=[], resource_policies=[bucket]).allowed
    capped = run(request, identity=[], boundary=pol("boundary", allow("ec2:*")), resource_policies=[bucket])
    assert capped.reason == "boundary-implicit-deny"
    # The same holds for a session of that role: the grant names the role, not the session.
    session = req("s3:GetObject", "arn:aws:s3:::b/k", SESSION)
    assert run(session, identity=[], resource_policies=[bucket]).allowed
    assert run(session, identity=[], boundary=pol("boundary", allow("ec2:*")),
               resource_policies=[bucket]).reason == "boundary-implicit-deny"


def test_resource_policy_granting_the_session_arn_is_not_capped_by_the_boundary() -> None:
    bucket = pol("bucket", allow("s3:GetObject", "arn:aws:s3:::b/*", Principal={"AWS": SESSION}))
    d = run(req("s3:GetObject", "arn:aws:s3:::b/k", SESSION), identity=[],
            boundary=pol("boundary", allow("ec2:*")), resource_policies=[bucket])
    assert d.allowed


def test_resource_policy_granting_the_account_only_delegates_to_iam() -> None:
    for principal in (ACCOUNT, ROOT):
        bucket = pol("bucket", allow("s3:GetObject", "arn:aws:s3:::b/*", Principal={"AWS": principal}))
        request = req("s3:GetObject", "arn:aws:s3:::b/k")
        d = run(request, identity=[], resource_policies=[bucket])
        assert d.reason == "no-allow" and "delegates" in d.explain()
        assert run(request, resource_policies=[bucket]).allowed


def test_resource_policy_wildcard_principal_and_service_principals() -> None:
    public = pol("public", allow("s3:GetObject", "arn:aws:s3:::b/*", Principal="*"))
    assert run(req("s3:GetObject", "arn:aws:s3:::b/k"), identity=[], resource_policies=[public]).allowed
    # Our reading: "*" names the caller itself, so a boundary does not cap it (unlike a role ARN grant).
    assert run(req("s3:GetObject", "arn:aws:s3:::b/k"), identity=[], boundary=pol("pb", allow("ec2:*")),
               resource_policies=[public]).allowed
    federated = f"arn:aws:sts::{ACCOUNT}:federated-user/bob"
    grant = pol("grant", allow("s3:GetObject", "arn:aws:s3:::b/*", Principal={"AWS": federated}))
    assert run(req("s3:GetObject", "arn:aws:s3:::b/k", federated), identity=[],
               boundary=pol("pb", allow("ec2:*")), resource_policies=[grant]).allowed
    service = pol("svc", allow("s3:PutObject", "arn:aws:s3:::b/*",
                               Principal={"Service": "cloudtrail.amazonaws.com"}))
    assert run(req("s3:PutObject", "arn:aws:s3:::b/k"), identity=[],
               resource_policies=[service]).reason == "no-allow"


def test_resource_policy_deny_applies_to_named_principals_only() -> None:
    bucket = pol("bucket", deny("s3:*", "arn:aws:s3:::b/*", Principal={"AWS": ACCOUNT}, Sid="NoOne"))
    d = run(req("s3:GetObject", "arn:aws:s3:::b/k"), resource_policies=[bucket])
    assert d.reason == "explicit-deny" and d.deciding[0].policy_type == "resource"
    other = pol("bucket", deny("s3:*", "arn:aws:s3:::b/*", Principal={"AWS": "444455556666"}))
    assert run(req("s3:GetObject", "arn:aws:s3:::b/k"), resource_policies=[other]).allowed


def test_not_principal_deny_spares_only_a_fully_listed_chain() -> None:
    def bucket(*names: str) -> Policy:
        return pol("bucket", deny("s3:*", "arn:aws:s3:::b/*", NotPrincipal={"AWS": list(names)}))

    request = req("s3:GetObject", "arn:aws:s3:::b/k", SESSION)
    assert run(request, resource_policies=[bucket(SESSION, ADMIN, ROOT)]).allowed
    assert run(request, resource_policies=[bucket(SESSION, ROOT)]).reason == "explicit-deny"
    assert run(request, resource_policies=[bucket(SESSION)]).reason == "explicit-deny"
    # The boundaries page: NotPrincipal with Deny always denies a principal that has a boundary.
    assert run(request, resource_policies=[bucket(SESSION, ADMIN, ROOT)],
               boundary=pol("boundary", allow())).reason == "explicit-deny"


def test_not_principal_allow_grants_everyone_else() -> None:
    bucket = pol("bucket", allow("s3:GetObject", "arn:aws:s3:::b/*", NotPrincipal={"AWS": "444455556666"}))
    assert run(req("s3:GetObject", "arn:aws:s3:::b/k"), identity=[], resource_policies=[bucket]).allowed
    excluded = pol("bucket", allow("s3:GetObject", "arn:aws:s3:::b/*", NotPrincipal={"AWS": ACCOUNT}))
    assert not run(req("s3:GetObject", "arn:aws:s3:::b/k"), identity=[], resource_policies=[excluded]).allowed


def test_scp_implicit_deny_overrides_a_resource_policy_grant() -> None:
    bucket = pol("bucket", allow("s3:GetObject", "arn:aws:s3:::b/*", Principal={"AWS": USER}))
    d = run(req("s3:GetObject", "arn:aws:s3:::b/k", USER), [[pol("ec2-only", allow("ec2:*"))]], [],
            resource_policies=[bucket])
    assert d.reason == "scp-implicit-deny"


# Root user


def test_root_user_needs_no_identity_policy_but_is_bound_by_scps() -> None:
    request = req("s3:ListAllMyBuckets", principal=ROOT)
    assert run(request, identity=[]).allowed
    deny_root = pol("deny-root", deny(Condition={"ArnLike": {"aws:PrincipalArn": "arn:aws:iam::*:root"}}))
    assert run(request, [[FULL, deny_root]], []).reason == "explicit-deny"
    assert run(req("s3:ListAllMyBuckets"), [[FULL, deny_root]]).allowed


# --------------------------------------------------------------------------------------------------
# (i) break glass, (j) region restriction

BREAK_GLASS_DENY = pol("deny-cloudtrail", deny("cloudtrail:*", Sid="ProtectCloudtrail", Condition={
    "ArnNotLike": {"aws:PrincipalArn": ["arn:aws:iam::*:role/BreakGlassAdmin"]}}))


def test_break_glass_exemption_denies_admin_and_spares_the_break_glass_role() -> None:
    scps = [[FULL, BREAK_GLASS_DENY]]
    admin = run(req("cloudtrail:StopLogging"), scps)
    assert admin.reason == "explicit-deny" and admin.deciding[0].sid == "ProtectCloudtrail"
    assert "ProtectCloudtrail" in admin.explain()
    assert run(req("cloudtrail:StopLogging", principal=BREAK_GLASS), scps).allowed
    # A session of the break-glass role: aws:PrincipalArn is the role ARN, not the session ARN.
    session = f"arn:aws:sts::{ACCOUNT}:assumed-role/BreakGlassAdmin/oncall"
    assert run(req("cloudtrail:StopLogging", principal=session), scps).allowed
    # A role whose name merely starts the same way is not spared.
    impostor = f"arn:aws:iam::{ACCOUNT}:role/BreakGlassAdminX"
    assert run(req("cloudtrail:StopLogging", principal=impostor), scps).reason == "explicit-deny"


REGION_SCP = pol("regions", {
    "Sid": "DenyUnapprovedRegions", "Effect": "Deny", "NotAction": ["iam:*", "sts:*", "organizations:*"],
    "Resource": "*", "Condition": {"StringNotEquals": {"aws:RequestedRegion": ["us-east-1", "eu-west-1"]}}})


def test_region_restriction_with_not_action() -> None:
    scps = [[FULL, REGION_SCP]]
    elsewhere = {"aws:RequestedRegion": "ap-southeast-2"}
    assert run(req("iam:CreateRole", context=elsewhere), scps).allowed
    assert run(req("ec2:RunInstances", context=elsewhere), scps).reason == "explicit-deny"
    assert run(req("ec2:RunInstances", context={"aws:RequestedRegion": "eu-west-1"}), scps).allowed
    assert run(req("ec2:RunInstances"), scps).allowed
    # StringNotEquals on a missing key is true: a request without a region is denied.
    no_region = Request(ADMIN, ACCOUNT, "ec2:RunInstances", "*", {})
    assert run(no_region, scps).reason == "explicit-deny"


# --------------------------------------------------------------------------------------------------
# (k) policy variables


def test_username_variable_in_a_resource() -> None:
    p = [pol("home", allow(["s3:GetObject", "s3:PutObject"], "arn:aws:s3:::mybucket/${aws:username}/*"))]
    assert run(req("s3:GetObject", "arn:aws:s3:::mybucket/carlossalazar/f", USER), None, p).allowed
    assert not run(req("s3:GetObject", "arn:aws:s3:::mybucket/someoneelse/f", USER), None, p).allowed
    # A role has no aws:username: the variable cannot be resolved and the resource matches nothing.
    assert not run(req("s3:GetObject", "arn:aws:s3:::mybucket/Admin/f"), None, p).allowed


def test_principal_tag_and_account_variables_in_conditions() -> None:
    c = {"StringEquals": {"aws:ResourceTag/team": "${aws:PrincipalTag/team}"}}
    assert holds(c, {"aws:PrincipalTag/team": "red", "aws:ResourceTag/team": "red"})
    assert not holds(c, {"aws:PrincipalTag/team": "red", "aws:ResourceTag/team": "blue"})
    assert not holds(c, {"aws:ResourceTag/team": "red"})  # unresolvable: the value matches nothing
    # aws:PrincipalAccount is filled from the principal.
    assert holds({"StringEquals": {"aws:ResourceAccount": "${aws:PrincipalAccount}"}},
                 {"aws:ResourceAccount": ACCOUNT})
    assert holds({"ArnLike": {"test:Arn": "arn:aws:iam::${aws:PrincipalAccount}:role/*"}},
                 {"test:Arn": ADMIN})


def test_unresolvable_variable_in_a_negated_operator_matches_nothing_so_negation_holds() -> None:
    assert holds({"StringNotEquals": {"aws:ResourceTag/team": "${aws:PrincipalTag/team}"}},
                 {"aws:ResourceTag/team": "red"})


def test_special_character_variables_and_literal_substitution() -> None:
    assert holds({"StringLike": {"test:K": "a${*}b"}}, {"test:K": "a*b"})
    assert not holds({"StringLike": {"test:K": "a${*}b"}}, {"test:K": "axxb"})
    assert holds({"StringLike": {"test:K": "a${?}"}}, {"test:K": "a?"})
    assert not holds({"StringLike": {"test:K": "a${?}"}}, {"test:K": "ab"})
    assert holds({"StringEquals": {"test:K": "${$}{x}"}}, {"test:K": "${x}"})
    # A substituted value is literal text, never a wildcard.
    c = {"StringLike": {"test:K": "${aws:PrincipalTag/p}"}}
    assert holds(c, {"aws:PrincipalTag/p": "a*", "test:K": "a*"})
    assert not holds(c, {"aws:PrincipalTag/p": "a*", "test:K": "abc"})


def test_variable_default_values() -> None:
    c = {"StringEquals": {"test:Team": "${aws:PrincipalTag/team, 'company-wide'}"}}
    assert holds(c, {"test:Team": "company-wide"})
    assert holds(c, {"test:Team": "red", "aws:PrincipalTag/team": "red"})


def test_multivalued_key_cannot_be_a_variable() -> None:
    assert not holds({"StringEquals": {"test:K": "${aws:TagKeys}"}}, {"test:K": "a", "aws:TagKeys": ["a"]})


def test_variables_are_literal_text_before_policy_version_2012_10_17() -> None:
    c = {"StringEquals": {"test:K": "${aws:username}"}}
    assert holds(c, {"test:K": "${aws:username}"}, version=None)
    assert not holds(c, {"test:K": "carlos"}, version="2008-10-17")


# --------------------------------------------------------------------------------------------------
# (l) malformed policies

MALFORMED: list[tuple[Statement, str]] = [
    ({"Action": "*", "Resource": "*"}, "no Effect"),
    ({"Effect": "allow", "Action": "*", "Resource": "*"}, "Effect must be"),
    ({"Effect": "Allow", "Action": "*", "NotAction": "s3:*", "Resource": "*"}, "exactly one of Action"),
    ({"Effect": "Allow", "Resource": "*"}, "exactly one of Action"),
    ({"Effect": "Allow", "Action": "*", "Resource": "*", "NotResource": "*"}, "both Resource"),
    (allow(Condition={"StringEqualz": {"a:b": "c"}}), "unknown condition operator 'StringEqualz'"),
    (allow(Condition={"ForSomeValues:StringEquals": {"a:b": "c"}}), "unknown condition operator"),
    (allow(Condition={"NullIfExists": {"a:b": "true"}}), "unknown condition operator"),
    (allow(Condition={"NumericLessThan": {"a:b": "two"}}), "not a valid numeric value"),
    (allow(Condition={"DateLessThan": {"a:b": "yesterday"}}), "not a valid date value"),
    (allow(Condition={"IpAddress": {"a:b": "300.1.1.1/8"}}), "not a valid ip value"),
    (allow(Condition={"Bool": {"a:b": "yes"}}), "not a valid bool value"),
    (allow(Condition={"StringEquals": "a:b"}), "must map condition keys"),
    (allow(Condition={"StringEquals": {"a:b": None}}), "condition values must be"),
    (allow(Action=["s3:GetObject", 3]), "must be a string or a list of strings"),
    (allow(Action=[]), "empty list"),
    (allow(Principal="*"), "only valid in resource-based policies"),
]


@pytest.mark.parametrize(("statement", "message"), MALFORMED, ids=lambda x: str(x)[:50])
def test_malformed_statements_raise_naming_policy_and_statement(statement: Statement, message: str) -> None:
    bad = pol("team-policy", allow("s3:GetObject"), statement)
    with pytest.raises(PolicyError, match=message) as err:
        run(req("s3:GetObject"), None, [bad])
    assert "policy 'team-policy', statement 1" in str(err.value)
    assert err.value.policy == "team-policy" and err.value.statement_index == 1


def test_malformed_documents() -> None:
    with pytest.raises(PolicyError, match="no Statement"):
        run(req("s3:GetObject"), None, [Policy("empty", {"Version": V})])
    with pytest.raises(PolicyError, match="statement 0: a statement must be a JSON object"):
        run(req("s3:GetObject"), None, [Policy("odd", {"Statement": ["Allow"]})])
    with pytest.raises(PolicyError, match="needs Principal"):
        run(req("s3:GetObject"), resource_policies=[pol("bucket", allow())])
    with pytest.raises(PolicyError, match="both Principal and NotPrincipal"):
        run(req("s3:GetObject"), resource_policies=[pol("bucket", allow(Principal="*", NotPrincipal="*"))])
    with pytest.raises(PolicyError, match="unknown principal type"):
        run(req("s3:GetObject"), resource_policies=[pol("bucket", allow(Principal={"Aws": "*"}))])


def test_a_malformed_policy_raises_even_when_the_decision_does_not_need_it() -> None:
    # The SCP explicit deny decides first, yet the broken boundary is still reported.
    with pytest.raises(PolicyError, match="'broken-boundary', statement 0"):
        run(req("s3:GetObject"), [[FULL, pol("deny", deny())]],
            boundary=pol("broken-boundary", {"Action": "*"}))


def test_single_statement_object_is_accepted() -> None:
    assert run(req("s3:GetObject"), None, [Policy("one", {"Version": V, "Statement": allow()})]).allowed


def test_inconsistent_principal_account_is_rejected() -> None:
    with pytest.raises(ValueError, match="does not match"):
        run(Request(ADMIN, "444455556666", "s3:GetObject"))


def test_request_context_values_must_be_strings() -> None:
    with pytest.raises(ValueError, match="string or a list of strings"):
        run(Request(ADMIN, ACCOUNT, "s3:GetObject", "*", {"test:K": 3}))  # type: ignore[dict-item]


def test_policy_error_is_a_guardgen_error_for_the_cli() -> None:
    assert issubclass(PolicyError, GuardgenError)


def test_decision_fields_must_agree() -> None:
    with pytest.raises(ValueError, match="inconsistent"):
        Decision(True, "deny", "allowed", [])


def test_explanations_name_the_deciding_policy() -> None:
    boundary = pol("dev-boundary", allow("s3:*"))
    text = run(req("ec2:RunInstances"), boundary=boundary).explain()
    assert "dev-boundary" in text and "ec2:RunInstances" in text and "permissions boundary" in text
    text = run(req("ec2:RunInstances"), None, [pol("s3-only", allow("s3:*"))]).explain()
    assert "s3-only" in text and "implicit deny" in text
    assert "AdministratorAccess" in run(req("ec2:RunInstances")).explain()
    assert "\n" not in text


# --------------------------------------------------------------------------------------------------
# Every guardrail in the catalog, evaluated

GUARDRAIL_PARAMS = catalog.Params(allowed_regions=("us-east-1",))
GUARDRAIL_BREAK_GLASS = ["arn:aws:iam::*:role/BreakGlassAdmin"]
INSTANCE = f"arn:aws:ec2:us-east-1:{ACCOUNT}:instance/*"
IMDS_OK = {"ec2:MetadataHttpTokens": "required", "ec2:MetadataHttpPutResponseHopLimit": "1"}

# guardrail id -> (a request it must deny, a request it must allow)
GUARDRAIL_CASES: dict[str, tuple[Request, Request]] = {
    "deny-leave-organization": (req("organizations:LeaveOrganization"),
                                req("organizations:DescribeOrganization")),
    "protect-cloudtrail": (req("cloudtrail:StopLogging", f"arn:aws:cloudtrail:us-east-1:{ACCOUNT}:trail/org"),
                           req("cloudtrail:LookupEvents")),
    "require-imdsv2": (req("ec2:RunInstances", INSTANCE, context={"ec2:MetadataHttpTokens": "optional"}),
                       req("ec2:RunInstances", INSTANCE, context=IMDS_OK)),
    "deny-root-user": (req("s3:ListAllMyBuckets", principal=ROOT), req("s3:ListAllMyBuckets")),
    "deny-unapproved-regions": (req("ec2:RunInstances", context={"aws:RequestedRegion": "eu-west-1"}),
                                req("ec2:RunInstances")),
    "deny-iam-user-access-keys": (req("iam:CreateAccessKey", f"arn:aws:iam::{ACCOUNT}:user/bob"),
                                  req("iam:CreateRole", f"arn:aws:iam::{ACCOUNT}:role/app")),
    "protect-security-services": (req("guardduty:DeleteDetector"), req("guardduty:GetFindings")),
}


def guardrail_scps(g: catalog.Guardrail) -> list[list[Policy]]:
    statements = catalog.statements(g, GUARDRAIL_PARAMS, GUARDRAIL_BREAK_GLASS)
    return [[FULL, Policy(g.id, {"Version": V, "Statement": statements})]]


def as_break_glass(request: Request) -> Request:
    return Request(BREAK_GLASS, ACCOUNT, request.action, request.resource, request.context)


def test_every_guardrail_has_cases() -> None:
    assert set(GUARDRAIL_CASES) == {g.id for g in catalog.REGISTRY}


@pytest.mark.parametrize("g", catalog.REGISTRY, ids=lambda g: g.id)
def test_guardrail_denies_what_it_should_and_allows_the_rest(g: catalog.Guardrail) -> None:
    must_deny, must_allow = GUARDRAIL_CASES[g.id]
    scps = guardrail_scps(g)
    denied = run(must_deny, scps)
    assert denied.reason == "explicit-deny", denied.explain()
    prefix = catalog_guardrails._sid(g.id)
    assert all(m.policy == g.id and m.sid and m.sid.startswith(prefix) for m in denied.deciding)
    assert run(must_allow, scps).allowed, run(must_allow, scps).explain()
    glass = run(as_break_glass(must_deny), scps)
    if must_deny.principal_arn.endswith(":root"):
        # The guardrail is about the root user; the same request by a break-glass role is a
        # different request, which it must leave alone.
        assert glass.allowed, glass.explain()
    elif g.applies_to_everyone:
        assert glass.reason == "explicit-deny", glass.explain()
    else:
        assert glass.allowed, glass.explain()
    # Break-glass requests that were allowed stay allowed.
    assert run(as_break_glass(must_allow), scps).allowed


@pytest.mark.parametrize(("context", "action", "resource", "denied"), [
    (IMDS_OK, "ec2:RunInstances", INSTANCE, False),
    ({**IMDS_OK, "ec2:MetadataHttpPutResponseHopLimit": "3"}, "ec2:RunInstances", INSTANCE, True),
    ({**IMDS_OK, "ec2:MetadataHttpPutResponseHopLimit": "2"}, "ec2:RunInstances", INSTANCE, False),
    ({"ec2:MetadataHttpPutResponseHopLimit": "1"}, "ec2:RunInstances", INSTANCE, True),  # tokens missing
    ({"ec2:RoleDelivery": "1.0"}, "s3:GetObject", "arn:aws:s3:::b/k", True),
    ({"ec2:RoleDelivery": "2.0"}, "s3:GetObject", "arn:aws:s3:::b/k", False),
    ({}, "s3:GetObject", "arn:aws:s3:::b/k", False),  # not from an instance: no RoleDelivery key
    ({}, "ec2:ModifyInstanceMetadataOptions", INSTANCE, True),
    ({"ec2:MetadataHttpTokens": "optional"}, "ec2:RunInstances",
     f"arn:aws:ec2:us-east-1:{ACCOUNT}:volume/*", False),  # only the instance resource is checked
])
def test_imdsv2_guardrail_statements(context: dict[str, str], action: str, resource: str,
                                     denied: bool) -> None:
    d = run(req(action, resource, context=context), guardrail_scps(catalog.BY_ID["require-imdsv2"]))
    assert (d.reason == "explicit-deny") is denied, d.explain()


def test_root_guardrail_spares_centralized_root_access_sessions() -> None:
    scps = guardrail_scps(catalog.BY_ID["deny-root-user"])
    task = req("iam:DeleteLoginProfile", principal=ROOT, context={"aws:AssumedRoot": "true"})
    assert run(task, scps, []).allowed


def test_region_guardrail_spares_global_services_in_any_region() -> None:
    scps = guardrail_scps(catalog.BY_ID["deny-unapproved-regions"])
    elsewhere = {"aws:RequestedRegion": "ap-southeast-2"}
    for action in ("iam:CreateRole", "sts:AssumeRole", "organizations:DescribeOrganization",
                   "s3:ListAllMyBuckets", "s3:GetAccountPublicAccessBlock", "support:CreateCase"):
        assert run(req(action, context=elsewhere), scps).allowed, action
    for action in ("ec2:RunInstances", "s3:CreateBucket", "lambda:CreateFunction", "rds:CreateDBInstance"):
        assert run(req(action, context=elsewhere), scps).reason == "explicit-deny", action


# --------------------------------------------------------------------------------------------------
# Properties

ACTIONS = ["s3:GetObject", "s3:PutObject", "ec2:RunInstances", "iam:CreateRole", "cloudtrail:StopLogging"]
PATTERNS = ACTIONS + ["*", "s3:*", "ec2:Run*", "iam:?reateRole", "cloudtrail:*Logging"]
REGIONS = ["us-east-1", "eu-west-1", "ap-south-1"]


@st.composite
def statements(draw: st.DrawFn, effect: str | None = None) -> Statement:
    out = stmt(effect or draw(st.sampled_from(["Allow", "Deny"])),
               draw(st.lists(st.sampled_from(PATTERNS), min_size=1, max_size=3)))
    if draw(st.booleans()):
        op = draw(st.sampled_from(["StringEquals", "StringNotEquals", "StringEqualsIfExists",
                                   "ForAllValues:StringEquals", "ForAnyValue:StringEquals"]))
        out["Condition"] = {op: {"aws:RequestedRegion": draw(st.lists(st.sampled_from(REGIONS), min_size=1))}}
    return out


def policies(name: str, effect: str | None = None) -> st.SearchStrategy[Policy]:
    return st.lists(statements(effect), min_size=1, max_size=3).map(lambda s: pol(name, *s))


requests = st.builds(lambda a, r: req(a, context={"aws:RequestedRegion": r}),
                     st.sampled_from(ACTIONS), st.sampled_from(REGIONS))
scp_levels = st.one_of(st.none(), st.lists(st.lists(policies("scp"), min_size=1, max_size=2),
                                           min_size=1, max_size=3))


@settings(max_examples=300, deadline=None)
@given(request=requests, levels=scp_levels, identity=st.lists(policies("identity"), max_size=2),
       boundary=st.one_of(st.none(), policies("boundary")), extra=statements("Deny"),
       where=st.sampled_from(["scp", "identity", "boundary"]))
def test_adding_a_deny_never_turns_a_deny_into_an_allow(
        request: Request, levels: list[list[Policy]] | None, identity: list[Policy],
        boundary: Policy | None, extra: Statement, where: str) -> None:
    before = evaluate(request, scp_levels=levels, identity=identity, boundary=boundary)
    if where == "scp" and levels:
        levels = [[*level, pol("extra", extra)] for level in levels]
    elif where == "boundary" and boundary is not None:
        boundary = pol(boundary.name, *boundary.document["Statement"], extra)
    else:
        identity = [*identity, pol("extra", extra)]
    after = evaluate(request, scp_levels=levels, identity=identity, boundary=boundary)
    assert not after.allowed or before.allowed
    if before.allowed and not after.allowed:
        assert after.reason == "explicit-deny"
    if before.reason == "explicit-deny":
        assert after.reason == "explicit-deny"


@settings(max_examples=200, deadline=None)
@given(request=requests, levels=scp_levels, identity=st.lists(policies("identity"), max_size=2),
       extra=statements("Allow"))
def test_adding_an_identity_allow_never_lifts_an_explicit_or_scp_deny(
        request: Request, levels: list[list[Policy]] | None, identity: list[Policy],
        extra: Statement) -> None:
    before = evaluate(request, scp_levels=levels, identity=identity)
    after = evaluate(request, scp_levels=levels, identity=[*identity, pol("extra", extra)])
    if before.reason in ("explicit-deny", "scp-implicit-deny"):
        assert after.reason == before.reason


@given(st.from_regex(r"[a-z][a-z0-9-]{0,19}:[A-Za-z][A-Za-z0-9]{0,39}", fullmatch=True))
def test_wildcard_action_matches_every_action(action: str) -> None:
    assert run(Request(ADMIN, ACCOUNT, action), None, [pol("all", allow("*"))]).allowed
    service = action.split(":")[0]
    assert run(Request(ADMIN, ACCOUNT, action), None, [pol("svc", allow(service.upper() + ":*"))]).allowed


TEXT = st.text(alphabet="ab*?", max_size=4)


@given(TEXT, st.lists(TEXT, min_size=1, max_size=3),
       st.sampled_from([("StringEquals", "StringNotEquals"), ("StringLike", "StringNotLike"),
                        ("StringEqualsIgnoreCase", "StringNotEqualsIgnoreCase")]))
def test_negated_operators_are_the_complement_on_a_present_key(value: str, values: list[str],
                                                               pair: tuple[str, str]) -> None:
    positive, negated = pair
    context = {"test:K": value}
    assert holds({positive: {"test:K": values}}, context) is not holds({negated: {"test:K": values}}, context)
