"""IAM in member accounts: trust shapes refused, exact claim formats, boundaries, limits."""

from __future__ import annotations

import json
import re
from pathlib import Path
from typing import Any

import pytest

from guardgen import config, pipeline, plan
from guardgen.plan import iam, trust
from support import EXAMPLES, tree_digest

IAM_EXAMPLE = EXAMPLES / "iam" / "guardgen.yaml"
BASE = IAM_EXAMPLE.read_text(encoding="utf-8")
HEAD = BASE[: BASE.index("permission_boundaries:")]


def ci_role(**fields: Any) -> config.CiRole:
    data = {"name": "deploy", "accounts": ["shop-prod"], **fields}
    return config.CiRole.model_validate(data)


# -- exact claim formats -------------------------------------------------------------------

def test_github_subjects_for_every_restriction() -> None:
    role = ci_role(provider="github", repository="acme/shop", branches=["main", "release/*"],
                   environments=["production"], tags=["v*"], pull_requests=True)
    assert trust.subjects(role) == [
        "repo:acme/shop:ref:refs/heads/main",
        "repo:acme/shop:ref:refs/heads/release/*",
        "repo:acme/shop:environment:production",
        "repo:acme/shop:ref:refs/tags/v*",
        "repo:acme/shop:pull_request",
    ]
    doc = trust.ci_trust_policy(role, "444444444444")
    (stmt,) = doc["Statement"]
    assert stmt["Principal"] == {
        "Federated": "arn:aws:iam::444444444444:oidc-provider/token.actions.githubusercontent.com"}
    assert stmt["Action"] == "sts:AssumeRoleWithWebIdentity"
    assert stmt["Condition"]["StringEquals"] == {
        "token.actions.githubusercontent.com:aud": "sts.amazonaws.com"}
    assert stmt["Condition"]["StringLike"]["token.actions.githubusercontent.com:sub"][0] == (
        "repo:acme/shop:ref:refs/heads/main")


def test_github_exact_subjects_use_string_equals_for_both_claims() -> None:
    doc = trust.ci_trust_policy(ci_role(provider="github", repository="acme/shop",
                                        branches=["main"]), "444444444444")
    assert doc["Statement"][0]["Condition"] == {"StringEquals": {
        "token.actions.githubusercontent.com:aud": "sts.amazonaws.com",
        "token.actions.githubusercontent.com:sub": ["repo:acme/shop:ref:refs/heads/main"]}}


def test_github_immutable_owner_and_repository_ids() -> None:
    role = ci_role(provider="github", repository="acme/shop", owner_id="1234",
                   repository_id="98765", environments=["prod"])
    assert trust.subjects(role) == ["repo:acme@1234/shop@98765:environment:prod"]


def test_gitlab_claims_and_self_managed_issuer() -> None:
    role = ci_role(provider="gitlab", repository="acme/platform/shop", branches=["main"],
                   tags=["v1.*"])
    assert trust.subjects(role) == [
        "project_path:acme/platform/shop:ref_type:branch:ref:main",
        "project_path:acme/platform/shop:ref_type:tag:ref:v1.*"]
    assert trust.issuer(role) == trust.Issuer("https://gitlab.com", "https://gitlab.com")
    own = ci_role(provider="gitlab", repository="acme/shop", branches=["main"],
                  issuer="https://gitlab.acme.example")
    doc = trust.ci_trust_policy(own, "444444444444")
    assert doc["Statement"][0]["Principal"]["Federated"].endswith(
        ":oidc-provider/gitlab.acme.example")
    assert "gitlab.acme.example:sub" in doc["Statement"][0]["Condition"]["StringEquals"]


def test_buildkite_claims() -> None:
    role = ci_role(provider="buildkite", repository="acme/shop-deploy", branches=["main"])
    assert trust.subjects(role) == [
        "organization:acme:pipeline:shop-deploy:ref:refs/heads/main:commit:*:step:*"]
    assert trust.issuer(role) == trust.Issuer("https://agent.buildkite.com", "sts.amazonaws.com")


def test_circleci_claims() -> None:
    org = "1c4c3b5e-8f3a-4d2b-9c1d-2e3f4a5b6c7d"
    project = "0a1b2c3d-4e5f-4a6b-8c7d-9e0f1a2b3c4d"
    role = ci_role(provider="circleci", organization_id=org, project_ids=[project])
    assert trust.subjects(role) == [f"org/{org}/project/{project}/user/*"]
    assert trust.issuer(role) == trust.Issuer(f"https://oidc.circleci.com/org/{org}", org)


def test_terraform_cloud_claims() -> None:
    role = ci_role(provider="terraform-cloud", organization_id="acme",
                   workspaces=["platform/shop-prod"], run_phases=["apply"])
    assert trust.subjects(role) == [
        "organization:acme:project:platform:workspace:shop-prod:run_phase:apply"]
    assert trust.issuer(role) == trust.Issuer("https://app.terraform.io", "aws.workload.identity")


# -- refused shapes ------------------------------------------------------------------------

def _config_with(section: str) -> str:
    return HEAD + section


REFUSED = {
    "no subject restriction": (
        "ci_roles:\n  - {name: d, provider: github, repository: acme/shop, accounts: [shop-prod]}\n",
        r"ci_roles\[0\]: 'd': has no subject restriction .* including ones anyone can start"),
    "subject *": (
        "ci_roles:\n  - {name: d, provider: github, repository: '*', branches: [main], "
        "accounts: [shop-prod]}\n",
        r"ci_roles\[0\]: 'd': repository '\*' contains a wildcard, which would trust "
        r"repositories you do not control"),
    "owner/*": (
        "ci_roles:\n  - {name: d, provider: github, repository: 'acme/*', branches: [main], "
        "accounts: [shop-prod]}\n",
        r"repository 'acme/\*' contains a wildcard"),
    "wildcard in repository part": (
        "ci_roles:\n  - {name: d, provider: github, repository: 'acme/shop-*', branches: [main], "
        "accounts: [shop-prod]}\n",
        r"repository 'acme/shop-\*' contains a wildcard"),
    "every branch": (
        "ci_roles:\n  - {name: d, provider: github, repository: acme/shop, branches: ['*'], "
        "accounts: [shop-prod]}\n",
        r"branches '\*' matches every branch: name them"),
    "colon in a branch": (
        "ci_roles:\n  - {name: d, provider: github, repository: acme/shop, "
        "branches: ['main:environment:prod'], accounts: [shop-prod]}\n",
        r"':' would let it match other claim fields"),
    "ForAllValues in a grant": (
        "ci_roles:\n  - name: d\n    provider: github\n    repository: acme/shop\n"
        "    branches: [main]\n    accounts: [shop-prod]\n    statements:\n"
        "      - actions: [s3:GetObject]\n        resources: ['*']\n"
        "        conditions: {'ForAllValues:StringEquals': {'aws:TagKeys': [team]}}\n",
        r"ci_roles\[0\]\.statements\[0\]\.conditions\.ForAllValues:StringEquals: ForAllValues is "
        r"true when the key is missing"),
    "Action * on Resource *": (
        "instance_profiles:\n  - name: web\n    accounts: [shop-prod]\n    statements:\n"
        "      - {actions: ['*'], resources: ['*']}\n",
        r"instance_profiles\[0\]\.statements\[0\]: grants Action \"\*\" on Resource \"\*\""),
    "account root without external id": (
        "cross_account_roles:\n  - {name: x, accounts: [shop-prod], "
        "trusted_principals: ['arn:aws:iam::999999999999:root']}\n",
        r"cross_account_roles\[0\]: 'x': trusts arn:aws:iam::999999999999:root, i.e. every "
        r"principal of that account"),
    "account root without opt-in": (
        "cross_account_roles:\n  - {name: x, accounts: [shop-prod], external_id: abc123, "
        "trusted_principals: ['arn:aws:iam::999999999999:root']}\n",
        r"set both `external_id` and `allow_account_root: true`"),
    "circleci without projects": (
        "ci_roles:\n  - {name: d, provider: circleci, "
        "organization_id: 1c4c3b5e-8f3a-4d2b-9c1d-2e3f4a5b6c7d, accounts: [shop-prod]}\n",
        r"needs `project_ids:`; without them every project of the CircleCI organization"),
    "gitlab environments": (
        "ci_roles:\n  - {name: d, provider: gitlab, repository: acme/shop, "
        "environments: [prod], accounts: [shop-prod]}\n",
        r"gitlab tokens do not carry `environments` in a claim AWS can check"),
    "unknown account": (
        "instance_profiles:\n  - {name: web, accounts: [shop-stage]}\n",
        r"instance_profiles\[0\]\.accounts\[0\]: unknown account 'shop-stage'"),
    "management account": (
        "instance_profiles:\n  - {name: web, accounts: [mgmt]}\n",
        r"mgmt is the management account"),
    "unknown boundary": (
        "instance_profiles:\n  - {name: web, accounts: [shop-prod], boundary: nope}\n",
        r"instance_profiles\[0\]\.boundary: unknown permission boundary 'nope'"),
    "another boundary where one is enforced": (
        "permission_boundaries:\n"
        "  - {name: a, allow_services: [s3], accounts: [shop-prod], enforce: true}\n"
        "  - {name: b, allow_services: [s3], accounts: [shop-prod]}\n"
        "instance_profiles:\n  - {name: web, accounts: [shop-prod], boundary: b}\n",
        r"shop-prod enforces boundary a, so the SCP would deny creating this role with b"),
    "two enforced boundaries": (
        "permission_boundaries:\n"
        "  - {name: a, allow_services: [s3], accounts: [shop-prod], enforce: true}\n"
        "  - {name: b, allow_services: [s3], units: [Workloads], enforce: true}\n",
        r"account shop-prod would have two enforced boundaries"),
    "too many managed policies": (
        "instance_profiles:\n  - name: web\n    accounts: [shop-prod]\n    managed_policy_arns: ["
        + ", ".join(f"arn:aws:iam::aws:policy/P{i}" for i in range(10))
        + "]\n    statements: [{actions: [s3:GetObject], resources: ['*']}]\n",
        r"11 managed policies \(its own included\); IAM allows 10 per role"),
    "policy over 6,144 characters": (
        "instance_profiles:\n  - name: web\n    accounts: [shop-prod]\n    statements:\n"
        + "".join(f"      - {{actions: [s3:GetObject], resources: ['arn:aws:s3:::bucket-{i:04}-"
                  f"{'x' * 40}/*']}}\n" for i in range(80)),
        r"the role's policy is [\d,]+ characters without whitespace; IAM allows 6,144"),
    "trust policy over 2,048 characters": (
        "ci_roles:\n  - name: d\n    provider: github\n    repository: acme/shop\n"
        "    accounts: [shop-prod]\n    branches: ["
        + ", ".join(f"feature/branch-number-{i:03}" for i in range(60)) + "]\n",
        r"ci_roles\[0\]: the trust policy is [\d,]+ characters without whitespace; IAM allows "
        r"2,048"),
}


@pytest.mark.parametrize("name", list(REFUSED))
def test_refused_shapes_exit_2_naming_the_entry(cli, tmp_path: Path, name: str) -> None:
    text, pattern = REFUSED[name]
    cfg = tmp_path / "guardgen.yaml"
    head = HEAD
    if name == "management account":
        head = HEAD.replace('{ name: audit, id: "333333333333", email: aws+audit@acme.example }',
                            '{ name: mgmt, id: "111111111111" }')
    cfg.write_text(head + text)
    before = tree_digest(tmp_path)
    r = cli("generate", "-c", cfg)
    assert r.exit_code == 2, r.output
    assert re.search(pattern, r.output), r.output
    assert re.search(r"guardgen\.yaml:\d+:\d+: ", r.output), r.output
    assert tree_digest(tmp_path) == before


# -- boundaries and the plan ------------------------------------------------------------------

def iam_plan() -> plan.Plan:
    return plan.build(pipeline.load(IAM_EXAMPLE).config)


def test_every_role_in_an_enforcing_account_carries_the_boundary() -> None:
    p = iam_plan()
    enforcing = {a.name for a in p.accounts for b in a.boundaries if b.enforced}
    assert enforcing == {"shop-prod", "shop-dev"}
    for a in p.accounts:
        for r in a.roles:
            assert r.boundary_name == "workload-boundary", (a.name, r.name)
    vendor = next(r for a in p.accounts for r in a.roles if r.name == "vendor-audit")
    assert vendor.boundary_forced


def test_generated_roles_reference_the_boundary_the_scp_requires() -> None:
    files = pipeline.run(IAM_EXAMPLE).files
    for rel, text in files.items():
        if rel.startswith("accounts/") and rel.endswith("main.tf"):
            for block in re.findall(r'module "role_[^"]+" \{.*?\n\}', text, re.S):
                assert "permissions_boundary    = module.boundary_workload_boundary.arn" in block
    b_tf = files["modules/permission-boundary/main.tf"]
    assert "path        = var.path" in b_tf
    assert iam.BOUNDARY_PATH == "/guardgen/"


def test_enforcement_scp_is_packed_for_the_boundary_accounts() -> None:
    p = iam_plan()
    gid = iam.boundary_guardrail_id("workload-boundary")
    targets = {t.display for t in p.targets if gid in t.guardrails}
    assert targets == {"account shop-prod (444444444444)", "account shop-dev (555555555555)"}
    pol = next(x for x in p.policies if gid in x.guardrails)
    doc = json.loads(pol.content)
    create = next(s for s in doc["Statement"] if s["Sid"].endswith("OnCreate"))
    assert create["Condition"]["ArnNotLike"]["iam:PermissionsBoundary"] == (
        "arn:aws:iam::????????????:policy/guardgen/workload-boundary")
    assert create["Condition"]["ArnNotLike"]["aws:PrincipalArn"] == [
        "arn:aws:iam::*:role/OrganizationAccountAccessRole", "arn:aws:iam::*:role/BreakGlassAdmin"]


def test_no_static_credentials_anywhere() -> None:
    files = pipeline.run(IAM_EXAMPLE).files
    blob = "\n".join(files.values())
    for forbidden in ("aws_iam_access_key", "aws_iam_user", "secret_key", "access_key ="):
        assert forbidden not in blob


def test_one_oidc_provider_per_account_and_issuer() -> None:
    text = BASE.replace("ci_roles:\n", "ci_roles:\n  - name: shop-release\n    provider: github\n"
                        "    repository: acme/shop\n    tags: ['v*']\n    accounts: [shop-prod]\n")
    p = plan.build(pipeline.loads(text).config)
    prod = next(a for a in p.accounts if a.name == "shop-prod")
    assert [o.url for o in prod.oidc] == ["https://token.actions.githubusercontent.com"]
    assert {r.oidc for r in prod.roles if r.kind == "ci"} == {prod.oidc[0].ident}


def test_readme_lists_iam_resources_per_account() -> None:
    readme = pipeline.run(IAM_EXAMPLE).files["README.md"]
    assert "| shop-prod | `shop-deploy` | CI role (OIDC) | `repo:acme/shop:ref:refs/heads/main` |" \
        in readme
    assert "| shop-dev | `shop-web` | EC2 role and instance profile | `ec2.amazonaws.com` |" in readme
    assert "`vendor-audit`" in readme and "with external id" in readme


def test_guardrails_command_lists_resources_per_account(cli) -> None:
    r = cli("guardrails", "--config", IAM_EXAMPLE)
    assert r.exit_code == 0, r.output
    assert "account shop-prod (444444444444): enforce-boundary-workload-boundary" in r.output
    assert "shop-prod (444444444444), Terraform root accounts/shop-prod/:" in r.output
    assert "    ci role shop-deploy, boundary workload-boundary" in r.output
    assert "    OIDC provider https://token.actions.githubusercontent.com" in r.output


BOUNDARY = "arn:aws:iam::444444444444:policy/guardgen/workload-boundary"
ROLE = "arn:aws:iam::444444444444:role/new-role"


@pytest.mark.parametrize(("who", "action", "resource", "context", "allowed"), [
    ("Admin", "iam:CreateRole", ROLE, {"iam:PermissionsBoundary": BOUNDARY}, True),
    ("Admin", "iam:CreateRole", ROLE, {}, False),
    ("Admin", "iam:CreateRole", ROLE,
     {"iam:PermissionsBoundary": "arn:aws:iam::444444444444:policy/wide-open"}, False),
    # A policy path that smuggles ':policy/guardgen/' must not pass for the boundary.
    ("Admin", "iam:CreateRole", ROLE,
     {"iam:PermissionsBoundary": "arn:aws:iam::444444444444:policy/x:policy/guardgen/"
      "workload-boundary"}, False),
    ("Admin", "iam:PutRolePermissionsBoundary", ROLE,
     {"iam:PermissionsBoundary": "arn:aws:iam::444444444444:policy/wide-open"}, False),
    ("Admin", "iam:CreateUser", "arn:aws:iam::444444444444:user/u", {}, False),
    ("Admin", "iam:DeleteRolePermissionsBoundary", ROLE, {}, False),
    ("Admin", "iam:CreatePolicyVersion", BOUNDARY, {}, False),
    ("Admin", "iam:DeletePolicy", BOUNDARY, {}, False),
    ("BreakGlassAdmin", "iam:CreateRole", ROLE, {}, True),
    ("BreakGlassAdmin", "iam:DeleteRolePermissionsBoundary", ROLE, {}, True),
    ("OrganizationAccountAccessRole", "iam:CreateRole", ROLE, {}, True),
    ("OrganizationAccountAccessRole", "iam:CreatePolicyVersion", BOUNDARY, {}, True),
])
def test_boundary_enforcement_scp_decides_concrete_requests(
        who: str, action: str, resource: str, context: dict[str, str], allowed: bool) -> None:
    from guardgen.policy import evaluate

    p = iam_plan()
    scp = next(x for x in p.policies if x.target.account_id == "444444444444")
    full = evaluate.Policy("FullAWSAccess", {"Version": "2012-10-17", "Statement": [
        {"Effect": "Allow", "Action": "*", "Resource": "*"}]})
    d = evaluate.evaluate(
        evaluate.Request(f"arn:aws:iam::444444444444:role/{who}", "444444444444", action, resource,
                         {"aws:RequestedRegion": "us-east-1", **context}),
        scp_levels=[[full], [full, evaluate.Policy(scp.name, json.loads(scp.content))]],
        identity=[full])
    assert d.allowed is allowed, d.explain()


def test_an_ambiguous_ou_path_is_refused(cli, tmp_path: Path) -> None:
    cfg = tmp_path / "guardgen.yaml"
    text = HEAD.replace("  - name: Security\n", "  - name: Workloads/Prod\n    accounts: "
                        "[{ name: odd, id: \"666666666666\" }]\n  - name: Security\n", 1)
    cfg.write_text(text + "instance_profiles:\n  - {name: web, units: [Workloads/Prod]}\n")
    r = cli("check", "-c", cfg)
    assert r.exit_code == 2
    assert "instance_profiles[0].units[0]: OU path 'Workloads/Prod' names 2 OUs" in r.output
