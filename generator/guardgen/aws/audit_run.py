"""The entry the CLI calls for ``guardgen audit``: fetch one account, then analyze it."""

from __future__ import annotations

import time
from collections.abc import Callable, Collection
from dataclasses import dataclass
from datetime import datetime

from .audit import AccountAudit, AuditOptions, analyze
from .fetch import AccountSnapshot, fetch_account
from .session import AwsSession, SessionOptions


@dataclass(frozen=True)
class AuditResult:
    """One account's audit, with what it cost.

    Attributes:
        audit: Findings and unknown checks (``audit.to_json()`` is the JSON report).
        snapshot: The data the findings were drawn from.
        calls: API operations made (retries not counted), from the session's read-only hook.
        operations: The same by ``service:Operation``.
        fetch_seconds: Wall time spent reading AWS.
        analyze_seconds: Wall time spent in the checks.
    """

    audit: AccountAudit
    snapshot: AccountSnapshot
    calls: int
    operations: dict[str, int]
    fetch_seconds: float
    analyze_seconds: float


def run_audit(session_options: SessionOptions | AwsSession, *, max_key_age: int = 90, now: datetime,
              enforced_boundary: Collection[str] = (),
              sleep: Callable[[float], None] = time.sleep) -> AuditResult:
    """Audit the account the session signs in to.

    Args:
        session_options: Profile, region, endpoint and credentials; or a ready session (``--org``
            passes one per assumed account).
        max_key_age: Days after which an active access key is reported as too old.
        now: The time ages are measured against (timezone-aware).
        enforced_boundary: Ids of the accounts where every role must carry a permissions
            boundary (from the config); elsewhere a missing boundary is only information.
        sleep: How to wait while AWS builds the credential report.

    Returns:
        The audit, the snapshot behind it, and the calls it made.

    Raises:
        guardgen.aws.errors.CredentialsError: No credentials, or AWS rejects them.
        guardgen.aws.errors.EndpointError: AWS cannot be reached.
        guardgen.aws.errors.AwsApiError: An error other than AccessDenied (those become unknowns).
    """
    session = session_options if isinstance(session_options, AwsSession) else AwsSession(session_options)
    start = time.perf_counter()
    snapshot = fetch_account(session, sleep=sleep)
    fetched = time.perf_counter()
    options = AuditOptions(max_key_age_days=max_key_age,
                           enforced_boundary_accounts=frozenset(enforced_boundary))
    audit = analyze(snapshot, now=now, options=options)
    done = time.perf_counter()
    return AuditResult(audit, snapshot, session.calls, session.operations(), fetched - start, done - fetched)
