"""Monitoring: an organization CloudTrail into CloudWatch Logs, CIS metric filters and alarms,
an encrypted SNS topic. Pure planning: every policy document is built here as data, with the
ARNs it names derived from the config, so what is reviewed is what is deployed.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

from ..catalog import alarms as alarm_catalog
from ..config.models import Config
from ..hcl import Raw, identifiers

DIRECTORY = "monitoring"
TRAIL_NAME = "guardgen-organization-trail"
DEFAULT_LOG_GROUP = "/guardgen/cloudtrail"
NAMESPACE = "CloudTrailMetrics"
KEY_ALIAS = "alias/guardgen-monitoring"
TOPIC_NAME = "guardgen-security-alarms"
CLOUDTRAIL_ROLE = "guardgen-cloudtrail-to-cloudwatch"


@dataclass(frozen=True)
class AlarmPlan:
    ident: Raw
    alarm: alarm_catalog.Alarm


@dataclass(frozen=True)
class MonitoringPlan:
    directory: str
    account_name: str  # "management" or the delegated account's name
    account_id: str
    delegated: bool
    region: str
    create_trail: bool
    log_group_name: str
    retention_days: int
    emails: tuple[str, ...]
    alarms: tuple[AlarmPlan, ...]
    bucket_name: str
    key_policy: dict[str, Any]
    bucket_policy: dict[str, Any] | None
    cloudtrail_role_trust: dict[str, Any] | None
    cloudtrail_role_policy: dict[str, Any] | None
    topic_policy: dict[str, Any]

    @property
    def trail_arn(self) -> str:
        return f"arn:aws:cloudtrail:{self.region}:{self.account_id}:trail/{TRAIL_NAME}"


def _key_policy(account: str, region: str, log_group: str, trail_arn: str,
                with_trail: bool) -> dict[str, Any]:
    stmts: list[dict[str, Any]] = [
        {"Sid": "AccountAdministers", "Effect": "Allow",
         "Principal": {"AWS": f"arn:aws:iam::{account}:root"}, "Action": "kms:*",
         "Resource": "*"},
        {"Sid": "CloudWatchAlarmsPublishToTopic", "Effect": "Allow",
         "Principal": {"Service": "cloudwatch.amazonaws.com"},
         "Action": ["kms:Decrypt", "kms:GenerateDataKey*"], "Resource": "*",
         "Condition": {"StringEquals": {"aws:SourceAccount": account}}},
    ]
    if with_trail:
        stmts += [
            {"Sid": "CloudTrailEncryptsLogs", "Effect": "Allow",
             "Principal": {"Service": "cloudtrail.amazonaws.com"},
             "Action": "kms:GenerateDataKey*", "Resource": "*",
             "Condition": {"ArnEquals": {"aws:SourceArn": trail_arn},
                           "StringLike": {"kms:EncryptionContext:aws:cloudtrail:arn":
                                          f"arn:aws:cloudtrail:*:{account}:trail/*"}}},
            {"Sid": "CloudTrailDescribesKey", "Effect": "Allow",
             "Principal": {"Service": "cloudtrail.amazonaws.com"},
             "Action": "kms:DescribeKey", "Resource": "*"},
            {"Sid": "CloudWatchLogsEncryptsLogGroup", "Effect": "Allow",
             "Principal": {"Service": f"logs.{region}.amazonaws.com"},
             "Action": ["kms:Encrypt", "kms:Decrypt", "kms:ReEncrypt*", "kms:GenerateDataKey*",
                        "kms:DescribeKey"], "Resource": "*",
             "Condition": {"ArnEquals": {"kms:EncryptionContext:aws:logs:arn":
                                         f"arn:aws:logs:{region}:{account}:log-group:{log_group}"}}},
        ]
    return {"Version": "2012-10-17", "Statement": stmts}


def _bucket_policy(bucket: str, trail_arn: str) -> dict[str, Any]:
    arn = f"arn:aws:s3:::{bucket}"
    return {"Version": "2012-10-17", "Statement": [
        {"Sid": "CloudTrailChecksAcl", "Effect": "Allow",
         "Principal": {"Service": "cloudtrail.amazonaws.com"}, "Action": "s3:GetBucketAcl",
         "Resource": arn, "Condition": {"ArnEquals": {"aws:SourceArn": trail_arn}}},
        # Organization trails write AWSLogs/<account>/ and AWSLogs/<org id>/; the org id is not
        # known offline, and the source ARN pins the writer to this trail anyway.
        {"Sid": "CloudTrailWrites", "Effect": "Allow",
         "Principal": {"Service": "cloudtrail.amazonaws.com"}, "Action": "s3:PutObject",
         "Resource": f"{arn}/AWSLogs/*",
         "Condition": {"ArnEquals": {"aws:SourceArn": trail_arn},
                       "StringEquals": {"s3:x-amz-acl": "bucket-owner-full-control"}}},
        {"Sid": "DenyInsecureTransport", "Effect": "Deny", "Principal": "*", "Action": "s3:*",
         "Resource": [arn, f"{arn}/*"], "Condition": {"Bool": {"aws:SecureTransport": "false"}}},
    ]}


def _role_trust(account: str, trail_arn: str) -> dict[str, Any]:
    return {"Version": "2012-10-17", "Statement": [{
        "Sid": "CloudTrailDelivers", "Effect": "Allow",
        "Principal": {"Service": "cloudtrail.amazonaws.com"}, "Action": "sts:AssumeRole",
        "Condition": {"ArnEquals": {"aws:SourceArn": trail_arn}}}]}


def _role_policy(account: str, region: str, log_group: str) -> dict[str, Any]:
    return {"Version": "2012-10-17", "Statement": [{
        "Sid": "DeliverToLogGroup", "Effect": "Allow",
        "Action": ["logs:CreateLogStream", "logs:PutLogEvents"],
        "Resource": f"arn:aws:logs:{region}:{account}:log-group:{log_group}:log-stream:*"}]}


def _topic_policy(account: str, region: str) -> dict[str, Any]:
    return {"Version": "2012-10-17", "Statement": [{
        "Sid": "CloudWatchAlarmsPublish", "Effect": "Allow",
        "Principal": {"Service": "cloudwatch.amazonaws.com"}, "Action": "sns:Publish",
        "Resource": f"arn:aws:sns:{region}:{account}:{TOPIC_NAME}",
        "Condition": {"StringEquals": {"aws:SourceAccount": account}}}]}


def plan(cfg: Config) -> MonitoringPlan | None:
    """The monitoring root for a valid config, or None without a monitoring section."""
    m = cfg.monitoring
    if m is None:
        return None
    org = cfg.organization
    account_id = cfg.account_ids()[m.account] if m.account else org.management_account_id
    region = org.home_region
    create = m.trail == "create"
    log_group = m.log_group_name or DEFAULT_LOG_GROUP
    trail_arn = f"arn:aws:cloudtrail:{region}:{account_id}:trail/{TRAIL_NAME}"
    bucket = f"guardgen-cloudtrail-{account_id}-{region}"
    chosen = alarm_catalog.select(m.alarms or None)
    idents = identifiers("alarm", [a.id for a in chosen])
    return MonitoringPlan(
        directory=DIRECTORY, account_name=m.account or "management", account_id=account_id,
        delegated=m.account is not None, region=region, create_trail=create,
        log_group_name=log_group, retention_days=m.log_retention_days,
        emails=tuple(m.notify_emails),
        alarms=tuple(AlarmPlan(idents[a.id], a) for a in chosen),
        bucket_name=bucket,
        key_policy=_key_policy(account_id, region, log_group, trail_arn, create),
        bucket_policy=_bucket_policy(bucket, trail_arn) if create else None,
        cloudtrail_role_trust=_role_trust(account_id, trail_arn) if create else None,
        cloudtrail_role_policy=_role_policy(account_id, region, log_group) if create else None,
        topic_policy=_topic_policy(account_id, region),
    )
