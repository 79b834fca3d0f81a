"""Fetch: bulk reads of one account into plain frozen dataclasses (no boto3 object leaks out).

The number of calls does not grow with users, groups or roles: IAM comes from the credential
report, ``get_account_authorization_details``, ``get_account_summary`` and
``list_virtual_mfa_devices`` (the paginated ones take 1,000 items a page, AWS's maximum, so only
past 1,000 items of one list does a page more appear); CloudTrail, CloudWatch Logs and CloudWatch
are read per trail, never per principal. Polling the credential report depends on how fast AWS
builds it, not on the account's size as such.

A step that AWS refuses (``AccessDenied``) is recorded in :attr:`AccountSnapshot.unavailable` and
its data left ``None``; the analysis marks the checks that needed it ``unknown``. Any other error
(credentials, network, throttling that outlasted the retries) stops the run with a typed error.
"""

from __future__ import annotations

import csv
import io
import json
import time
from collections.abc import Callable, Iterable, Iterator, Mapping
from contextlib import contextmanager
from dataclasses import dataclass, field
from datetime import datetime, timezone
from typing import Any
from urllib.parse import unquote

from .errors import AccessDenied, AwsApiError
from .session import AwsSession, call, paginate

PAGE = 1000  # MaxItems: AWS's maximum for every paginated IAM list used here

# Step names, as the analysis and the `unknown` list refer to them.
STEP_IDENTITY = "caller-identity"
STEP_CREDENTIAL_REPORT = "credential-report"
STEP_AUTHORIZATION = "authorization-details"
STEP_SUMMARY = "account-summary"
STEP_VIRTUAL_MFA = "virtual-mfa-devices"
STEP_OIDC = "oidc-providers"
STEP_TRAILS = "cloudtrail-trails"
STEP_TRAIL_STATUS = "cloudtrail-trail-status"
STEP_METRIC_FILTERS = "logs-metric-filters"
STEP_ALARMS = "cloudwatch-alarms"

# The credential report's name for the root user's row.
ROOT_ROW = "<root_account>"
_REPORT_WAIT_S = 120.0  # give up on a credential report AWS has not built after this long


# -- data ------------------------------------------------------------------------------------------

@dataclass(frozen=True)
class Unavailable:
    """A fetch step AWS refused; the checks that need it are reported as unknown."""

    step: str
    operation: str  # service:Operation that was refused
    reason: str  # AWS's error code and message


@dataclass(frozen=True)
class AccessKey:
    """One access key slot of a credential report row (AWS reports at most two)."""

    slot: int  # 1 or 2
    active: bool
    last_rotated: datetime | None  # creation or last rotation
    last_used: datetime | None  # None: never used, or AWS has no information
    last_used_service: str | None


@dataclass(frozen=True)
class CredentialRow:
    """One row of the IAM credential report.

    ``password_enabled`` is None where AWS writes ``not_supported`` (the root row: the root user
    always has a password); dates are None for ``N/A``, ``no_information`` or ``not_supported``.
    """

    user: str
    arn: str
    created: datetime | None
    password_enabled: bool | None
    password_last_used: datetime | None
    mfa_active: bool
    access_keys: tuple[AccessKey, ...]  # only slots that hold a key

    @property
    def is_root(self) -> bool:
        """True for the root user's row (``<root_account>``)."""
        return self.user == ROOT_ROW


@dataclass(frozen=True)
class InlinePolicy:
    """A policy embedded in a user, group or role (it has a name but no ARN)."""

    name: str
    document: Any


@dataclass(frozen=True)
class AttachedPolicy:
    """A managed policy attached to a principal."""

    name: str
    arn: str


@dataclass(frozen=True)
class User:
    """An IAM user as ``get_account_authorization_details`` describes it."""

    name: str
    arn: str
    groups: tuple[str, ...]
    inline: tuple[InlinePolicy, ...]
    attached: tuple[AttachedPolicy, ...]
    boundary_arn: str | None


@dataclass(frozen=True)
class Group:
    """An IAM group."""

    name: str
    arn: str
    inline: tuple[InlinePolicy, ...]
    attached: tuple[AttachedPolicy, ...]


@dataclass(frozen=True)
class Role:
    """An IAM role with its trust policy."""

    name: str
    arn: str
    path: str
    trust: Any
    inline: tuple[InlinePolicy, ...]
    attached: tuple[AttachedPolicy, ...]
    boundary_arn: str | None

    @property
    def service_linked(self) -> bool:
        """Service-linked roles belong to an AWS service: they cannot take a boundary or be edited."""
        return self.path.startswith("/aws-service-role/")


@dataclass(frozen=True)
class ManagedPolicy:
    """A managed policy with its default version's document."""

    name: str
    arn: str
    aws_managed: bool
    attachment_count: int
    document: Any


@dataclass(frozen=True)
class AuthorizationDetails:
    """Everything ``get_account_authorization_details`` returned, in plain data."""

    users: tuple[User, ...]
    groups: tuple[Group, ...]
    roles: tuple[Role, ...]
    policies: tuple[ManagedPolicy, ...]


@dataclass(frozen=True)
class VirtualMfaDevice:
    """An assigned virtual MFA device; ``user_arn`` ends in ``:root`` for the root user's."""

    serial: str
    user_arn: str | None


@dataclass(frozen=True)
class Trail:
    """A CloudTrail trail visible from the session's region (multi-region trails from anywhere)."""

    name: str
    arn: str
    home_region: str
    multi_region: bool
    organization_trail: bool
    log_group_arn: str | None
    is_logging: bool | None  # None: the status could not be read


@dataclass(frozen=True)
class MetricFilter:
    """A CloudWatch Logs metric filter and the metrics it writes."""

    name: str
    log_group: str
    region: str
    pattern: str
    metrics: tuple[tuple[str, str], ...]  # (namespace, metric name)


@dataclass(frozen=True)
class Alarm:
    """A CloudWatch metric alarm (alarms on metric math have no namespace/metric)."""

    name: str
    region: str
    namespace: str | None
    metric: str | None
    actions: tuple[str, ...]
    actions_enabled: bool


@dataclass(frozen=True)
class AccountSnapshot:
    """What fetch read from one account. ``None`` means "not read": see :attr:`unavailable`."""

    account_id: str
    caller_arn: str
    partition: str
    region: str
    credential_report: tuple[CredentialRow, ...] | None = None
    authorization: AuthorizationDetails | None = None
    summary: Mapping[str, int] | None = None
    virtual_mfa: tuple[VirtualMfaDevice, ...] | None = None
    oidc_providers: tuple[str, ...] | None = None
    trails: tuple[Trail, ...] | None = None
    metric_filters: tuple[MetricFilter, ...] | None = None
    alarms: tuple[Alarm, ...] | None = None
    unavailable: tuple[Unavailable, ...] = field(default=())


# -- parsing (pure) --------------------------------------------------------------------------------

def _date(value: str | None) -> datetime | None:
    if not value or value in ("N/A", "no_information", "not_supported"):
        return None
    try:
        parsed = datetime.fromisoformat(value.replace("Z", "+00:00"))
    except ValueError:
        return None
    return parsed if parsed.tzinfo else parsed.replace(tzinfo=timezone.utc)


def _flag(value: str | None) -> bool | None:
    if value == "true":
        return True
    if value == "false":
        return False
    return None


def _unsplit(fields: list[str], width: int) -> list[str]:
    """Rejoin the user and arn columns of a row written without CSV quoting.

    IAM user names (and paths) may hold commas; moto writes the report without quoting them, so
    such a row has more fields than the header. Names cannot hold a colon, so the arn is the
    first field starting with ``arn:``, and every extra field before the dates belongs to it or
    to the name.
    """
    extra = len(fields) - width
    if extra <= 0:
        return fields
    start = next((i for i, v in enumerate(fields) if i > 0 and v.startswith("arn:")), None)
    if start is None or start - 1 > extra:
        return fields
    end = start + 1 + extra - (start - 1)
    return [",".join(fields[:start]), ",".join(fields[start:end]), *fields[end:]]


def parse_credential_report(content: bytes | str) -> tuple[CredentialRow, ...]:
    """Parse the CSV of ``get_credential_report``.

    Args:
        content: The report as AWS returns it (boto3 gives bytes).

    Returns:
        One row per user, the root user's (``<root_account>``) included when AWS writes it.
    """
    text = content.decode("utf-8") if isinstance(content, bytes) else content
    reader = csv.reader(io.StringIO(text))
    header = next(reader, [])
    rows = []
    for fields in reader:
        if not fields:
            continue
        r = dict(zip(header, _unsplit(fields, len(header)), strict=False))
        keys = []
        for slot in (1, 2):
            active = _flag(r.get(f"access_key_{slot}_active")) or False
            rotated = _date(r.get(f"access_key_{slot}_last_rotated"))
            if active or rotated is not None:
                service = r.get(f"access_key_{slot}_last_used_service")
                keys.append(AccessKey(slot, active, rotated,
                                      _date(r.get(f"access_key_{slot}_last_used_date")),
                                      service if service not in (None, "N/A", "not_supported") else None))
        rows.append(CredentialRow(
            user=r.get("user", ""), arn=r.get("arn", ""), created=_date(r.get("user_creation_time")),
            password_enabled=_flag(r.get("password_enabled")),
            password_last_used=_date(r.get("password_last_used")),
            mfa_active=_flag(r.get("mfa_active")) or False, access_keys=tuple(keys)))
    return tuple(rows)


def _document(value: Any) -> Any:
    """A policy document as data. botocore decodes IAM's URL-encoded JSON; be safe if it did not."""
    if isinstance(value, str):
        try:
            return json.loads(unquote(value))
        except ValueError:
            return value  # left as text: lint reports it as not a policy
    return value


def _inline(items: list[Mapping[str, Any]] | None) -> tuple[InlinePolicy, ...]:
    return tuple(InlinePolicy(str(p.get("PolicyName", "")), _document(p.get("PolicyDocument")))
                 for p in items or ())


def _attached(items: list[Mapping[str, Any]] | None) -> tuple[AttachedPolicy, ...]:
    return tuple(AttachedPolicy(str(p.get("PolicyName") or str(p.get("PolicyArn", "")).rsplit("/", 1)[-1]),
                                str(p.get("PolicyArn", ""))) for p in items or ())


def _boundary(entity: Mapping[str, Any]) -> str | None:
    boundary = entity.get("PermissionsBoundary") or {}
    arn = boundary.get("PermissionsBoundaryArn")
    return str(arn) if arn else None


def aws_managed_arn(arn: str) -> bool:
    """Tell whether a policy ARN is an AWS managed policy's (``arn:aws:iam::aws:policy/...``)."""
    parts = arn.split(":")
    return len(parts) > 4 and parts[4] == "aws"


def parse_authorization_details(pages: list[Mapping[str, Any]]) -> AuthorizationDetails:
    """Merge the pages of ``get_account_authorization_details`` into plain data.

    Args:
        pages: The response pages, as dictionaries shaped like AWS's.
    """
    users, groups, roles, policies = [], [], [], []
    for page in pages:
        for u in page.get("UserDetailList", ()):
            users.append(User(u["UserName"], u["Arn"], tuple(u.get("GroupList", ())),
                              _inline(u.get("UserPolicyList")), _attached(u.get("AttachedManagedPolicies")),
                              _boundary(u)))
        for g in page.get("GroupDetailList", ()):
            groups.append(Group(g["GroupName"], g["Arn"], _inline(g.get("GroupPolicyList")),
                                _attached(g.get("AttachedManagedPolicies"))))
        for r in page.get("RoleDetailList", ()):
            roles.append(Role(r["RoleName"], r["Arn"], str(r.get("Path", "/")),
                              _document(r.get("AssumeRolePolicyDocument")), _inline(r.get("RolePolicyList")),
                              _attached(r.get("AttachedManagedPolicies")), _boundary(r)))
        for p in page.get("Policies", ()):
            arn = str(p["Arn"])
            default = next((v for v in p.get("PolicyVersionList", ()) if v.get("IsDefaultVersion")),
                           None)
            if default is None and p.get("PolicyVersionList"):
                # moto omits IsDefaultVersion on some versions; fall back to DefaultVersionId.
                versions = p["PolicyVersionList"]
                default = next((v for v in versions if v.get("VersionId") == p.get("DefaultVersionId")),
                               versions[0])
            policies.append(ManagedPolicy(
                name=str(p.get("PolicyName") or arn.rsplit("/", 1)[-1]), arn=arn,
                aws_managed=aws_managed_arn(arn), attachment_count=int(p.get("AttachmentCount", 0)),
                document=_document(default.get("Document")) if default else None))
    return AuthorizationDetails(tuple(users), tuple(groups), tuple(roles), tuple(policies))


@dataclass(frozen=True, order=True)
class LogGroup:
    """A CloudWatch Logs log group, as a trail's ``CloudWatchLogsLogGroupArn`` names it."""

    account: str
    region: str
    name: str


def log_group_of(arn: str) -> LogGroup | None:
    """The log group a CloudWatch Logs log group ARN names, or None if it is not one.

    ``arn:aws:logs:us-east-1:111122223333:log-group:CloudTrail/Logs:*`` gives
    ``LogGroup("111122223333", "us-east-1", "CloudTrail/Logs")``.
    """
    parts = arn.split(":", 5)
    if len(parts) < 6 or parts[2] != "logs" or not parts[5].startswith("log-group:"):
        return None
    name = parts[5][len("log-group:"):]
    if name.endswith(":*"):
        name = name[:-2]
    return LogGroup(parts[4], parts[3], name)


# -- fetching --------------------------------------------------------------------------------------

class _Steps:
    """Records refused steps so one AccessDenied costs only the checks that needed that step."""

    def __init__(self) -> None:
        self.unavailable: list[Unavailable] = []

    @contextmanager
    def step(self, name: str) -> Iterator[None]:
        """Run a step; on AccessDenied record it and carry on without its data."""
        try:
            yield
        except AccessDenied as exc:
            self.unavailable.append(Unavailable(name, f"{exc.service}:{exc.operation}",
                                                f"{exc.code}: {exc.detail}"))


def _credential_report(s: AwsSession, sleep: Callable[[float], None]) -> tuple[CredentialRow, ...]:
    iam = s.iam()
    waited, delay = 0.0, 0.5
    while True:
        state = call("iam", "GenerateCredentialReport", iam.generate_credential_report).get("State")
        if state == "COMPLETE" or waited == 0.0:
            # After the first request, moto (and AWS, for an account it reported on recently) has
            # the report already; try it before sleeping.
            try:
                report = call("iam", "GetCredentialReport", iam.get_credential_report)
                return parse_credential_report(report["Content"])
            except AwsApiError as exc:
                if exc.code not in ("ReportInProgress", "ReportNotPresent", "ReportExpired"):
                    raise
        if waited >= _REPORT_WAIT_S:
            raise AwsApiError("iam", "GetCredentialReport", "ReportInProgress",
                              f"the credential report was not ready after {waited:.0f} s")
        sleep(delay)
        waited += delay
        delay = min(delay * 2, 8.0)


def _authorization(s: AwsSession) -> AuthorizationDetails:
    pages = list(paginate("iam", "GetAccountAuthorizationDetails", s.iam(),
                          "get_account_authorization_details",
                          PaginationConfig={"PageSize": PAGE}))
    return parse_authorization_details(pages)


def parse_virtual_mfa(pages: Iterable[Mapping[str, Any]]) -> tuple[VirtualMfaDevice, ...]:
    """The assigned devices in the pages of ``list_virtual_mfa_devices``."""
    out = []
    for page in pages:
        for d in page.get("VirtualMFADevices", ()):
            user = d.get("User") or {}
            out.append(VirtualMfaDevice(str(d["SerialNumber"]), user.get("Arn")))
    return tuple(out)


def parse_trails(described: Mapping[str, Any], logging: Mapping[str, bool]) -> tuple[Trail, ...]:
    """The trails of a ``describe_trails`` answer, with ``IsLogging`` by trail ARN where known."""
    return tuple(Trail(name=str(t.get("Name", "")), arn=str(t.get("TrailARN", "")),
                       home_region=str(t.get("HomeRegion", "")),
                       multi_region=bool(t.get("IsMultiRegionTrail")),
                       organization_trail=bool(t.get("IsOrganizationTrail")),
                       log_group_arn=t.get("CloudWatchLogsLogGroupArn") or None,
                       is_logging=logging.get(str(t.get("TrailARN", ""))))
                 for t in described.get("trailList", ()))


def parse_metric_filters(pages: Iterable[Mapping[str, Any]], region: str) -> tuple[MetricFilter, ...]:
    """The filters in the pages of ``describe_metric_filters`` made in ``region``."""
    return tuple(MetricFilter(str(mf.get("filterName", "")), str(mf.get("logGroupName", "")), region,
                              str(mf.get("filterPattern", "")),
                              tuple((str(m.get("metricNamespace", "")), str(m.get("metricName", "")))
                                    for m in mf.get("metricTransformations", ())))
                 for page in pages for mf in page.get("metricFilters", ()))


def parse_alarms(pages: Iterable[Mapping[str, Any]], region: str) -> tuple[Alarm, ...]:
    """The metric alarms in the pages of ``describe_alarms`` made in ``region``."""
    return tuple(Alarm(str(a.get("AlarmName", "")), region, a.get("Namespace"), a.get("MetricName"),
                       tuple(a.get("AlarmActions", ())), bool(a.get("ActionsEnabled", True)))
                 for page in pages for a in page.get("MetricAlarms", ()))


def fetch_account(session: AwsSession, *, sleep: Callable[[float], None] = time.sleep) -> AccountSnapshot:
    """Read everything the audit analyses from the account ``session`` is signed in to.

    Args:
        session: Where and as whom to read.
        sleep: How to wait while AWS builds the credential report (tests pass a no-op).

    Returns:
        The snapshot; steps AWS refused are in ``unavailable`` with their data left ``None``.

    Raises:
        CredentialsError: The credentials are missing or rejected.
        EndpointError: AWS cannot be reached.
        AwsApiError: Any other error than AccessDenied.
    """
    steps = _Steps()
    identity = call("sts", "GetCallerIdentity", session.sts().get_caller_identity)
    caller_arn = str(identity["Arn"])
    partition = caller_arn.split(":")[1] if caller_arn.startswith("arn:") else "aws"
    data: dict[str, Any] = {}
    iam = session.iam()

    with steps.step(STEP_CREDENTIAL_REPORT):
        data["credential_report"] = _credential_report(session, sleep)
    with steps.step(STEP_AUTHORIZATION):
        data["authorization"] = _authorization(session)
    with steps.step(STEP_SUMMARY):
        summary = call("iam", "GetAccountSummary", iam.get_account_summary)["SummaryMap"]
        data["summary"] = {str(k): int(v) for k, v in summary.items()}
    with steps.step(STEP_VIRTUAL_MFA):
        data["virtual_mfa"] = parse_virtual_mfa(paginate(
            "iam", "ListVirtualMFADevices", iam, "list_virtual_mfa_devices", AssignmentStatus="Assigned",
            PaginationConfig={"PageSize": PAGE}))
    with steps.step(STEP_OIDC):
        listed = call("iam", "ListOpenIDConnectProviders", iam.list_open_id_connect_providers)
        data["oidc_providers"] = tuple(str(p["Arn"]) for p in listed.get("OpenIDConnectProviderList", ()))

    with steps.step(STEP_TRAILS):
        described = call("cloudtrail", "DescribeTrails", session.cloudtrail().describe_trails,
                         includeShadowTrails=True)
        trails = parse_trails(described, {})
        logging: dict[str, bool] = {}
        with steps.step(STEP_TRAIL_STATUS):
            for t in trails:
                if not t.multi_region:
                    continue  # only multi-region trails answer the checks; skip the others' calls
                client = session.cloudtrail(t.home_region or None)
                status = call("cloudtrail", "GetTrailStatus", client.get_trail_status, Name=t.arn)
                logging[t.arn] = bool(status.get("IsLogging"))
        data["trails"] = trails = parse_trails(described, logging)
        _monitoring(session, trails, str(identity["Account"]), steps, data)

    return AccountSnapshot(account_id=str(identity["Account"]), caller_arn=caller_arn, partition=partition,
                           region=session.region, unavailable=tuple(steps.unavailable), **data)


def _monitoring(session: AwsSession, trails: Iterable[Trail], account: str, steps: _Steps,
                data: dict[str, Any]) -> None:
    """Metric filters on the multi-region trails' log groups, and the alarms of those groups' regions.

    Log groups of another account (an organization trail delivering to the management account) are
    not readable from here; the analysis says so instead of guessing.
    """
    groups = sorted({g for t in trails if t.multi_region and t.log_group_arn
                     and (g := log_group_of(t.log_group_arn)) is not None and g.account == account})
    with steps.step(STEP_METRIC_FILTERS):
        data["metric_filters"] = tuple(mf for g in groups for mf in parse_metric_filters(
            paginate("logs", "DescribeMetricFilters", session.logs(g.region), "describe_metric_filters",
                     logGroupName=g.name), g.region))
    with steps.step(STEP_ALARMS):
        data["alarms"] = tuple(a for region in sorted({g.region for g in groups}) for a in parse_alarms(
            paginate("cloudwatch", "DescribeAlarms", session.cloudwatch(region), "describe_alarms",
                     AlarmTypes=["MetricAlarm"]), region))
