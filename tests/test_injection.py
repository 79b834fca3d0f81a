"""Names from the config (or, later, from live AWS) can never inject Terraform.

Arbitrary text goes into every name field; the rendered tree must still parse with python-hcl2,
contain exactly the blocks guardgen meant to write, and give every name back unchanged.
"""

from __future__ import annotations

from typing import Any

import hcl2
from hypothesis import HealthCheck, example, given, settings
from hypothesis import strategies as st

from guardgen import config, hcl, plan, render

OPTIONS = hcl2.SerializationOptions(strip_string_quotes=True, explicit_blocks=False,
                                    preserve_heredocs=False, with_comments=False)
NASTY = ['"', "\\", "${", "%{", "$${", "\n", "\r", "\t", "<<EOF", "EOF", "#", "//", "/*", "*/",
         "}", "{", "=", "é", "日本", "\u2028", "'", "`", "|", "<script>", "\x00", "\x7f"]

name_text = st.lists(st.one_of(st.sampled_from(NASTY), st.text(max_size=4)), min_size=1,
                     max_size=6).map("".join).filter(lambda s: 0 < len(s) <= 50)


def _config(org: str, ous: list[str], accounts: list[str]) -> config.Config:
    units = [{"name": ous[0], "guardrails": ["deny-root-user"],
              "accounts": [{"name": a, "id": f"{200000000000 + i}"}
                           for i, a in enumerate(accounts)],
              "units": [{"name": n, "guardrails": ["protect-cloudtrail"],
                         "accounts": []} for n in ous[1:]]}]
    return config.Config.model_validate({
        "version": 1,
        "organization": {"name": org, "management_account_id": "111111111111",
                         "home_region": "us-east-1",
                         "break_glass_principals": ["arn:aws:iam::*:role/BreakGlass"],
                         "guardrails": ["deny-leave-organization"]},
        "units": units,
    })


def _parse(files: dict[str, str]) -> dict[str, Any]:
    return {rel: hcl2.loads(text, serialization_options=OPTIONS)
            for rel, text in files.items() if rel.endswith(".tf")}


@settings(max_examples=60, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(org=name_text, ous=st.lists(name_text, min_size=1, max_size=3, unique=True),
       accounts=st.lists(name_text, min_size=1, max_size=3, unique=True))
@example(org='x" }\nresource "evil" "x" {\n', ous=['a"\n}\nresource "evil" "y" {\n#', "${x}"],
         accounts=["%{ if true }x%{ endif }", "\\\""])
def test_names_round_trip_and_inject_nothing(org: str, ous: list[str], accounts: list[str]) -> None:
    cfg = _config(org, ous, accounts)
    files = render.render(plan.build(cfg), "../guardgen.yaml")
    parsed = _parse(files)

    org_tf = parsed["management/organization.tf"]
    ou_blocks = {label: body for block in org_tf["resource"]
                 for label, body in block["aws_organizations_organizational_unit"].items()}
    assert set(org_tf) == {"data", "resource"}
    assert len(ou_blocks) == len(ous)
    assert sorted(b["name"] for b in ou_blocks.values()) == sorted(ous)

    outputs = {name: body for block in parsed["management/outputs.tf"]["output"]
               for name, body in block.items()}
    assert set(outputs) == {"organizational_unit_ids", "service_control_policy_ids"}
    paths = set(outputs["organizational_unit_ids"]["value"])
    assert paths == {ous[0]} | {f"{ous[0]}/{n}" for n in ous[1:]}

    checks = parsed["management/placement.tf"]["check"]
    assert len(checks) == 1
    message = next(iter(checks[0].values()))["assert"][0]["error_message"]
    assert all(a in message for a in accounts)

    scps = parsed["management/scps.tf"]
    descriptions = [body["description"] for block in scps["module"]
                    for body in block.values()]
    assert any(ous[0] in d for d in descriptions)
    kinds = {k for tree in parsed.values() for k in tree}
    assert kinds <= {"terraform", "provider", "data", "resource", "check", "module", "output",
                     "variable", "import"}
    types = {t for tree in parsed.values() for block in tree.get("resource", []) for t in block}
    assert types <= {"aws_organizations_organizational_unit", "aws_organizations_policy",
                     "aws_organizations_policy_attachment"}
    # Markdown cells stay one line per row and carry no raw HTML.
    readme = files["README.md"]
    assert "<script>" not in readme
    assert sum(line.startswith("| account ") for line in readme.splitlines()) == len(accounts)


@given(st.text())
def test_string_literal_round_trips(value: str) -> None:
    text = f"x = {hcl.string(value)}\n"
    assert hcl2.loads(text, serialization_options=OPTIONS)["x"] == value


@given(st.text())
def test_comment_never_spans_lines(value: str) -> None:
    assert "\n" not in render.comment(value) and "\r" not in render.comment(value)


@settings(max_examples=40, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(log_group=name_text, description=name_text)
@example(log_group='x"\n}\nresource "evil" "x" {\n', description="${file(\"/etc/passwd\")}")
def test_free_text_in_iam_and_monitoring_round_trips(log_group: str, description: str) -> None:
    base = _config("acme", ["Workloads"], ["shop"]).model_dump()
    base["monitoring"] = {"trail": "existing", "log_group_name": log_group,
                          "alarms": ["root-usage"]}
    base["instance_profiles"] = [{"name": "web", "accounts": ["shop"], "description": description}]
    files = render.render(plan.build(config.Config.model_validate(base)), "../guardgen.yaml")
    parsed = _parse({k: files[k] for k in ("monitoring/main.tf", "accounts/shop/main.tf")})
    alarms = parsed["monitoring/main.tf"]["module"]
    body = next(b for block in alarms for name, b in block.items() if name == "alarms")
    assert body["log_group_name"] == log_group
    role = next(b["role_web"] for b in parsed["accounts/shop/main.tf"]["module"] if "role_web" in b)
    assert role["description"] == description
