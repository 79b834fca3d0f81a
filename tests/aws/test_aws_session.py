"""The session: read-only hook, call counting, one client per service and region, typed errors."""

from __future__ import annotations

import subprocess
import sys
from datetime import datetime, timezone
from pathlib import Path
from typing import Any

import pytest

from guardgen.aws.audit_run import run_audit
from guardgen.aws.errors import AwsApiError, CredentialsError, EndpointError, ReadOnlyViolation
from guardgen.aws.session import AwsSession, SessionOptions, is_read_only
from guardgen.errors import GuardgenError
from motoharness import MotoServer, client, free_port

NOW = datetime.now(timezone.utc)


@pytest.mark.parametrize("service, operation, allowed", [
    ("iam", "ListUsers", True), ("iam", "GetAccountAuthorizationDetails", True),
    ("iam", "GenerateCredentialReport", True), ("cloudtrail", "DescribeTrails", True),
    ("sts", "GetCallerIdentity", True), ("sts", "AssumeRole", True),
    ("iam", "CreateUser", False), ("iam", "DeleteUser", False), ("iam", "PutUserPolicy", False),
    ("iam", "UpdateAccessKey", False), ("cloudtrail", "StopLogging", False),
    ("cloudtrail", "DeleteTrail", False),
    ("sts", "AssumeRoleWithWebIdentity", False), ("iam", "TagRole", False),
    ("iam", "AttachRolePolicy", False), ("organizations", "LeaveOrganization", False),
])
def test_read_only_rule(service: str, operation: str, allowed: bool) -> None:
    assert is_read_only(service, operation) is allowed


def test_hook_refuses_a_write_before_it_is_sent(moto: MotoServer) -> None:
    session = AwsSession(SessionOptions(endpoint_url=moto.endpoint))
    iam = session.iam()
    iam.list_users()
    sent = moto.requests()
    with pytest.raises(ReadOnlyViolation) as refused:
        iam.create_user(UserName="intruder")
    assert isinstance(refused.value, GuardgenError)
    assert (refused.value.service, refused.value.operation) == ("iam", "CreateUser")
    assert moto.requests() == sent  # nothing reached the server
    names = [u["UserName"] for u in client(moto.endpoint, "iam").list_users()["Users"]]
    assert "intruder" not in names
    assert session.calls == 1 and session.operations() == {"iam:ListUsers": 1}


def test_hook_is_on_every_client(moto: MotoServer) -> None:
    session = AwsSession(SessionOptions(endpoint_url=moto.endpoint))
    with pytest.raises(ReadOnlyViolation):
        session.cloudtrail("eu-west-1").stop_logging(Name="org-trail")
    with pytest.raises(ReadOnlyViolation):
        session.client("s3").create_bucket(Bucket="intruder-bucket")
    assert client(moto.endpoint, "s3").list_buckets()["Buckets"] == []


def test_one_client_per_service_and_region(moto: MotoServer) -> None:
    session = AwsSession(SessionOptions(endpoint_url=moto.endpoint, region="us-east-1"))
    assert session.iam() is session.client("iam") is session.client("iam", "us-east-1")
    assert session.cloudtrail("eu-west-1") is session.cloudtrail("eu-west-1")
    assert session.cloudtrail("eu-west-1") is not session.cloudtrail("us-east-1")
    assert session.cloudtrail("eu-west-1").meta.region_name == "eu-west-1"
    config: Any = session.iam().meta.config  # botocore's Config sets its options as attributes
    assert config.retries["mode"] == "standard"


def test_counts_calls_across_clients(moto: MotoServer) -> None:
    session = AwsSession(SessionOptions(endpoint_url=moto.endpoint))
    session.sts().get_caller_identity()
    session.iam().get_account_summary()
    session.iam().get_account_summary()
    assert session.operations() == {"iam:GetAccountSummary": 2, "sts:GetCallerIdentity": 1}
    assert session.calls == 3


def test_no_credentials_is_a_typed_error(aws_env: None, monkeypatch: pytest.MonkeyPatch) -> None:
    for key in ("AWS_ACCESS_KEY_ID", "AWS_SECRET_ACCESS_KEY", "AWS_SESSION_TOKEN", "AWS_SECURITY_TOKEN"):
        monkeypatch.delenv(key)
    with pytest.raises(CredentialsError, match="no usable AWS credentials"):
        run_audit(SessionOptions(endpoint_url="http://127.0.0.1:9"), now=NOW, sleep=lambda _: None)


def test_unknown_profile_is_a_typed_error(aws_env: None) -> None:
    with pytest.raises(CredentialsError):
        run_audit(SessionOptions(profile="does-not-exist"), now=NOW, sleep=lambda _: None)


def test_rejected_credentials_are_a_typed_error(moto: MotoServer) -> None:
    from guardgen.aws.session import Credentials

    moto.enforce_iam(True)
    with pytest.raises(CredentialsError, match="rejected"):
        unknown = Credentials("AKIAUNKNOWN0000000", "x")
        run_audit(SessionOptions(endpoint_url=moto.endpoint, credentials=unknown), now=NOW,
                  sleep=lambda _: None)


def test_unreachable_endpoint_is_a_typed_error(aws_env: None) -> None:
    with pytest.raises(EndpointError, match="cannot reach AWS"):
        closed = f"http://127.0.0.1:{free_port()}"
        run_audit(SessionOptions(endpoint_url=closed), now=NOW, sleep=lambda _: None)


def test_other_api_errors_are_typed(moto: MotoServer) -> None:
    from guardgen.aws.session import call

    session = AwsSession(SessionOptions(endpoint_url=moto.endpoint))
    with pytest.raises(AwsApiError) as error:
        call("iam", "GetRole", session.iam().get_role, RoleName="nope")
    assert error.value.code == "NoSuchEntity"


def test_credentials_never_print_their_secret() -> None:
    from guardgen.aws.session import Credentials

    shown = repr(SessionOptions(credentials=Credentials("AKIAEXAMPLE", "very-secret", "token")))
    assert "very-secret" not in shown and "token" not in shown


def test_importing_the_analysis_does_not_import_boto3() -> None:
    """guardgen --help must stay free of boto3: only calls into aws/session import it."""
    code = ("import sys; import guardgen.aws.audit, guardgen.aws.report, guardgen.aws.fetch, "
            "guardgen.aws.session, guardgen.aws.audit_run, guardgen.aws.org_audit; "
            "bad = sorted(m for m in sys.modules if m.split('.')[0] in ('boto3', 'botocore')); "
            "print(bad); sys.exit(1 if bad else 0)")
    done = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True,
                          cwd=Path(__file__).parent, check=False)
    assert done.returncode == 0, done.stdout + done.stderr
