"""`guardgen diff`: what a config change does, per account and OU, on config pairs that add,
remove and move guardrails, accounts and roles, with the exact summary expected; and the command
against a real git repository."""

# The expected summaries are the exact output, whose lines are longer than code lines.
# ruff: noqa: E501

from __future__ import annotations

import json
import os
import re
import subprocess
import sys
from collections.abc import Callable
from pathlib import Path
from typing import Any

import pytest
import typer
from typer.testing import CliRunner

from guardgen import pipeline, plan
from guardgen.cli import diff as cli_diff
from guardgen.prove import diff

BASE = """\
version: 1
organization:
  name: acme
  management_account_id: "111111111111"
  home_region: us-east-1
  break_glass_principals: [arn:aws:iam::*:role/BreakGlass]
  allowed_regions: [us-east-1]
  guardrails: [deny-leave-organization]
units:
  - name: Security
    guardrails: [deny-root-user]
    accounts:
      - { name: audit, id: "222222222222" }
  - name: Workloads
    guardrails: [deny-iam-user-access-keys]
    units:
      - name: Prod
        accounts:
          - { name: prod, id: "333333333333" }
      - name: Dev
        accounts:
          - { name: dev, id: "444444444444" }
ci_roles:
  - name: deploy
    provider: github
    repository: acme/app
    branches: [main]
    accounts: [prod]
    statements:
      - { actions: [s3:PutObject], resources: ["arn:aws:s3:::acme-artifacts/*"] }
cross_account_roles:
  - name: vendor
    accounts: [prod]
    trusted_principals: [arn:aws:iam::999999999999:role/scanner]
    external_id: ext-123456
monitoring:
  notify_emails: [sec@acme.example]
  alarms: [root-usage]
"""


def edit(text: str, *pairs: tuple[str, str]) -> str:
    for old, new in pairs:
        assert old in text, old
        text = text.replace(old, new, 1)
    return text


def planned(text: str) -> plan.Plan:
    return plan.build(pipeline.loads(text).config)


def summary(before: str | None, after: str) -> str:
    cs = diff.compare(planned(before) if before is not None else None, planned(after), "before",
                      "after")
    return diff.format_text(cs)


# -- the change set, exactly -----------------------------------------------------------------------

def test_no_change_says_so() -> None:
    assert summary(BASE, BASE.replace("name: acme", "name: acme  # renamed comment")) == (
        "guardgen diff: before → after\n"
        "No change to guardrails, SCPs, IAM roles or monitoring.\n")


def test_adding_a_guardrail_to_an_ou() -> None:
    after = edit(BASE, ("    guardrails: [deny-root-user]",
                        "    guardrails: [deny-root-user, deny-iam-user-access-keys]"))
    assert summary(BASE, after) == """\
guardgen diff: before → after
2 targets change protection, 1 SCP changes, 2 requests change outcome.

Guardrails in force
  OU Security, account audit (222222222222)
    + deny-iam-user-access-keys (attached at OU Security)

SCPs
  ~ guardgen-ou-security-1 (OU Security): 206 → 465 of 10,240 bytes; now holds deny-iam-user-access-keys

Requests that change outcome (built-in verify scenarios)
  account audit (222222222222): iam:CreateAccessKey by an administrator (deny-iam-user-access-keys: creating an access key): allowed → denied by guardgen-ou-security-1 (DenyIamUserAccessKeys)
  account audit (222222222222): iam:CreateUser by an administrator (deny-iam-user-access-keys: creating an IAM user): allowed → denied by guardgen-ou-security-1 (DenyIamUserAccessKeys)
"""


def test_moving_a_guardrail_from_an_ou_to_the_root() -> None:
    """Accounts that had it keep it (from the root now): only the others gain it."""
    after = edit(BASE, ("  guardrails: [deny-leave-organization]",
                        "  guardrails: [deny-leave-organization, deny-iam-user-access-keys]"),
                 ("    guardrails: [deny-iam-user-access-keys]", "    guardrails: []"))
    assert summary(BASE, after) == """\
guardgen diff: before → after
3 targets change protection, 2 SCPs change, 2 requests change outcome.

Guardrails in force
  the organization root, OU Security, account audit (222222222222)
    + deny-iam-user-access-keys (attached at the root)

SCPs
  ~ guardgen-root-1 (the organization root): 144 → 403 of 10,240 bytes; now holds deny-iam-user-access-keys
  - guardgen-ou-workloads-1 (OU Workloads): deny-iam-user-access-keys

SCP slots used by guardgen
  OU Workloads: 1 of 9 → 0 of 9

Requests that change outcome (built-in verify scenarios)
  account audit (222222222222): iam:CreateAccessKey by an administrator (deny-iam-user-access-keys: creating an access key): allowed → denied by guardgen-root-1 (DenyIamUserAccessKeys)
  account audit (222222222222): iam:CreateUser by an administrator (deny-iam-user-access-keys: creating an IAM user): allowed → denied by guardgen-root-1 (DenyIamUserAccessKeys)
"""


def test_moving_an_account_and_adding_one() -> None:
    after = edit(BASE, ('      - { name: audit, id: "222222222222" }',
                        '      - { name: audit, id: "222222222222" }\n'
                        '      - { name: dev, id: "444444444444" }'),
                 ('          - { name: dev, id: "444444444444" }',
                  '          - { name: dev2, id: "555555555555" }'))
    assert summary(BASE, after) == """\
guardgen diff: before → after
2 targets change protection, 3 requests change outcome.

Guardrails in force
  account dev (444444444444): moved from OU Workloads/Dev to OU Security
    + deny-root-user (attached at OU Security)
    - deny-iam-user-access-keys (was attached at OU Workloads)
  account dev2 (555555555555): new, in OU Workloads/Dev
    + deny-leave-organization (attached at the root)
    + deny-iam-user-access-keys (attached at OU Workloads)

Requests that change outcome (built-in verify scenarios)
  account dev (444444444444): s3:ListAllMyBuckets by the root user (deny-root-user: the root user listing buckets): allowed → denied by guardgen-ou-security-1 (DenyRootUser)
  account dev (444444444444): iam:CreateAccessKey by an administrator (deny-iam-user-access-keys: creating an access key): denied by guardgen-ou-workloads-1 (DenyIamUserAccessKeys) → allowed
  account dev (444444444444): iam:CreateUser by an administrator (deny-iam-user-access-keys: creating an IAM user): denied by guardgen-ou-workloads-1 (DenyIamUserAccessKeys) → allowed
"""


def test_roles_boundaries_alarms_and_break_glass() -> None:
    after = edit(
        BASE,
        ("break_glass_principals: [arn:aws:iam::*:role/BreakGlass]",
         "break_glass_principals: [arn:aws:iam::*:role/BreakGlass, arn:aws:iam::*:role/Ops]"),
        ("    branches: [main]", "    branches: [main]\n    pull_requests: true"),
        ('      - { actions: [s3:PutObject], resources: ["arn:aws:s3:::acme-artifacts/*"] }',
         '      - { actions: [s3:PutObject], resources: ["arn:aws:s3:::acme-artifacts/*"] }\n'
         '      - { actions: [s3:DeleteObject], resources: ["arn:aws:s3:::acme-artifacts/*"] }'),
        ("trusted_principals: [arn:aws:iam::999999999999:role/scanner]",
         "trusted_principals: [arn:aws:iam::888888888888:role/scanner]"),
        ("monitoring:",
         "instance_profiles:\n"
         "  - { name: web, accounts: [dev], managed_policy_arns: "
         "[arn:aws:iam::aws:policy/AmazonSSMManagedInstanceCore] }\n"
         "permission_boundaries:\n"
         "  - { name: wl, allow_services: [s3, logs], units: [Workloads/Dev], enforce: true }\n"
         "monitoring:"),
        ("notify_emails: [sec@acme.example]", "notify_emails: [sec@acme.example, ops@acme.example]"),
        ("alarms: [root-usage]", "alarms: [root-usage, iam-policy-changes]"))
    assert summary(BASE, after) == """\
guardgen diff: before → after
2 targets change protection, 2 SCPs change, 3 roles change, 1 boundary changes, 1 alarm changes, 6 requests change outcome.

Organization settings
  break_glass_principals: arn:aws:iam::*:role/BreakGlass → arn:aws:iam::*:role/BreakGlass, arn:aws:iam::*:role/Ops

Guardrails in force
  OU Workloads/Dev, account dev (444444444444)
    + enforce-boundary-wl (attached at OU Workloads/Dev)

SCPs
  ~ guardgen-ou-workloads-1 (OU Workloads): 297 → 323 of 10,240 bytes; statements changed
  + guardgen-ou-workloads-dev-1 (OU Workloads/Dev): enforce-boundary-wl; 1,132 of 10,240 bytes

SCP slots used by guardgen
  OU Workloads/Dev: 0 of 9 → 1 of 9

IAM in member accounts
  account dev (444444444444)
    + boundary wl (enforced by an SCP): allows logs, s3
    + role web (instance profile role)
        can newly assume it: service ec2.amazonaws.com
        may now: managed policy arn:aws:iam::aws:policy/AmazonSSMManagedInstanceCore
        permissions boundary: none → wl
  account prod (333333333333)
    ~ role deploy (CI role)
        can newly assume it: GitHub Actions repo:acme/app:pull_request
        may now: s3:DeleteObject on arn:aws:s3:::acme-artifacts/*
    ~ role vendor (cross-account role)
        can newly assume it: arn:aws:iam::888888888888:role/scanner with external id
        can no longer assume it: arn:aws:iam::999999999999:role/scanner with external id
        description: Cross-account role for arn:aws:iam::999999999999:role/scanner → Cross-account role for arn:aws:iam::888888888888:role/scanner

Monitoring
  + alarm iam-policy-changes: IAM policies were changed
  notify emails: sec@acme.example → sec@acme.example, ops@acme.example

Requests that change outcome (built-in verify scenarios)
  account prod (333333333333), account dev (444444444444): iam:CreateAccessKey by arn:aws:iam::*:role/Ops (deny-iam-user-access-keys: creating an access key): denied by guardgen-ou-workloads-1 (DenyIamUserAccessKeys) → allowed
  account prod (333333333333), account dev (444444444444): iam:CreateUser by arn:aws:iam::*:role/Ops (deny-iam-user-access-keys: creating an IAM user): denied by guardgen-ou-workloads-1 (DenyIamUserAccessKeys) → allowed
  account dev (444444444444): iam:CreateRole by an administrator (enforce-boundary-wl: creating a role without a boundary): allowed → denied by guardgen-ou-workloads-dev-1 (EnforceBoundaryWlOnCreate)
  account dev (444444444444): iam:CreateRole by an administrator (enforce-boundary-wl: creating a role with another boundary): allowed → denied by guardgen-ou-workloads-dev-1 (EnforceBoundaryWlOnCreate)
  account dev (444444444444): iam:DeleteRolePermissionsBoundary by an administrator (enforce-boundary-wl: removing a role's boundary): allowed → denied by guardgen-ou-workloads-dev-1 (EnforceBoundaryWlNoRemoval)
  account dev (444444444444): iam:CreatePolicyVersion by an administrator (enforce-boundary-wl: editing the boundary policy): allowed → denied by guardgen-ou-workloads-dev-1 (EnforceBoundaryWlNoEdit)
"""


def test_removing_an_account_a_role_and_monitoring() -> None:
    after = edit(BASE, ('      - name: Dev\n        accounts:\n          - { name: dev, id: "444444444444" }\n',
                        ""),
                 ("cross_account_roles:\n  - name: vendor\n    accounts: [prod]\n"
                  "    trusted_principals: [arn:aws:iam::999999999999:role/scanner]\n"
                  "    external_id: ext-123456\n", ""),
                 ("monitoring:\n  notify_emails: [sec@acme.example]\n  alarms: [root-usage]\n", ""))
    cs = diff.compare(planned(BASE), planned(after))
    assert [(t.name, t.status, t.note, [g for g, _ in t.lost]) for t in cs.targets] == [
        ("OU Workloads/Dev", "removed", "no longer in the config", ["deny-leave-organization",
                                                                    "deny-iam-user-access-keys"]),
        ("account dev (444444444444)", "removed", "no longer in the config (was in OU Workloads/Dev)",
         ["deny-leave-organization", "deny-iam-user-access-keys"])]
    (role,) = cs.roles
    assert (role.role, role.status, role.trust_added, role.trust_removed) == (
        "vendor", "removed", (), ("arn:aws:iam::999999999999:role/scanner with external id",))
    assert cs.alarms == (diff.AlarmChange("root-usage", "The root user was used", "removed"),)
    assert cs.monitoring == (diff.Setting("monitoring", "in management (111111111111)", "none"),)
    assert cs.scps == () and cs.outcomes == ()  # no SCP of a remaining account changes


def test_renaming_an_ou_moves_its_accounts() -> None:
    cs = diff.compare(planned(BASE), planned(edit(BASE, ("- name: Dev", "- name: Development"))))
    assert [(t.name, t.status, t.note) for t in cs.targets] == [
        ("OU Workloads/Development", "added", "new"),
        ("account dev (444444444444)", "changed", "moved from OU Workloads/Dev to OU Workloads/Development"),
        ("OU Workloads/Dev", "removed", "no longer in the config")]
    # Same SCPs above it before and after: nothing it may do changes.
    assert cs.outcomes == () and cs.scps == ()


def test_renaming_an_account_changes_nothing_it_may_do() -> None:
    cs = diff.compare(planned(BASE), planned(edit(BASE, ("name: audit,", "name: auditing,"))))
    assert cs.targets == (diff.TargetChange("account", "account auditing (222222222222)", "changed",
                                            "renamed from audit", (), ()),)
    assert cs.outcomes == cs.scps == ()


def test_a_config_new_at_the_base_is_all_new() -> None:
    text = summary(None, BASE)
    assert text.startswith("guardgen diff: before → after\nbefore does not exist: everything below is new.\n")
    cs = diff.compare(None, planned(BASE))
    assert {t.status for t in cs.targets} == {"added"} and len(cs.targets) == 8
    assert [(s.name, s.status) for s in cs.scps] == [
        ("guardgen-root-1", "added"), ("guardgen-ou-security-1", "added"),
        ("guardgen-ou-workloads-1", "added")]
    assert [(r.role, r.status) for r in cs.roles] == [("deploy", "added"), ("vendor", "added")]
    assert cs.roles[0].trust_added == ("GitHub Actions repo:acme/app:ref:refs/heads/main",)
    assert cs.outcomes == ()


def test_trustees_read_every_kind_of_principal() -> None:
    assert diff.trustees({"Statement": [
        {"Effect": "Allow", "Principal": {"Federated": "arn:aws:iam::1:oidc-provider/gitlab.com"},
         "Condition": {"StringLike": {"gitlab.com:sub": ["project_path:g/p:ref_type:branch:ref:*"]},
                       "StringEquals": {"gitlab.com:aud": "https://gitlab.com"}}},
        {"Effect": "Allow", "Principal": {"Federated": "arn:aws:iam::1:oidc-provider/x.example"}},
        {"Effect": "Allow", "Principal": {"AWS": ["arn:aws:iam::2:root"]},
         "Condition": {"StringEquals": {"sts:ExternalId": "e"}}},
        {"Effect": "Allow", "Principal": "*"},
        {"Effect": "Deny", "Principal": {"AWS": "arn:aws:iam::3:root"}},
    ]}) == ("GitLab CI project_path:g/p:ref_type:branch:ref:*", "x.example (any subject)",
            "arn:aws:iam::2:root with external id", "anyone (Principal *)")


def test_an_audience_change_is_a_trust_change_with_the_same_principals() -> None:
    cs = diff.compare(planned(BASE), planned(edit(BASE, ("    branches: [main]",
                                                         "    branches: [main]\n    audience: other"))))
    (role,) = cs.roles
    assert role.trust_added == role.trust_removed == () and role.trust_conditions_changed


def test_scp_limits_change_the_free_slots() -> None:
    cs = diff.compare(planned(BASE), planned(edit(BASE, ("  home_region: us-east-1",
                                                         "  home_region: us-east-1\n  scp_limits: legacy"))))
    assert diff.Setting("scp_limits", "current", "legacy") in cs.settings


# -- rendering -------------------------------------------------------------------------------------

HOSTILE = "Dev*<b>x</b>|`x`@team #1 [l](http://e)"


def test_markdown_escapes_names_from_the_config() -> None:
    after = edit(BASE, ("- name: Dev", f"- name: \"{HOSTILE}\""))
    text = diff.format_markdown(diff.compare(planned(BASE), planned(after)))
    # Once every backslash escape and code span is taken out, nothing of the name is left
    # that Markdown, HTML or GitHub would act on.
    bare = re.sub(r"`[^`]*`", "", re.sub(r"\\.", "", text))
    for raw in ("<b>", "</b>", "[l]", "@team", "#1", "|`", "*<"):
        assert raw not in bare, raw
    assert r"Dev\*\<b\>x\</b\>\|\`x\`\@team \#1 \[l\](http://e)" in text
    assert diff.code("a`b") == "``a`b``" and diff.code("`x") == "`` `x ``"


def test_markdown_for_a_pull_request() -> None:
    after = edit(BASE, ("    guardrails: [deny-root-user]",
                        "    guardrails: [deny-root-user, deny-iam-user-access-keys]"))
    text = diff.format_markdown(diff.compare(planned(BASE), planned(after), "HEAD:guardgen.yaml",
                                             "guardgen.yaml"))
    assert text.startswith("### guardgen diff\n\n`HEAD:guardgen.yaml` → `guardgen.yaml`\n\n"
                           "**2 targets change protection, 1 SCP changes, 2 requests change outcome.**\n")
    assert ("- **OU Security**, **account audit (222222222222)**\n"
            "  - gains `deny-iam-user-access-keys` (attached at OU Security)\n") in text
    assert ("| changed | `guardgen-ou-security-1` | OU Security | `deny-root-user`, "
            "`deny-iam-user-access-keys` | 206 → 465 of 10,240 |") in text
    assert ("| account audit (222222222222) | `iam:CreateUser` by an administrator "
            "(`deny-iam-user-access-keys`: creating an IAM user) | allowed | denied by "
            "`guardgen-ou-security-1 (DenyIamUserAccessKeys)` |") in text


def test_markdown_stays_within_a_comment_for_a_large_organization() -> None:
    units = "".join(f"  - name: OU{i}\n    guardrails: [require-imdsv2]\n    accounts:\n"
                    + "".join(f'      - {{ name: a{i}-{j}, id: "{300000000000 + i * 100 + j}" }}\n'
                              for j in range(20)) for i in range(60))
    before = BASE[: BASE.index("units:")] + "units:\n" + units
    after = before.replace("require-imdsv2]", "require-imdsv2, deny-root-user]")
    cs = diff.compare(planned(before), planned(after))
    assert len(cs.scps) == 60
    text = diff.format_markdown(cs)
    assert len(text) <= diff.MARKDOWN_MAX_CHARS
    assert "more: run `guardgen diff --format json` for all." in text
    # One row per request, whatever number of OUs it changes in.
    assert len(cs.outcomes) == len({(o.case, o.principal) for o in cs.outcomes})


def test_json_for_tools() -> None:
    after = edit(BASE, ("    guardrails: [deny-root-user]",
                        "    guardrails: [deny-root-user, deny-iam-user-access-keys]"))
    data = json.loads(diff.format_json(diff.compare(planned(BASE), planned(after), "a", "b")))
    assert data["base"] == "a" and data["empty"] is False
    assert data["targets"][0] == {"kind": "ou", "name": "OU Security", "status": "changed",
                                  "note": "", "lost": [],
                                  "gained": [{"guardrail": "deny-iam-user-access-keys",
                                              "attached_at": "OU Security"}]}
    assert data["outcomes"][0]["before"] == "allow" and data["outcomes"][0]["after"] == "deny"
    assert data["outcomes"][0]["resource"].startswith("arn:aws:iam::222222222222:")


# -- the command -----------------------------------------------------------------------------------

def _app() -> typer.Typer:
    root = typer.Typer(add_completion=False, rich_markup_mode=None, pretty_exceptions_enable=False)

    @root.command()
    def version() -> None:
        """A sibling command, as in guardgen's CLI."""

    cli_diff.register(root)
    return root


Run = Callable[..., Any]


@pytest.fixture
def run(monkeypatch: pytest.MonkeyPatch, tmp_path: Path) -> Run:
    monkeypatch.chdir(tmp_path)
    runner = CliRunner()

    def invoke(*args: str | Path) -> Any:
        return runner.invoke(_app(), ["diff", *map(str, args)], catch_exceptions=False)

    return invoke


def git(cwd: Path, *args: str) -> str:
    r = subprocess.run(["git", "-c", "user.name=guardgen", "-c", "user.email=guardgen@example.com",
                        "-c", "init.defaultBranch=main", *args], cwd=cwd, capture_output=True,
                       text=True, check=False)
    assert r.returncode == 0, r.stderr
    return r.stdout.strip()


def _repo(root: Path, config: str = "guardgen.yaml") -> Path:
    path = root / config
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text(BASE, encoding="utf-8")
    git(root, "init", "-q")
    git(root, "add", "-A")
    git(root, "commit", "-qm", "base")
    return path


def test_diff_against_head_by_default(run: Run, tmp_path: Path) -> None:
    config = _repo(tmp_path)
    assert run().output == ("guardgen diff: HEAD:guardgen.yaml → guardgen.yaml\n"
                            "No change to guardrails, SCPs, IAM roles or monitoring.\n")
    config.write_text(edit(BASE, ("    guardrails: [deny-root-user]",
                                  "    guardrails: [deny-root-user, deny-iam-user-access-keys]")))
    r = run()
    assert r.exit_code == 0
    assert "  OU Security, account audit (222222222222)\n    + deny-iam-user-access-keys" in r.output
    # An older commit, with the config in a subdirectory and the command run from elsewhere.
    git(tmp_path, "commit", "-qam", "more")
    assert "No change" in run("--base", "HEAD").output
    assert "+ deny-iam-user-access-keys" in run("--base", "HEAD~1").output


def test_config_in_a_subdirectory_is_found_at_the_revision(run: Run, tmp_path: Path) -> None:
    config = _repo(tmp_path / "repo", "org/guardgen.yaml")
    config.write_text(BASE.replace("alarms: [root-usage]", "alarms: [root-usage, iam-policy-changes]"))
    r = run("--config", config, "--format", "json")
    assert r.exit_code == 0, r.output
    data = json.loads(r.output)
    assert data["base"] == "HEAD:guardgen.yaml"
    assert [a["id"] for a in data["alarms"]] == ["iam-policy-changes"]


def test_a_config_missing_at_the_revision_is_all_new(run: Run, tmp_path: Path) -> None:
    _repo(tmp_path)
    (tmp_path / "new.yaml").write_text(BASE)
    r = run("--config", "new.yaml")
    assert r.exit_code == 0
    assert r.output.startswith("guardgen diff: HEAD:new.yaml → new.yaml\n"
                               "HEAD:new.yaml does not exist: everything below is new.\n")


def test_base_config_file(run: Run, tmp_path: Path) -> None:
    (tmp_path / "before.yaml").write_text(BASE)
    (tmp_path / "guardgen.yaml").write_text(edit(BASE, ("alarms: [root-usage]", "alarms: []")))
    r = run("--base-config", "before.yaml", "--format", "markdown")
    assert r.exit_code == 0
    assert "`before.yaml` → `guardgen.yaml`" in r.output
    assert "- alarm `iam-policy-changes` added" in r.output  # [] means every alarm


@pytest.mark.parametrize(("args", "setup", "message"), [
    (("--base", "nope"), "repo", "error: --base 'nope' is not a commit in this repository"),
    (("--base", "--help"), "repo", "a git revision cannot start with '-'"),
    ((), "plain", "is not in a git repository; use --base-config FILE"),
    (("--base", "HEAD", "--base-config", "guardgen.yaml"), "repo", "give --base or --base-config, not both"),
    (("--base-config", "missing.yaml"), "repo", "missing.yaml: cannot read"),
])
def test_usage_errors_exit_2_with_a_message(run: Run, tmp_path: Path, args: tuple[str, ...],
                                            setup: str, message: str) -> None:
    if setup == "repo":
        _repo(tmp_path)
    else:
        (tmp_path / "guardgen.yaml").write_text(BASE)
    r = run(*args)
    assert r.exit_code == 2
    assert message in r.output


def test_an_invalid_base_config_is_located_at_the_revision(run: Run, tmp_path: Path) -> None:
    config = _repo(tmp_path)
    config.write_text(BASE.replace('id: "222222222222"', 'id: "2222"'))
    git(tmp_path, "commit", "-qam", "broken")
    config.write_text(BASE)
    r = run()
    assert r.exit_code == 2
    assert "HEAD:guardgen.yaml:13:" in r.output and "must be exactly 12 digits" in r.output


def test_diff_imports_nothing_heavy_until_it_runs() -> None:
    code = ("import sys, guardgen.cli.diff; print(','.join(m for m in ('pydantic', 'jinja2', 'yaml', "
            "'rich', 'boto3') if m in sys.modules))")
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True,
                         env={**os.environ})
    assert out.stdout.strip() == ""
