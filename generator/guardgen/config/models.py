"""The organization description as strict models: every field typed, described and bounded.

Pure data: no file is read here. :mod:`.checks` validates parsed YAML into these models.
"""

from __future__ import annotations

from collections.abc import Iterator, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Annotated, Any, Literal

from pydantic import BaseModel, ConfigDict, Field, StringConstraints

from .. import catalog
from .source import Loc, Located

ACCOUNT_ID = r"^[0-9]{12}$"
GUARDRAIL_ID = r"^[a-z0-9]+(-[a-z0-9]+)*$"
REGION = r"^[a-z]{2}(-gov|-iso[a-z]?)?-[a-z]+-[0-9]$"
# IAM role or user ARNs, with * allowed for the account and inside the path/name.
PRINCIPAL_ARN = r"^arn:aws(-cn|-us-gov)?:iam::([0-9]{12}|\*):(role|user)/[A-Za-z0-9+=,.@_*/-]{1,512}$"

AccountId = Annotated[str, StringConstraints(pattern=ACCOUNT_ID)]
GuardrailId = Annotated[str, StringConstraints(pattern=GUARDRAIL_ID)]
Region = Annotated[str, StringConstraints(pattern=REGION)]
PrincipalArn = Annotated[str, StringConstraints(pattern=PRINCIPAL_ARN)]
# OU names from AWS may contain anything; the only rule is 1-128 characters.
OuName = Annotated[str, StringConstraints(min_length=1, max_length=128)]
AccountName = Annotated[str, StringConstraints(min_length=1, max_length=50)]


class _Strict(BaseModel):
    model_config = ConfigDict(extra="forbid", strict=True, frozen=True)


class Account(_Strict):
    name: AccountName = Field(description="Account name, unique in the organization.")
    id: AccountId = Field(description="12-digit account id, quoted.")
    email: str | None = Field(default=None, description="Root email (informational).")
    guardrails: list[GuardrailId] = Field(default_factory=list,
                                          description="Guardrails attached to this account.")


class Unit(_Strict):
    name: OuName = Field(description="Organizational unit name, unique among its siblings.")
    id: Annotated[str, StringConstraints(pattern=r"^ou-[0-9a-z]{4,32}-[a-z0-9]{8,32}$")] | None = Field(
        default=None,
        description="Id of an existing OU: the generated Terraform imports it instead of "
        "creating a new one.")
    guardrails: list[GuardrailId] = Field(default_factory=list,
                                          description="Guardrails attached to this OU.")
    accounts: list[Account] = Field(default_factory=list)
    units: list[Unit] = Field(default_factory=list, description="Child OUs.")


class Backend(_Strict):
    """S3 state backend with native locking (Terraform >= 1.10 ``use_lockfile``)."""

    bucket: Annotated[str, StringConstraints(pattern=r"^[a-z0-9][a-z0-9.-]{1,61}[a-z0-9]$")]
    region: Region
    key_prefix: Annotated[str, StringConstraints(pattern=r"^[A-Za-z0-9!_.*'()/-]{0,200}$")] = "guardgen"
    kms_key_id: str | None = None


class Monitoring(_Strict):
    """CloudTrail to CloudWatch Logs, metric filters, alarms and their notifications."""

    trail: Literal["create", "existing"] = Field(
        default="create",
        description="create: an organization trail with its bucket, log group and keys; "
        "existing: only filters and alarms on log_group_name.")
    log_group_name: str | None = Field(
        default=None, description="CloudWatch Logs group the trail delivers to (required with "
        "trail: existing).")
    log_retention_days: int = Field(default=365, ge=1, description="Log group retention.")
    notify_emails: list[str] = Field(default_factory=list,
                                     description="Email addresses subscribed to the alarms.")
    alarms: list[GuardrailId] = Field(default_factory=list,
                                      description="Alarm ids (`guardgen alarms` lists them).")
    account: str | None = Field(
        default=None, description="Account name to deploy monitoring into (a delegated "
        "security account); default: the management account.")


# IAM names: roles and policies share this alphabet; roles are limited to 64 characters.
IAM_NAME = r"^[A-Za-z0-9+=,.@_-]{1,64}$"
MANAGED_POLICY_ARN = r"^arn:aws(-cn|-us-gov)?:iam::(aws|[0-9]{12}):policy/[A-Za-z0-9+=,.@_/-]{1,512}$"
ACTION = r"^([a-z0-9-]+:[A-Za-z0-9*?]+|\*)$"
IamName = Annotated[str, StringConstraints(pattern=IAM_NAME)]
ManagedPolicyArn = Annotated[str, StringConstraints(pattern=MANAGED_POLICY_ARN)]
Action = Annotated[str, StringConstraints(pattern=ACTION)]
ServicePrefix = Annotated[str, StringConstraints(pattern=r"^[a-z0-9-]{2,64}$")]
Name = Annotated[str, StringConstraints(min_length=1, max_length=128)]
IssuerUrl = Annotated[str, StringConstraints(
    pattern=r"^https://[A-Za-z0-9.-]+(:[0-9]+)?(/[A-Za-z0-9._~/-]*)?$")]
TrustedPrincipal = Annotated[str, StringConstraints(
    pattern=r"^arn:aws(-cn|-us-gov)?:iam::[0-9]{12}:(root|(role|user)/[A-Za-z0-9+=,.@_/-]+)$")]


class Placement(_Strict):
    """Where an IAM resource is created: named accounts and/or every account below named OUs."""

    accounts: list[Name] = Field(default_factory=list, description="Account names.")
    units: list[Name] = Field(default_factory=list,
                              description="OU paths such as Workloads or Workloads/Prod.")


class PermissionBoundary(Placement):
    name: IamName = Field(description="Policy name (created under the /guardgen/ path).")
    allow_services: list[ServicePrefix] = Field(
        min_length=1, description="Service prefixes the boundary lets roles use (s3, lambda...).")
    enforce: bool = Field(
        default=False, description="Attach an SCP that denies creating roles or users without "
        "this boundary and denies removing or editing it.")


class Grant(_Strict):
    """One Allow statement of a role's own policy."""

    actions: list[Action] = Field(min_length=1)
    resources: list[Name] = Field(min_length=1)
    conditions: dict[str, dict[str, str | list[str]]] | None = None


class Role(Placement):
    name: IamName = Field(description="Role name (at most 64 characters).")
    description: Annotated[str, StringConstraints(max_length=1000)] | None = None
    managed_policy_arns: list[ManagedPolicyArn] = Field(default_factory=list)
    statements: list[Grant] = Field(default_factory=list,
                                    description="Allow statements of the role's own policy.")
    boundary: IamName | None = Field(default=None,
                                     description="Name of a permission boundary to apply.")
    max_session_duration: int = Field(default=3600, ge=3600, le=43200)


class CiRole(Role):
    provider: Literal["github", "gitlab", "buildkite", "circleci", "terraform-cloud"]
    repository: Name | None = Field(
        default=None, description="github: OWNER/REPO; gitlab: group/project path; "
        "buildkite: ORG/PIPELINE slugs.")
    owner_id: Annotated[str, StringConstraints(pattern=r"^[0-9]{1,20}$")] | None = Field(
        default=None, description="github: numeric owner id, for the immutable OWNER@ID form.")
    repository_id: Annotated[str, StringConstraints(pattern=r"^[0-9]{1,20}$")] | None = Field(
        default=None, description="github: numeric repository id, for the immutable form.")
    branches: list[Name] = Field(default_factory=list)
    environments: list[Name] = Field(default_factory=list)
    tags: list[Name] = Field(default_factory=list)
    pull_requests: bool = False
    organization_id: Name | None = Field(
        default=None, description="circleci: organization id (UUID); terraform-cloud: "
        "organization name.")
    project_ids: list[Name] = Field(default_factory=list,
                                    description="circleci: project ids (UUIDs) allowed.")
    workspaces: list[Name] = Field(default_factory=list,
                                   description="terraform-cloud: PROJECT/WORKSPACE names.")
    run_phases: list[Literal["plan", "apply"]] = Field(
        default_factory=list, description="terraform-cloud: restrict to these run phases.")
    issuer: IssuerUrl | None = Field(
        default=None, description="gitlab: a self-managed instance URL (default https://gitlab.com).")
    audience: Name | None = Field(default=None, description="Override the expected audience.")


class InstanceProfile(Role):
    pass


class CrossAccountRole(Role):
    trusted_principals: list[TrustedPrincipal] = Field(
        min_length=1, description="Role, user or (with allow_account_root) account root ARNs.")
    external_id: Annotated[str, StringConstraints(pattern=r"^[A-Za-z0-9+=,.@:/-]{2,1224}$")] | None = None
    allow_account_root: bool = Field(
        default=False, description="Trust a whole account's :root (needs external_id).")


class Organization(_Strict):
    name: Annotated[str, StringConstraints(min_length=1, max_length=128)]
    management_account_id: AccountId
    home_region: Region
    scp_limits: Literal["current", "legacy"] = Field(
        default="current",
        description="current = 10 SCPs per target, 10,240 characters each; legacy = 5 / 5,120.")
    reserved_scp_slots: int = Field(
        default=1, ge=1,
        description="SCP slots used by policies guardgen does not manage. FullAWSAccess takes "
        "one and must stay attached, so at least 1.")
    break_glass_principals: list[PrincipalArn] = Field(
        min_length=1,
        description="Principals every Deny spares (unless a guardrail applies to everyone).")
    allowed_regions: list[Region] | None = Field(
        default=None, description="Regions allowed by deny-unapproved-regions.")
    imds_max_hop_limit: int = Field(default=2, ge=1, le=64,
                                    description="Hop limit cap for require-imdsv2.")
    guardrails: list[GuardrailId] = Field(default_factory=list,
                                          description="Guardrails attached at the root.")
    deploy_role_name: IamName = Field(
        default="OrganizationAccountAccessRole",
        description="Role guardgen's per-account roots assume in each member account.")


class Config(_Strict):
    version: Literal[1]
    organization: Organization
    units: list[Unit] = Field(default_factory=list)
    output: str = Field(default="terraform",
                        description="Output directory, relative to this file.")
    backend: Backend | None = None
    monitoring: Monitoring | None = None
    permission_boundaries: list[PermissionBoundary] = Field(default_factory=list)
    ci_roles: list[CiRole] = Field(default_factory=list)
    instance_profiles: list[InstanceProfile] = Field(default_factory=list)
    cross_account_roles: list[CrossAccountRole] = Field(default_factory=list)

    def account_ids(self) -> dict[str, str]:
        """Every account of the OU tree: name → id, in config order."""
        return {a.name: a.id for _, _, u in walk(self.units) for a in u.accounts}

    @property
    def params(self) -> catalog.Params:
        org = self.organization
        return catalog.Params(
            allowed_regions=tuple(org.allowed_regions) if org.allowed_regions else None,
            imds_max_hop_limit=org.imds_max_hop_limit,
        )


@dataclass(frozen=True)
class Loaded:
    """A validated config and where it came from."""

    config: Config
    path: Path  # the config file
    source: Located


def json_schema() -> dict[str, Any]:
    """The JSON Schema of guardgen.yaml."""
    schema = Config.model_json_schema()
    schema["$schema"] = "https://json-schema.org/draft/2020-12/schema"
    schema["title"] = "guardgen.yaml"
    return schema


def walk(units: Sequence[Unit], path: tuple[str, ...] = (), loc: Loc = (),
         ) -> Iterator[tuple[tuple[str, ...], Loc, Unit]]:
    """Every OU depth-first in config order: its path of names, its config location, itself."""
    for i, unit in enumerate(units):
        here, where = (*path, unit.name), (*loc, "units", i)
        yield here, where, unit
        yield from walk(unit.units, here, where)
