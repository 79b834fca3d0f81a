"""Recorded responses of account 111122223333 (``data/``) turned into a snapshot by fetch's parsers."""

from __future__ import annotations

import json
from dataclasses import replace
from datetime import datetime, timezone
from pathlib import Path
from typing import Any

from guardgen.aws import fetch as f

DATA = Path(__file__).resolve().parent / "data"
ACCOUNT = "111122223333"
NOW = datetime(2025, 6, 1, tzinfo=timezone.utc)


def responses() -> dict[str, Any]:
    """The recorded answers, by operation name."""
    loaded: dict[str, Any] = json.loads((DATA / f"account-{ACCOUNT}.json").read_text(encoding="utf-8"))
    return loaded


def snapshot(**changes: Any) -> f.AccountSnapshot:
    """The account as fetch would have read it; keyword arguments replace fields."""
    r = responses()
    logging = {trail: status["IsLogging"] for trail, status in r["GetTrailStatus"].items()}
    trails = f.parse_trails(r["DescribeTrails"], logging)
    snap = f.AccountSnapshot(
        account_id=r["GetCallerIdentity"]["Account"], caller_arn=r["GetCallerIdentity"]["Arn"],
        partition="aws", region="us-east-1",
        credential_report=f.parse_credential_report((DATA / "credential-report.csv").read_bytes()),
        authorization=f.parse_authorization_details(r["GetAccountAuthorizationDetails"]),
        summary=r["GetAccountSummary"]["SummaryMap"],
        virtual_mfa=f.parse_virtual_mfa(r["ListVirtualMFADevices"]),
        oidc_providers=tuple(p["Arn"] for p in r["ListOpenIDConnectProviders"]["OpenIDConnectProviderList"]),
        trails=trails,
        metric_filters=f.parse_metric_filters(r["DescribeMetricFilters"], "us-east-1"),
        alarms=f.parse_alarms(r["DescribeAlarms"], "us-east-1"),
    )
    return replace(snap, **changes)


def refused(snap: f.AccountSnapshot, *steps: str) -> f.AccountSnapshot:
    """The snapshot as fetch leaves it when AWS refused ``steps``: their data None, listed unavailable."""
    fields = {f.STEP_CREDENTIAL_REPORT: "credential_report", f.STEP_AUTHORIZATION: "authorization",
              f.STEP_SUMMARY: "summary", f.STEP_VIRTUAL_MFA: "virtual_mfa", f.STEP_OIDC: "oidc_providers",
              f.STEP_TRAILS: "trails", f.STEP_METRIC_FILTERS: "metric_filters", f.STEP_ALARMS: "alarms"}
    changes: dict[str, Any] = {fields[s]: None for s in steps if s in fields}
    unavailable = tuple(f.Unavailable(s, "svc:Operation", "AccessDenied: not authorized") for s in steps)
    return replace(snap, unavailable=snap.unavailable + unavailable, **changes)


def arn(kind: str, name: str) -> str:
    """An IAM ARN in the recorded account."""
    return f"arn:aws:iam::{ACCOUNT}:{kind}/{name}"
