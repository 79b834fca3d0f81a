"""The guardrail catalog: each guardrail a small unit of data, SCPs in :data:`REGISTRY`.

A guardrail's statements are built from the organization's parameters; :func:`statements` then
adds the break-glass exemption to every Deny unless the guardrail applies to everyone. That is the
single place where the exemption is written, so no guardrail can forget it. Resource control
policies (:mod:`.rcps`) and the EC2 declarative policy (:mod:`.declarative`) are guardrails of
the same shape with another ``policy_type``; for RCPs :func:`statements` spares the data
perimeter's trusted accounts and services as well (:mod:`.exemptions`).
"""

from __future__ import annotations

from collections.abc import Callable, Iterable, Sequence
from dataclasses import dataclass
from typing import Any, Literal

from ..policy.lint import normalized_statement
from . import exemptions

Statement = dict[str, Any]
# The Organizations policy type a guardrail becomes: SERVICE_CONTROL_POLICY,
# RESOURCE_CONTROL_POLICY or DECLARATIVE_POLICY_EC2.
PolicyType = Literal["scp", "rcp", "declarative-ec2"]

# The seven classic IAM mistakes each guardrail answers (see docs/guardrails.md).
MISTAKES = {
    "root-usage": "Using the root user for daily tasks",
    "wildcard-policies": "Wildcard permissions",
    "long-lived-keys": "Long-lived access keys",
    "missing-boundaries": "No permission boundaries",
    "broad-trust": "Over-broad cross-account trust",
    "missing-scps": "No service control policies",
    "no-monitoring": "No CloudTrail monitoring",
}


@dataclass(frozen=True)
class Ec2Settings:
    """The optional account-wide EC2 settings of the declarative policy (None: left alone)."""

    image_block_public_access: bool = False  # block new public sharing of AMIs
    snapshot_block_public_access: str | None = None  # block_all_sharing | block_new_sharing
    serial_console_access: str | None = None  # disabled | enabled
    exception_message: str | None = None  # shown to whoever a setting stops


@dataclass(frozen=True)
class Params:
    """Organization-wide values guardrails are parameterised by."""

    allowed_regions: tuple[str, ...] | None = None
    imds_max_hop_limit: int = 2
    # The data perimeter (RCPs): this organization, and who else its resources trust.
    org_id: str | None = None
    trusted_accounts: tuple[str, ...] = ()
    trusted_services: tuple[str, ...] = ()
    ec2: Ec2Settings = Ec2Settings()


@dataclass(frozen=True)
class Parameter:
    name: str  # field of ``organization`` in guardgen.yaml
    description: str
    required: bool


@dataclass(frozen=True)
class Case:
    """A request a guardrail must deny, or must leave alone, in every account it protects.

    ``{account}`` and ``{region}`` in the resource and context values are replaced by the account
    the case runs in and a region it may use; ``{other_region}`` by a region it may not. RCP cases
    also know ``{org_id}`` (this organization), ``{other_org}`` and ``{outside_account}`` (an
    organization and an account that are not this one and not trusted).

    ``principal`` is who asks: ``admin`` (an administrator of the account, so a principal of the
    organization) or ``root``; for RCPs also ``outsider`` (a role of an account outside the
    organization), ``partner`` (a role of each trusted account) or ``service`` (an AWS service
    principal, ``cloudtrail.amazonaws.com`` unless the context names another).
    """

    note: str
    action: str
    resource: str = "*"
    context: tuple[tuple[str, str], ...] = ()
    denied: bool = True
    principal: Literal["admin", "root", "outsider", "partner", "service"] = "admin"


@dataclass(frozen=True)
class Guardrail:
    id: str
    title: str
    description: str
    mistake: str
    source: str
    build: Callable[[Params], list[Statement]]
    parameters: tuple[Parameter, ...] = ()
    # True only where exempting break-glass principals would defeat the guardrail's purpose.
    applies_to_everyone: bool = False
    why_everyone: str = ""
    # Principals spared besides the break-glass ones (for example guardgen's deploy role).
    also_exempt: tuple[str, ...] = ()
    # What `guardgen verify` proves on every target the guardrail protects.
    cases: Callable[[Params], list[Case]] = lambda p: []
    policy_type: PolicyType = "scp"
    # Declarative policies only: the policy document (they have no statements).
    document: Callable[[Params], dict[str, Any]] | None = None
    # Where a custom guardrail comes from ("" for the catalog's): shown in docs and the README.
    origin: str = ""


def _sid(guardrail_id: str, suffix: str = "") -> str:
    return "".join(part.capitalize() for part in guardrail_id.split("-")) + suffix


def _deny(sid: str, actions: Sequence[str] | str, resource: str = "*",
          condition: dict[str, Any] | None = None, *, not_action: bool = False) -> Statement:
    stmt: Statement = {"Sid": sid, "Effect": "Deny"}
    acts: Any = actions if isinstance(actions, str) else list(actions)
    stmt["NotAction" if not_action else "Action"] = acts
    stmt["Resource"] = resource
    if condition:
        stmt["Condition"] = condition
    return stmt


def _leave(p: Params) -> list[Statement]:
    return [_deny(_sid("deny-leave-organization"), "organizations:LeaveOrganization")]


_CLOUDTRAIL_ACTIONS = (
    "cloudtrail:StopLogging",
    "cloudtrail:DeleteTrail",
    "cloudtrail:UpdateTrail",
    "cloudtrail:PutEventSelectors",
    "cloudtrail:PutInsightSelectors",
    "cloudtrail:DeleteEventDataStore",
    "cloudtrail:UpdateEventDataStore",
    "cloudtrail:StopEventDataStoreIngestion",
    "cloudtrail:DeleteResourcePolicy",
    "cloudtrail:PutResourcePolicy",
)


def _cloudtrail(p: Params) -> list[Statement]:
    return [_deny(_sid("protect-cloudtrail"), _CLOUDTRAIL_ACTIONS)]


def _imdsv2(p: Params) -> list[Statement]:
    sid = _sid("require-imdsv2")
    instance = "arn:aws:ec2:*:*:instance/*"
    return [
        _deny(sid + "Tokens", "ec2:RunInstances", instance,
              {"StringNotEquals": {"ec2:MetadataHttpTokens": "required"}}),
        _deny(sid + "HopLimit", "ec2:RunInstances", instance,
              {"NumericGreaterThan": {"ec2:MetadataHttpPutResponseHopLimit":
                                      str(p.imds_max_hop_limit)}}),
        # Credentials obtained through IMDSv1 carry ec2:RoleDelivery 1.0: refuse to honour them.
        _deny(sid + "RoleDelivery", "*", "*",
              {"NumericLessThan": {"ec2:RoleDelivery": "2.0"}}),
        _deny(sid + "Modify", "ec2:ModifyInstanceMetadataOptions"),
    ]


def _root(p: Params) -> list[Statement]:
    # Sessions from centralized root access (sts:AssumeRoot, started from the management
    # account) also carry the :root ARN but set aws:AssumedRoot; they stay possible.
    return [_deny(_sid("deny-root-user"), "*", "*",
                  {"ArnLike": {"aws:PrincipalArn": "arn:aws:iam::*:root"},
                   "Null": {"aws:AssumedRoot": "true"}})]


# Services that are global or answer from us-east-1 whatever region a caller uses; denying them
# outside the allowed regions would break IAM, Organizations, billing and support.
GLOBAL_SERVICE_ACTIONS = (
    "a4b:*", "account:*", "acm:*", "aws-marketplace-management:*", "aws-marketplace:*",
    "aws-portal:*", "billing:*", "budgets:*", "ce:*", "chime:*", "cloudfront:*", "config:*",
    "cur:*", "directconnect:*", "ec2:DescribeRegions", "ec2:DescribeTransitGateways",
    "ec2:DescribeVpnGateways", "fms:*", "freetier:*", "globalaccelerator:*", "health:*",
    "iam:*", "importexport:*", "invoicing:*", "kms:*", "mobileanalytics:*",
    "networkmanager:*", "organizations:*", "payments:*", "pricing:*", "route53:*",
    "route53-recovery-cluster:*", "route53-recovery-control-config:*",
    "route53-recovery-readiness:*", "route53domains:*", "s3:GetAccountPublic*",
    "s3:ListAllMyBuckets", "s3:ListMultiRegionAccessPoints", "s3:PutAccountPublic*",
    "shield:*", "sso:*", "sts:*", "support:*", "tax:*", "trustedadvisor:*", "waf-regional:*",
    "waf:*", "wafv2:*", "wellarchitected:*",
)


def _regions(p: Params) -> list[Statement]:
    regions = sorted(p.allowed_regions or ())
    return [_deny(_sid("deny-unapproved-regions"), GLOBAL_SERVICE_ACTIONS, "*",
                  {"StringNotEquals": {"aws:RequestedRegion": regions}}, not_action=True)]


def _keys(p: Params) -> list[Statement]:
    # UpdateAccessKey stays allowed: deactivating an old key must remain possible.
    return [_deny(_sid("deny-iam-user-access-keys"),
                  ("iam:CreateAccessKey", "iam:CreateUser", "iam:CreateLoginProfile",
                   "iam:CreateServiceSpecificCredential"))]


_SECURITY_ACTIONS = (
    "access-analyzer:CreateArchiveRule",
    "access-analyzer:DeleteAnalyzer",
    "access-analyzer:UpdateArchiveRule",
    "config:DeleteConfigRule",
    "config:DeleteConfigurationAggregator",
    "config:DeleteConfigurationRecorder",
    "config:DeleteDeliveryChannel",
    "config:DeleteRetentionConfiguration",
    "config:PutConfigurationRecorder",
    "config:StopConfigurationRecorder",
    "guardduty:CreateFilter",
    "guardduty:DeleteDetector",
    "guardduty:DeleteMembers",
    "guardduty:DeletePublishingDestination",
    "guardduty:DisassociateFromAdministratorAccount",
    "guardduty:DisassociateFromMasterAccount",
    "guardduty:DisassociateMembers",
    "guardduty:StopMonitoringMembers",
    "guardduty:UpdateDetector",
    "guardduty:UpdateFilter",
    "securityhub:BatchDisableStandards",
    "securityhub:DeleteMembers",
    "securityhub:DisableSecurityHub",
    "securityhub:DisassociateFromAdministratorAccount",
    "securityhub:DisassociateFromMasterAccount",
    "securityhub:DisassociateMembers",
)


def _security(p: Params) -> list[Statement]:
    return [_deny(_sid("protect-security-services"), _SECURITY_ACTIONS)]


# -- verification cases: each Deny statement has a request only it denies ----------------------

_INSTANCE = "arn:aws:ec2:{region}:{account}:instance/*"


def _leave_cases(p: Params) -> list[Case]:
    return [Case("leaving the organization", "organizations:LeaveOrganization"),
            Case("describing the organization", "organizations:DescribeOrganization", denied=False)]


def _cloudtrail_cases(p: Params) -> list[Case]:
    trail = "arn:aws:cloudtrail:{region}:{account}:trail/org"
    return [Case(f"{a} on a trail", a, trail) for a in _CLOUDTRAIL_ACTIONS[:5]] + [
        Case("reading events", "cloudtrail:LookupEvents", denied=False),
        Case("creating a trail", "cloudtrail:CreateTrail", trail, denied=False)]


def _imdsv2_cases(p: Params) -> list[Case]:
    ok_hops = str(p.imds_max_hop_limit)
    too_many = str(p.imds_max_hop_limit + 1)
    return [
        Case("launching with IMDSv1 allowed", "ec2:RunInstances", _INSTANCE,
             (("ec2:MetadataHttpTokens", "optional"), ("ec2:MetadataHttpPutResponseHopLimit", "1"))),
        Case("launching with too many metadata hops", "ec2:RunInstances", _INSTANCE,
             (("ec2:MetadataHttpTokens", "required"),
              ("ec2:MetadataHttpPutResponseHopLimit", too_many))),
        Case("using credentials delivered by IMDSv1", "s3:GetObject", "arn:aws:s3:::bucket/key",
             (("ec2:RoleDelivery", "1.0"),)),
        Case("changing instance metadata options", "ec2:ModifyInstanceMetadataOptions", _INSTANCE),
        Case("launching with IMDSv2 required", "ec2:RunInstances", _INSTANCE,
             (("ec2:MetadataHttpTokens", "required"),
              ("ec2:MetadataHttpPutResponseHopLimit", ok_hops)), denied=False),
        Case("using credentials delivered by IMDSv2", "s3:GetObject", "arn:aws:s3:::bucket/key",
             (("ec2:RoleDelivery", "2.0"),), denied=False),
    ]


def _root_cases(p: Params) -> list[Case]:
    return [Case("the root user listing buckets", "s3:ListAllMyBuckets", principal="root"),
            Case("a centralized root access session", "iam:DeleteLoginProfile",
                 context=(("aws:AssumedRoot", "true"),), principal="root", denied=False),
            Case("an administrator listing buckets", "s3:ListAllMyBuckets", denied=False)]


def _region_cases(p: Params) -> list[Case]:
    other = (("aws:RequestedRegion", "{other_region}"),)
    return [Case("launching an instance in an unapproved region", "ec2:RunInstances",
                 "arn:aws:ec2:{other_region}:{account}:instance/*", other),
            Case("launching an instance in an approved region", "ec2:RunInstances",
                 _INSTANCE, (("aws:RequestedRegion", "{region}"),), denied=False),
            Case("IAM from an unapproved region", "iam:GetRole",
                 "arn:aws:iam::{account}:role/x", other, denied=False)]


def _keys_cases(p: Params) -> list[Case]:
    user = "arn:aws:iam::{account}:user/someone"
    return [Case("creating an access key", "iam:CreateAccessKey", user),
            Case("creating an IAM user", "iam:CreateUser", user),
            Case("deactivating an access key", "iam:UpdateAccessKey", user, denied=False)]


def _security_cases(p: Params) -> list[Case]:
    return [Case("deleting the GuardDuty detector", "guardduty:DeleteDetector",
                 "arn:aws:guardduty:{region}:{account}:detector/d"),
            Case("stopping the Config recorder", "config:StopConfigurationRecorder"),
            Case("disabling Security Hub", "securityhub:DisableSecurityHub",
                 "arn:aws:securityhub:{region}:{account}:hub/default"),
            Case("reading GuardDuty findings", "guardduty:GetFindings",
                 "arn:aws:guardduty:{region}:{account}:detector/d", denied=False)]


_SCP_EXAMPLES = "https://docs.aws.amazon.com/organizations/latest/userguide/orgs_manage_policies_scps_examples.html"

REGISTRY: tuple[Guardrail, ...] = (
    Guardrail(
        id="deny-leave-organization",
        title="Accounts cannot leave the organization",
        description="Denies organizations:LeaveOrganization, so a member account cannot escape "
        "every SCP by leaving. Removing an account stays possible from the management account, "
        "which SCPs never restrict.",
        mistake="missing-scps",
        source=_SCP_EXAMPLES,
        build=_leave,
        applies_to_everyone=True,
        why_everyone="no principal in a member account, break-glass included, has a reason to "
        "take the account out of the organization; that is done from the management account",
        cases=_leave_cases,
    ),
    Guardrail(
        id="protect-cloudtrail",
        title="CloudTrail cannot be stopped or changed",
        description="Denies stopping, deleting or reconfiguring trails and event data stores, "
        "so activity keeps being recorded.",
        mistake="no-monitoring",
        source="https://docs.aws.amazon.com/awscloudtrail/latest/userguide/security_iam_id-based-policy-examples.html",
        build=_cloudtrail,
        cases=_cloudtrail_cases,
    ),
    Guardrail(
        id="require-imdsv2",
        title="EC2 instances must use IMDSv2",
        description="Denies launching instances without IMDSv2 tokens required or with a hop "
        "limit above the cap, refuses credentials delivered through IMDSv1, and denies changing "
        "instance metadata options.",
        mistake="missing-scps",
        source="https://docs.aws.amazon.com/AWSEC2/latest/UserGuide/configuring-IMDS-new-instances.html",
        build=_imdsv2,
        parameters=(Parameter("imds_max_hop_limit", "Highest PUT response hop limit allowed "
                              "(default 2, enough for containers on the instance).", False),),
        cases=_imdsv2_cases,
    ),
    Guardrail(
        id="deny-root-user",
        title="Member-account root users cannot act",
        description="Denies every action to the root user of member accounts. Root-only tasks "
        "are done through centralized root access from the management account "
        "(sts:AssumeRoot sessions, recognised by aws:AssumedRoot, are not denied).",
        mistake="root-usage",
        source=_SCP_EXAMPLES,
        build=_root,
        applies_to_everyone=True,
        why_everyone="it matches only the root user, which is never a break-glass principal "
        "(those are roles or users); break-glass work on root-only tasks goes through "
        "centralized root access, whose sessions it spares",
        cases=_root_cases,
    ),
    Guardrail(
        id="deny-unapproved-regions",
        title="Only approved regions can be used",
        description="Denies every action outside organization.allowed_regions, except for "
        "global services (IAM, Organizations, billing, support and the like). The exempt list "
        "is AWS's published one; it also exempts a few regional services that global ones "
        "depend on (KMS, ACM, Config), which therefore stay usable in every region.",
        mistake="missing-scps",
        source=_SCP_EXAMPLES,
        build=_regions,
        parameters=(Parameter("allowed_regions", "Regions workloads may use.", True),),
        cases=_region_cases,
    ),
    Guardrail(
        id="deny-iam-user-access-keys",
        title="No IAM users or long-lived access keys",
        description="Denies creating IAM users, access keys, console passwords and "
        "service-specific credentials; people use SSO and workloads use roles with temporary "
        "credentials. Deactivating existing keys stays possible.",
        mistake="long-lived-keys",
        source="https://docs.aws.amazon.com/IAM/latest/UserGuide/best-practices.html",
        build=_keys,
        cases=_keys_cases,
    ),
    Guardrail(
        id="protect-security-services",
        title="Security services cannot be disabled",
        description="Denies disabling or deleting GuardDuty, AWS Config, Security Hub and IAM "
        "Access Analyzer, leaving their delegated administrator, and the quiet ways to blind "
        "them: reconfiguring the Config recorder, GuardDuty suppression filters and Access "
        "Analyzer archive rules.",
        mistake="no-monitoring",
        source=_SCP_EXAMPLES,
        build=_security,
        cases=_security_cases,
    ),
)

def statements(guardrail: Guardrail, params: Params,
               break_glass: Sequence[str]) -> list[Statement]:
    """The guardrail's statements with the break-glass exemption applied to every Deny.

    For an RCP, every Deny also spares the data perimeter's trusted accounts and services, and
    break-glass principals only inside the organization (:func:`.exemptions.spare_rcp`).
    """
    out = guardrail.build(params)
    if guardrail.policy_type == "rcp":
        if guardrail.applies_to_everyone:
            return out
        return exemptions.spare_rcp(
            out, break_glass=[*break_glass, *guardrail.also_exempt] if break_glass else [],
            org_id=params.org_id, trusted_accounts=params.trusted_accounts,
            trusted_services=params.trusted_services)
    if guardrail.applies_to_everyone or not break_glass:
        return out
    exempt = list(dict.fromkeys([*break_glass, *guardrail.also_exempt]))
    for stmt in out:
        if stmt["Effect"] == "Deny":
            # Conditions are ANDed: deny only when the original condition holds AND the caller
            # is not a break-glass principal. An ArnNotLike the guardrail already has on the
            # same key is widened, never replaced.
            not_like = stmt.setdefault("Condition", {}).setdefault("ArnNotLike", {})
            key = next((k for k in not_like if k.lower() == "aws:principalarn"), "aws:PrincipalArn")
            have = not_like.get(key, [])
            have = [have] if isinstance(have, str) else list(have)
            not_like[key] = list(dict.fromkeys([*have, *exempt]))
    return out


def missing_parameters(guardrail: Guardrail, params: Params) -> list[str]:
    """Names of required parameters the organization does not set."""
    return [p.name for p in guardrail.parameters
            if p.required and not getattr(params, p.name)]


def everyone_statements(guardrails: Iterable[Guardrail],
                        params: Params | None = None) -> frozenset[str]:
    """The Deny statements that need not spare break-glass principals (GG601).

    Args:
        guardrails: Guardrails to take them from; only those with ``applies_to_everyone``
            count (a plan's own, or the whole catalog when linting files).
        params: The organization's parameters (a plan's); the defaults when linting files.

    Returns:
        Their statements as :func:`normalized_statement` texts, for :attr:`LintOptions.everyone`.
    """
    params = params or Params()
    return frozenset(normalized_statement(s) for g in guardrails if g.applies_to_everyone
                     for s in statements(g, params, ()) if s.get("Effect") == "Deny")
