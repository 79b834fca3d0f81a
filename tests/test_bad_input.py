"""Every kind of bad input: exit 2, a message naming file:line and the path, output untouched."""

from __future__ import annotations

import re
from pathlib import Path

import pytest

from guardgen.config import source as yamlsrc
from support import ACME, tree_digest

GOOD = ACME.read_text(encoding="utf-8")


def _deep(levels: int) -> str:
    text = "units:\n"
    indent = ""
    for i in range(levels):
        text += f"{indent}  - name: L{i}\n"
        if i < levels - 1:
            text += f"{indent}    units:\n"
        indent += "    "
    return GOOD[: GOOD.index("units:")] + text


CASES = {
    "unknown key": (
        GOOD.replace("  home_region: us-east-1", "  home_region: us-east-1\n  homeregion: x"),
        r"guardgen.yaml:6:3: organization.homeregion: unknown key"),
    "account id not 12 digits": (
        GOOD.replace('"444444444444"', '"44444444444"'),
        r"guardgen.yaml:24:\d+: units\[1\].units\[0\].accounts\[0\].id: must be exactly 12 digits"),
    "unquoted account id": (
        GOOD.replace('id: "444444444444"', "id: 444444444444"),
        r"units\[1\].units\[0\].accounts\[0\].id: must be a quoted string"),
    "duplicate account id": (
        GOOD.replace('"555555555555"', '"444444444444"'),
        r"guardgen.yaml:28:\d+: units\[1\].units\[1\].accounts\[0\].id: account id 444444444444 "
        r"is also used at units\[1\].units\[0\].accounts\[0\]"),
    "duplicate account name": (
        GOOD.replace("name: shop-dev", "name: shop-prod"),
        r"guardgen.yaml:28:\d+: units\[1\].units\[1\].accounts\[0\].name: account name "
        r"'shop-prod' is also used"),
    "duplicate sibling OU": (
        GOOD.replace("name: NonProd", "name: Prod"),
        r"guardgen.yaml:25:\d+: units\[1\].units\[1\].name: duplicate OU name 'Prod'"),
    "OU nesting deeper than 5": (
        _deep(6),
        r"guardgen.yaml:\d+:\d+: units\[0\](\.units\[0\]){5}\.name: OU 'L5' is 6 levels below "
        r"the root; AWS allows at most 5"),
    "unknown guardrail": (
        GOOD.replace("[deny-iam-user-access-keys]", "[deny-iam-user-acces-keys]"),
        r"guardgen.yaml:26:\d+: units\[1\].units\[1\].guardrails\[0\]: unknown guardrail "
        r"'deny-iam-user-acces-keys'"),
    "missing guardrail parameter": (
        GOOD.replace("  allowed_regions: [us-east-1, eu-west-1]\n", ""),
        r"guardgen.yaml:\d+:\d+: units\[1\].guardrails\[3\]: guardrail 'deny-unapproved-regions'"
        r" needs organization.allowed_regions"),
    "malformed break-glass ARN": (
        GOOD.replace("arn:aws:iam::*:role/BreakGlassAdmin", "arn:aws:iam:*:role/BreakGlassAdmin"),
        r"guardgen.yaml:10:\d+: organization.break_glass_principals\[1\]: must be an IAM role or "
        r"user ARN"),
    "no break-glass principal": (
        re.sub(r"  break_glass_principals:\n(    - .*\n)+", "  break_glass_principals: []\n", GOOD),
        r"organization.break_glass_principals: List should have at least 1 item"),
    "YAML syntax error": (
        GOOD.replace("allowed_regions: [us-east-1, eu-west-1]", "allowed_regions: [us-east-1"),
        r"guardgen.yaml:\d+:\d+: YAML syntax error"),
    "duplicate YAML key": (
        GOOD.replace("  home_region: us-east-1", "  home_region: us-east-1\n  home_region: x"),
        r"guardgen.yaml:6:3: duplicate key 'home_region' in organization"),
    "alias bomb": (
        "a: &a [x,x,x,x,x,x,x,x,x,x]\n" + "".join(
            f"{n}: &{n} [*{p},*{p},*{p},*{p},*{p},*{p},*{p},*{p},*{p},*{p}]\n"
            for p, n in zip("abcdefgh", "bcdefghi", strict=True)),
        r"guardgen.yaml:\d+:\d+: the document holds more than [\d,]+ values once aliases are "
        r"expanded \(alias bomb\?\)"),
    "wrong top level": ("- just\n- a list\n", r"guardgen.yaml:1:1: expected a mapping"),
    "guardrails on the management account": (
        GOOD.replace('{ name: audit, id: "333333333333", email: aws+audit@acme.example }',
                     '{ name: mgmt, id: "111111111111", guardrails: [deny-root-user] }'),
        r"units\[0\].accounts\[1\].guardrails: SCPs never restrict the management account"),
    "reserved slots leave nothing": (
        GOOD.replace("reserved_scp_slots: 1 ", "reserved_scp_slots: 10"),
        r"organization.reserved_scp_slots: 10 reserved slots leave no room"),
    "guardrails over the SCP budget": (
        GOOD.replace("scp_limits: current ", "scp_limits: legacy  ")
            .replace("reserved_scp_slots: 1 ", "reserved_scp_slots: 4")
            .replace("guardrails: [deny-leave-organization] ",
                     "guardrails: [deny-leave-organization, protect-cloudtrail, require-imdsv2, "
                     "deny-root-user, deny-unapproved-regions, deny-iam-user-access-keys, "
                     "protect-security-services]")
            .replace("    - arn:aws:iam::*:role/BreakGlassAdmin\n", "".join(
                f"    - arn:aws:iam::*:role/BreakGlassAdmin{i}\n" for i in range(6))),
        r"the organization root: its guardrails \(.*\) need [\d,]+ bytes in 2 SCPs, but only 1 "
        r"of 5,120 bytes are free \(5 per target under scp_limits 'legacy', minus 4 reserved\)"),
}


@pytest.mark.parametrize("name", list(CASES))
def test_bad_input_exits_2_with_location_and_touches_nothing(cli, acme: Path, name: str) -> None:
    assert cli("generate", "-c", acme).exit_code == 0
    out = acme.parent / "terraform"
    before = tree_digest(out)
    text, pattern = CASES[name]
    acme.write_text(text, encoding="utf-8")
    for command in ("generate", "check"):
        r = cli(command, "-c", acme)
        assert r.exit_code == 2, (command, r.output)
        assert re.search(pattern, r.output), r.output
    assert tree_digest(out) == before


def test_oversized_file_is_refused_before_reading(cli, tmp_path: Path, monkeypatch) -> None:
    monkeypatch.setattr(yamlsrc, "MAX_BYTES", 1000)
    cfg = tmp_path / "guardgen.yaml"
    cfg.write_text(GOOD + "#" * 2000 + "\n")
    r = cli("check", "-c", cfg)
    assert r.exit_code == 2
    assert "larger than" in r.output and "refusing to load it" in r.output


def test_every_problem_is_reported_at_once(cli, acme: Path) -> None:
    acme.write_text(GOOD.replace('"444444444444"', '"4"').replace('"555555555555"', '"5"'))
    r = cli("check", "-c", acme)
    assert r.exit_code == 2
    assert "(2 problems)" in r.output
