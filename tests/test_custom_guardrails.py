"""Custom guardrails: the organization's own SCP and RCP fragments, inline or from a JSON file,
attached, packed, exempted, rendered and verified like the catalog's, and every mistake in them
refused at load time with the file and line it is at."""

from __future__ import annotations

import json
import re
from pathlib import Path

import pytest

from guardgen import pipeline, plan
from guardgen.errors import ConfigError
from guardgen.prove import verify

HEAD = """\
version: 1
organization:
  name: t
  management_account_id: "111111111111"
  org_id: o-abcdefghij
  home_region: eu-west-1
  break_glass_principals: ["arn:aws:iam::*:role/BreakGlassAdmin"]
  guardrails: [deny-leave-organization, {root}]
units:
  - name: Apps
    accounts:
      - { name: app, id: "222222222222" }
custom_guardrails:
"""

EU_ONLY = """\
  - id: deny-s3-outside-eu
    title: S3 buckets live in the EU
    description: Denies creating buckets outside the EU.
    parameters: { pattern: "eu-*" }
    statements:
      - Effect: Deny
        Action: [s3:CreateBucket]
        Resource: "*"
        Condition: { StringNotLike: { "s3:LocationConstraint": "${pattern}" } }
    denies:
      - action: s3:CreateBucket
        resource: "arn:aws:s3:::b-{account}"
        context: { "s3:LocationConstraint": us-east-1 }
    allows:
      - action: s3:CreateBucket
        resource: "arn:aws:s3:::b-{account}"
        context: { "s3:LocationConstraint": eu-west-1 }
"""


def write(tmp_path: Path, body: str, root: str = "deny-s3-outside-eu",
          files: dict[str, str] | None = None) -> Path:
    cfg = tmp_path / "guardgen.yaml"
    cfg.write_text(HEAD.replace("{root}", root) + body, encoding="utf-8")
    for name, text in (files or {}).items():
        path = tmp_path / name
        path.parent.mkdir(parents=True, exist_ok=True)
        path.write_text(text, encoding="utf-8")
    return cfg


def problems(tmp_path: Path, body: str, **kw: object) -> str:
    with pytest.raises(ConfigError) as e:
        pipeline.load(write(tmp_path, body, **kw))  # type: ignore[arg-type]
    return str(e.value)


def test_an_inline_custom_guardrail_packs_with_the_catalog_and_spares_break_glass(
        tmp_path: Path) -> None:
    p = plan.build(pipeline.load(write(tmp_path, EU_ONLY)).config)
    (root,) = p.policies
    assert root.guardrails == ("deny-leave-organization", "deny-s3-outside-eu")
    stmts = json.loads(root.content)["Statement"]
    mine = stmts[1]
    assert mine["Sid"] == "DenyS3OutsideEu"  # given from the id when the statement has none
    assert mine["Condition"]["StringNotLike"] == {"s3:LocationConstraint": "eu-*"}
    assert mine["Condition"]["ArnNotLike"] == {
        "aws:PrincipalArn": ["arn:aws:iam::*:role/BreakGlassAdmin"]}
    g = next(g for g in p.guardrails if g.id == "deny-s3-outside-eu")
    assert g.origin == "custom guardrail"
    outcomes = verify.run(p, verify.builtin_scenarios(p))
    assert verify.failures(outcomes) == []
    names = [o.scenario.name for o in outcomes]
    assert any("deny-s3-outside-eu denies s3:CreateBucket with s3:LocationConstraint=us-east-1"
               in n for n in names)
    assert any("deny-s3-outside-eu spares arn:aws:iam::*:role/BreakGlassAdmin" in n for n in names)


def test_a_custom_guardrail_from_a_json_file(tmp_path: Path) -> None:
    policy = {"Version": "2012-10-17", "Statement": {
        "Sid": "ProtectVaults", "Effect": "Deny", "Action": "backup:DeleteBackupVault",
        "Resource": "arn:aws:backup:*:*:backup-vault:${prefix}*"}}
    body = """\
  - id: protect-vaults
    title: Vaults stay
    description: Denies deleting vaults.
    file: policies/vaults.json
    parameters: { prefix: acme- }
    denies:
      - action: backup:DeleteBackupVault
        resource: "arn:aws:backup:{region}:{account}:backup-vault:${prefix}main"
"""
    cfg = write(tmp_path, body, root="protect-vaults",
                files={"policies/vaults.json": json.dumps(policy, indent=2)})
    res = pipeline.run(cfg)
    doc = json.loads(res.files["management/policies/scp_root_1.json"])
    assert doc["Statement"][1]["Resource"] == "arn:aws:backup:*:*:backup-vault:acme-*"
    assert "SCP, custom guardrail, from policies/vaults.json" in res.files["README.md"]
    assert verify.failures(verify.run(res.plan, verify.builtin_scenarios(res.plan))) == []


@pytest.mark.parametrize(("statement", "where", "message"), [
    ('"Action": ["s3:GetObject", "s3:GetObjekt"]', "Statement[0].Action[1]", "unknown action 's3:GetObjekt'"),
    ('"Action": "s3:GetObject", "Principal": "*"', "Statement[0].Principal", "an SCP names no Principal"),
    ('"Action": "s3:GetObject", "Resource": "arn:aws:s3:::${Bucket}/*"', "Statement[0].Resource",
     "${Bucket} is neither a parameter"),
])
def test_problems_in_a_policy_file_name_its_line(tmp_path: Path, statement: str, where: str,
                                                 message: str) -> None:
    text = ('{\n  "Version": "2012-10-17",\n  "Statement": [\n    {\n      "Effect": "Deny",\n'
            f"      {statement}" + (',\n      "Resource": "*"' if "Resource" not in statement
                                   else "") + "\n    }\n  ]\n}\n")
    body = ("  - id: mine\n    title: t\n    description: d\n    file: p/mine.json\n")
    found = problems(tmp_path, body, root="mine", files={"p/mine.json": text})
    m = re.search(r"(\S+/p/mine\.json):(\d+):(\d+): " + re.escape(where) + ": (.*)", found)
    assert m, found
    assert message in m.group(4)
    element = where.split(".")[1].split("[")[0]
    assert f'"{element}"' in text.splitlines()[int(m.group(2)) - 1]


def test_a_file_that_is_not_json_or_not_there(tmp_path: Path) -> None:
    body = "  - id: mine\n    title: t\n    description: d\n    file: p/mine.json\n"
    found = problems(tmp_path, body, root="mine", files={"p/mine.json": '{\n  "Statement": [\n}'})
    assert re.search(r"p/mine\.json:3:1: invalid JSON", found), found
    found = problems(tmp_path, body.replace("p/mine.json", "p/nope.json"), root="mine")
    assert "p/nope.json: cannot read it" in found and "custom_guardrails[0].file" in found
    found = problems(tmp_path, body.replace("p/mine.json", "/etc/passwd"), root="mine")
    assert "custom_guardrails[0].file: must be relative to the config" in found
    found = problems(tmp_path, body.replace("    file: p/mine.json\n", ""), root="mine")
    assert "give the statements either inline (statements:) or in a JSON policy file" in found


def test_ids_must_not_clash_and_must_be_known(tmp_path: Path) -> None:
    clash = EU_ONLY.replace("id: deny-s3-outside-eu", "id: protect-cloudtrail")
    found = problems(tmp_path, clash, root="protect-cloudtrail")
    assert re.search(r"guardgen\.yaml:14:5: custom_guardrails\[0\]\.id: 'protect-cloudtrail' is a "
                     r"catalog guardrail", found), found
    found = problems(tmp_path, EU_ONLY + EU_ONLY)
    assert "custom_guardrails[1].id: 'deny-s3-outside-eu' is also the id of custom_guardrails[0]" \
        in found
    found = problems(tmp_path, EU_ONLY, root="deny-s3-outside-us")
    assert "organization.guardrails[1]: unknown guardrail 'deny-s3-outside-us'" in found


@pytest.mark.parametrize(("before", "after", "expected"), [
    ("      - Effect: Deny\n", "      - Effect: Allow\n", "statements[0].Effect: must be Deny"),
    ("Action: [s3:CreateBucket]", "Action: [s3:CreateBuckets]",
     "statements[0].Action[0]: unknown action 's3:CreateBuckets'"),
    ('"s3:LocationConstraint": "${pattern}"', '"s3:LocationConstraint": "${Region}"',
     "${Region} is neither a parameter of deny-s3-outside-eu"),
    ('Resource: "*"', 'Resource: "bucket"', "statements[0].Resource: 'bucket' is neither * nor an ARN"),
    ("StringNotLike:", "StringNotLikeish:", "unknown condition operator 'StringNotLikeish'"),
    ("      - Effect: Deny\n", "      - Sid: Bad-Sid\n        Effect: Deny\n",
     "statements[0].Sid: a Sid is letters and digits only"),
    ("      - Effect: Deny\n", "      - Sid: ProtectCloudtrail\n        Effect: Deny\n",
     "Sid 'ProtectCloudtrail' is one of guardgen's own"),
    ("    denies:\n", "    applies_to_everyone: true\n    denies:\n",
     "custom_guardrails[0].why_everyone: applies_to_everyone needs why_everyone"),
    ("    denies:\n      - action", "    denies:\n      - principal: outsider\n        action",
     "denies[0].principal: 'outsider' asks nothing of an SCP"),
])
def test_mistakes_in_statements_are_load_errors_with_their_line(
        tmp_path: Path, before: str, after: str, expected: str) -> None:
    assert before in EU_ONLY
    found = problems(tmp_path, EU_ONLY.replace(before, after))
    line = next(x for x in found.splitlines() if expected in x)
    assert re.search(r"guardgen\.yaml:\d+:\d+: custom_guardrails\[0\]", line), line


def test_policy_variables_stay_and_placeholders_do_not(tmp_path: Path) -> None:
    own_folder = EU_ONLY.replace('Resource: "*"', 'Resource: "arn:aws:s3:::home/${aws:username}/*"')
    p = plan.build(pipeline.load(write(tmp_path, own_folder)).config)
    assert "arn:aws:s3:::home/${aws:username}/*" in p.policies[0].content
    assert "${aws:username}" in pipeline.run(tmp_path / "guardgen.yaml").files[
        "management/policies/scp_root_1.json"]


def test_a_statement_too_large_for_one_policy_is_a_load_error(tmp_path: Path) -> None:
    resources = ", ".join(f'"arn:aws:s3:::bucket-{i:05d}/*"' for i in range(400))
    big = EU_ONLY.replace('Resource: "*"', f"Resource: [{resources}]")
    found = problems(tmp_path, big)
    assert re.search(r"custom_guardrails\[0\]\.statements\[0\]: this statement is [\d,]+ bytes once "
                     r"minified with its exemptions, more than an SCP of 10,240 bytes can hold",
                     found), found


def test_a_custom_rcp_follows_the_rcp_grammar(tmp_path: Path) -> None:
    rcp = """\
  - id: no-outside-deletes
    type: rcp
    title: t
    description: d
    statements:
      - { Effect: Deny, Principal: "*", Resource: "*",
          Action: [kms:ScheduleKeyDeletion, ec2:TerminateInstances] }
"""
    found = problems(tmp_path, rcp, root="no-outside-deletes")
    assert "statements[0].Action[1]: ec2 does not support RCPs" in found
    found = problems(tmp_path, rcp.replace('Principal: "*", ', ""), root="no-outside-deletes")
    assert 'statements[0]: an RCP statement needs Principal "*"' in found
    fine = rcp.replace(", ec2:TerminateInstances", "")
    p = plan.build(pipeline.load(write(tmp_path, fine, root="no-outside-deletes")).config)
    assert p.policies[0].guardrails == ("deny-leave-organization",)
    (rcp_policy,) = p.rcps
    sids = [s["Sid"] for s in json.loads(rcp_policy.content)["Statement"]]
    assert sids == ["NoOutsideDeletes", "NoOutsideDeletesOutsideOrg"]
    no_org = write(tmp_path, fine, root="no-outside-deletes").read_text().replace(
        "  org_id: o-abcdefghij\n", "")
    (tmp_path / "guardgen.yaml").write_text(no_org)
    with pytest.raises(ConfigError, match="guardrail 'no-outside-deletes' needs organization.org_id"):
        pipeline.load(tmp_path / "guardgen.yaml")


def test_verify_fails_when_a_custom_guardrail_does_not_deny_what_it_claims(tmp_path: Path,
                                                                            cli) -> None:
    wrong = EU_ONLY.replace('context: { "s3:LocationConstraint": us-east-1 }',
                            'context: { "s3:LocationConstraint": eu-central-1 }')
    r = cli("verify", "-c", write(tmp_path, wrong))
    assert r.exit_code == 1
    assert "FAILED: built-in: account app (222222222222): deny-s3-outside-eu denies" in r.output
    assert "expected deny by deny-s3-outside-eu, got allow" in r.output


def test_the_cli_reports_custom_guardrail_errors_with_exit_2(tmp_path: Path, cli) -> None:
    r = cli("generate", "-c", write(tmp_path, EU_ONLY.replace("s3:CreateBucket]", "s3:Nope]")))
    assert r.exit_code == 2
    assert "unknown action 's3:Nope'" in r.output and "Traceback" not in r.output
    assert not (tmp_path / "terraform").exists()
