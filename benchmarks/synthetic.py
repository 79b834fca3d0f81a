"""A synthetic organization with IAM in (almost) every account, for benchmarks and smoke tests.

``make_config(n)`` returns guardgen.yaml text for ``n`` member accounts in about ``n / 5`` OUs,
nested up to five levels, shaped like organizations that adopt guardgen: guardrails at the root,
on top-level OUs and on some children; an enforced permission boundary per top-level OU; a CI
role per account (GitHub, GitLab, Buildkite, CircleCI and HCP Terraform in turn, nine accounts
in ten); an instance profile in every account and a vendor's cross-account role in a third of
them; monitoring with the default alarms.
"""

from __future__ import annotations

PROVIDERS = ("github", "gitlab", "buildkite", "circleci", "terraform-cloud")
TOP_GUARDRAILS = ("protect-cloudtrail", "deny-root-user")
CHILD_GUARDRAILS = ("require-imdsv2", "deny-unapproved-regions", "deny-iam-user-access-keys")
MAX_DEPTH = 5


def _tree(n_ous: int, tops: int) -> list[tuple[str, ...]]:
    """OU paths: ``tops`` top-level OUs, one branch nested to the deepest level AWS allows, then
    children breadth first until ``n_ous`` in all."""
    paths: list[tuple[str, ...]] = [(f"Unit{t}",) for t in range(tops)]
    deep = paths[0]
    while len(deep) < MAX_DEPTH and len(paths) < n_ous:
        deep = (*deep, f"{deep[-1]}.0")
        paths.append(deep)
    i = 0
    while len(paths) < n_ous:
        parent = paths[i]
        i += 1
        if len(parent) >= MAX_DEPTH:
            continue
        for c in range(1, 5):
            if len(paths) < n_ous:
                paths.append((*parent, f"{parent[-1]}.{c}"))
    return paths


def _ci_role(n: int, name: str) -> list[str]:
    provider = PROVIDERS[n % len(PROVIDERS)]
    head = [f"  - name: deploy-{n}", f"    provider: {provider}", f"    accounts: [{name}]",
            "    statements:",
            f'      - {{ actions: [s3:PutObject], resources: ["arn:aws:s3:::artifacts-{n}/*"] }}']
    if provider == "github":
        return head + [f"    repository: acme/service-{n}", "    branches: [main]"]
    if provider == "gitlab":
        return head + [f"    repository: acme/group/service-{n}", "    branches: [main]"]
    if provider == "buildkite":
        return head + [f"    repository: acme/service-{n}", "    branches: [main]"]
    if provider == "circleci":
        return head + ['    organization_id: "0b6c3f4e-1a2b-4c5d-8e9f-0a1b2c3d4e5f"',
                       f'    project_ids: ["{n % 10**8:08d}-1a2b-4c5d-8e9f-0a1b2c3d4e5f"]']
    return head + ["    organization_id: acme", f"    workspaces: [platform/service-{n}]"]


def make_config(n_accounts: int, n_ous: int | None = None) -> str:
    """guardgen.yaml text for ``n_accounts`` member accounts (see the module docstring)."""
    n_ous = n_ous or max(5, n_accounts // 5)
    tops = max(1, min(10, n_ous // 5))
    paths = _tree(n_ous, tops)
    children: dict[tuple[str, ...], list[tuple[str, ...]]] = {}
    for p in paths[tops:]:
        children.setdefault(p[:-1], []).append(p)
    accounts: dict[tuple[str, ...], list[int]] = {}
    for n in range(n_accounts):
        accounts.setdefault(paths[n % len(paths)], []).append(n)

    lines = ["version: 1", "organization:", "  name: synthetic",
             '  management_account_id: "111111111111"', "  home_region: us-east-1",
             "  break_glass_principals: [arn:aws:iam::*:role/BreakGlassAdmin]",
             "  allowed_regions: [us-east-1, eu-west-1]",
             "  guardrails: [deny-leave-organization, protect-security-services]", "units:"]

    def unit(path: tuple[str, ...], indent: str) -> None:
        depth = len(path)
        guardrails = TOP_GUARDRAILS if depth == 1 else (
            (CHILD_GUARDRAILS[int(path[-1].rsplit(".", 1)[-1]) % 3],) if depth == 2 else ())
        lines.append(f"{indent}- name: {path[-1]}")
        if guardrails:
            lines.append(f"{indent}  guardrails: [{', '.join(guardrails)}]")
        if path in accounts:
            lines.append(f"{indent}  accounts:")
            lines.extend(f'{indent}    - {{ name: acct-{n}, id: "{200000000000 + n}" }}'
                         for n in accounts[path])
        if path in children:
            lines.append(f"{indent}  units:")
            for child in children[path]:
                unit(child, indent + "    ")

    for top in paths[:tops]:
        unit(top, "  ")
    lines.append("permission_boundaries:")
    for t in range(tops):
        lines += [f"  - name: boundary-{t}", "    allow_services: [s3, dynamodb, lambda, logs, sqs]",
                  f"    units: [Unit{t}]", "    enforce: true"]
    lines.append("ci_roles:")
    for n in range(n_accounts):
        if n % 10 != 9:
            lines += _ci_role(n, f"acct-{n}")
    lines += ["instance_profiles:", "  - name: web",
              f"    units: [{', '.join(f'Unit{t}' for t in range(tops))}]",
              "    managed_policy_arns: [arn:aws:iam::aws:policy/AmazonSSMManagedInstanceCore]",
              "cross_account_roles:", "  - name: vendor-audit",
              f"    accounts: [{', '.join(f'acct-{n}' for n in range(0, n_accounts, 3))}]",
              "    trusted_principals: [arn:aws:iam::999999999999:role/vendor-scanner]",
              "    external_id: acme-7f3e9a",
              "    managed_policy_arns: [arn:aws:iam::aws:policy/SecurityAudit]",
              "monitoring:", "  trail: create", "  notify_emails: [secops@example.com]"]
    return "\n".join(lines) + "\n"


def change_one_account(text: str, n: int = 0) -> str:
    """The same config with one account's CI role allowed one more bucket."""
    old = f'resources: ["arn:aws:s3:::artifacts-{n}/*"]'
    assert old in text, f"account {n} has no CI role"
    return text.replace(old, f'resources: ["arn:aws:s3:::artifacts-{n}/*", '
                        f'"arn:aws:s3:::artifacts-{n}-extra/*"]', 1)
