"""`guardgen import --terraform DIR`: hand-written Terraform adopted as custom guardrails.

The fixtures under tests/data/terraform/ are written in the shapes of public SCP code: YAML
catalogs combined by cloudposse's modules, one local module per service with
``aws_iam_policy_document`` data sources (ScaleSec), JSON policy files loaded by module calls and
``fileset`` (aws-samples), and what none of them can translate. The acceptance test imports each,
generates, and compares every policy's statements with the originals after
:func:`normalized_statement`: the originals are the JSON files themselves, or for policies
written in HCL, the documents Terraform renders, written out below by hand.
"""

from __future__ import annotations

import json
import re
import shutil
from collections import Counter
from pathlib import Path
from typing import Any

import pytest

from guardgen import adopt, catalog, pipeline
from guardgen.adopt import evaluate, ondisk, syntax
from guardgen.policy.lint import normalized_statement
from support import REPO

DATA = REPO / "tests" / "data" / "terraform"
CONFIG = DATA / "guardgen.yaml"

Target = tuple[str, ...]


def _file(rel: str) -> list[dict[str, Any]]:
    statements = json.loads((DATA / rel).read_text(encoding="utf-8"))["Statement"]
    return [statements] if isinstance(statements, dict) else statements


def _deny(sid: str, action: Any, resource: Any = "*", condition: dict[str, Any] | None = None,
          *, key: str = "Action") -> dict[str, Any]:
    stmt = {"Sid": sid, "Effect": "Deny", key: action, "Resource": resource}
    if condition:
        stmt["Condition"] = condition
    return stmt


# What each fixture deploys, target by target, as Terraform renders it.
ORIGINALS: dict[str, list[tuple[Target, list[dict[str, Any]]]]] = {
    "cloudposse": [(("ou", "Workloads"), [
        _deny("DenyLeaveOrganization", "organizations:LeaveOrganization"),
        _deny("DenyAccountSettingsChanges", ["account:PutAlternateContact",
                                             "account:DeleteAlternateContact",
                                             "account:EnableRegion", "account:DisableRegion"]),
        _deny("DenyS3OutsideDataRegion", "s3:CreateBucket", "arn:aws:s3:::*",
              {"StringNotEquals": {"s3:LocationConstraint": "eu-west-1"}}),
        _deny("DenyS3AccountPublicAccessChanges", "s3:PutAccountPublicAccessBlock"),
        _deny("DenyUnencryptedObjectUploads", "s3:PutObject", "*",
              {"Null": {"s3:x-amz-server-side-encryption": "true"}}),
    ])],
    "scalesec": [(("ou", "Workloads", "Prod"), [
        _deny("ProtectSecurityRoles", [
            "iam:AttachRolePolicy", "iam:DeleteRole", "iam:DeleteRolePermissionsBoundary",
            "iam:DeleteRolePolicy", "iam:DetachRolePolicy", "iam:PutRolePermissionsBoundary",
            "iam:PutRolePolicy", "iam:UpdateAssumeRolePolicy", "iam:UpdateRole"],
            "arn:aws:iam::*:role/security-*",
            {"ArnNotLike": {"aws:PrincipalArn": "arn:aws:iam::*:role/security-admin"}}),
        _deny("OnlyListedServices0", ["s3:*", "dynamodb:*", "lambda:*", "logs:*", "sts:*",
                                      "iam:*", "kms:*"], key="NotAction"),
        *_file("scalesec/modules/iam/templates/deny_password_policy.json"),
        _deny("RequireMFAEC2", ["ec2:StopInstances", "ec2:TerminateInstances"], "*",
              {"BoolIfExists": {"aws:MultiFactorAuthPresent": "false"}}),
        _deny("RestrictEc2Ami", "ec2:RunInstances", "arn:aws:ec2:*::image/ami-*",
              {"StringNotEquals": {"ec2:Owner": "999999999999"}}),
    ])],
    "aws-samples": [
        (("root",), [
            _deny("DenyRootUser", "*", "*",
                  {"StringLike": {"aws:PrincipalArn": ["arn:aws:iam::*:root"]}}),
            _deny("ProtectSecurityServices", ["guardduty:DeleteDetector",
                                              "guardduty:DisassociateFromMasterAccount",
                                              "securityhub:DisableSecurityHub",
                                              "access-analyzer:DeleteAnalyzer"]),
            _deny("DenyUsersOutsideTheirPath", ["iam:CreateAccessKey"],
                  "arn:aws:iam::*:user/${aws:username}", {"Bool": {"aws:ViaAWSService": False}}),
        ]),
        (("ou", "Workloads"), _file("aws-samples/policies/workloads/protect_logging.json")),
        (("ou", "Security"), _file("aws-samples/policies/workloads/protect_logging.json")),
        (("account", "lab"), [*_file("aws-samples/policies/sandbox/deny_expensive_instances.json"),
                              *_file("aws-samples/policies/sandbox/deny_marketplace.json")]),
    ],
}


def _normalized(statements: list[dict[str, Any]]) -> Counter[str]:
    return Counter(normalized_statement(s) for s in statements)


def _deployed(cfg: Path) -> dict[Target, Counter[str]]:
    """Per target, the statements of the SCPs guardgen generates, without catalog guardrails'."""
    res = pipeline.run(cfg)
    loaded = res.loaded.config
    org = loaded.organization
    out: dict[Target, Counter[str]] = {}
    for p in res.plan.policies:
        assert res.files[f"management/policies/{p.ident}.json"] == p.content
        t = p.target
        key: Target = (("root",) if t.kind == "root" else ("ou", *t.display[3:].split("/"))
                       if t.kind == "ou" else ("account", t.display.split(" ")[1]))
        have = out.setdefault(key, Counter())
        have.update(_normalized(json.loads(p.content)["Statement"]))
        for gid in p.guardrails:
            if gid in catalog.BY_ID:
                have.subtract(_normalized(catalog.statements(catalog.BY_ID[gid], loaded.params,
                                                             org.break_glass_principals)))
    return {k: +v for k, v in out.items() if +v}


@pytest.fixture
def config(tmp_path: Path) -> Path:
    cfg = tmp_path / "guardgen.yaml"
    shutil.copy(CONFIG, cfg)
    return cfg


@pytest.mark.parametrize("shape", sorted(ORIGINALS))
def test_import_then_generate_deploys_the_original_statements(shape: str, config: Path, cli) -> None:
    r = cli("import", "--terraform", DATA / shape, "-c", config)
    assert r.exit_code == 0, r.output
    expected: dict[Target, Counter[str]] = {}
    for target, statements in ORIGINALS[shape]:
        expected.setdefault(target, Counter()).update(_normalized(statements))
    assert _deployed(config) == expected
    assert cli("generate", "-c", config, "-q").exit_code == 0


def test_every_shape_at_once_and_twice(config: Path, cli) -> None:
    for shape in sorted(ORIGINALS):
        assert cli("import", "--terraform", DATA / shape, "-c", config).exit_code == 0
    once = config.read_text(encoding="utf-8")
    for shape in sorted(ORIGINALS):  # a second import finds the same guardrails already there
        assert cli("import", "--terraform", DATA / shape, "-c", config).exit_code == 0
    assert config.read_text(encoding="utf-8") == once
    expected: dict[Target, Counter[str]] = {}
    for shape in ORIGINALS.values():
        for target, statements in shape:
            expected.setdefault(target, Counter()).update(_normalized(statements))
    assert _deployed(config) == expected


def test_the_config_keeps_its_comments_and_gains_only_what_was_imported(config: Path, cli) -> None:
    before = config.read_text(encoding="utf-8")
    assert cli("import", "--terraform", DATA / "aws-samples", "-c", config).exit_code == 0
    after = config.read_text(encoding="utf-8")
    assert [line for line in before.splitlines() if line.lstrip().startswith("#")] == [
        line for line in after.splitlines()
        if line.lstrip().startswith("#") and "guardgen import --terraform" not in line]
    assert "  guardrails: [deny-leave-organization, root-baseline]\n" in after
    assert ('          - name: lab\n            guardrails: [deny-expensive-instances, '
            'deny-marketplace]\n            id: "555555555555"\n') in after
    assert '      - { name: log-archive, id: "222222222222" }\n' in after  # untouched
    loaded = pipeline.load(config).config
    imported = {c.id: c for c in loaded.custom_guardrails}
    assert sorted(imported) == ["deny-expensive-instances", "deny-marketplace", "protect-logging",
                                "root-baseline"]
    assert all(c.applies_to_everyone and c.why_everyone for c in imported.values())
    # Sids guardgen owns are renamed rather than reported: DenyRootUser is a catalog Sid.
    sids = [s["Sid"] for s in imported["root-baseline"].statements or []]
    assert "DenyRootUser" not in sids and len(set(sids)) == 3


def test_dry_run_prints_the_change_and_writes_nothing(config: Path, cli) -> None:
    before = config.read_text(encoding="utf-8")
    r = cli("import", "--terraform", DATA / "scalesec", "-c", config, "--dry-run")
    assert r.exit_code == 0
    assert config.read_text(encoding="utf-8") == before
    assert "+custom_guardrails:" in r.output
    assert "+        guardrails: [protect-iam-roles, deny-password-policy-changes, " \
           "require-mfa-ec2-actions, restrict-ec2-amis]" in r.output


def _at(rel: str, needle: str) -> str:
    """``file:line`` of the first line of a fixture holding ``needle`` (file relative to its
    folder, as the import reports it)."""
    lines = (DATA / rel).read_text(encoding="utf-8").splitlines()
    line = next(n for n, text in enumerate(lines, start=1) if needle in text)
    return f"{rel.split('/', 1)[1]}:{line}"


def test_what_cannot_be_translated_is_reported_with_file_and_line(config: Path, cli) -> None:
    before = config.read_text(encoding="utf-8")
    r = cli("import", "--terraform", DATA / "untranslatable", "-c", config)
    assert r.exit_code == 1
    assert config.read_text(encoding="utf-8") == before
    main, template = "untranslatable/main.tf", "untranslatable/regions.json.tpl"
    expected = {
        _at(main, '"allow_list"'): "FullAWSAccess",
        _at(main, '"tags"'): "TAG_POLICY",
        _at(main, "aws_s3_bucket.logs.arn"): "aws_s3_bucket.logs.arn is known only after apply",
        _at(template, "%{ for"): "template directives",
        _at(main, "target_id = var.target"): "var.target has no default",
        _at(main, 'module "remote"'): "does not read",
    }
    reported = [line.strip() for line in r.output.splitlines() if line.startswith("  ")]
    assert len(reported) == len(expected), reported
    for where, why in expected.items():
        assert any(line.startswith(where + ":") and why in line for line in reported), (where, reported)


def test_attachments_to_targets_the_config_does_not_describe_are_reported(tmp_path: Path) -> None:
    folder = tmp_path / "tf"
    folder.mkdir()
    text = '''
resource "aws_organizations_policy" "p" {
  name    = "deny-leave"
  content = jsonencode({
    Statement = [{ Effect = "Deny", Action = "organizations:LeaveOrganization", Resource = "*" }]
  })
}
resource "aws_organizations_policy_attachment" "unknown_ou" {
  policy_id = aws_organizations_policy.p.id
  target_id = "ou-zz99-notlisted1"
}
resource "aws_organizations_policy_attachment" "management" {
  policy_id = aws_organizations_policy.p.id
  target_id = "111111111111"
}
resource "aws_organizations_organizational_unit" "mystery" {
  name      = "Mystery"
  parent_id = "r-ab12"
}
resource "aws_organizations_policy_attachment" "declared_ou" {
  policy_id = aws_organizations_policy.p.id
  target_id = aws_organizations_organizational_unit.mystery.id
}
resource "aws_organizations_organizational_unit" "prod" {
  name      = "Prod"
  parent_id = "ou-ab12-workloads1"
}
resource "aws_organizations_policy_attachment" "prod" {
  policy_id = aws_organizations_policy.p.id
  target_id = aws_organizations_organizational_unit.prod.id
}
'''
    (folder / "main.tf").write_text(text, encoding="utf-8")
    loaded = pipeline.load(CONFIG)
    result = adopt.import_terraform(folder, loaded.config, CONFIG.read_text(encoding="utf-8"),
                                    origin="tf")
    assert result.attached == {("ou", "Workloads", "Prod"): ["deny-leave"]}
    problems = "\n".join(result.problems)

    def at(label: str) -> str:
        quoted = '"' + label + '"'
        line = next(n for n, t in enumerate(text.splitlines(), 1) if quoted in t)
        return f"main.tf:{line}:"

    assert f"{at('unknown_ou')} aws_organizations_policy.p is attached to 'ou-zz99-notlisted1': " \
        "no OU" in problems
    assert f"{at('management')} aws_organizations_policy.p is attached to '111111111111': it is " \
        "the management account" in problems
    assert f"{at('declared_ou')} aws_organizations_policy.p is attached to OU 'Mystery'" in problems
    assert any("is part of the organization's structure" in n for n in result.notes)


# -- expressions ---------------------------------------------------------------------------------------

class _NoRefs:
    def reference(self, scope: evaluate.Scope, name: str, steps: list[evaluate.Step],
                  where: syntax.Where) -> tuple[Any, int]:
        if name == "var" and steps[0].value == "regions":
            return ["eu-west-1", "eu-central-1"], 1
        raise evaluate.Untranslatable(where, f"{name} is not known here")


def _eval(expr: str, tmp_path: Path | None = None) -> Any:
    top = syntax.parse(f"x = {expr}\n", "t.tf")
    files = ondisk.Folder(tmp_path or Path("."))
    scope = evaluate.Scope(None, ".", files, _NoRefs())
    return evaluate.evaluate(top.attributes["x"].expr, scope, "t.tf")


@pytest.mark.parametrize(("expr", "value"), [
    ('"a${1 + 2}b"', "a3b"),
    ('"lit $${aws:username} %%{x}"', "lit ${aws:username} %{x}"),
    ('"q\\"\\u00e9\\n"', 'q"é\n'),
    ("[for r in var.regions : upper(r) if r != \"eu-central-1\"]", ["EU-WEST-1"]),
    ("{for i, r in var.regions : r => i}", {"eu-west-1": 0, "eu-central-1": 1}),
    ("length(var.regions) > 1 ? \"many\" : \"one\"", "many"),
    ("try(var.missing, \"fallback\")", "fallback"),
    ("jsondecode(jsonencode({b = [1, true, null], a = \"x\"}))", {"a": "x", "b": [1, True, None]}),
    ("[{id = 1}, {id = 2}][*].id", [1, 2]),
    ("merge({a = 1}, {b = 2}, {a = 3})", {"a": 3, "b": 2}),
    ("flatten([[\"a\"], [[\"b\"]], \"c\"])", ["a", "b", "c"]),
    ("format(\"%s-%d\", \"scp\", 3)", "scp-3"),
    ("replace(\"a_b_c\", \"_\", \"-\")", "a-b-c"),
    ("<<-EOT\n    {\"r\": \"${var.regions[0]}\"}\n    EOT\n", '{"r": "eu-west-1"}\n'),
    ('<<EOT\n{"Resource": "user/$${aws:username}"}\nEOT\n', '{"Resource": "user/${aws:username}"}\n'),
])
def test_expressions(expr: str, value: Any) -> None:
    assert _eval(expr) == value


@pytest.mark.parametrize(("expr", "why"), [
    ("aws_s3_bucket.x.arn", "aws_s3_bucket is not known here"),
    ('"%{ for r in var.regions }${r}%{ endfor }"', "template directives"),
    ("upper([1])", "a list where a string is needed"),
    ("nosuchfunction(1)", "the function nosuchfunction() is not evaluated"),
    ('<<EOT\n{"Resource": "arn:aws:iam::*:user/${aws:username}"}\nEOT\n',
     "${aws:username} is not an expression"),
])
def test_what_is_not_known_is_reported(expr: str, why: str) -> None:
    with pytest.raises(evaluate.Untranslatable, match=re.escape(why)):
        _eval(expr)


def test_templatefile_sees_only_its_variables(tmp_path: Path) -> None:
    (tmp_path / "p.json.tpl").write_text('{"Region": "${region}", "Literal": "$${aws:username}"}',
                                         encoding="utf-8")
    assert json.loads(_eval('templatefile("p.json.tpl", { region = var.regions[1] })', tmp_path)) == {
        "Region": "eu-central-1", "Literal": "${aws:username}"}
    with pytest.raises(evaluate.Untranslatable, match="not a variable of this template"):
        _eval('templatefile("p.json.tpl", {})', tmp_path)


# -- the user's own .tf files in guardgen's roots -------------------------------------------------------

GENERATED = {"management": {"module.scp_root_1": "management/scps.tf",
                            "provider.aws": "management/providers.tf",
                            "output.organizational_unit_ids": "management/outputs.tf"}}


@pytest.mark.parametrize(("name", "text", "found"), [
    ("management/extra.tf", 'resource "aws_s3_bucket" "b" {}\nmodule "scp_root_1" {\n}\n',
     ["management/extra.tf:2: module.scp_root_1 is also declared there by guardgen"]),
    ("management/extra.tf", 'provider "aws" {\n  alias = "other"\n}\n', []),
    ("management/extra.tf", 'provider "aws" {\n}\n',
     ["management/extra.tf:1: provider.aws is also declared"]),
    ("management/scps_override.tf", 'module "scp_root_1" {\n  name = "x"\n}\n',
     ["management/scps_override.tf:1: module.scp_root_1 overrides what guardgen generates"]),
    ("management/broken.tf", 'resource "a" {\n  x = \n}\n', ["management/broken.tf:2: not valid HCL"]),
    ("accounts/x/extra.tf", 'module "scp_root_1" {\n}\n', []),
])
def test_clashes(name: str, text: str, found: list[str]) -> None:
    problems = ondisk.clashes({name: text}, GENERATED)
    assert len(problems) == len(found), problems
    for want, got in zip(found, problems, strict=True):
        assert got.startswith(want), got


def test_user_files_are_the_unowned_tf_files_of_generated_roots(tmp_path: Path) -> None:
    (tmp_path / "management").mkdir()
    (tmp_path / "modules" / "scp").mkdir(parents=True)
    for rel in ("management/scps.tf", "management/old.tf", "management/mine.tf",
                "management/notes.txt", "modules/scp/mine.tf", "mine.tf"):
        (tmp_path / rel).write_text("# x\n", encoding="utf-8")
    (tmp_path / "management" / "linked.tf").symlink_to(tmp_path / "mine.tf")
    rendered = {"management/scps.tf": "", "modules/scp/main.tf": "", "README.md": ""}
    owned = {"management/old.tf": "hash"}
    assert sorted(ondisk.user_terraform(tmp_path, rendered, owned)) == [
        "management/linked.tf", "management/mine.tf"]



# -- the guardgen.yaml edit -----------------------------------------------------------------------------

EDITED = '''version: 1
organization:
  name: acme  # the root gets its list after this line
  management_account_id: "111111111111"
  home_region: eu-west-1
  break_glass_principals: [arn:aws:iam::*:role/BreakGlassAdmin]
units:
  - name: Workloads
    id: ou-ab12-workloads1
    guardrails: [protect-cloudtrail]
    accounts:
      - { name: shop-prod, id: "444444444444" }
custom_guardrails:
  - id: existing-one
    title: Existing
    description: Already here.
    statements:
      - { Effect: Deny, Action: ["s3:DeleteBucket"], Resource: "*" }
output: terraform
'''


def test_the_yaml_edit_in_every_style() -> None:
    where = syntax.Where("main.tf", 1)
    deny_tags = {"Sid": "DenyTagEdits", "Effect": "Deny", "Action": "tag:TagResources", "Resource": "*"}
    found = adopt.Found(
        policies=[
            adopt.policies.Policy("aws_organizations_policy.tags", where, "Deny tag edits", "", (deny_tags,)),
            adopt.policies.Policy("aws_organizations_policy.same", where, "same", "",
                                  ({"Effect": "Deny", "Action": ["s3:DeleteBucket"], "Resource": "*"},)),
        ],
        attachments=[
            adopt.policies.Attachment("aws_organizations_policy.tags", "r-ab12", where),
            adopt.policies.Attachment("aws_organizations_policy.tags", "ou-ab12-workloads1", where),
            adopt.policies.Attachment("aws_organizations_policy.tags", "444444444444", where),
            adopt.policies.Attachment("aws_organizations_policy.same", "444444444444", where),
        ])
    result = adopt.merge(found, pipeline.loads(EDITED).config, EDITED, origin="tf")
    assert result.problems == []
    assert [g.id for g in result.guardrails] == ["deny-tag-edits"]  # "same" is existing-one
    text = result.text
    assert "  name: acme  # the root gets its list after this line\n  guardrails: [deny-tag-edits]\n" in text
    assert "    guardrails: [protect-cloudtrail, deny-tag-edits]\n" in text
    assert '{ name: shop-prod, id: "444444444444", guardrails: [deny-tag-edits, existing-one] }' in text
    assert text.endswith("Resource: '*'\noutput: terraform\n")  # the new entry went inside the list
    cfg = pipeline.loads(text).config
    assert cfg.organization.guardrails == ["deny-tag-edits"]
    assert [c.id for c in cfg.custom_guardrails] == ["existing-one", "deny-tag-edits"]
    assert cfg.output == "terraform"

    empty = EDITED.replace(EDITED[EDITED.index("custom_guardrails:"):EDITED.index("output:")],
                           "custom_guardrails: []\n")
    again = adopt.merge(found, pipeline.loads(empty).config, empty, origin="tf")
    assert [c.id for c in pipeline.loads(again.text).config.custom_guardrails] == [
        "deny-tag-edits", "same"]


def test_a_resource_control_policy_becomes_an_rcp_guardrail(tmp_path: Path, cli) -> None:
    folder = tmp_path / "tf"
    folder.mkdir()
    (folder / "main.tf").write_text('''
data "aws_iam_policy_document" "perimeter" {
  statement {
    sid     = "EnforceOrgIdentities"
    effect  = "Deny"
    actions = ["s3:*", "sqs:*"]
    resources = ["*"]
    principals {
      type        = "*"
      identifiers = ["*"]
    }
    condition {
      test     = "StringNotEqualsIfExists"
      variable = "aws:PrincipalOrgID"
      values   = [var.org_id]
    }
  }
}

resource "aws_organizations_policy" "perimeter" {
  name    = "s3-perimeter"
  type    = "RESOURCE_CONTROL_POLICY"
  content = data.aws_iam_policy_document.perimeter.json
}

resource "aws_organizations_policy_attachment" "perimeter" {
  policy_id = aws_organizations_policy.perimeter.id
  target_id = "ou-ab12-workloads1"
}

variable "org_id" {
  default = "o-ab12cd34ef"
}
''', encoding="utf-8")
    cfg = tmp_path / "guardgen.yaml"
    cfg.write_text(CONFIG.read_text(encoding="utf-8").replace(
        "  home_region: eu-west-1\n", "  home_region: eu-west-1\n  org_id: o-ab12cd34ef\n"),
        encoding="utf-8")
    assert cli("import", "--terraform", folder, "-c", cfg).exit_code == 0
    loaded = pipeline.load(cfg).config
    (rcp,) = loaded.custom_guardrails
    assert rcp.type == "rcp"
    res = pipeline.run(cfg)
    (policy,) = [p for p in res.plan.rcps if "s3-perimeter" in p.guardrails]
    original = {"Sid": "EnforceOrgIdentities", "Effect": "Deny", "Principal": "*",
                "Action": ["s3:*", "sqs:*"], "Resource": "*",
                "Condition": {"StringNotEqualsIfExists": {"aws:PrincipalOrgID": "o-ab12cd34ef"}}}
    assert _normalized(json.loads(policy.content)["Statement"]) == _normalized([original])
