"""``guardgen audit --org``: audit every active account of an organization, concurrently.

From the management (or delegated administrator) account: list the accounts, then in a bounded
thread pool assume ``role_name`` in each and run the single-account audit with those credentials.
The work is I/O-bound, so threads overlap the waits. boto3 sessions are not thread-safe: each task
builds its own :class:`~guardgen.aws.session.AwsSession` (and so its own boto3 session and
clients), all carrying the read-only hook. A failure in one account (the role is missing, AWS
refuses, the account is unreachable) is recorded for that account and the others go on.
"""

from __future__ import annotations

import time
from collections.abc import Callable, Collection
from concurrent.futures import ThreadPoolExecutor, as_completed
from dataclasses import dataclass
from datetime import datetime

from ..errors import GuardgenError
from .audit_run import AuditResult, run_audit
from .session import AwsSession, Credentials, SessionOptions, call, paginate

DEFAULT_ROLE = "OrganizationAccountAccessRole"
DEFAULT_WORKERS = 8
_SESSION_NAME = "guardgen-audit"


@dataclass(frozen=True)
class MemberAccount:
    """An account of the organization, as ``organizations:ListAccounts`` lists it."""

    id: str
    name: str
    email: str
    state: str  # ACTIVE, SUSPENDED, PENDING_CLOSURE...


@dataclass(frozen=True)
class AccountOutcome:
    """One account's audit, or why it could not be audited."""

    account: MemberAccount
    result: AuditResult | None
    error: str | None
    assumed_role: str | None  # None for the account the caller is signed in to
    calls: int  # API operations made for this account (sts:AssumeRole included)


@dataclass(frozen=True)
class OrgAuditResult:
    """Every account's outcome, in the order the organization lists them, and what it cost."""

    caller_account: str
    outcomes: tuple[AccountOutcome, ...]
    skipped: tuple[MemberAccount, ...]  # not ACTIVE
    calls: int  # all API operations, the management session's included
    seconds: float


def list_accounts(session: AwsSession) -> tuple[MemberAccount, ...]:
    """Every account of the organization the session's account belongs to (paginated)."""
    out = []
    for page in paginate("organizations", "ListAccounts", session.organizations(), "list_accounts"):
        for a in page.get("Accounts", ()):
            # "State" replaced the deprecated "Status" in 2025; read whichever AWS sent.
            state = str(a.get("State") or a.get("Status") or "")
            out.append(MemberAccount(str(a["Id"]), str(a.get("Name", "")), str(a.get("Email", "")), state))
    return tuple(out)


def _assume(session: AwsSession, role_arn: str) -> SessionOptions:
    """Options for a session signed in as ``role_arn``, assumed through ``session``."""
    answer = call("sts", "AssumeRole", session.sts().assume_role, RoleArn=role_arn,
                  RoleSessionName=_SESSION_NAME)
    c = answer["Credentials"]
    o = session.options
    return SessionOptions(profile=None, region=o.region, endpoint_url=o.endpoint_url,
                          credentials=Credentials(c["AccessKeyId"], c["SecretAccessKey"], c["SessionToken"]))


def _calls(*sessions: AwsSession) -> int:
    return sum(s.calls for s in {id(s): s for s in sessions}.values())


def run_org_audit(session_options: SessionOptions, *, role_name: str = DEFAULT_ROLE,
                  max_workers: int = DEFAULT_WORKERS, max_key_age: int = 90, now: datetime,
                  enforced_boundary: Collection[str] = (),
                  on_done: Callable[[AccountOutcome], None] | None = None,
                  sleep: Callable[[float], None] = time.sleep) -> OrgAuditResult:
    """Audit every ACTIVE account of the organization.

    Args:
        session_options: How to sign in to the management (or delegated administrator) account.
        role_name: The role to assume in each member account.
        max_workers: Accounts audited at once.
        max_key_age: Days after which an active access key is reported as too old.
        now: The time ages are measured against.
        enforced_boundary: Ids of the accounts where every role must carry a permissions boundary.
        on_done: Called (from the calling thread) as each account finishes, for progress display.
        sleep: How to wait while AWS builds a credential report.

    Returns:
        One outcome per active account, failures included.

    Raises:
        CredentialsError / EndpointError / AwsApiError: the organization itself cannot be read
            (a failure in one member account never raises).
    """
    start = time.perf_counter()
    management = AwsSession(session_options)
    identity = call("sts", "GetCallerIdentity", management.sts().get_caller_identity)
    caller = str(identity["Account"])
    partition = str(identity["Arn"]).split(":")[1]
    accounts = list_accounts(management)
    active = [a for a in accounts if a.state == "ACTIVE"]

    def audit_one(account: MemberAccount) -> AccountOutcome:
        role = None if account.id == caller else f"arn:{partition}:iam::{account.id}:role/{role_name}"
        # Sessions of this thread's own: boto3 sessions must not be shared between threads.
        signing_in = AwsSession(session_options)
        audited = signing_in
        try:
            if role is not None:
                audited = AwsSession(_assume(signing_in, role))
            result = run_audit(audited, max_key_age=max_key_age, now=now, enforced_boundary=enforced_boundary,
                               sleep=sleep)
        except GuardgenError as exc:
            return AccountOutcome(account, None, str(exc), role, _calls(signing_in, audited))
        return AccountOutcome(account, result, None, role, _calls(signing_in, audited))

    done: dict[str, AccountOutcome] = {}
    with ThreadPoolExecutor(max_workers=max(1, max_workers), thread_name_prefix="guardgen-audit") as pool:
        futures = [pool.submit(audit_one, a) for a in active]
        for future in as_completed(futures):
            outcome = future.result()
            done[outcome.account.id] = outcome
            if on_done is not None:
                on_done(outcome)
    outcomes = tuple(done[a.id] for a in active)
    calls = management.calls + sum(o.calls for o in outcomes)
    return OrgAuditResult(caller, outcomes, tuple(a for a in accounts if a.state != "ACTIVE"), calls,
                          time.perf_counter() - start)
