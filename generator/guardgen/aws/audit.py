"""Analyze: the audit's checks, pure functions over an :class:`~guardgen.aws.fetch.AccountSnapshot`.

No boto3 here, no clock: ``now`` is a parameter, so every check runs in unit tests on recorded
data shaped like AWS's responses. Each check is one :class:`Check` in :data:`CHECKS`, with a
stable id, a default severity, the number of the seed article's mistake it is an instance of
(1 root, 2 wildcards, 3 long-lived keys, 4 boundaries, 5 broad trust, 6 SCPs, 7 no monitoring),
and the fetch steps it needs: when one of them was refused, the check is reported in
``unknown`` instead of guessing.

Policy and trust documents go through guardgen's own lint engine (GG301 Allow of every action,
GG303 Allow with NotAction, GG401-GG404 trust rules), and CloudWatch metric filters through its
log filter evaluator, run on synthetic CloudTrail records of the root user acting.
"""

from __future__ import annotations

import json
from collections import defaultdict
from collections.abc import Iterable, Iterator, Mapping, Sequence
from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import Any, Literal

from ..policy import lint, logfilter
from . import fetch as f

Severity = Literal["critical", "high", "medium", "low", "info"]
SEVERITIES: tuple[Severity, ...] = ("info", "low", "medium", "high", "critical")  # ascending
RANK: dict[str, int] = {s: n for n, s in enumerate(SEVERITIES)}

ADMIN_POLICY = "AdministratorAccess"  # arn:<partition>:iam::aws:policy/AdministratorAccess
_LEAST_PRIVILEGE = "https://docs.aws.amazon.com/IAM/latest/UserGuide/best-practices.html#grant-least-privilege"
_NOT_ACTION = "https://docs.aws.amazon.com/IAM/latest/UserGuide/reference_policies_elements_notaction.html"
_PRINCIPAL = "https://docs.aws.amazon.com/IAM/latest/UserGuide/reference_policies_elements_principal.html"
_CONFUSED_DEPUTY = "https://docs.aws.amazon.com/IAM/latest/UserGuide/confused-deputy.html"
_OIDC = "https://docs.aws.amazon.com/IAM/latest/UserGuide/id_roles_create_for-idp_oidc.html"
_CRED_REPORT = "https://docs.aws.amazon.com/IAM/latest/UserGuide/id_credentials_getting-report.html"
_ROOT = "https://docs.aws.amazon.com/IAM/latest/UserGuide/root-user-best-practices.html"
_KEYS = "https://docs.aws.amazon.com/IAM/latest/UserGuide/id_credentials_access-keys.html"
_BOUNDARY = "https://docs.aws.amazon.com/IAM/latest/UserGuide/access_policies_boundaries.html"
_TRAIL = "https://docs.aws.amazon.com/awscloudtrail/latest/userguide/receive-cloudtrail-log-files-from-multiple-regions.html"
_CIS_ROOT_ALARM = ("https://docs.aws.amazon.com/securityhub/latest/userguide/"
                   "cloudwatch-controls.html#cloudwatch-1")
_SCPS = "https://docs.aws.amazon.com/organizations/latest/userguide/orgs_manage_policies_scps.html"
STEP_ORGANIZATION = "organizations:DescribeOrganization/ListPolicies"


@dataclass(frozen=True)
class Check:
    """One audit check: what it looks for, how bad it is by default, and what it needs."""

    id: str
    title: str
    severity: Severity
    mistake: int | None
    needs: tuple[str, ...]  # fetch steps; any refused one makes the check unknown
    source: str


CHECKS: tuple[Check, ...] = (
    Check("root-mfa-disabled", "The root user has no MFA", "critical", 1,
          (f.STEP_SUMMARY,), _ROOT),
    Check("root-access-keys", "The root user has access keys", "critical", 1,
          (f.STEP_SUMMARY,), _ROOT),
    Check("root-used-recently", "The root user signed in or used a key recently", "high", 1,
          (f.STEP_CREDENTIAL_REPORT,), _ROOT),
    Check("root-virtual-mfa", "The root user's MFA is a virtual device, not a hardware one", "low", 1,
          (f.STEP_SUMMARY, f.STEP_VIRTUAL_MFA), _ROOT),
    Check("console-without-mfa", "An IAM user can sign in to the console without MFA", "high", None,
          (f.STEP_CREDENTIAL_REPORT,), _CRED_REPORT),
    Check("user-without-mfa", "An IAM user has no MFA device (no console password either)", "info", None,
          (f.STEP_CREDENTIAL_REPORT,), _CRED_REPORT),
    Check("access-key-active", "An IAM user holds an active long-lived access key", "low", 3,
          (f.STEP_CREDENTIAL_REPORT,), _KEYS),
    Check("access-key-too-old", "An active access key is older than the maximum key age", "high", 3,
          (f.STEP_CREDENTIAL_REPORT,), _KEYS),
    Check("access-key-unused", "An active access key has not been used for a long time", "medium", 3,
          (f.STEP_CREDENTIAL_REPORT,), _KEYS),
    Check("two-active-access-keys", "An IAM user has two active access keys", "medium", 3,
          (f.STEP_CREDENTIAL_REPORT,), _KEYS),
    Check("console-user-with-access-keys", "A console user also holds active access keys", "medium", 3,
          (f.STEP_CREDENTIAL_REPORT,), _KEYS),
    Check("admin-policy-attached", "AdministratorAccess is attached to a user, group or role", "high", 2,
          (f.STEP_AUTHORIZATION,), _LEAST_PRIVILEGE),
    Check("policy-allows-all-actions", "A policy allows every action (GG301)", "high", 2,
          (f.STEP_AUTHORIZATION,), _LEAST_PRIVILEGE),
    Check("policy-allow-not-action", "A policy allows with NotAction (GG303)", "high", 2,
          (f.STEP_AUTHORIZATION,), _NOT_ACTION),
    Check("role-trusts-anyone", "A role trusts every AWS principal (GG401)", "critical", 5,
          (f.STEP_AUTHORIZATION,), _PRINCIPAL),
    Check("role-trusts-account-root", "A role trusts a whole account without sts:ExternalId (GG402)", "high",
          5, (f.STEP_AUTHORIZATION,), _CONFUSED_DEPUTY),
    Check("oidc-trust-without-audience", "A role trusts an OIDC provider without an aud condition (GG403)",
          "high", 5, (f.STEP_AUTHORIZATION,), _OIDC),
    Check("oidc-trust-broad-subject", "A role trusts an OIDC provider without a specific sub (GG404)",
          "critical", 5, (f.STEP_AUTHORIZATION,), _OIDC),
    Check("oidc-provider-unused", "An OIDC provider is registered but no role trusts it", "info", 5,
          (f.STEP_AUTHORIZATION, f.STEP_OIDC), _OIDC),
    Check("role-without-boundary", "A role has no permissions boundary", "info", 4,
          (f.STEP_AUTHORIZATION,), _BOUNDARY),
    Check("cloudtrail-not-logging-all-regions", "No multi-region CloudTrail trail is logging", "high", 7,
          (f.STEP_TRAILS, f.STEP_TRAIL_STATUS), _TRAIL),
    Check("root-usage-alarm-missing", "No alarm on a metric filter that matches root usage", "medium", 7,
          (f.STEP_TRAILS, f.STEP_TRAIL_STATUS, f.STEP_METRIC_FILTERS, f.STEP_ALARMS), _CIS_ROOT_ALARM),
    Check("root-usage-alarm-without-actions", "The root-usage alarm notifies no one", "low", 7,
          (f.STEP_TRAILS, f.STEP_TRAIL_STATUS, f.STEP_METRIC_FILTERS, f.STEP_ALARMS), _CIS_ROOT_ALARM),
    # Needs the organization and a config: run by guardgen.aws.in_force, not by analyze().
    Check("guardrails-not-in-force", "Guardrails the config asks for are not in force on the account",
          "high", 6, (STEP_ORGANIZATION,), _SCPS),
)
BY_ID: dict[str, Check] = {c.id: c for c in CHECKS}

# Lint rule -> audit check, for the rules the audit reuses.
_IDENTITY_RULES = {"GG301": "policy-allows-all-actions", "GG303": "policy-allow-not-action"}
_TRUST_RULES = {"GG401": "role-trusts-anyone", "GG402": "role-trusts-account-root",
                "GG403": "oidc-trust-without-audience", "GG404": "oidc-trust-broad-subject"}


@dataclass(frozen=True)
class Finding:
    """One problem found in the account."""

    id: str  # a Check id
    severity: Severity
    resource: str  # full ARN of the user, group, role or policy; the account id otherwise
    message: str
    mistake: int | None

    def to_json(self) -> dict[str, Any]:
        """The finding as the JSON report writes it."""
        return {"id": self.id, "severity": self.severity, "resource": self.resource,
                "message": self.message, "mistake": self.mistake}


@dataclass(frozen=True)
class Unknown:
    """A check that could not run because a fetch step it needs was refused or is incomplete."""

    check: str
    step: str
    reason: str

    def to_json(self) -> dict[str, Any]:
        """The entry as the JSON report writes it."""
        return {"check": self.check, "step": self.step, "reason": self.reason}


@dataclass(frozen=True)
class AuditOptions:
    """Thresholds and facts the checks take from the caller (CLI flags, the config)."""

    max_key_age_days: int = 90
    unused_key_days: int = 45  # CIS AWS Foundations 1.12: credentials unused for 45 days
    root_recent_days: int = 90
    # Accounts whose roles must all carry a permissions boundary (from guardgen.yaml): there a
    # role without one is a high finding, elsewhere it is only information.
    enforced_boundary_accounts: frozenset[str] = frozenset()


@dataclass(frozen=True)
class AccountAudit:
    """The audit of one account: findings most severe first, and the checks that could not run."""

    account: str
    findings: tuple[Finding, ...]
    unknown: tuple[Unknown, ...]

    def to_json(self) -> dict[str, Any]:
        """``{"account": ..., "findings": [...], "unknown": [...]}``."""
        return {"account": self.account, "findings": [x.to_json() for x in self.findings],
                "unknown": [u.to_json() for u in self.unknown]}


# -- root usage probes for the metric filter check ---------------------------------------------------

def _event(identity: Mapping[str, Any], name: str, source: str, event_type: str,
           **extra: Any) -> dict[str, Any]:
    """A CloudTrail record with the fields CloudTrail always writes (see tests/data/cloudtrail)."""
    return {"eventVersion": "1.09", "userIdentity": dict(identity), "eventTime": "2025-05-07T09:30:55Z",
            "eventSource": source, "eventName": name, "awsRegion": "us-east-1",
            "sourceIPAddress": "198.51.100.23", "userAgent": "aws-cli/2.15.40",
            "requestID": "ee6ce216-9376-5512-b389-e1103d295f39",
            "eventID": "76f2be29-3297-5193-b53d-f7add5b01aff", "eventType": event_type,
            "managementEvent": True, "recipientAccountId": "444455556666",
            "eventCategory": "Management", **extra}


_ROOT_IDENTITY = {"type": "Root", "principalId": "444455556666", "arn": "arn:aws:iam::444455556666:root",
                  "accountId": "444455556666", "accessKeyId": ""}
_USER_IDENTITY = {"type": "IAMUser", "principalId": "AIDAQNZGKIQYEXAMPLE01",
                  "arn": "arn:aws:iam::444455556666:user/alice", "accountId": "444455556666",
                  "accessKeyId": "AKIAQNZGKIQYEXAMPLE01", "userName": "alice"}

# A metric filter "matches root usage" when it counts every one of these records...
ROOT_USAGE_EVENTS: tuple[dict[str, Any], ...] = (
    _event(_ROOT_IDENTITY, "ConsoleLogin", "signin.amazonaws.com", "AwsConsoleSignIn",
           responseElements={"ConsoleLogin": "Success"}, additionalEventData={"MFAUsed": "No"}),
    _event(dict(_ROOT_IDENTITY, accessKeyId="AKIAQNZGKIQYROOTKEY1"), "ListBuckets", "s3.amazonaws.com",
           "AwsApiCall", readOnly=True),
)
# ...and none of these: an IAM user acting is not root usage (a filter that counts everything
# would keep the alarm firing, which is no alarm at all).
NOT_ROOT_USAGE_EVENTS: tuple[dict[str, Any], ...] = (
    _event(_USER_IDENTITY, "ListBuckets", "s3.amazonaws.com", "AwsApiCall", readOnly=True),
    _event(_USER_IDENTITY, "ConsoleLogin", "signin.amazonaws.com", "AwsConsoleSignIn",
           responseElements={"ConsoleLogin": "Success"}, additionalEventData={"MFAUsed": "Yes"}),
)


def matches_root_usage(pattern: str) -> bool | None:
    """Tell whether a CloudWatch Logs filter pattern counts the root user's activity, and only it.

    Args:
        pattern: The metric filter's pattern text.

    Returns:
        True when the pattern matches every record of :data:`ROOT_USAGE_EVENTS` and none of
        :data:`NOT_ROOT_USAGE_EVENTS`; False otherwise; None when guardgen cannot evaluate it
        (a term or space-delimited pattern, or one CloudWatch would reject).
    """
    try:
        parsed = logfilter.parse(pattern)
    except logfilter.FilterSyntaxError:
        return None
    return (all(parsed.matches(e) for e in ROOT_USAGE_EVENTS)
            and not any(parsed.matches(e) for e in NOT_ROOT_USAGE_EVENTS))


# -- helpers ---------------------------------------------------------------------------------------

def _days(delta: timedelta) -> int:
    return delta.days


def _date(d: datetime) -> str:
    return d.date().isoformat()


def _resolve(document: Any, pointer: str) -> Any:
    """The value at an RFC 6901 pointer, or None."""
    node = document
    for token in pointer.split("/")[1:] if pointer else []:
        token = token.replace("~1", "/").replace("~0", "~")
        if isinstance(node, list) and token.isdigit() and int(token) < len(node):
            node = node[int(token)]
        elif isinstance(node, dict) and token in node:
            node = node[token]
        else:
            return None
    return node


def _statement(document: Any, pointer: str) -> Mapping[str, Any]:
    """The statement a lint pointer (``/Statement/N/...`` or ``/Statement/...``) points into."""
    parts = pointer.split("/")
    depth = 3 if len(parts) > 2 and parts[2].isdigit() else 2
    found = _resolve(document, "/".join(parts[:depth]))
    return found if isinstance(found, dict) else {}


def _resources(statement: Mapping[str, Any]) -> list[str]:
    value = statement.get("Resource", [])
    return [v for v in (value if isinstance(value, list) else [value]) if isinstance(v, str)]


def _key(document: Any) -> str:
    return json.dumps(document, sort_keys=True, separators=(",", ":"), default=str)


def _lint_unique(items: Sequence[tuple[str, lint.Kind, Any]], rules: Mapping[str, str]
                 ) -> dict[str, list[lint.Finding]]:
    """Lint each distinct (kind, document) once, keeping only ``rules``; findings by item path.

    Accounts often attach one document to many principals (an inline policy per user made from
    one template); linting it once keeps the audit's time flat in the number of principals.
    """
    unique: dict[tuple[lint.Kind, str], Any] = {}
    for _, kind, document in items:
        unique.setdefault((kind, _key(document)), document)
    inputs = [lint.LintInput(path=str(n), kind=kind, document=doc)
              for n, ((kind, _), doc) in enumerate(unique.items())]
    found: dict[str, list[lint.Finding]] = defaultdict(list)
    for finding in lint.lint(inputs):
        if finding.rule in rules:
            found[finding.path].append(finding)
    index = {k: str(n) for n, k in enumerate(unique)}
    return {path: found.get(index[(kind, _key(document))], []) for path, kind, document in items}


# -- the checks ------------------------------------------------------------------------------------

class _Audit:
    """Runs the checks over one snapshot, collecting findings and unknowns."""

    def __init__(self, snap: f.AccountSnapshot, now: datetime, options: AuditOptions) -> None:
        self.snap = snap
        self.now = now
        self.options = options
        self.findings: list[Finding] = []
        self.unknown: list[Unknown] = []
        self._refused = {u.step: u for u in snap.unavailable}

    def runnable(self, check_id: str) -> bool:
        """True when every step the check needs was read; else record it as unknown."""
        for step in BY_ID[check_id].needs:
            if step in self._refused:
                u = self._refused[step]
                self.unknown.append(Unknown(check_id, step, f"{u.operation} refused: {u.reason}"))
                return False
        return True

    def not_known(self, check_id: str, step: str, reason: str) -> None:
        """Record a check that ran into data that cannot answer it."""
        self.unknown.append(Unknown(check_id, step, reason))

    def add(self, check_id: str, resource: str, message: str, severity: Severity | None = None) -> None:
        """Record a finding of a check (its default severity unless one is given)."""
        check = BY_ID[check_id]
        self.findings.append(Finding(check_id, severity or check.severity, resource, message,
                                     check.mistake))

    # -- root --------------------------------------------------------------------------------------

    def root(self) -> None:
        snap = self.snap
        report = snap.credential_report
        row = next((r for r in report or () if r.is_root), None)
        summary = snap.summary
        if self.runnable("root-mfa-disabled"):
            assert summary is not None
            if not summary.get("AccountMFAEnabled") or (row is not None and not row.mfa_active):
                self.add("root-mfa-disabled", snap.account_id,
                         "the root user has no MFA device: anyone with its password owns the account")
        if self.runnable("root-access-keys"):
            assert summary is not None
            active = [k for k in row.access_keys if k.active] if row is not None else []
            if summary.get("AccountAccessKeysPresent") or active:
                self.add("root-access-keys", snap.account_id,
                         "the root user has access keys; delete them (root keys cannot be limited by IAM)")
        if self.runnable("root-used-recently"):
            if row is None:
                self.not_known("root-used-recently", f.STEP_CREDENTIAL_REPORT,
                               f"the credential report has no {f.ROOT_ROW} row")
            else:
                used = [d for d in (row.password_last_used, *(k.last_used for k in row.access_keys))
                        if d is not None]
                last = max(used, default=None)
                if last is not None and self.now - last <= timedelta(days=self.options.root_recent_days):
                    self.add("root-used-recently", snap.account_id,
                             f"the root user was last used on {_date(last)}, "
                             f"{_days(self.now - last)} days ago; use it only for the tasks that need it")
        if self.runnable("root-virtual-mfa"):
            assert summary is not None and snap.virtual_mfa is not None
            root_device = [d for d in snap.virtual_mfa if (d.user_arn or "").endswith(":root")
                           or d.serial.endswith(":mfa/root-account-mfa-device")]
            if summary.get("AccountMFAEnabled") and root_device:
                self.add("root-virtual-mfa", snap.account_id,
                         f"the root user's MFA is the virtual device {root_device[0].serial}; "
                         "a hardware key cannot be copied off a phone")

    # -- users and keys ------------------------------------------------------------------------------

    def users(self) -> None:
        ids = ("console-without-mfa", "user-without-mfa", "access-key-active", "access-key-too-old",
               "access-key-unused", "two-active-access-keys", "console-user-with-access-keys")
        if not all([self.runnable(i) for i in ids]):
            return
        assert self.snap.credential_report is not None
        max_age = timedelta(days=self.options.max_key_age_days)
        unused = timedelta(days=self.options.unused_key_days)
        for row in self.snap.credential_report:
            if row.is_root:
                continue
            active = [k for k in row.access_keys if k.active]
            if row.password_enabled and not row.mfa_active:
                self.add("console-without-mfa", row.arn,
                         f"{row.user} can sign in to the console with a password alone (no MFA device)")
            elif not row.mfa_active:
                self.add("user-without-mfa", row.arn,
                         f"{row.user} has no MFA device; without a console password this only matters to "
                         "policies that require aws:MultiFactorAuthPresent")
            for k in active:
                rotated = f"created {_date(k.last_rotated)}" if k.last_rotated else "creation date unknown"
                used = f"last used {_date(k.last_used)}" if k.last_used else "never used"
                self.add("access-key-active", row.arn,
                         f"{row.user} holds active access key {k.slot} ({rotated}, {used}); prefer roles and "
                         "temporary credentials")
                if k.last_rotated is not None and self.now - k.last_rotated > max_age:
                    age = _days(self.now - k.last_rotated)
                    self.add("access-key-too-old", row.arn,
                             f"{row.user}'s access key {k.slot} is {age} days old "
                             f"(maximum {self.options.max_key_age_days}); rotate or delete it")
                since = k.last_used or k.last_rotated
                if since is not None and self.now - since > unused:
                    what = (f"was last used {_days(self.now - since)} days ago" if k.last_used
                            else f"has never been used in its {_days(self.now - since)} days")
                    self.add("access-key-unused", row.arn,
                             f"{row.user}'s access key {k.slot} {what}; deactivate it")
            if len(active) == 2:
                self.add("two-active-access-keys", row.arn,
                         f"{row.user} has two active access keys; keep at most one outside a rotation")
            if row.password_enabled and active:
                self.add("console-user-with-access-keys", row.arn,
                         f"{row.user} signs in to the console and also holds {len(active)} active access "
                         "key(s): a person's credentials in scripts")

    # -- policies and trust ------------------------------------------------------------------------

    def policies(self) -> None:
        ids = ("admin-policy-attached", "policy-allows-all-actions", "policy-allow-not-action",
               "role-trusts-anyone", "role-trusts-account-root", "oidc-trust-without-audience",
               "oidc-trust-broad-subject", "role-without-boundary", "oidc-provider-unused")
        # Record every check that cannot run; if only the OIDC provider list is missing, the
        # others still can.
        runnable = all([self.runnable(i) for i in ids])
        if not runnable and self.snap.authorization is None:
            return
        auth = self.snap.authorization
        assert auth is not None
        principals: list[tuple[str, str, tuple[f.InlinePolicy, ...], tuple[f.AttachedPolicy, ...]]] = [
            *(("user", u.arn, u.inline, u.attached) for u in auth.users),
            *(("group", g.arn, g.inline, g.attached) for g in auth.groups),
            *(("role", r.arn, r.inline, r.attached) for r in auth.roles)]
        members: dict[str, int] = defaultdict(int)
        for u in auth.users:
            for g in u.groups:
                members[g] += 1

        # AdministratorAccess, by ARN: its content is AWS's and it is the article's own example.
        attached_by: dict[str, list[str]] = defaultdict(list)
        for kind, arn, _, attached in principals:
            for ap in attached:
                attached_by[ap.arn].append(arn)
                if f.aws_managed_arn(ap.arn) and ap.arn.endswith(f":policy/{ADMIN_POLICY}"):
                    name = arn.rsplit("/", 1)[-1]
                    extra = (f" ({members[name]} member(s))" if kind == "group" else "")
                    self.add("admin-policy-attached", arn,
                             f"{ADMIN_POLICY} is attached to {kind} {name}{extra}: every action on every "
                             "resource; grant what the work needs")

        # Documents to lint: customer managed policies, the AWS managed ones something attaches
        # (AdministratorAccess aside: reported above), and every inline policy.
        # A policy used only as a permissions boundary is a ceiling, not a grant: lint it as one
        # (GG301/GG303 do not apply to boundaries, where Allow * with a few Denies is the pattern).
        boundaries = ({u.boundary_arn for u in auth.users if u.boundary_arn}
                      | {r.boundary_arn for r in auth.roles if r.boundary_arn})
        items: list[tuple[str, lint.Kind, Any]] = []
        where: dict[str, tuple[str, str, bool, Any]] = {}  # path -> (resource, label, attached, document)
        for mp in auth.policies:
            if mp.aws_managed and (not attached_by.get(mp.arn) or mp.arn.endswith(f":policy/{ADMIN_POLICY}")):
                continue
            grants = bool(attached_by.get(mp.arn)) or mp.attachment_count > 0
            doc_kind: lint.Kind = "boundary" if mp.arn in boundaries and not grants else "identity"
            items.append((mp.arn, doc_kind, mp.document))
            owner = "AWS managed" if mp.aws_managed else "managed"
            where[mp.arn] = (mp.arn, f"{owner} policy {mp.name}", grants, mp.document)
        for kind, arn, inline, _ in principals:
            for ip in inline:
                path = f"{arn}#inline/{ip.name}"
                items.append((path, "identity", ip.document))
                where[path] = (arn, f"inline policy {ip.name} of {kind} {arn.rsplit('/', 1)[-1]}", True,
                               ip.document)
        for path, hits in _lint_unique(items, _IDENTITY_RULES).items():
            resource, label, granted, document = where[path]
            for hit in hits:
                statement = _statement(document, hit.pointer)
                everywhere = "*" in _resources(statement)
                severity: Severity = "high" if everywhere else "medium"
                if not granted:
                    severity = "low"
                scope = "on every resource" if everywhere else "on " + ", ".join(_resources(statement)[:3])
                note = "" if granted else " (attached to nothing yet)"
                self.add(_IDENTITY_RULES[hit.rule], resource,
                         f"{label}{note}: {hit.message} {scope} [{hit.rule}]", severity)

        # Trust policies.
        trust_items: list[tuple[str, lint.Kind, Any]] = [(r.arn, "trust", r.trust) for r in auth.roles
                                                         if not r.service_linked]
        trusts = dict((r.arn, r.trust) for r in auth.roles)
        for arn, hits in _lint_unique(trust_items, _TRUST_RULES).items():
            for hit in hits:
                severity = BY_ID[_TRUST_RULES[hit.rule]].severity
                if hit.rule == "GG402":
                    value = str(_resolve(trusts[arn], hit.pointer) or "")
                    own = self.snap.account_id in value
                    severity = "medium" if own else "high"
                self.add(_TRUST_RULES[hit.rule], arn,
                         f"role {arn.rsplit('/', 1)[-1]}: {hit.message} [{hit.rule}]", severity)

        # Permission boundaries (mistake 4).
        enforced = self.snap.account_id in self.options.enforced_boundary_accounts
        for r in auth.roles:
            if r.service_linked or r.boundary_arn:
                continue
            if enforced:
                self.add("role-without-boundary", r.arn,
                         f"role {r.name} has no permissions boundary, and this account enforces one",
                         "high")
            else:
                self.add("role-without-boundary", r.arn,
                         f"role {r.name} has no permissions boundary (information: this account is not "
                         "configured to enforce one)")

        if self.snap.oidc_providers is not None:
            trusted = json.dumps([r.trust for r in auth.roles], default=str)
            for provider in self.snap.oidc_providers:
                if provider not in trusted:
                    host = provider.split("oidc-provider/", 1)[-1]
                    self.add("oidc-provider-unused", provider,
                             f"OIDC provider {host} is trusted by no role; delete it if nothing will use it")

    # -- CloudTrail and CloudWatch -------------------------------------------------------------------

    def monitoring(self) -> None:
        snap = self.snap
        if not self.runnable("cloudtrail-not-logging-all-regions"):
            self.runnable("root-usage-alarm-missing")
            self.runnable("root-usage-alarm-without-actions")
            return
        assert snap.trails is not None
        multi = [t for t in snap.trails if t.multi_region]
        logging = [t for t in multi if t.is_logging]
        if not logging:
            if any(t.is_logging is None for t in multi):
                self.not_known("cloudtrail-not-logging-all-regions", f.STEP_TRAIL_STATUS,
                               "the status of a multi-region trail could not be read")
            else:
                stopped = f" ({', '.join(t.name for t in multi)} exists but is not logging)" if multi else ""
                self.add("cloudtrail-not-logging-all-regions", snap.account_id,
                         f"no multi-region CloudTrail trail is logging{stopped}: API activity in some or all "
                         "regions is not recorded")
        alarm_checks = ("root-usage-alarm-missing", "root-usage-alarm-without-actions")
        if not all([self.runnable(c) for c in alarm_checks]):
            return
        assert snap.metric_filters is not None and snap.alarms is not None
        groups = {g for t in logging if t.log_group_arn and (g := f.log_group_of(t.log_group_arn))}
        if not groups:
            self.add("root-usage-alarm-missing", snap.account_id,
                     "no logging multi-region trail delivers to CloudWatch Logs, so nothing can alarm on "
                     "root usage")
            return
        mine = {(g.region, g.name) for g in groups if g.account == snap.account_id}
        if not mine:
            elsewhere = ", ".join(sorted({g.account for g in groups}))
            for check in alarm_checks:
                self.not_known(check, f.STEP_METRIC_FILTERS,
                               f"the trail delivers to a log group in account {elsewhere}; "
                               "audit that account")
            return
        metrics: set[tuple[str, str, str]] = set()
        unreadable = []
        for mf in snap.metric_filters:
            if (mf.region, mf.log_group) not in mine:
                continue
            verdict = matches_root_usage(mf.pattern)
            if verdict is None:
                unreadable.append(mf.name)
            elif verdict:
                metrics |= {(mf.region, ns, name) for ns, name in mf.metrics}
        alarms = [a for a in snap.alarms if (a.region, a.namespace, a.metric) in metrics]
        if not alarms:
            why = ("no metric filter on the trail's log group matches a root-usage record"
                   if not metrics else "the root-usage metric has no alarm")
            more = (f"; guardgen could not evaluate filter(s) {', '.join(unreadable)}" if unreadable else "")
            self.add("root-usage-alarm-missing", snap.account_id,
                     f"{why}{more}: root sign-ins and API calls go unnoticed")
        elif not any(a.actions and a.actions_enabled for a in alarms):
            self.add("root-usage-alarm-without-actions", snap.account_id,
                     f"alarm {alarms[0].name} watches root usage but has no enabled action (no one is told)")


def analyze(snapshot: f.AccountSnapshot, *, now: datetime,
            options: AuditOptions | None = None) -> AccountAudit:
    """Run every check over one account's snapshot.

    Args:
        snapshot: What fetch read (or recorded data shaped the same way).
        now: The time to measure ages against (timezone-aware).
        options: Thresholds and the accounts that enforce boundaries; defaults to
            :class:`AuditOptions` ().

    Returns:
        The findings, most severe first, then by check id and resource; and the unknown checks.
    """
    audit = _Audit(snapshot, now, options or AuditOptions())
    audit.root()
    audit.users()
    audit.policies()
    audit.monitoring()
    findings = sorted(set(audit.findings), key=lambda x: (-RANK[x.severity], x.id, x.resource, x.message))
    unknown = sorted(set(audit.unknown), key=lambda u: (u.check, u.step))
    return AccountAudit(snapshot.account_id, tuple(findings), tuple(unknown))


def worst(findings: Iterable[Finding]) -> Severity | None:
    """The most severe severity among ``findings``, or None when there are none."""
    ranked = [RANK[x.severity] for x in findings]
    return SEVERITIES[max(ranked)] if ranked else None


def at_or_above(findings: Iterable[Finding], severity: Severity) -> Iterator[Finding]:
    """The findings at or above ``severity`` (for ``--fail-on``)."""
    return (x for x in findings if RANK[x.severity] >= RANK[severity])
