"""`guardgen init --from-aws DIR`: a landing zone that starts from the live organization."""

from __future__ import annotations

from pathlib import Path

from typer.testing import CliRunner

from guardgen import pipeline
from guardgen.cli import app
from motoharness import MotoServer, client


def _organization(moto: MotoServer) -> tuple[str, str]:
    orgs = client(moto.endpoint, "organizations")
    orgs.create_organization(FeatureSet="ALL")
    root = orgs.list_roots()["Roots"][0]["Id"]
    ou = orgs.create_organizational_unit(ParentId=root, Name="Workloads")["OrganizationalUnit"]["Id"]
    account = orgs.create_account(AccountName="shop", Email="shop@example.com")[
        "CreateAccountStatus"]["AccountId"]
    orgs.move_account(AccountId=account, SourceParentId=root, DestinationParentId=ou)
    return ou, account


def test_init_from_aws_writes_the_imported_config_and_its_tree(moto: MotoServer, tmp_path: Path) -> None:
    ou, account = _organization(moto)
    target = tmp_path / "zone"
    result = CliRunner().invoke(app, ["init", str(target), "--from-aws", "--endpoint-url",
                                      moto.endpoint, "--ci", "gitlab"], catch_exceptions=False)
    assert result.exit_code == 0, result.output
    cfg = pipeline.load(target / "guardgen.yaml").config
    (unit,) = cfg.units
    assert (unit.name, unit.id) == ("Workloads", ou)
    assert [a.id for a in unit.accounts] == [account]
    assert (target / "guardgen.schema.json").is_file() and (target / ".gitlab-ci.yml").is_file()
    assert (target / "terraform" / "management" / "organization.tf").is_file()


def test_init_from_aws_writes_nothing_when_a_file_is_in_the_way(moto: MotoServer,
                                                                 tmp_path: Path) -> None:
    _organization(moto)
    (tmp_path / ".github" / "workflows").mkdir(parents=True)
    (tmp_path / ".github" / "workflows" / "guardgen.yml").write_text("mine\n", encoding="utf-8")
    result = CliRunner().invoke(app, ["init", str(tmp_path), "--from-aws", "--endpoint-url",
                                      moto.endpoint])
    assert result.exit_code == 2 and "already exists" in result.stderr
    assert sorted(p.name for p in tmp_path.iterdir()) == [".github"]
