"""A real ``moto_server`` subprocess, and the account shapes the audit tests and benchmark seed into it.

Seeding uses plain boto3 clients (not guardgen's guarded ones: they refuse writes by design).
Everything planted is declared in a :class:`Planted` table of (check id, resource ARN), so tests
compare the audit with what was seeded rather than with numbers written by hand.
"""

from __future__ import annotations

import json
import os
import re
import shutil
import socket
import subprocess
import sys
import time
import urllib.error
import urllib.request
from collections.abc import Iterator
from concurrent.futures import ThreadPoolExecutor
from contextlib import contextmanager
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

ACCOUNT = "123456789012"  # moto's default account
FOREIGN = "210987654321"  # the "other party" of the cross-account roles
GITHUB = "token.actions.githubusercontent.com"
ADMIN_ARN = "arn:aws:iam::aws:policy/AdministratorAccess"
CIS_ROOT_FILTER = ('{ $.userIdentity.type = "Root" && $.userIdentity.invokedBy NOT EXISTS '
                   '&& $.eventType != "AwsServiceEvent" }')
# werkzeug's access log: ... "POST / HTTP/1.1" 200 - (colour codes around the request on errors)
_REQUEST_LINE = re.compile(r'"(?:\x1b\[[0-9;]*m)*(GET|POST|PUT|DELETE|HEAD|PATCH) (\S+) HTTP/')
FAKE_ENV = {"AWS_ACCESS_KEY_ID": "testing", "AWS_SECRET_ACCESS_KEY": "testing",
            "AWS_SECURITY_TOKEN": "testing", "AWS_SESSION_TOKEN": "testing",
            "AWS_DEFAULT_REGION": "us-east-1"}
# Variables that would point boto3 somewhere else than the test server or at real credentials.
FOREIGN_ENV = ("AWS_PROFILE", "AWS_DEFAULT_PROFILE", "AWS_ENDPOINT_URL", "AWS_REGION",
               "AWS_ROLE_ARN", "AWS_WEB_IDENTITY_TOKEN_FILE", "AWS_CONTAINER_CREDENTIALS_FULL_URI",
               "AWS_CONTAINER_CREDENTIALS_RELATIVE_URI")


def moto_server_path() -> str | None:
    """The ``moto_server`` executable beside this interpreter, or on PATH; None when not installed."""
    beside = Path(sys.executable).with_name("moto_server")
    return str(beside) if beside.exists() else shutil.which("moto_server")


def free_port() -> int:
    """A TCP port free on 127.0.0.1 right now."""
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        port: int = s.getsockname()[1]
        return port


class MotoServer:
    """One ``moto_server -H 127.0.0.1 -p PORT`` subprocess, its log, reset and auth switches."""

    def __init__(self, executable: str, log: Path) -> None:
        self.port = free_port()
        self.endpoint = f"http://127.0.0.1:{self.port}"
        self.log_path = log
        self._log = log.open("wb")
        env = dict(os.environ, MOTO_IAM_LOAD_MANAGED_POLICIES="true")
        self.process = subprocess.Popen([executable, "-H", "127.0.0.1", "-p", str(self.port)],
                                        stdout=self._log, stderr=subprocess.STDOUT, env=env)
        deadline = time.monotonic() + 60
        while True:
            if self.process.poll() is not None:
                raise RuntimeError(f"moto_server exited with {self.process.returncode}: "
                                   f"{log.read_text(errors='replace')[-2000:]}")
            try:
                with urllib.request.urlopen(f"{self.endpoint}/moto-api/", timeout=2):
                    break
            except (urllib.error.URLError, ConnectionError, TimeoutError):
                if time.monotonic() > deadline:
                    self.stop()
                    raise RuntimeError("moto_server did not answer within 60 s") from None
                time.sleep(0.1)

    def post(self, path: str, body: bytes = b"") -> bytes:
        """POST to moto's own API (``/moto-api/...``)."""
        # Not form-encoded (urllib's default): Flask would parse the body away from request.data.
        request = urllib.request.Request(f"{self.endpoint}{path}", data=body, method="POST",
                                         headers={"Content-Type": "application/octet-stream"})
        # Resetting an organization of many accounts takes moto tens of seconds.
        with urllib.request.urlopen(request, timeout=120) as answer:
            data: bytes = answer.read()
            return data

    def reset(self) -> None:
        """Forget every resource, and turn IAM enforcement off again."""
        self.post("/moto-api/reset")
        self.enforce_iam(False)

    def enforce_iam(self, on: bool) -> None:
        """Make moto check each request against the caller's IAM policies (it does not by default)."""
        self.post("/moto-api/reset-auth", b"0" if on else b"inf")

    def requests(self) -> int:
        """AWS requests the server has logged so far (moto-api calls excluded).

        Werkzeug logs a request after answering it, so wait until the count stops moving.
        """
        def count() -> int:
            self._log.flush()
            text = self.log_path.read_text(errors="replace")
            return sum(1 for m in _REQUEST_LINE.finditer(text) if not m.group(2).startswith("/moto-api/"))

        last, now = -1, count()
        while now != last:
            time.sleep(0.05)
            last, now = now, count()
        return now

    def stop(self) -> None:
        """Stop the server (terminate, then kill)."""
        if self.process.poll() is None:
            self.process.terminate()
            try:
                self.process.wait(10)
            except subprocess.TimeoutExpired:
                self.process.kill()
                self.process.wait()
        self._log.close()


@contextmanager
def fake_credentials() -> Iterator[None]:
    """Process-wide fake credentials for scripts (tests use monkeypatch instead)."""
    saved = {k: os.environ.get(k) for k in (*FAKE_ENV, *FOREIGN_ENV)}
    os.environ.update(FAKE_ENV)
    for k in FOREIGN_ENV:
        os.environ.pop(k, None)
    try:
        yield
    finally:
        for k, v in saved.items():
            if v is None:
                os.environ.pop(k, None)
            else:
                os.environ[k] = v


def client(endpoint: str, service: str, region: str = "us-east-1", **credentials: str) -> Any:
    """A plain (unguarded) boto3 client for seeding."""
    import boto3

    make: Any = boto3.client  # typed per service by boto3-stubs; seeding names services at run time
    return make(service, endpoint_url=endpoint, region_name=region, **credentials)


def _doc(*statements: dict[str, Any]) -> str:
    return json.dumps({"Version": "2012-10-17", "Statement": list(statements)})


def _trust(principal: dict[str, Any] | str, condition: dict[str, Any] | None = None,
           action: str = "sts:AssumeRole") -> str:
    statement: dict[str, Any] = {"Effect": "Allow", "Principal": principal, "Action": action}
    if condition:
        statement["Condition"] = condition
    return _doc(statement)


EC2_TRUST = _trust({"Service": "ec2.amazonaws.com"})
ALLOW_ALL = _doc({"Effect": "Allow", "Action": "*", "Resource": "*"})
NOT_ACTION = _doc({"Effect": "Allow", "NotAction": ["iam:*", "organizations:*"], "Resource": "*"})
# The article's least-privilege example and its boundary example.
LEAST_PRIVILEGE = _doc(
    {"Effect": "Allow", "Action": ["s3:GetObject", "s3:PutObject"],
     "Resource": "arn:aws:s3:::my-app-bucket/*"},
    {"Effect": "Allow", "Action": ["dynamodb:GetItem", "dynamodb:PutItem", "dynamodb:Query"],
     "Resource": "arn:aws:dynamodb:us-east-1:*:table/my-app-table"})
BOUNDARY = _doc(
    {"Effect": "Allow", "Action": ["s3:*", "dynamodb:*", "lambda:*", "logs:*"], "Resource": "*"},
    {"Sid": "DenyIAMChanges", "Effect": "Deny", "Action": ["iam:CreateUser", "iam:CreateRole",
     "iam:AttachRolePolicy", "iam:PutRolePolicy", "organizations:*"], "Resource": "*"})


@dataclass
class Planted:
    """What a seeding planted: the findings it must cause and the resources that must stay clean."""

    expected: set[tuple[str, str]] = field(default_factory=set)  # (check id, resource)
    clean: set[str] = field(default_factory=set)  # ARNs no finding may name
    users: list[str] = field(default_factory=list)  # every user seeded (the article's script lists them)
    users_with_keys: list[str] = field(default_factory=list)
    users_without_mfa: list[str] = field(default_factory=list)


def _arn(kind: str, name: str) -> str:
    return f"arn:aws:iam::{ACCOUNT}:{kind}/{name}"


def seed_mistakes(endpoint: str, planted: Planted) -> None:
    """Plant one principal per article mistake moto can represent (and the account-level ones)."""
    iam = client(endpoint, "iam")
    # Mistake 1: moto's root user never has MFA (nothing in its API enables it).
    planted.expected.add(("root-mfa-disabled", ACCOUNT))

    # Mistake 2: AdministratorAccess on a user (the article's own "fix" step), a group and a role;
    # a customer policy allowing * on *; an inline NotAction allow.
    iam.create_user(UserName="admin-user")
    iam.attach_user_policy(UserName="admin-user", PolicyArn=ADMIN_ARN)
    iam.create_group(GroupName="admins")
    iam.attach_group_policy(GroupName="admins", PolicyArn=ADMIN_ARN)
    iam.add_user_to_group(GroupName="admins", UserName="admin-user")
    iam.create_role(RoleName="admin-role", AssumeRolePolicyDocument=EC2_TRUST)
    iam.attach_role_policy(RoleName="admin-role", PolicyArn=ADMIN_ARN)
    wildcard = iam.create_policy(PolicyName="just-make-it-work", PolicyDocument=ALLOW_ALL)["Policy"]["Arn"]
    iam.create_user(UserName="wildcard-dev")
    iam.attach_user_policy(UserName="wildcard-dev", PolicyArn=wildcard)
    iam.create_role(RoleName="notaction-role", AssumeRolePolicyDocument=EC2_TRUST)
    iam.put_role_policy(RoleName="notaction-role", PolicyName="everything-but-iam", PolicyDocument=NOT_ACTION)
    iam.put_user_policy(UserName="wildcard-dev", PolicyName="inline-star", PolicyDocument=ALLOW_ALL)
    planted.expected |= {
        ("admin-policy-attached", _arn("user", "admin-user")),
        ("admin-policy-attached", _arn("group", "admins")),
        ("admin-policy-attached", _arn("role", "admin-role")),
        ("policy-allows-all-actions", wildcard),
        ("policy-allows-all-actions", _arn("user", "wildcard-dev")),
        ("policy-allow-not-action", _arn("role", "notaction-role")),
    }

    # Mistake 3: a console user without MFA holding two active keys.
    iam.create_user(UserName="developer")
    iam.create_login_profile(UserName="developer", Password="Passw0rd!-not-real")
    iam.create_access_key(UserName="developer")
    iam.create_access_key(UserName="developer")
    planted.expected |= {
        ("console-without-mfa", _arn("user", "developer")),
        ("access-key-active", _arn("user", "developer")),
        ("two-active-access-keys", _arn("user", "developer")),
        ("console-user-with-access-keys", _arn("user", "developer")),
    }
    # Users without a console password and without MFA: information only.
    planted.expected |= {("user-without-mfa", _arn("user", u)) for u in ("admin-user", "wildcard-dev")}
    planted.users_with_keys.append("developer")
    planted.users_without_mfa += ["admin-user", "wildcard-dev", "developer"]
    planted.users += ["admin-user", "wildcard-dev", "developer"]

    # Mistake 4: roles without a boundary (information unless the account enforces one).
    planted.expected |= {("role-without-boundary", _arn("role", r))
                         for r in ("admin-role", "notaction-role", "trusts-anyone", "trusts-account",
                                   "github-no-conditions", "github-any-repo")}

    # Mistake 5: broad trust.
    iam.create_open_id_connect_provider(Url=f"https://{GITHUB}", ClientIDList=["sts.amazonaws.com"],
                                        ThumbprintList=["6938fd4d98bab03faadb97b34396831e3780aea1"])
    provider = f"arn:aws:iam::{ACCOUNT}:oidc-provider/{GITHUB}"
    iam.create_role(RoleName="trusts-anyone", AssumeRolePolicyDocument=_trust({"AWS": "*"}))
    iam.create_role(RoleName="trusts-account",
                    AssumeRolePolicyDocument=_trust({"AWS": f"arn:aws:iam::{FOREIGN}:root"}))
    iam.create_role(RoleName="github-no-conditions", AssumeRolePolicyDocument=_trust(
        {"Federated": provider}, action="sts:AssumeRoleWithWebIdentity"))
    iam.create_role(RoleName="github-any-repo", AssumeRolePolicyDocument=_trust(
        {"Federated": provider}, {"StringEquals": {f"{GITHUB}:aud": "sts.amazonaws.com"},
                                  "StringLike": {f"{GITHUB}:sub": "repo:octo-org/*"}},
        action="sts:AssumeRoleWithWebIdentity"))
    planted.expected |= {
        ("role-trusts-anyone", _arn("role", "trusts-anyone")),
        ("role-trusts-account-root", _arn("role", "trusts-account")),
        ("oidc-trust-without-audience", _arn("role", "github-no-conditions")),
        ("oidc-trust-broad-subject", _arn("role", "github-no-conditions")),
        ("oidc-trust-broad-subject", _arn("role", "github-any-repo")),
    }
    # Mistake 7: no trail at all (seed_monitoring plants the good and near-miss variants).
    planted.expected.add(("cloudtrail-not-logging-all-regions", ACCOUNT))
    planted.expected.add(("root-usage-alarm-missing", ACCOUNT))


def seed_controls(endpoint: str, planted: Planted) -> None:
    """Plant the article's fixes: none of these may be flagged."""
    iam = client(endpoint, "iam")
    boundary = iam.create_policy(PolicyName="workload-boundary", PolicyDocument=BOUNDARY)["Policy"]["Arn"]
    scoped = iam.create_policy(PolicyName="least-privilege", PolicyDocument=LEAST_PRIVILEGE)["Policy"]["Arn"]
    provider = f"arn:aws:iam::{ACCOUNT}:oidc-provider/{GITHUB}"
    roles = {
        "cross-account-deploy": _trust({"AWS": f"arn:aws:iam::{FOREIGN}:role/specific-deploy-role"},
                                       {"StringEquals": {"sts:ExternalId": "unique-external-id-12345"}}),
        "partner-with-external-id": _trust({"AWS": f"arn:aws:iam::{FOREIGN}:root"},
                                           {"StringEquals": {"sts:ExternalId": "unique-external-id-12345"}}),
        "github-deploy": _trust({"Federated": provider}, {"StringEquals": {
            f"{GITHUB}:aud": "sts.amazonaws.com",
            f"{GITHUB}:sub": "repo:octo-org/octo-repo:ref:refs/heads/main"}},
            action="sts:AssumeRoleWithWebIdentity"),
        "bounded-app": EC2_TRUST,
    }
    for name, trust in roles.items():
        iam.create_role(RoleName=name, AssumeRolePolicyDocument=trust, PermissionsBoundary=boundary)
        iam.attach_role_policy(RoleName=name, PolicyArn=scoped)
        planted.clean.add(_arn("role", name))
    planted.clean |= {boundary, scoped}
    # A console user with MFA and no keys.
    iam.create_user(UserName="mfa-user")
    iam.create_login_profile(UserName="mfa-user", Password="Passw0rd!-not-real")
    device = iam.create_virtual_mfa_device(VirtualMFADeviceName="mfa-user")["VirtualMFADevice"]
    serial = device["SerialNumber"]
    iam.enable_mfa_device(UserName="mfa-user", SerialNumber=serial, AuthenticationCode1="123456",
                          AuthenticationCode2="654321")
    planted.clean.add(_arn("user", "mfa-user"))
    planted.users.append("mfa-user")


def seed_monitoring(endpoint: str, *, pattern: str = CIS_ROOT_FILTER, alarm_actions: bool = True,
                    logging: bool = True, multi_region: bool = True) -> None:
    """A trail delivering to CloudWatch Logs, a metric filter with ``pattern`` and an alarm on it."""
    region = "us-east-1"
    client(endpoint, "s3").create_bucket(Bucket="org-trail-logs")
    logs = client(endpoint, "logs")
    logs.create_log_group(logGroupName="CloudTrail/Logs")
    group_arn = f"arn:aws:logs:{region}:{ACCOUNT}:log-group:CloudTrail/Logs:*"
    role = client(endpoint, "iam").create_role(
        RoleName="cloudtrail-to-logs",
        AssumeRolePolicyDocument=_trust({"Service": "cloudtrail.amazonaws.com"}),
        PermissionsBoundary="arn:aws:iam::aws:policy/CloudWatchLogsFullAccess")["Role"]["Arn"]
    trail = client(endpoint, "cloudtrail")
    trail.create_trail(Name="org-trail", S3BucketName="org-trail-logs", IsMultiRegionTrail=multi_region,
                       CloudWatchLogsLogGroupArn=group_arn, CloudWatchLogsRoleArn=role)
    if logging:
        trail.start_logging(Name="org-trail")
    logs.put_metric_filter(
        logGroupName="CloudTrail/Logs", filterName="RootAccountUsage", filterPattern=pattern,
        metricTransformations=[{"metricName": "RootAccountUsageCount", "metricNamespace": "CloudTrailMetrics",
                                "metricValue": "1"}])
    topic = client(endpoint, "sns").create_topic(Name="security-alerts")["TopicArn"]
    client(endpoint, "cloudwatch").put_metric_alarm(
        AlarmName="RootAccountUsage", MetricName="RootAccountUsageCount", Namespace="CloudTrailMetrics",
        ComparisonOperator="GreaterThanOrEqualToThreshold", EvaluationPeriods=1, Period=300, Threshold=1,
        Statistic="Sum", TreatMissingData="notBreaching", AlarmActions=[topic] if alarm_actions else [])


def seed_users(endpoint: str, count: int, *, start: int = 0, workers: int = 16) -> list[str]:
    """Add ``count`` users shaped like a real account's mix, in parallel; returns their names.

    Every 4th user has a console password without MFA, every 3rd an access key, every 10th two keys
    and every 5th an inline policy (one shared template, as generated policies are).
    """
    inline = _doc({"Effect": "Allow", "Action": ["s3:GetObject"], "Resource": "arn:aws:s3:::team-bucket/*"})

    def one(n: int) -> str:
        iam = clients.get()
        name = f"user-{n:05d}"
        iam.create_user(UserName=name)
        if n % 4 == 0:
            iam.create_login_profile(UserName=name, Password="Passw0rd!-not-real")
        for _ in range(2 if n % 10 == 0 else 1 if n % 3 == 0 else 0):
            iam.create_access_key(UserName=name)
        if n % 5 == 0:
            iam.put_user_policy(UserName=name, PolicyName="team-read", PolicyDocument=inline)
        return name

    clients = _PerThread(lambda: client(endpoint, "iam"))
    with ThreadPoolExecutor(workers) as pool:
        return list(pool.map(one, range(start, start + count)))


class _PerThread:
    """One boto3 client per thread (clients are thread-safe, but creating them is not)."""

    def __init__(self, make: Any) -> None:
        import threading

        self._make = make
        self._local = threading.local()
        self._lock = threading.Lock()

    def get(self) -> Any:
        found = getattr(self._local, "client", None)
        if found is None:
            with self._lock:
                found = self._local.client = self._make()
        return found


def assumed_client(endpoint: str, service: str, account: str,
                   role: str = "OrganizationAccountAccessRole") -> Any:
    """A plain client signed in as ``role`` in ``account`` (moto routes it to that account's data)."""
    answer = client(endpoint, "sts").assume_role(RoleArn=f"arn:aws:iam::{account}:role/{role}",
                                                 RoleSessionName="seeding")["Credentials"]
    return client(endpoint, service, aws_access_key_id=answer["AccessKeyId"],
                  aws_secret_access_key=answer["SecretAccessKey"], aws_session_token=answer["SessionToken"])
