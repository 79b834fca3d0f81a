"""`guardgen audit`: read one AWS account (or every account of the organization) and report the
IAM mistakes it can observe. Read-only: the AWS layer refuses any call that is not a read."""

from __future__ import annotations

import json
import sys
from datetime import datetime, timezone
from enum import Enum
from pathlib import Path
from typing import TYPE_CHECKING, Annotated

import typer

from .common import EXIT_OK, EXIT_STALE, fail, say

if TYPE_CHECKING:
    from ..aws.audit import AccountAudit
    from ..aws.org_audit import AccountOutcome
    from ..aws.session import AwsSession, SessionOptions
    from ..plan import Plan


class Format(str, Enum):
    """Output formats of `guardgen audit`."""

    TABLE = "table"
    JSON = "json"
    SARIF = "sarif"


class FailOn(str, Enum):
    """The lowest severity that makes `guardgen audit` exit 1."""

    CRITICAL = "critical"
    HIGH = "high"
    MEDIUM = "medium"
    LOW = "low"
    INFO = "info"


ProfileOpt = Annotated[str | None, typer.Option(
    "--profile", help="AWS profile (default: AWS_PROFILE or the default credentials).")]
RegionOpt = Annotated[str | None, typer.Option(
    "--region", help="AWS region (default: AWS_REGION, the profile's, else us-east-1).")]
EndpointOpt = Annotated[str | None, typer.Option(
    "--endpoint-url", help="Send every call to this endpoint (default: AWS_ENDPOINT_URL), e.g. "
    "a moto_server for tests.")]


def session_options(profile: str | None, region: str | None,
                    endpoint_url: str | None) -> SessionOptions:
    """The AWS layer's options from the common flags; unset flags defer to the environment."""
    from ..aws.session import SessionOptions

    return SessionOptions(profile=profile, region=region, endpoint_url=endpoint_url)


def _plan(config: Path | None) -> Plan | None:
    if config is None:
        return None
    from .. import pipeline, plan

    return plan.build(pipeline.load(config).config)


def _enforced_boundary_accounts(p: Plan | None) -> frozenset[str]:
    """Ids of the accounts where the config enforces a permissions boundary."""
    if p is None:
        return frozenset()
    return frozenset(a.id for a in p.accounts if any(b.enforced for b in a.boundaries))


def _with_guardrails(audits: list[AccountAudit], p: Plan | None,
                     session: AwsSession) -> list[AccountAudit]:
    """Each audit with the config's guardrails checked against the live organization."""
    if p is None:
        return audits
    from ..aws import in_force
    from ..aws.organization import fetch_organization
    from ..errors import GuardgenError

    try:
        org = fetch_organization(session)
    except GuardgenError as exc:
        reason = f"the organization cannot be read: {exc}"
        return [in_force.merged(a, unknown=[in_force.unavailable(reason)]) for a in audits]
    return [in_force.merged(a, in_force.findings(org, p, a.account)) for a in audits]


def _render(audits: list[AccountAudit], fmt: Format, failed: list[tuple[str, str]],
            org: str | None) -> str:
    from .. import __version__
    from ..aws import report

    if fmt is Format.SARIF:
        return report.format_sarif(audits, __version__)
    if fmt is Format.JSON:
        if org is None:
            return report.format_json(audits[0])
        return json.dumps({"organization": org, "accounts": [a.to_json() for a in audits],
                           "failed": [{"account": a, "error": e} for a, e in failed]},
                          indent=2) + "\n"
    return report.format_table(audits)


def audit(
    profile: ProfileOpt = None,
    region: RegionOpt = None,
    endpoint_url: EndpointOpt = None,
    output_format: Annotated[Format, typer.Option(
        "--format", "-f", help="table for people, json for tools, sarif for code scanning.")
    ] = Format.TABLE,
    fail_on: Annotated[FailOn, typer.Option(
        "--fail-on", help="Exit 1 when a finding has this severity or a higher one.")] = FailOn.HIGH,
    max_key_age: Annotated[int, typer.Option(
        "--max-key-age", min=1, help="Days after which an active access key is too old.")] = 90,
    config: Annotated[Path | None, typer.Option(
        "--config", "-c", dir_okay=False, help="guardgen.yaml: roles without a permissions "
        "boundary are findings in the accounts where it enforces one (else information), and "
        "the SCPs in force on each account are compared with the guardrails it asks for.")] = None,
    org: Annotated[bool, typer.Option(
        "--org", help="Audit every active account of the organization, assuming --role in "
        "each, a few at a time.")] = False,
    role: Annotated[str, typer.Option(
        "--role", help="With --org: the role to assume in each member account.")
    ] = "OrganizationAccountAccessRole",
    workers: Annotated[int, typer.Option(
        "--workers", min=1, max=64, help="With --org: accounts audited at once.")] = 8,
    quiet: Annotated[bool, typer.Option("--quiet", "-q", help="No progress or summary.")] = False,
) -> None:
    """Audit live AWS for the IAM mistakes guardgen's guardrails prevent.

    Root MFA, root access keys and recent root use; users with a console password but no MFA,
    old, unused or doubled access keys, console users that also hold keys; AdministratorAccess
    and policies that allow * on * or NotAction; trust policies open to anyone, to a whole
    account without an external id, or to an OIDC provider without aud and a specific sub;
    roles without a permissions boundary; a multi-region trail that is logging, and a root-usage
    metric filter with an alarm on its log group (the filter is proved on a root event). With
    --config and an organization the caller can read: the guardrails the config puts in force on
    the account that the live SCPs do not (missing, detached or changed, or the account is not
    in the OU the config places it in).

    Read-only, enforced in code: only Get*, List*, Describe* and Generate* (credential report)
    calls, plus sts:GetCallerIdentity and, with --org, sts:AssumeRole. Bulk APIs keep the
    number of calls the same for ten users or ten thousand. A check whose call is denied is
    reported as unknown and the audit goes on.

    Exit 0 when no finding reaches --fail-on, 1 when one does (or, with --org, when an account
    could not be audited), 2 on usage, credential or connection errors.
    """
    from ..aws import audit as analysis
    from ..aws.audit_run import run_audit
    from ..aws.org_audit import run_org_audit
    from ..aws.session import AwsSession
    from ..errors import GuardgenError

    now = datetime.now(timezone.utc)
    options = session_options(profile, region, endpoint_url)
    failed: list[tuple[str, str]] = []
    org_id: str | None = None
    try:
        p = _plan(config)
        enforced = _enforced_boundary_accounts(p)
        session = AwsSession(options)
        if not org:
            result = run_audit(session, max_key_age=max_key_age, now=now, enforced_boundary=enforced)
            audits = _with_guardrails([result.audit], p, session)
            summary = f"audit: {result.calls} API calls, {result.fetch_seconds:.1f} s reading AWS."
        else:
            show = not quiet and sys.stderr.isatty()
            finished: list[str] = []

            def done(outcome: AccountOutcome) -> None:
                # A one-line counter on a terminal; logs in CI get only the summary.
                finished.append(outcome.account.id)
                if show:
                    sys.stderr.write(f"\rauditing accounts: {len(finished)} done, last "
                                     f"{outcome.account.id}")
                    sys.stderr.flush()

            res = run_org_audit(options, role_name=role, max_workers=workers,
                                max_key_age=max_key_age, now=now, enforced_boundary=enforced,
                                on_done=done)
            if show:
                sys.stderr.write("\n")
            org_id = res.caller_account
            audits = _with_guardrails([o.result.audit for o in res.outcomes if o.result is not None],
                                      p, session)
            failed = [(o.account.id, o.error or "unknown error") for o in res.outcomes
                      if o.result is None]
            lines = [f"  {o.account.id} {o.account.name}: "
                     + (f"{len(o.result.audit.findings)} findings, "
                        f"worst {analysis.worst(o.result.audit.findings) or 'none'}"
                        if o.result else f"not audited: {o.error}") for o in res.outcomes]
            summary = "\n".join([f"audit: {len(audits)} of {len(res.outcomes)} accounts audited "
                                 f"({len(res.skipped)} not active, skipped), {res.calls} API "
                                 f"calls, {res.seconds:.1f} s.", *lines])
    except GuardgenError as exc:
        fail(exc)
    sys.stdout.write(_render(audits, output_format, failed, org_id))
    say(quiet, summary)
    blocking = [x for a in audits for x in analysis.at_or_above(a.findings, fail_on.value)]
    raise typer.Exit(EXIT_STALE if blocking or failed else EXIT_OK)


def register(app: typer.Typer) -> None:
    """Add the command to the main app."""
    app.command()(audit)
