"""`guardgen verify --scp`: prove a hand-written or third-party SCP without a guardgen config."""

from __future__ import annotations

import json
from pathlib import Path

import pytest
from typer.testing import CliRunner

from guardgen.cli import app

# An organization's own rule, in the shape teams write it: no S3 buckets outside eu-west-1,
# except for the break-glass role.
REGION_LOCK = {"Version": "2012-10-17", "Statement": [{
    "Sid": "DenyBucketsOutsideEu", "Effect": "Deny", "Action": "s3:CreateBucket", "Resource": "*",
    "Condition": {"StringNotEquals": {"aws:RequestedRegion": "eu-west-1"},
                  "ArnNotLike": {"aws:PrincipalArn": "arn:aws:iam::*:role/BreakGlass"}}}]}
NO_LEAVING = {"Version": "2012-10-17", "Statement": [{
    "Sid": "NoLeaving", "Effect": "Deny", "Action": "organizations:LeaveOrganization",
    "Resource": "*"}]}


def _scenario(name: str, action: str, region: str, expect: str, principal: str = "role/Dev",
              **extra: object) -> dict[str, object]:
    return {"name": name, "principal": f"arn:aws:iam::444444444444:{principal}",
            "account": "444444444444", "action": action, "resource": "*",
            "context": {"aws:RequestedRegion": region}, "expect": expect, **extra}


def _run(tmp_path: Path, scenarios: list[dict[str, object]], *scps: str) -> tuple[int, str]:
    (tmp_path / "region-lock.json").write_text(json.dumps(REGION_LOCK), encoding="utf-8")
    (tmp_path / "no-leaving.json").write_text(json.dumps(NO_LEAVING), encoding="utf-8")
    (tmp_path / "scenarios.yaml").write_text(json.dumps({"scenarios": scenarios}), encoding="utf-8")
    args = ["verify", "scenarios.yaml", "-v"]
    for s in scps:
        args += ["--scp", s]
    with pytest.MonkeyPatch.context() as mp:
        mp.chdir(tmp_path)  # files are named as given, relative to where verify runs
        result = CliRunner().invoke(app, args, catch_exceptions=False)
    return result.exit_code, result.stdout + result.stderr


def test_a_hand_written_scp_is_proved(tmp_path: Path) -> None:
    code, out = _run(tmp_path, [
        _scenario("no bucket in us-east-1", "s3:CreateBucket", "us-east-1", "deny"),
        _scenario("a bucket in eu-west-1", "s3:CreateBucket", "eu-west-1", "allow"),
        _scenario("break-glass anywhere", "s3:CreateBucket", "us-east-1", "allow",
                  principal="role/BreakGlass"),
        _scenario("nobody leaves", "organizations:LeaveOrganization", "eu-west-1", "deny",
                  principal="role/BreakGlass"),
    ], "region-lock.json", "no-leaving.json")
    assert code == 0, out
    assert "all 4 scenarios hold" in out


def test_a_wrong_expectation_fails_and_names_the_deciding_statement(tmp_path: Path) -> None:
    code, out = _run(tmp_path, [_scenario("claims us-east-1 is fine", "s3:CreateBucket", "us-east-1",
                                          "allow")], "region-lock.json")
    assert code == 1
    assert "FAILED" in out and "DenyBucketsOutsideEu" in out


def test_a_scenario_chooses_its_own_chain(tmp_path: Path) -> None:
    code, out = _run(tmp_path, [
        _scenario("only the leaving rule applies here", "s3:CreateBucket", "us-east-1", "allow",
                  scps=["no-leaving.json"]),
        _scenario("both apply here", "s3:CreateBucket", "us-east-1", "deny"),
    ], "region-lock.json", "no-leaving.json")
    assert code == 0, out


def test_bad_scp_files_and_unknown_names_exit_2(tmp_path: Path) -> None:
    (tmp_path / "broken.json").write_text('{"Statement": [\n  {"Effect": "Deny",,}]}', encoding="utf-8")
    code, out = _run(tmp_path, [_scenario("x", "s3:CreateBucket", "us-east-1", "deny")], "broken.json")
    assert code == 2 and "broken.json:2:" in out and "Traceback" not in out
    code, out = _run(tmp_path, [_scenario("x", "s3:CreateBucket", "us-east-1", "deny",
                                          scps=["missing.json"])], "region-lock.json")
    assert code == 2 and "missing.json not given with --scp" in out


def test_scp_needs_scenario_files(tmp_path: Path) -> None:
    (tmp_path / "region-lock.json").write_text(json.dumps(REGION_LOCK), encoding="utf-8")
    result = CliRunner().invoke(app, ["verify", "--scp", str(tmp_path / "region-lock.json")])
    assert result.exit_code == 2 and "name at least one" in result.stderr
