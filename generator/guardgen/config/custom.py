"""The models of the organization's own guardrails, its data perimeter and its EC2 settings.

Pure data, like :mod:`.models` (which uses these for ``custom_guardrails``,
``organization.data_perimeter`` and ``organization.ec2_declarative``). Reading a guardrail's
``file:``, the checks of its statements and turning it into a catalog guardrail live in
:mod:`.custom_load`.
"""

from __future__ import annotations

from typing import Annotated, Any, Literal

from pydantic import BaseModel, ConfigDict, Field, StringConstraints

# Shared with models, which imports them from here: custom sits below models.
ACCOUNT_ID = r"^[0-9]{12}$"
GUARDRAIL_ID = r"^[a-z0-9]+(-[a-z0-9]+)*$"
ORG_ID = r"^o-[a-z0-9]{10,32}$"
SERVICE_PRINCIPAL = r"^[a-z0-9][a-z0-9.-]*\.amazonaws\.com(\.cn)?$"
PARAMETER_NAME = r"^[a-z][a-z0-9_]{0,63}$"
REQUEST_ACTION = r"^[a-z0-9-]+:[A-Za-z0-9]+$"

OrgId = Annotated[str, StringConstraints(pattern=ORG_ID)]
TrustedAccount = Annotated[str, StringConstraints(pattern=ACCOUNT_ID)]
ServicePrincipal = Annotated[str, StringConstraints(pattern=SERVICE_PRINCIPAL)]
ParameterName = Annotated[str, StringConstraints(pattern=PARAMETER_NAME)]
Text = Annotated[str, StringConstraints(min_length=1, max_length=2000)]
Title = Annotated[str, StringConstraints(min_length=1, max_length=200)]

Mistake = Literal["root-usage", "wildcard-policies", "long-lived-keys", "missing-boundaries",
                  "broad-trust", "missing-scps", "no-monitoring"]


class _Strict(BaseModel):
    model_config = ConfigDict(extra="forbid", strict=True, frozen=True)


class DataPerimeter(_Strict):
    """Who the organization's resource control policies (RCPs) trust besides its own principals.

    Every Deny of every RCP guardrail spares them, as it spares the break-glass principals (and
    those only inside the organization: an RCP applies to the whole world, where a role name
    proves nothing).
    """

    trusted_accounts: list[TrustedAccount] = Field(
        default_factory=list,
        description="Accounts outside the organization whose principals may use its resources "
        "(partners, vendors, a load balancer's log delivery account). RCP Denies spare their "
        "principals (aws:PrincipalAccount), and data-perimeter-confused-deputy lets AWS services "
        "act on their behalf (aws:SourceAccount).",
        examples=[["999999999999"]])
    trusted_services: list[ServicePrincipal] = Field(
        default_factory=list,
        description="AWS service principals that every RCP Deny spares (aws:PrincipalServiceName), "
        "for services that reach the organization's resources without saying on whose behalf "
        "(no aws:SourceOrgID or aws:SourceAccount).",
        examples=[["logdelivery.elasticloadbalancing.amazonaws.com"]])


class Ec2Declarative(_Strict):
    """The optional settings of the ec2-declarative-baseline guardrail (an EC2 declarative
    policy). IMDSv2 with organization.imds_max_hop_limit is always part of it."""

    image_block_public_access: bool = Field(
        default=False, description="Block new public sharing of AMIs (image block public access).")
    snapshot_block_public_access: Literal["block_all_sharing", "block_new_sharing"] | None = Field(
        default=None, description="Block public sharing of EBS snapshots: block_all_sharing also "
        "makes snapshots already shared private; default: not managed.",
        examples=["block_all_sharing"])
    serial_console_access: Literal["disabled", "enabled"] | None = Field(
        default=None, description="EC2 serial console access for the whole account; default: not "
        "managed.", examples=["disabled"])
    exception_message: Annotated[str, StringConstraints(min_length=1, max_length=1024)] | None = Field(
        default=None, description="Message EC2 returns when one of these settings stops a "
        "request, for instance a link to the team's runbook.",
        examples=["Set by the organization: see https://wiki.example.com/ec2-baseline"])


class GuardrailRequest(_Strict):
    """A request a custom guardrail must deny, or must leave alone, in every account it protects.

    ``{account}``, ``{region}`` and ``{other_region}`` in the resource and context are replaced by
    the account the request runs in, a region it may use and one it may not; RCP requests also
    know ``{org_id}``, ``{other_org}`` and ``{outside_account}``. ``${name}`` is a parameter of
    the guardrail.
    """

    action: Annotated[str, StringConstraints(pattern=REQUEST_ACTION)] = Field(
        description="The action requested, service:Action without wildcards.",
        examples=["s3:CreateBucket"])
    resource: Annotated[str, StringConstraints(min_length=1, max_length=2048)] = Field(
        default="*", description="The resource ARN, or * for actions without resource-level "
        "permissions.", examples=["arn:aws:s3:::acme-{account}-data"])
    context: dict[str, str] = Field(
        default_factory=dict, description="Request context keys and their values.",
        examples=[{"s3:LocationConstraint": "us-east-1"}])
    principal: Literal["admin", "root", "outsider", "partner", "service"] = Field(
        default="admin", description="Who asks: admin (an administrator of the account) or root; "
        "for RCPs also outsider (a role of an account outside the organization), partner (a "
        "role of each trusted account) or service (an AWS service principal).")
    note: Title | None = Field(default=None, description="What the request is, as `guardgen "
                               "verify` names it; default: the action and resource.",
                               examples=["creating a bucket outside the EU"])


class CustomGuardrail(_Strict):
    """One of the organization's own guardrails: an SCP or RCP fragment that attaches, packs,
    lints and verifies like a catalog guardrail."""

    id: Annotated[str, StringConstraints(pattern=GUARDRAIL_ID)] = Field(
        description="Id to attach it by, in the same lists as catalog guardrails; it must not be "
        "a catalog id.", examples=["deny-s3-outside-eu"])
    title: Title = Field(description="One line saying what it guarantees.",
                         examples=["S3 buckets live in the EU"])
    description: Text = Field(description="What it denies and why, for the README and docs.")
    type: Literal["scp", "rcp"] = Field(
        default="scp", description="scp: limits principals of member accounts; rcp: limits what "
        "anyone may do to their resources (Deny with Principal \"*\" only, services that support "
        "RCPs only).")
    statements: list[dict[str, Any]] | None = Field(
        default=None, description="IAM policy statements (Deny only), written in YAML; give "
        "these or file. A statement without Sid gets one from the id.",
        examples=[[{"Effect": "Deny", "Action": ["s3:CreateBucket"], "Resource": "*",
                    "Condition": {"StringNotLike": {"s3:LocationConstraint": "eu-*"}}}]])
    file: Annotated[str, StringConstraints(min_length=1, max_length=1024)] | None = Field(
        default=None, description="A JSON policy document holding the statements, relative to "
        "this file; give this or statements.", examples=["policies/deny-s3-outside-eu.json"])
    parameters: dict[ParameterName, Annotated[str, StringConstraints(max_length=1024)]] = Field(
        default_factory=dict, description="Values substituted for ${name} in the statements and "
        "requests; any other ${...} must be an IAM policy variable such as ${aws:username}.",
        examples=[{"bucket_prefix": "acme"}])
    applies_to_everyone: bool = Field(
        default=False, description="true: its Denies do not spare the break-glass principals "
        "(needs why_everyone).")
    why_everyone: Text | None = Field(
        default=None, description="Why no break-glass principal may be exempt (with "
        "applies_to_everyone).")
    mistake: Mistake = Field(default="missing-scps",
                             description="The IAM mistake it prevents (docs/guardrails.md lists "
                             "them).")
    source: Annotated[str, StringConstraints(pattern=r"^https?://\S+$")] | None = Field(
        default=None, description="Where its rule comes from (a URL).",
        examples=["https://wiki.example.com/data-residency"])
    denies: list[GuardrailRequest] = Field(default_factory=list,
                                  description="Requests it must deny in every account it "
                                  "protects (`guardgen verify` proves them).")
    allows: list[GuardrailRequest] = Field(default_factory=list,
                                  description="Requests it must leave alone in every account it "
                                  "protects.")
