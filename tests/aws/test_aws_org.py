"""--org fan-out against a moto organization: every active account audited through its role, one
account failing without stopping the others. moto enforces IAM here (POST /moto-api/reset-auth)."""

from __future__ import annotations

import threading
from datetime import datetime, timezone

from guardgen.aws.org_audit import AccountOutcome, run_org_audit
from guardgen.aws.session import Credentials, SessionOptions
from motoharness import ACCOUNT, ADMIN_ARN, MotoServer, assumed_client, client

NOW = datetime.now(timezone.utc)
ROLE = "OrganizationAccountAccessRole"


def test_org_audit_fans_out_and_survives_a_broken_account(moto: MotoServer) -> None:
    org = client(moto.endpoint, "organizations")
    org.create_organization(FeatureSet="ALL")
    good, broken, closed = (org.create_account(AccountName=n, Email=f"{n}@example.com")["CreateAccountStatus"]
                            ["AccountId"] for n in ("workloads", "sandbox", "retired"))
    org.close_account(AccountId=closed)

    # workloads: its access role may read, and it holds one of the article's mistakes
    iam = assumed_client(moto.endpoint, "iam", good)
    iam.attach_role_policy(RoleName=ROLE, PolicyArn=ADMIN_ARN)
    iam.create_user(UserName="admin-user")
    iam.attach_user_policy(UserName="admin-user", PolicyArn=ADMIN_ARN)
    # sandbox: someone deleted the access role
    gone = assumed_client(moto.endpoint, "iam", broken)
    for attached in gone.list_attached_role_policies(RoleName=ROLE)["AttachedPolicies"]:
        gone.detach_role_policy(RoleName=ROLE, PolicyArn=attached["PolicyArn"])
    gone.delete_role(RoleName=ROLE)
    # the caller: an auditor in the management account
    mgmt = client(moto.endpoint, "iam")
    mgmt.create_user(UserName="org-auditor")
    mgmt.attach_user_policy(UserName="org-auditor", PolicyArn=ADMIN_ARN)
    key = mgmt.create_access_key(UserName="org-auditor")["AccessKey"]

    seen: list[str] = []
    threads: set[str] = set()

    def progress(outcome: AccountOutcome) -> None:
        seen.append(outcome.account.id)
        threads.add(threading.current_thread().name)

    moto.enforce_iam(True)
    auditor = Credentials(key["AccessKeyId"], key["SecretAccessKey"])
    result = run_org_audit(SessionOptions(endpoint_url=moto.endpoint, credentials=auditor),
                           now=NOW, max_workers=2, on_done=progress, sleep=lambda _: None)
    moto.enforce_iam(False)

    by_id = {o.account.id: o for o in result.outcomes}
    assert set(by_id) == {ACCOUNT, good, broken}
    assert [a.id for a in result.skipped] == [closed]
    assert sorted(seen) == sorted(by_id) and threads == {"MainThread"}

    mine = by_id[ACCOUNT]
    assert mine.error is None and mine.assumed_role is None and mine.result is not None
    assert ("admin-policy-attached", f"arn:aws:iam::{ACCOUNT}:user/org-auditor") in {
        (x.id, x.resource) for x in mine.result.audit.findings}

    workloads = by_id[good]
    assert workloads.error is None and workloads.result is not None
    assert workloads.assumed_role == f"arn:aws:iam::{good}:role/{ROLE}"
    assert workloads.result.audit.account == good
    assert workloads.result.snapshot.unavailable == ()
    assert ("admin-policy-attached", f"arn:aws:iam::{good}:user/admin-user") in {
        (x.id, x.resource) for x in workloads.result.audit.findings}

    failed = by_id[broken]
    assert failed.result is None and failed.error
    assert result.calls == sum(o.calls for o in result.outcomes) + 2  # GetCallerIdentity, ListAccounts
    assert workloads.calls == workloads.result.calls + 1  # its sts:AssumeRole
