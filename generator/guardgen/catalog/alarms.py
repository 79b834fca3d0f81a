"""The monitoring alarm catalog: one registry, each alarm a CloudWatch Logs metric filter as data.

Every alarm is a metric filter over the CloudTrail log group plus a CloudWatch alarm on the metric
it publishes. Where the CIS AWS Foundations Benchmark (v1.4 to v3.0, section 4 "Monitoring") has a
control, the pattern is the CIS text verbatim: AWS Security Hub passes its CloudWatch.* controls
only for the exact CIS patterns ("additional fields or terms cannot be added"), so improving on
one would turn a compliance check red. Where CIS has no control, the pattern is guardgen's own,
and ``cis`` is None.

The patterns are proved against hand-written CloudTrail records in ``tests/data/cloudtrail`` with
:mod:`guardgen.policy.logfilter`, the same syntax CloudWatch evaluates.
"""

from __future__ import annotations

import functools
from collections.abc import Iterable, Mapping
from dataclasses import dataclass
from typing import Any

from ..errors import GuardgenError
from ..policy import logfilter

# How every alarm evaluates its metric (CIS remediation steps): one matching event in five minutes
# alarms; minutes without CloudTrail traffic publish no data and must not alarm.
STATISTIC = "Sum"
PERIOD_SECONDS = 300
EVALUATION_PERIODS = 1
THRESHOLD = 1
COMPARISON_OPERATOR = "GreaterThanOrEqualToThreshold"
TREAT_MISSING_DATA = "notBreaching"

_SECURITY_HUB = "https://docs.aws.amazon.com/securityhub/latest/userguide/cloudwatch-controls.html"


class UnknownAlarmError(GuardgenError):
    """An alarm id that is not in the registry."""


@dataclass(frozen=True)
class Alarm:
    """One metric filter on the CloudTrail log group and the alarm on its metric."""

    id: str
    title: str
    description: str
    mistake: str  # a key of guardgen.catalog.MISTAKES
    source: str
    cis: str | None  # e.g. "CIS 4.3 / Security Hub CloudWatch.1"; None for guardgen's own pattern
    metric_name: str
    filter_pattern: str
    notes: str = ""  # why the pattern is what it is, where that is not obvious

    @property
    def pattern(self) -> logfilter.Pattern:
        """The parsed filter pattern (parsed once, on first use)."""
        return _parse(self.filter_pattern)


@functools.cache
def _parse(text: str) -> logfilter.Pattern:
    return logfilter.parse(text)


REGISTRY: tuple[Alarm, ...] = (
    Alarm(
        id="root-usage",
        title="The root user was used",
        description="Any sign-in or API call by an account's root user, failed ones included. "
        "Root is for the handful of tasks that need it; every other use is a mistake or an "
        "intruder.",
        mistake="root-usage",
        source=f"{_SECURITY_HUB}#cloudwatch-1",
        cis="CIS 4.3 / Security Hub CloudWatch.1",
        metric_name="RootAccountUsage",
        filter_pattern='{ $.userIdentity.type = "Root" && $.userIdentity.invokedBy NOT EXISTS '
        '&& $.eventType != "AwsServiceEvent" }',
        notes="Calls an AWS service makes with the root identity (invokedBy set) and events AWS "
        "itself emits (AwsServiceEvent) are not the root user acting, so they stay silent. Root "
        "console sign-ins are caught here, with or without MFA.",
    ),
    Alarm(
        id="iam-policy-changes",
        title="IAM policies were changed",
        description="Inline or managed IAM policies created, changed, deleted, attached or "
        "detached, including AttachUserPolicy and AttachRolePolicy: how wildcard permissions "
        "arrive.",
        mistake="wildcard-policies",
        source=f"{_SECURITY_HUB}#cloudwatch-4",
        cis="CIS 4.4 / Security Hub CloudWatch.4",
        metric_name="IAMPolicyChanges",
        filter_pattern="{($.eventName=DeleteGroupPolicy)||($.eventName=DeleteRolePolicy)||"
        "($.eventName=DeleteUserPolicy)||($.eventName=PutGroupPolicy)||($.eventName=PutRolePolicy)||"
        "($.eventName=PutUserPolicy)||($.eventName=CreatePolicy)||($.eventName=DeletePolicy)||"
        "($.eventName=CreatePolicyVersion)||($.eventName=DeletePolicyVersion)||"
        "($.eventName=AttachRolePolicy)||($.eventName=DetachRolePolicy)||"
        "($.eventName=AttachUserPolicy)||($.eventName=DetachUserPolicy)||"
        "($.eventName=AttachGroupPolicy)||($.eventName=DetachGroupPolicy)}",
        notes="CIS counts attempts as well as changes (no errorCode test), so a denied "
        "AttachRolePolicy fires this alarm and unauthorized-api-calls. CIS does not list "
        "SetDefaultPolicyVersion, which also changes what a managed policy grants.",
    ),
    Alarm(
        id="cloudtrail-changes",
        title="CloudTrail was reconfigured or stopped",
        description="A trail created, updated or deleted, or its logging started or stopped.",
        mistake="no-monitoring",
        source=f"{_SECURITY_HUB}#cloudwatch-5",
        cis="CIS 4.5 / Security Hub CloudWatch.5",
        metric_name="CloudTrailConfigChanges",
        filter_pattern="{ ($.eventName = CreateTrail) || ($.eventName = UpdateTrail) || "
        "($.eventName = DeleteTrail) || ($.eventName = StartLogging) || "
        "($.eventName = StopLogging) }",
        notes="CIS does not list PutEventSelectors, which can stop management events being "
        "recorded; the protect-cloudtrail SCP denies it instead.",
    ),
    Alarm(
        id="console-login-without-mfa",
        title="An IAM user signed in to the console without MFA",
        description="A successful console sign-in by an IAM user whose session used no MFA "
        "device.",
        mistake="long-lived-keys",
        source=f"{_SECURITY_HUB}#cloudwatch-3",
        cis="CIS 4.2 (SSO variant) / Security Hub CloudWatch.3",
        metric_name="ConsoleSigninWithoutMFA",
        filter_pattern='{ ($.eventName = "ConsoleLogin") && ($.additionalEventData.MFAUsed != "Yes") '
        '&& ($.userIdentity.type = "IAMUser") && ($.responseElements.ConsoleLogin = "Success") }',
        notes="CIS 4.2 offers this variant \"to reduce false positives in case Single Sign-On "
        "is used\": an IAM Identity Center sign-in reaches the account as an AssumedRole session "
        "with MFAUsed \"No\" because MFA happened at Identity Center, so the base pattern pages "
        "on every SSO login. Requiring Success leaves failed sign-ins to console-auth-failures; "
        "root sign-ins are covered by root-usage.",
    ),
    Alarm(
        id="access-key-created",
        title="An IAM access key was created",
        description="A long-lived access key was issued to an IAM user or to the root user.",
        mistake="long-lived-keys",
        source="https://docs.aws.amazon.com/IAM/latest/UserGuide/id_credentials_access-keys.html",
        cis=None,
        metric_name="AccessKeyCreated",
        filter_pattern='{ ($.eventSource = "iam.amazonaws.com") && ($.eventName = "CreateAccessKey") '
        "&& ($.errorCode NOT EXISTS) }",
        notes="guardgen's own pattern (CIS has no control for it). It counts keys that were "
        "created: a refused CreateAccessKey has an errorCode and is left to "
        "unauthorized-api-calls.",
    ),
    Alarm(
        id="principal-created",
        title="An IAM user or role was created",
        description="A new IAM user or role, each a new identity with its own trust and "
        "permissions to review.",
        mistake="broad-trust",
        source="https://docs.aws.amazon.com/IAM/latest/UserGuide/cloudtrail-integration.html",
        cis=None,
        metric_name="PrincipalCreated",
        filter_pattern='{ ($.eventSource = "iam.amazonaws.com") && (($.eventName = "CreateUser") || '
        '($.eventName = "CreateRole")) && ($.errorCode NOT EXISTS) }',
        notes="guardgen's own pattern (CIS has no control for it). Service-linked roles "
        "(CreateServiceLinkedRole) are created by AWS services on their own behalf and stay "
        "silent; refused or duplicate creations (errorCode set) created nothing.",
    ),
    Alarm(
        id="security-group-ingress",
        title="A security group was opened to inbound traffic",
        description="An inbound rule was added to a security group.",
        mistake="no-monitoring",
        source=f"{_SECURITY_HUB}#cloudwatch-10",
        cis=None,
        metric_name="SecurityGroupIngress",
        filter_pattern='{ ($.eventSource = "ec2.amazonaws.com") && '
        '($.eventName = "AuthorizeSecurityGroupIngress") && ($.errorCode NOT EXISTS) }',
        notes="guardgen's own pattern, narrower than CIS 4.10 / Security Hub CloudWatch.10 "
        "(every security group change): only added inbound rules open a network to the "
        "outside. Egress rules, revocations and refused calls stay silent.",
    ),
    Alarm(
        id="bucket-policy-changes",
        title="An S3 bucket policy or ACL was changed",
        description="A bucket policy, ACL, CORS, lifecycle or replication configuration was "
        "put or deleted: how buckets become readable by other accounts or the public.",
        mistake="broad-trust",
        source=f"{_SECURITY_HUB}#cloudwatch-8",
        cis="CIS 4.8 / Security Hub CloudWatch.8",
        metric_name="S3BucketPolicyChanges",
        filter_pattern="{ ($.eventSource = s3.amazonaws.com) && (($.eventName = PutBucketAcl) || "
        "($.eventName = PutBucketPolicy) || ($.eventName = PutBucketCors) || "
        "($.eventName = PutBucketLifecycle) || ($.eventName = PutBucketReplication) || "
        "($.eventName = DeleteBucketPolicy) || ($.eventName = DeleteBucketCors) || "
        "($.eventName = DeleteBucketLifecycle) || ($.eventName = DeleteBucketReplication)) }",
        notes="CIS does not list PutBucketPublicAccessBlock or DeletePublicAccessBlock.",
    ),
    Alarm(
        id="unauthorized-api-calls",
        title="API calls were refused for lack of permission",
        description="Calls that failed with an UnauthorizedOperation or AccessDenied error: "
        "probing with stolen credentials, or a workload missing a permission.",
        mistake="no-monitoring",
        source=f"{_SECURITY_HUB}#cloudwatch-2",
        cis="CIS 4.1 / Security Hub CloudWatch.2",
        metric_name="UnauthorizedAPICalls",
        filter_pattern='{ ($.errorCode ="*UnauthorizedOperation") || ($.errorCode ="AccessDenied*") '
        '&& ($.sourceIPAddress!="delivery.logs.amazonaws.com") && ($.eventName!="HeadBucket") }',
        notes="The CIS v1.4+ pattern: it already leaves out HeadBucket (the S3 console and SDKs "
        "probe buckets that way all the time) and AWS log delivery checking bucket access. "
        "Because && binds tighter than ||, those two exclusions apply to AccessDenied* errors "
        "only, as CIS wrote it; *UnauthorizedOperation errors always count.",
    ),
    Alarm(
        id="console-auth-failures",
        title="Console sign-in failed",
        description="A console sign-in that failed authentication (wrong password or MFA code), "
        "for IAM users and the root user alike.",
        mistake="no-monitoring",
        source=f"{_SECURITY_HUB}#cloudwatch-6",
        cis="CIS 4.6 / Security Hub CloudWatch.6",
        metric_name="ConsoleSigninFailures",
        filter_pattern='{ ($.eventName = ConsoleLogin) && ($.errorMessage = "Failed authentication") }',
    ),
    Alarm(
        id="kms-key-disable-or-delete",
        title="A KMS key was disabled or scheduled for deletion",
        description="A customer managed KMS key was disabled or scheduled for deletion: "
        "everything encrypted under it becomes unreadable.",
        mistake="no-monitoring",
        source=f"{_SECURITY_HUB}#cloudwatch-7",
        cis="CIS 4.7 / Security Hub CloudWatch.7",
        metric_name="DisableOrDeleteCMK",
        filter_pattern="{($.eventSource = kms.amazonaws.com) && (($.eventName=DisableKey)||"
        "($.eventName=ScheduleKeyDeletion)) }",
        notes="The deletion itself, when the waiting period ends, is an AwsServiceEvent named "
        "DeleteKey and is not counted: the alarm fires when deletion is scheduled, while it can "
        "still be cancelled.",
    ),
)

BY_ID: dict[str, Alarm] = {a.id: a for a in REGISTRY}


def select(alarm_ids: Iterable[str] | None = None) -> tuple[Alarm, ...]:
    """The alarms with the given ids, in registry order; all of them when ``alarm_ids`` is None.

    Args:
        alarm_ids: Alarm ids, as in ``monitoring.alarms``; None selects the whole registry.

    Raises:
        UnknownAlarmError: An id is not in the registry.
    """
    if alarm_ids is None:
        return REGISTRY
    wanted = set(alarm_ids)
    unknown = sorted(wanted - BY_ID.keys())
    if unknown:
        raise UnknownAlarmError(
            f"unknown alarm{'s' if len(unknown) > 1 else ''} {', '.join(map(repr, unknown))} "
            "(run `guardgen alarms` for the list)")
    return tuple(a for a in REGISTRY if a.id in wanted)


def event_id(event: Mapping[str, Any], index: int, source: str | None = None,
             pointer: str | None = None) -> str | int:
    """How an event is named in reports: its CloudTrail ``eventID``, else its position.

    Args:
        event: The CloudTrail record.
        index: Its position among the records.
        source: The file it was read from. When given, a record without an ``eventID`` is named
            by the file and a JSON pointer to the record (``trail.json#/Records/3``): a string
            that names the same record on every run. Without it, by its index.
        pointer: The record's JSON pointer in the file (``/Records/3``; "" when the file is the
            record); defaults to ``/INDEX``.
    """
    value = event.get("eventID")
    if isinstance(value, str) and value:
        return value
    if source is None:
        return index
    return f"{source}#{pointer if pointer is not None else f'/{index}'}"


def fired(events: Iterable[Mapping[str, Any]],
          alarm_ids: Iterable[str] | None = None) -> list[tuple[str | int, list[str]]]:
    """Which alarms each event would set off.

    Args:
        events: CloudTrail records (parsed JSON objects).
        alarm_ids: The alarms to evaluate; all of them when None.

    Returns:
        One ``(event id, sorted alarm ids)`` pair per event, in input order; the list is empty
        for an event that sets off nothing. The event id is the record's ``eventID`` if present,
        else its index.

    Raises:
        UnknownAlarmError: An id in ``alarm_ids`` is not in the registry.
    """
    chosen = select(alarm_ids)
    return [(event_id(event, i), sorted(a.id for a in chosen if a.pattern.matches(event)))
            for i, event in enumerate(events)]
