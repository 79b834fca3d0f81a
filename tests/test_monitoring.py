"""Monitoring: placement in the management or a delegated account, trail, alarms, policies."""

from __future__ import annotations

import json
import re
from pathlib import Path

import pytest

from guardgen import pipeline, plan
from guardgen.catalog import alarms
from guardgen.policy.limits import CLOUDWATCH_RETENTION_DAYS
from support import ACME, EXAMPLES, tree_digest

MGMT = EXAMPLES / "monitoring" / "guardgen.yaml"
DELEGATED = EXAMPLES / "monitoring-delegated" / "guardgen.yaml"


def files_of(cfg: Path) -> dict[str, str]:
    return pipeline.run(cfg).files


def test_issue_config_loads_with_every_alarm() -> None:
    p = plan.build(pipeline.load(MGMT).config)
    assert p.monitoring is not None
    assert [a.alarm.id for a in p.monitoring.alarms] == [a.id for a in alarms.REGISTRY]


def test_management_placement_uses_management_credentials() -> None:
    files = files_of(MGMT)
    providers = files["monitoring/providers.tf"]
    assert 'allowed_account_ids = ["111111111111"]' in providers
    assert "assume_role" not in providers
    assert "module \"organization_trail\"" in files["monitoring/main.tf"]
    assert "aws_cloudtrail_organization_delegated_admin_account" not in (
        files["management/organization.tf"])


def test_delegated_placement_assumes_the_deploy_role_there() -> None:
    files = files_of(DELEGATED)
    providers = files["monitoring/providers.tf"]
    assert 'allowed_account_ids = ["333333333333"]' in providers
    assert 'role_arn     = "arn:aws:iam::333333333333:role/OrganizationAccountAccessRole"' in providers
    main = files["monitoring/main.tf"]
    assert "organization_trail" not in main  # trail: existing
    assert 'log_group_name = "aws-controltower/CloudTrailLogs"' in main
    assert 'for_each = toset(["secops@acme.example", "oncall@acme.example"])' in main


def test_delegated_trail_registers_the_delegated_administrator() -> None:
    text = DELEGATED.read_text().replace("trail: existing", "trail: create").replace(
        "  log_group_name: aws-controltower/CloudTrailLogs\n", "")
    p = plan.build(pipeline.loads(text).config)
    assert p.monitoring is not None and p.monitoring.create_trail and p.monitoring.delegated
    from guardgen import render

    files = render.render(p, "../guardgen.yaml")
    assert ('resource "aws_cloudtrail_organization_delegated_admin_account" "monitoring" {\n'
            '  account_id = "333333333333"\n}') in files["management/organization.tf"]
    trust = json.loads(files["monitoring/policies/cloudtrail_role_trust.json"])
    assert trust["Statement"][0]["Condition"]["ArnEquals"]["aws:SourceArn"] == (
        "arn:aws:cloudtrail:us-east-1:333333333333:trail/guardgen-organization-trail")


def test_alarm_shape_matches_cis() -> None:
    module = files_of(MGMT)["modules/cloudtrail-alarms/main.tf"]
    for line in ('statistic           = "Sum"', "period              = 300",
                 "threshold           = 1", 'treat_missing_data  = "notBreaching"',
                 'comparison_operator = "GreaterThanOrEqualToThreshold"',
                 "evaluation_periods  = 1"):
        assert line in module
    assert alarms.STATISTIC == "Sum" and alarms.PERIOD_SECONDS == 300
    main = files_of(MGMT)["monitoring/main.tf"]
    root = alarms.BY_ID["root-usage"].filter_pattern
    assert f"pattern     = {json.dumps(root)}" in main


def test_trail_is_multi_region_validated_and_encrypted() -> None:
    trail = files_of(MGMT)["modules/organization-trail/main.tf"]
    for line in ("is_organization_trail         = true", "is_multi_region_trail         = true",
                 "enable_log_file_validation    = true", "kms_key_id                    = var.kms_key_arn",
                 "block_public_policy     = true", 'status = "Enabled"', 'sse_algorithm     = "aws:kms"'):
        assert line in trail, line


def test_bucket_policy_admits_only_cloudtrail_over_tls() -> None:
    doc = json.loads(files_of(MGMT)["monitoring/policies/bucket.json"])
    for stmt in doc["Statement"]:
        if stmt["Effect"] == "Allow":
            assert stmt["Principal"] == {"Service": "cloudtrail.amazonaws.com"}
            assert stmt["Condition"]["ArnEquals"]["aws:SourceArn"].endswith(
                ":trail/guardgen-organization-trail")
    deny = next(s for s in doc["Statement"] if s["Effect"] == "Deny")
    assert deny["Condition"] == {"Bool": {"aws:SecureTransport": "false"}}


def test_key_policy_lets_cloudwatch_publish_to_the_encrypted_topic() -> None:
    files = files_of(MGMT)
    key = json.loads(files["monitoring/policies/key.json"])
    cw = next(s for s in key["Statement"] if s["Principal"] == {"Service": "cloudwatch.amazonaws.com"})
    assert set(cw["Action"]) == {"kms:Decrypt", "kms:GenerateDataKey*"}
    assert "kms_master_key_id = aws_kms_key.monitoring.arn" in files["monitoring/main.tf"]
    topic = json.loads(files["monitoring/policies/topic.json"])
    assert topic["Statement"][0]["Principal"] == {"Service": "cloudwatch.amazonaws.com"}
    assert topic["Statement"][0]["Action"] == "sns:Publish"


def test_without_monitoring_there_is_no_monitoring_root() -> None:
    assert not any(k.startswith("monitoring/") for k in files_of(ACME))


BAD = {
    "unknown alarm": ("  alarms: [root-usage, root-usag]\n",
                      r"monitoring\.alarms\[1\]: unknown alarm 'root-usag'"),
    "existing without log group": ("  trail: existing\n",
                                   r"monitoring\.trail: trail: existing needs log_group_name"),
    "retention CloudWatch refuses": ("  log_retention_days: 100\n",
                                     r"monitoring\.log_retention_days: CloudWatch Logs accepts only"),
    "unknown account": ("  account: secops\n", r"monitoring\.account: unknown account 'secops'"),
    "not an email": ("  notify_emails: [secops]\n",
                     r"monitoring\.notify_emails\[0\]: 'secops' is not an email address"),
    "quotes in an email": ("  notify_emails: ['\"x\"@acme.example']\n",
                           r"monitoring\.notify_emails\[0\]: '\"x\"@acme\.example' is not an email"),
}


@pytest.mark.parametrize("name", list(BAD))
def test_bad_monitoring_config_exits_2(cli, tmp_path: Path, name: str) -> None:
    text, pattern = BAD[name]
    cfg = tmp_path / "guardgen.yaml"
    cfg.write_text(ACME.read_text() + "monitoring:\n" + text)
    before = tree_digest(tmp_path)
    r = cli("generate", "-c", cfg)
    assert r.exit_code == 2, r.output
    assert re.search(r"guardgen\.yaml:\d+:\d+: " + pattern, r.output), r.output
    assert tree_digest(tmp_path) == before


def test_every_retention_value_is_one_cloudwatch_accepts() -> None:
    assert 365 in CLOUDWATCH_RETENTION_DAYS and 3653 in CLOUDWATCH_RETENTION_DAYS
