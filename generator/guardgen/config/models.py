"""The organization description as strict models: every field typed, described and bounded.

Pure data: no file is read here. :mod:`.checks` validates parsed YAML into these models.
"""

from __future__ import annotations

from collections.abc import Callable, Iterator, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Annotated, Any, Literal

from pydantic import BaseModel, ConfigDict, Field, StringConstraints, field_validator

from .. import catalog
from ..policy.limits import CLOUDWATCH_RETENTION_DAYS
from .custom import ACCOUNT_ID, GUARDRAIL_ID, CustomGuardrail, DataPerimeter, Ec2Declarative, OrgId
from .source import Loc, Located

# An address SNS and AWS accept, conservatively: no quotes, spaces or control characters.
EMAIL = r"^[A-Za-z0-9.!#$%&'*+/=?^_`{|}~-]+@[A-Za-z0-9-]+(\.[A-Za-z0-9-]+)+$"
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


# Editors complete guardrail and alarm ids from these lists. They only document: loading checks
# ids against the catalogs and says what is wrong, which a bare enum mismatch would not.
def _guardrail_ids() -> list[str]:
    return [g.id for g in catalog.ALL]


def _alarm_ids() -> list[str]:
    from ..catalog import alarms

    return [a.id for a in alarms.REGISTRY]


def _items_enum(ids: Callable[[], list[str]]) -> Callable[[dict[str, Any]], None]:
    """A ``json_schema_extra`` hook listing the allowed ids of an array's items."""

    def extra(schema: dict[str, Any]) -> None:
        items = schema.get("items")
        if isinstance(items, dict):
            items["enum"] = ids()

    return extra


def _guardrail_items(schema: dict[str, Any]) -> None:
    """Catalog ids for completion; any well-formed id passes, since custom_guardrails add their
    own (loading checks every id against the catalog and the config's custom guardrails)."""
    items = schema.get("items")
    if isinstance(items, dict):
        items["anyOf"] = [{"enum": _guardrail_ids()},
                          {"description": "the id of one of this config's custom_guardrails"}]


GUARDRAIL_IDS = _guardrail_items


class Account(_Strict):
    """A member account and the guardrails attached to it alone."""

    name: AccountName = Field(description="Account name, unique in the organization; IAM "
                              "placements and monitoring.account refer to it.",
                              examples=["shop-prod"])
    id: AccountId = Field(description="12-digit account id, quoted so that leading zeros survive.",
                          examples=["444444444444"])
    email: Annotated[str, StringConstraints(max_length=254, pattern=EMAIL)] | None = Field(
        default=None, description="Root email (informational).",
        examples=["aws+shop-prod@example.com"])
    guardrails: list[GuardrailId] = Field(
        default_factory=list, json_schema_extra=GUARDRAIL_IDS,
        description="Guardrails attached to this account, on top of those it inherits from its "
        "OUs and the root. `guardgen guardrails` lists them.",
        examples=[["deny-iam-user-access-keys"]])


class Unit(_Strict):
    """An organizational unit: its guardrails apply to every account and OU below it."""

    name: OuName = Field(description="Organizational unit name, unique among its siblings.",
                         examples=["Workloads"])
    id: Annotated[str, StringConstraints(pattern=r"^ou-[0-9a-z]{4,32}-[a-z0-9]{8,32}$")] | None = Field(
        default=None,
        description="Id of an existing OU: the generated Terraform imports it instead of "
        "creating a new one.", examples=["ou-ab12-cdef3456"])
    guardrails: list[GuardrailId] = Field(
        default_factory=list, json_schema_extra=GUARDRAIL_IDS,
        description="Guardrails attached to this OU; a guardrail an ancestor already has is not "
        "attached again.", examples=[["require-imdsv2", "deny-unapproved-regions"]])
    accounts: list[Account] = Field(default_factory=list,
                                    description="Accounts that sit directly in this OU.")
    units: list[Unit] = Field(default_factory=list,
                              description="Child OUs (at most 5 levels below the root).")
    previously: list[OuName] = Field(default_factory=list, description="Former names (or A/B paths) "
                                     "of this OU: guardgen turns the rename into Terraform moves.")


class Backend(_Strict):
    """S3 state backend with native locking (Terraform >= 1.10 ``use_lockfile``)."""

    bucket: Annotated[str, StringConstraints(pattern=r"^[a-z0-9][a-z0-9.-]{1,61}[a-z0-9]$")] = Field(
        description="Existing S3 bucket that holds the state of every generated root.",
        examples=["acme-terraform-state"])
    region: Region = Field(description="Region of the state bucket.", examples=["us-east-1"])
    key_prefix: Annotated[str, StringConstraints(pattern=r"^[A-Za-z0-9!_.*'()/-]{0,200}$")] = Field(
        default="guardgen", description="Prefix of the state keys: each root's state is "
        "PREFIX/ROOT/terraform.tfstate.", examples=["platform/guardgen"])
    kms_key_id: str | None = Field(default=None, description="KMS key (id, alias or ARN) that "
                                   "encrypts the state objects; default: S3-managed keys.",
                                   examples=["alias/terraform-state"])


class Monitoring(_Strict):
    """CloudTrail to CloudWatch Logs, metric filters, alarms and their notifications."""

    trail: Literal["create", "existing"] = Field(
        default="create",
        description="create: an organization trail with its bucket, log group and keys; "
        "existing: only filters and alarms on log_group_name.")
    log_group_name: str | None = Field(
        default=None, description="CloudWatch Logs group the trail delivers to (required with "
        "trail: existing).", examples=["aws-controltower/CloudTrailLogs"])
    log_retention_days: int = Field(
        default=365, ge=1, json_schema_extra={"enum": list(CLOUDWATCH_RETENTION_DAYS)},
        description="Log group retention in days (one of the values CloudWatch Logs accepts).",
        examples=[365])
    notify_emails: list[str] = Field(
        default_factory=list, description="Email addresses subscribed to the alarms (each must "
        "confirm its subscription).", examples=[["secops@example.com"]])
    alarms: list[GuardrailId] = Field(
        default_factory=list, json_schema_extra=_items_enum(_alarm_ids),
        description="Alarm ids (`guardgen alarms` lists them); empty or absent: all of them.",
        examples=[["root-usage", "iam-policy-changes"]])
    account: str | None = Field(
        default=None, description="Account name to deploy monitoring into (a delegated "
        "security account); default: the management account.", examples=["audit"])


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

    accounts: list[Name] = Field(default_factory=list,
                                 description="Names of member accounts to create it in.",
                                 examples=[["shop-prod"]])
    units: list[Name] = Field(default_factory=list,
                              description="OU paths such as Workloads or Workloads/Prod: every "
                              "member account below them.", examples=[["Workloads/Prod"]])


class PermissionBoundary(Placement):
    """A managed policy that caps what roles may do, optionally made mandatory by an SCP."""

    name: IamName = Field(description="Policy name (created under the /guardgen/ path).",
                          examples=["workload-boundary"])
    allow_services: list[ServicePrefix] = Field(
        min_length=1, description="Service prefixes the boundary lets roles use (s3, lambda...).",
        examples=[["s3", "dynamodb", "lambda", "logs"]])
    enforce: bool = Field(
        default=False, description="Attach an SCP that denies creating roles or users without "
        "this boundary and denies removing or editing it.")
    previously: list[IamName] = Field(default_factory=list, description="Former names of this "
                                      "boundary: guardgen turns the rename into Terraform moves.")


class Grant(_Strict):
    """One Allow statement of a role's own policy."""

    actions: list[Action] = Field(min_length=1, description="IAM actions (service:Action, "
                                  "wildcards allowed).", examples=[["s3:GetObject", "s3:PutObject"]])
    resources: list[Name] = Field(min_length=1, description="Resource ARNs the actions apply to.",
                                  examples=[["arn:aws:s3:::acme-artifacts/*"]])
    conditions: dict[str, dict[str, str | list[str]]] | None = Field(
        default=None, description="IAM condition block: operator → condition key → value(s).",
        examples=[{"StringEquals": {"aws:RequestedRegion": "us-east-1"}}])


class Role(Placement):
    """An IAM role created in each member account of its placement."""

    name: IamName = Field(description="Role name (at most 64 characters).",
                          examples=["shop-deploy"])
    description: Annotated[str, StringConstraints(max_length=1000)] | None = Field(
        default=None, description="The role's description in IAM; default: one derived from "
        "its kind.")
    managed_policy_arns: list[ManagedPolicyArn] = Field(
        default_factory=list, description="Managed policies to attach (AWS or customer managed).",
        examples=[["arn:aws:iam::aws:policy/ReadOnlyAccess"]])
    statements: list[Grant] = Field(default_factory=list,
                                    description="Allow statements of the role's own policy.")
    boundary: IamName | None = Field(
        default=None, description="Name of a permission boundary to apply (an account that "
        "enforces one applies it anyway).", examples=["workload-boundary"])
    max_session_duration: int = Field(default=3600, ge=3600, le=43200,
                                      description="Longest session, in seconds (1 to 12 hours).")
    previously: list[IamName] = Field(default_factory=list, description="Former names of this "
                                      "role: guardgen turns the rename into Terraform moves.")


class CiRole(Role):
    """A role CI assumes with OIDC: its trust names the exact repository and refs."""

    provider: Literal["github", "gitlab", "buildkite", "circleci", "terraform-cloud"] = Field(
        description="The CI system whose OIDC tokens the role trusts.")
    repository: Name | None = Field(
        default=None, description="github: OWNER/REPO; gitlab: group/project path; "
        "buildkite: ORG/PIPELINE slugs.", examples=["acme/shop"])
    owner_id: Annotated[str, StringConstraints(pattern=r"^[0-9]{1,20}$")] | None = Field(
        default=None, description="github: numeric owner id, for the immutable OWNER@ID form.",
        examples=["1234567"])
    repository_id: Annotated[str, StringConstraints(pattern=r"^[0-9]{1,20}$")] | None = Field(
        default=None, description="github: numeric repository id, for the immutable form.",
        examples=["89012345"])
    branches: list[Name] = Field(default_factory=list,
                                 description="Branches whose workflows may assume the role "
                                 "(github, gitlab, buildkite; * and ? match several).",
                                 examples=[["main"]])
    environments: list[Name] = Field(default_factory=list,
                                     description="github: deployment environments whose jobs "
                                     "may assume the role.", examples=[["production"]])
    tags: list[Name] = Field(default_factory=list,
                             description="Tags whose workflows may assume the role (github, "
                             "gitlab, buildkite).", examples=[["v*"]])
    pull_requests: bool = Field(default=False,
                                description="github: let pull-request workflows assume the role "
                                "(`repo:OWNER/REPO:pull_request`).")
    organization_id: Name | None = Field(
        default=None, description="circleci: organization id (UUID); terraform-cloud: "
        "organization name.")
    project_ids: list[Name] = Field(default_factory=list,
                                    description="circleci: project ids (UUIDs) allowed.")
    workspaces: list[Name] = Field(default_factory=list,
                                   description="terraform-cloud: PROJECT/WORKSPACE names.",
                                   examples=[["platform/org-guardrails"]])
    run_phases: list[Literal["plan", "apply"]] = Field(
        default_factory=list, description="terraform-cloud: restrict to these run phases.")
    issuer: IssuerUrl | None = Field(
        default=None, description="gitlab: a self-managed instance URL (default https://gitlab.com).",
        examples=["https://gitlab.example.com"])
    audience: Name | None = Field(default=None, description="Override the expected audience.")


class InstanceProfile(Role):
    """An EC2 role with its instance profile."""


class CrossAccountRole(Role):
    """A role that named principals of other accounts may assume."""

    trusted_principals: list[TrustedPrincipal] = Field(
        min_length=1, description="Role, user or (with allow_account_root) account root ARNs.",
        examples=[["arn:aws:iam::999999999999:role/vendor-scanner"]])
    external_id: Annotated[str, StringConstraints(pattern=r"^[A-Za-z0-9+=,.@:/-]{2,1224}$")] | None = Field(
        default=None, description="The sts:ExternalId the trusted principals must present (a "
        "third party's confused-deputy guard).", examples=["acme-7f3e9a"])
    allow_account_root: bool = Field(
        default=False, description="Trust a whole account's :root (needs external_id).")


class Organization(_Strict):
    """The organization itself: its management account, SCP quotas and root guardrails."""

    name: Annotated[str, StringConstraints(min_length=1, max_length=128)] = Field(
        description="A name for the organization, used in the generated README and headers.",
        examples=["acme"])
    management_account_id: AccountId = Field(
        description="12-digit id of the management account, quoted. It runs the management root; "
        "SCPs never restrict it.", examples=["111111111111"])
    home_region: Region = Field(description="Region of the providers, the trail's log group and "
                                "the alarms.", examples=["us-east-1"])
    scp_limits: Literal["current", "legacy"] = Field(
        default="current",
        description="current = 10 SCPs per target, 10,240 characters each; legacy = 5 / 5,120.")
    reserved_scp_slots: int = Field(
        default=1, ge=1,
        description="SCP slots used by policies guardgen does not manage. FullAWSAccess takes "
        "one and must stay attached, so at least 1.")
    break_glass_principals: list[PrincipalArn] = Field(
        min_length=1,
        description="Principals every Deny spares (unless a guardrail applies to everyone).",
        examples=[["arn:aws:iam::*:role/OrganizationAccountAccessRole",
                   "arn:aws:iam::*:role/BreakGlassAdmin"]])
    allowed_regions: list[Region] | None = Field(
        default=None, description="Regions allowed by deny-unapproved-regions.",
        examples=[["us-east-1", "eu-west-1"]])
    imds_max_hop_limit: int = Field(default=2, ge=1, le=64,
                                    description="Hop limit cap for require-imdsv2.")
    guardrails: list[GuardrailId] = Field(
        default_factory=list, json_schema_extra=GUARDRAIL_IDS,
        description="Guardrails attached at the root: they apply to every member account.",
        examples=[["deny-leave-organization", "protect-cloudtrail"]])
    deploy_role_name: IamName = Field(
        default="OrganizationAccountAccessRole",
        description="Role guardgen's per-account roots assume in each member account.")
    org_id: OrgId | None = Field(
        default=None, description="The organization's id (o-...). Resource control policy "
        "guardrails need it to tell the organization's principals from everyone else's.",
        examples=["o-a1b2c3d4e5"])
    reserved_rcp_slots: int = Field(
        default=1, ge=1, description="RCP slots used by policies guardgen does not manage "
        "(5 per target): RCPFullAWSAccess takes one and cannot be detached, so at least 1.")
    data_perimeter: DataPerimeter = Field(
        default_factory=DataPerimeter, description="Who the resource control policies trust "
        "besides the organization: every RCP Deny spares these accounts and AWS services.")
    ec2_declarative: Ec2Declarative = Field(
        default_factory=Ec2Declarative, description="Optional settings of the "
        "ec2-declarative-baseline guardrail (an EC2 declarative policy).")


class Config(_Strict):
    version: Literal[1] = Field(description="Format version of this file; always 1.")

    @field_validator("version", mode="before")
    @classmethod
    def _integer_one(cls, value: Any) -> Any:
        # Literal[1] alone takes `true` and `1.0`, which compare equal to 1.
        if isinstance(value, bool) or not isinstance(value, int):
            raise ValueError("must be the integer 1")
        return value
    organization: Organization = Field(description="The organization, its management account "
                                       "and the guardrails attached at the root.")
    units: list[Unit] = Field(default_factory=list,
                              description="Organizational units below the root, up to 5 levels "
                              "deep.")
    output: str = Field(default="terraform",
                        description="Output directory, relative to this file.")
    backend: Backend | None = Field(default=None, description="S3 state for the generated "
                                    "roots; default: local state.")
    monitoring: Monitoring | None = Field(default=None, description="An organization trail with "
                                          "CIS alarms; default: none.")
    permission_boundaries: list[PermissionBoundary] = Field(
        default_factory=list, description="Permission boundaries created in member accounts.")
    ci_roles: list[CiRole] = Field(default_factory=list,
                                   description="OIDC roles for CI, without access keys.")
    instance_profiles: list[InstanceProfile] = Field(default_factory=list,
                                                     description="EC2 roles with instance "
                                                     "profiles.")
    cross_account_roles: list[CrossAccountRole] = Field(
        default_factory=list, description="Roles that principals of other accounts assume.")
    custom_guardrails: list[CustomGuardrail] = Field(
        default_factory=list, description="The organization's own guardrails (SCP or RCP), "
        "attached by id in the same lists as catalog guardrails.")

    def account_ids(self) -> dict[str, str]:
        """Every account of the OU tree: name → id, in config order."""
        return {a.name: a.id for _, _, u in walk(self.units) for a in u.accounts}

    @property
    def params(self) -> catalog.Params:
        org = self.organization
        return catalog.Params(
            allowed_regions=tuple(org.allowed_regions) if org.allowed_regions else None,
            imds_max_hop_limit=org.imds_max_hop_limit,
            org_id=org.org_id,
            trusted_accounts=tuple(org.data_perimeter.trusted_accounts),
            trusted_services=tuple(org.data_perimeter.trusted_services),
            ec2=catalog.Ec2Settings(**org.ec2_declarative.model_dump()),
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
