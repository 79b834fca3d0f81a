"""The EC2 declarative policy: its document in AWS's shape, one policy per target beside the SCPs,
its Terraform, and its settings checked at load time."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from guardgen import catalog, pipeline, plan
from guardgen.catalog import declarative
from guardgen.errors import BudgetError, ConfigError
from guardgen.plan import organization as planning
from guardgen.prove import verify
from support import EXAMPLES

PERIMETER = EXAMPLES / "perimeter" / "guardgen.yaml"
BASE = """\
version: 1
organization:
  name: t
  management_account_id: "111111111111"
  home_region: eu-west-1
  imds_max_hop_limit: 3
  break_glass_principals: ["arn:aws:iam::*:role/BreakGlassAdmin"]
{extra}  guardrails: [require-imdsv2, ec2-declarative-baseline]
units:
  - name: Apps
    guardrails: [{apps}]
    accounts:
      - {{ name: app, id: "222222222222" }}
"""


def build(extra: str = "", apps: str = "") -> plan.Plan:
    return plan.build(pipeline.loads(BASE.format(extra=extra, apps=apps)).config)


def test_the_document_has_aws_shape_and_the_imdsv2_hop_limit_of_require_imdsv2() -> None:
    doc = declarative.document(catalog.Params(imds_max_hop_limit=3))
    assert doc == {"ec2_attributes": {"instance_metadata_defaults": {
        "http_tokens": {"@@assign": "required"},
        "http_put_response_hop_limit": {"@@assign": "3"},
        "http_endpoint": {"@@assign": "no_preference"},
        "instance_metadata_tags": {"@@assign": "no_preference"}}}}
    full = declarative.document(catalog.Params(ec2=catalog.Ec2Settings(
        image_block_public_access=True, snapshot_block_public_access="block_new_sharing",
        serial_console_access="disabled", exception_message="see the wiki")))
    attrs = full["ec2_attributes"]
    assert attrs["image_block_public_access"] == {"state": {"@@assign": "block_new_sharing"}}
    assert attrs["snapshot_block_public_access"] == {"state": {"@@assign": "block_new_sharing"}}
    assert attrs["serial_console_access"] == {"status": {"@@assign": "disabled"}}
    assert attrs["exception_message"] == {"@@assign": "see the wiki"}


def test_one_declarative_policy_per_target_beside_the_scps() -> None:
    p = build()
    (ec2,) = p.declarative
    assert (ec2.name, str(ec2.ident), ec2.policy_type) == ("guardgen-ec2-root", "ec2_root",
                                                           "declarative-ec2")
    assert json.loads(ec2.content)["ec2_attributes"]["instance_metadata_defaults"][
        "http_put_response_hop_limit"] == {"@@assign": "3"}
    assert [pol.guardrails for pol in p.policies] == [("require-imdsv2",)]
    assert p.rcps == ()
    # It is inherited like any guardrail: listed again below, it is not attached twice.
    again = build(apps="ec2-declarative-baseline")
    assert len(again.declarative) == 1
    assert any(g == "ec2-declarative-baseline" for g, _ in again.targets[1].inherited)


def test_settings_come_from_the_config_and_are_checked_where_written() -> None:
    p = build(extra="  ec2_declarative: { snapshot_block_public_access: block_all_sharing, "
              "serial_console_access: disabled }\n")
    attrs = json.loads(p.declarative[0].content)["ec2_attributes"]
    assert attrs["snapshot_block_public_access"]["state"]["@@assign"] == "block_all_sharing"
    assert "image_block_public_access" not in attrs
    with pytest.raises(ConfigError, match=r"guardgen\.yaml:8:22: organization\.ec2_declarative\."
                       r"snapshot_block_public_access: Input should be 'block_all_sharing' or "
                       r"'block_new_sharing'"):
        pipeline.loads(BASE.format(extra="  ec2_declarative: { snapshot_block_public_access: yes_please }\n",
                                   apps=""))


def test_the_management_account_cannot_be_given_it() -> None:
    text = BASE.format(extra="", apps="").replace(
        '"222222222222" }', '"222222222222" }\n      - { name: mgmt, id: "111111111111", '
        "guardrails: [ec2-declarative-baseline] }")
    with pytest.raises(ConfigError, match="never restrict the management account"):
        pipeline.loads(text)


def test_a_declarative_policy_over_the_quota_is_refused() -> None:
    p = build()
    huge = catalog.Guardrail(
        id="huge", title="t", description="d", mistake="missing-scps", source="", build=lambda _: [],
        policy_type="declarative-ec2",
        document=lambda _: {"ec2_attributes": {"exception_message": {"@@assign": "x" * 10_000}}})
    with pytest.raises(BudgetError, match="more than the 10,000 AWS accepts"):
        planning._declarative(p.targets[0], ["huge"], {"huge": huge}, catalog.Params())


def test_it_renders_as_a_declarative_policy_with_its_own_file(tmp_path: Path) -> None:
    files = pipeline.run(PERIMETER, tmp_path / "out").files
    tf = files["management/declarative.tf"]
    assert 'type        = "DECLARATIVE_POLICY_EC2"' in tf
    assert 'content     = file("${path.module}/policies/ec2_root.json")' in tf
    assert "target_id = data.aws_organizations_organization.this.roots[0].id" in tf
    doc = files["management/policies/ec2_root.json"]
    assert json.loads(doc)["ec2_attributes"]["serial_console_access"] == {
        "status": {"@@assign": "disabled"}}
    assert "Statement" not in doc  # not IAM grammar: no lint or IAM catalog check applies
    assert "declarative_policy_ids" in files["management/outputs.tf"]
    readme = files["README.md"]
    assert "`ec2-declarative-baseline` | EC2 declarative policy |" in readme
    assert "`DECLARATIVE_POLICY_EC2`" in readme and "Declarative policies assign values" in readme


def test_verify_leaves_it_to_planning() -> None:
    p = build()
    names = [s.name for s in verify.builtin_scenarios(p)]
    assert names and not any("ec2-declarative-baseline" in n for n in names)
    assert all(doc.kind != "declarative-ec2" for doc in plan.policy_documents(p))  # type: ignore[comparison-overlap]
