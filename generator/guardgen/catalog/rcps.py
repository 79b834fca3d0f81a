"""Resource control policy (RCP) guardrails: the organization's data perimeter.

An RCP caps what any principal, from this organization or not, may do to the resources of the
member accounts it is attached above, for the services that support RCPs. Its statements are
``Deny`` with ``Principal: "*"``; :func:`guardgen.catalog.statements` adds the exemptions for
the organization's trusted accounts and services and its break-glass principals
(:mod:`.exemptions`). The shapes follow AWS's data perimeter examples:
https://github.com/aws-samples/data-perimeter-policy-examples/tree/main/resource_control_policies
"""

from __future__ import annotations

from .guardrails import Case, Guardrail, Parameter, Params, Statement

RCP_DOCS = "https://docs.aws.amazon.com/organizations/latest/userguide/orgs_manage_policies_rcps.html"
_PERIMETER = ("https://github.com/aws-samples/data-perimeter-policy-examples/blob/main/"
              "resource_control_policies/identity_perimeter_rcp.json")
_EXAMPLES = "https://docs.aws.amazon.com/organizations/latest/userguide/orgs_manage_policies_rcps_examples.html"

# The data services the perimeter closes: S3, SQS, KMS, Secrets Manager, and the STS actions that
# take a resource of the account (role assumption) or act for its principals. Federation
# (AssumeRoleWithSAML/WebIdentity) is left out: federated callers carry no aws:PrincipalOrgID.
DATA_ACTIONS = (
    "s3:*", "sqs:*", "kms:*", "secretsmanager:*", "sts:AssumeRole",
    "sts:DecodeAuthorizationMessage", "sts:GetAccessKeyInfo", "sts:GetFederationToken",
    "sts:GetServiceBearerToken", "sts:GetSessionToken", "sts:SetContext",
)
_DATA_SERVICES = ("s3:*", "sqs:*", "kms:*", "secretsmanager:*", "sts:*")
# Every service RCPs support, for the TLS guardrail (AWS's own HTTPS-only example lists these).
_ALL_SERVICES = ("s3:*", "sts:*", "kms:*", "sqs:*", "secretsmanager:*", "cognito-identity:*",
                 "cognito-idp:*", "logs:*", "dynamodb:*", "ecr:*", "aoss:*")
_ORG_ID = Parameter("org_id", "The organization's id (o-...), to tell its principals from "
                    "everyone else's.", True)
_TRUSTED = Parameter("data_perimeter", "trusted_accounts and trusted_services that every RCP "
                     "Deny spares (partners, vendors, AWS services acting for the organization).",
                     False)

_BUCKET = "arn:aws:s3:::data-{account}/reports/latest.csv"
_ROLE = "arn:aws:iam::{account}:role/trusts-a-foreign-root"
_KEY = "arn:aws:kms:{region}:{account}:key/1234abcd-12ab-34cd-56ef-1234567890ab"


def _deny(sid: str, actions: tuple[str, ...], condition: dict[str, object]) -> Statement:
    return {"Sid": sid, "Effect": "Deny", "Principal": "*", "Action": list(actions),
            "Resource": "*", "Condition": condition}


def _org(p: Params) -> str:
    # Loading refuses an RCP guardrail without organization.org_id; this keeps mypy honest.
    if p.org_id is None:
        raise ValueError("RCP guardrails need organization.org_id")
    return p.org_id


def _org_principals(p: Params) -> list[Statement]:
    return [_deny("DataPerimeterOrgPrincipals", DATA_ACTIONS, {
        "StringNotEqualsIfExists": {"aws:PrincipalOrgID": _org(p)},
        "BoolIfExists": {"aws:PrincipalIsAWSService": "false"}})]


def _confused_deputy(p: Params) -> list[Statement]:
    sources: dict[str, object] = {"aws:SourceOrgID": _org(p)}
    if p.trusted_accounts:
        sources["aws:SourceAccount"] = list(p.trusted_accounts)
    return [_deny("DataPerimeterConfusedDeputy", _DATA_SERVICES, {
        "StringNotEqualsIfExists": sources,
        "Null": {"aws:SourceAccount": "false"},
        "Bool": {"aws:PrincipalIsAWSService": "true"}})]


def _tls(p: Params) -> list[Statement]:
    return [_deny("DataPerimeterTlsOnly", _ALL_SERVICES,
                  {"BoolIfExists": {"aws:SecureTransport": "false"}})]


def _org_principals_cases(p: Params) -> list[Case]:
    return [
        Case("an outside account reading an object", "s3:GetObject", _BUCKET, principal="outsider"),
        Case("an outside account assuming a role that trusts its :root", "sts:AssumeRole", _ROLE,
             principal="outsider"),
        Case("an outside account decrypting with a key", "kms:Decrypt", _KEY, principal="outsider"),
        Case("an outside account reading a secret", "secretsmanager:GetSecretValue",
             "arn:aws:secretsmanager:{region}:{account}:secret:db-AbCdEf", principal="outsider"),
        Case("an outside account sending to a queue", "sqs:SendMessage",
             "arn:aws:sqs:{region}:{account}:orders", principal="outsider"),
        Case("a principal of the organization reading an object", "s3:GetObject", _BUCKET,
             denied=False),
        Case("a principal of the organization assuming a role", "sts:AssumeRole", _ROLE,
             denied=False),
        Case("an AWS service writing an object for the organization", "s3:PutObject", _BUCKET,
             (("aws:SourceAccount", "{account}"), ("aws:SourceOrgID", "{org_id}")), denied=False,
             principal="service"),
    ]


def _confused_deputy_cases(p: Params) -> list[Case]:
    write = ("s3:PutObject", _BUCKET)
    return [
        Case("an AWS service writing an object for an outside account", *write,
             (("aws:SourceAccount", "{outside_account}"), ("aws:SourceOrgID", "{other_org}")),
             principal="service"),
        Case("an AWS service decrypting for an outside account", "kms:Decrypt", _KEY,
             (("aws:SourceAccount", "{outside_account}"),), principal="service"),
        Case("an AWS service writing an object for the organization", *write,
             (("aws:SourceAccount", "{account}"), ("aws:SourceOrgID", "{org_id}")),
             denied=False, principal="service"),
        Case("an AWS service assuming a service role (no source account)", "sts:AssumeRole",
             "arn:aws:iam::{account}:role/service-role", denied=False, principal="service"),
        *(Case(f"an AWS service writing an object for trusted account {a}", *write,
               (("aws:SourceAccount", a),), denied=False, principal="service")
          for a in p.trusted_accounts),
    ]


def _tls_cases(p: Params) -> list[Case]:
    plain = (("aws:SecureTransport", "false"),)
    return [
        Case("reading an object over plain HTTP", "s3:GetObject", _BUCKET, plain),
        Case("an outside account reading an object over plain HTTP", "s3:GetObject", _BUCKET,
             plain, principal="outsider"),
        Case("reading an object over TLS", "s3:GetObject", _BUCKET,
             (("aws:SecureTransport", "true"),), denied=False),
    ]


REGISTRY: tuple[Guardrail, ...] = (
    Guardrail(
        id="data-perimeter-org-principals",
        title="Only the organization's principals use its data",
        description="A resource control policy: principals outside the organization cannot use "
        "the S3 buckets, KMS keys, SQS queues and Secrets Manager secrets of member accounts, nor "
        "assume their roles, whatever a bucket policy, key policy or role trust says, unless "
        "their account is in organization.data_perimeter.trusted_accounts. A role that trusts a "
        "foreign account's :root can therefore not be assumed by it. AWS services acting for the "
        "organization are not affected (see data-perimeter-confused-deputy).",
        mistake="broad-trust",
        source=_PERIMETER,
        build=_org_principals,
        parameters=(_ORG_ID, _TRUSTED),
        cases=_org_principals_cases,
        policy_type="rcp",
    ),
    Guardrail(
        id="data-perimeter-confused-deputy",
        title="AWS services touch the organization's data only on its behalf",
        description="A resource control policy: an AWS service principal (CloudTrail, Config, "
        "log delivery...) can use the S3, SQS, KMS, Secrets Manager and STS resources of member "
        "accounts only for a request made on behalf of this organization (aws:SourceOrgID) or of "
        "a trusted account (aws:SourceAccount), so nobody can point a service at them from "
        "elsewhere: the cross-service confused deputy. Requests that carry no source account "
        "(a service assuming its service role) are not affected.",
        mistake="broad-trust",
        source=_EXAMPLES,
        build=_confused_deputy,
        parameters=(_ORG_ID, _TRUSTED),
        cases=_confused_deputy_cases,
        policy_type="rcp",
    ),
    Guardrail(
        id="data-perimeter-tls-only",
        title="The organization's data is reached over TLS only",
        description="A resource control policy: every request to a member account's resources "
        "of a service that supports RCPs (S3, STS, KMS, SQS, Secrets Manager, Cognito, CloudWatch "
        "Logs, DynamoDB, ECR, OpenSearch Serverless) is denied unless it arrives over TLS "
        "(aws:SecureTransport), whoever makes it and whatever the bucket policy says.",
        mistake="missing-scps",
        source="https://github.com/aws-samples/resource-control-policy-examples",
        build=_tls,
        parameters=(_ORG_ID, _TRUSTED),
        cases=_tls_cases,
        policy_type="rcp",
    ),
)
