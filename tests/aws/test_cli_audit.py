"""`guardgen audit` end to end: the real command against a real moto_server."""

from __future__ import annotations

import json
import os
import shutil
import subprocess
import sys
from pathlib import Path

from typer.testing import CliRunner

from guardgen.cli import app
from motoharness import ACCOUNT, MotoServer, Planted, client, seed_controls, seed_mistakes


def invoke(*args: str) -> tuple[int, str, str]:
    result = CliRunner().invoke(app, ["audit", *args], catch_exceptions=False)
    return result.exit_code, result.stdout, result.stderr


def test_audit_reports_the_mistakes_as_json_and_fails_on_high(moto: MotoServer) -> None:
    planted = Planted()
    seed_mistakes(moto.endpoint, planted)
    seed_controls(moto.endpoint, planted)
    code, out, err = invoke("--endpoint-url", moto.endpoint, "--format", "json")
    assert code == 1, err
    report = json.loads(out)
    assert report["account"] == ACCOUNT
    found = {(f["id"], f["resource"]) for f in report["findings"]}
    assert planted.expected <= found
    assert not {f["resource"] for f in report["findings"]} & planted.clean
    for f in report["findings"]:
        assert set(f) >= {"id", "severity", "resource", "message", "mistake"}
        assert f["mistake"] is None or 1 <= f["mistake"] <= 7
    assert "API calls" in err


def test_fail_on_critical_only_fails_on_critical(moto: MotoServer) -> None:
    iam = client(moto.endpoint, "iam")
    iam.create_user(UserName="reader")  # info-level at most: no password, no keys
    code, out, _ = invoke("--endpoint-url", moto.endpoint, "--format", "json", "--fail-on", "critical")
    severities = {f["severity"] for f in json.loads(out)["findings"]}
    assert code == (1 if "critical" in severities else 0)


def test_sarif_output_is_a_sarif_log(moto: MotoServer) -> None:
    seed_mistakes(moto.endpoint, Planted())
    code, out, _ = invoke("--endpoint-url", moto.endpoint, "--format", "sarif", "-q")
    log = json.loads(out)
    assert code == 1 and log["version"] == "2.1.0"
    assert log["runs"][0]["results"]


def test_table_output_names_each_finding(moto: MotoServer) -> None:
    seed_mistakes(moto.endpoint, Planted())
    code, out, _ = invoke("--endpoint-url", moto.endpoint, "-q")
    assert code == 1 and out.startswith(f"Account {ACCOUNT}:")
    assert "root-mfa-disabled" in out


def test_unreachable_endpoint_is_a_clear_error_not_a_traceback(aws_env: None) -> None:
    code, out, err = invoke("--endpoint-url", "http://127.0.0.1:9", "-q")
    assert code == 2 and out == ""
    assert err.startswith("error: ") and "Traceback" not in err


def test_usage_errors_exit_2() -> None:
    result = CliRunner().invoke(app, ["audit", "--format", "yaml"])
    assert result.exit_code == 2


def test_installed_command_honours_aws_endpoint_url(moto: MotoServer) -> None:
    exe = shutil.which("guardgen") or str(Path(sys.executable).with_name("guardgen"))
    seed_mistakes(moto.endpoint, Planted())
    env = dict(os.environ, AWS_ENDPOINT_URL=moto.endpoint)
    proc = subprocess.run([exe, "audit", "--format", "json", "-q"], env=env, capture_output=True,
                          text=True, check=False, timeout=120)
    assert proc.returncode == 1, proc.stderr
    assert json.loads(proc.stdout)["account"] == ACCOUNT


def test_org_audit_covers_every_member_account(moto: MotoServer) -> None:
    orgs = client(moto.endpoint, "organizations")
    orgs.create_organization(FeatureSet="ALL")
    created = orgs.create_account(AccountName="member", Email="member@example.com")
    member = created["CreateAccountStatus"]["AccountId"]
    code, out, err = invoke("--endpoint-url", moto.endpoint, "--org", "--format", "json", "--workers", "2")
    report = json.loads(out)
    audited = {a["account"] for a in report["accounts"]}
    assert {ACCOUNT, member} <= audited | {f["account"] for f in report["failed"]}, err
    assert member in err and "accounts audited" in err
    assert code in (0, 1)


def test_org_audit_with_a_config_reports_guardrails_not_in_force(moto: MotoServer, tmp_path: Path) -> None:
    orgs = client(moto.endpoint, "organizations")
    orgs.create_organization(FeatureSet="ALL")
    member = orgs.create_account(AccountName="shop", Email="shop@example.com")[
        "CreateAccountStatus"]["AccountId"]
    root = orgs.list_roots()["Roots"][0]["Id"]
    ou = orgs.create_organizational_unit(ParentId=root, Name="Workloads")["OrganizationalUnit"]["Id"]
    orgs.move_account(AccountId=member, SourceParentId=root, DestinationParentId=ou)
    cfg = tmp_path / "guardgen.yaml"
    cfg.write_text(f"""version: 1
organization:
  name: shop
  management_account_id: "{ACCOUNT}"
  home_region: us-east-1
  break_glass_principals: [arn:aws:iam::*:role/BreakGlassAdmin]
units:
  - name: Workloads
    id: {ou}
    guardrails: [deny-root-user]
    accounts:
      - {{ name: shop, id: "{member}" }}
""", encoding="utf-8")
    code, out, err = invoke("--endpoint-url", moto.endpoint, "--org", "--config", str(cfg),
                            "--format", "json", "-q")
    report = json.loads(out)
    by_account = {a["account"]: a for a in report["accounts"]}
    assert member in by_account, err
    gaps = [f for f in by_account[member]["findings"] if f["id"] == "guardrails-not-in-force"]
    assert len(gaps) == 1 and gaps[0]["mistake"] == 6 and "deny-root-user" in gaps[0]["message"]
    assert not [f for f in by_account.get(ACCOUNT, {"findings": []})["findings"]
                if f["id"] == "guardrails-not-in-force"]
    assert code == 1
