"""Templates written aligned skip align() (render.terraform._ALIGNED_IN_SOURCE): their output
must be exactly what aligning it after rendering gives, for every shape an account root takes."""

from __future__ import annotations

import sys
from pathlib import Path

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from guardgen import pipeline, render
from guardgen.render import terraform
from support import REPO

sys.path.insert(0, str(REPO / "benchmarks"))
import synthetic  # noqa: E402


def _both(text: str, tmp: Path, monkeypatch: pytest.MonkeyPatch) -> tuple[dict[str, str], dict[str, str]]:
    cfg = tmp / "guardgen.yaml"
    cfg.write_text(text, encoding="utf-8")
    res = pipeline.run(cfg)
    with monkeypatch.context() as m:
        m.setattr(terraform, "_ALIGNED_IN_SOURCE", frozenset())
        aligned_after = render.render(res.plan, "../guardgen.yaml")
    return render.render(res.plan, "../guardgen.yaml"), aligned_after


def _assert_same(fast: dict[str, str], slow: dict[str, str]) -> None:
    assert fast.keys() == slow.keys()
    differing = [rel for rel in fast if fast[rel] != slow[rel]]
    assert differing == []
    for rel, text in fast.items():
        if rel.endswith(".tf"):
            assert terraform.align(text) == text, rel


@pytest.mark.parametrize("example", sorted(p.name for p in (REPO / "examples").iterdir()
                                           if (p / "guardgen.yaml").is_file()))
def test_examples_render_the_same_as_aligned_after(example: str, tmp_path: Path,
                                                   monkeypatch: pytest.MonkeyPatch) -> None:
    text = (REPO / "examples" / example / "guardgen.yaml").read_text(encoding="utf-8")
    _assert_same(*_both(text, tmp_path, monkeypatch))


def test_the_synthetic_organization_renders_the_same_as_aligned_after(
        tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    _assert_same(*_both(synthetic.make_config(60), tmp_path, monkeypatch))


_name = st.from_regex(r"[a-z][a-z0-9-]{0,30}", fullmatch=True).filter(lambda n: n != "other")


@settings(max_examples=40, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture])
@given(boundary=st.booleans(), ci_statements=st.booleans(), ci_boundary=st.booleans(),
       profile_boundary=st.booleans(), profile_statements=st.booleans(), kms=st.booleans(),
       backend=st.booleans(), cross=st.booleans(), name=_name)
def test_every_account_shape_renders_the_same_as_aligned_after(
        tmp_path: Path, monkeypatch: pytest.MonkeyPatch, boundary: bool, ci_statements: bool,
        ci_boundary: bool, profile_boundary: bool, profile_statements: bool, kms: bool,
        backend: bool, cross: bool, name: str) -> None:
    lines = ["version: 1", "organization:", "  name: t", '  management_account_id: "111111111111"',
             "  home_region: eu-west-1",
             "  break_glass_principals: [arn:aws:iam::*:role/BreakGlassAdmin]",
             "units:", "  - name: Apps", "    accounts:",
             f'      - {{ name: {name}, id: "222222222222" }}',
             '      - { name: other, id: "333333333333" }']
    if backend:
        lines += ["backend:", "  bucket: state", "  region: eu-west-1"]
        lines += ["  kms_key_id: alias/state"] if kms else []
    if boundary:
        lines += ["permission_boundaries:", "  - name: b", "    allow_services: [s3]",
                  f"    accounts: [{name}, other]"]
    lines += ["ci_roles:", f"  - name: ci-{name}", "    provider: github",
              "    repository: acme/app", "    branches: [main]", f"    accounts: [{name}]"]
    lines += ['    statements: [{ actions: [s3:GetObject], resources: ["*"] }]'] if ci_statements else []
    lines += ["    boundary: b"] if boundary and ci_boundary else []
    lines += ["instance_profiles:", "  - name: web", f"    accounts: [{name}, other]"]
    lines += ['    statements: [{ actions: [s3:GetObject], resources: ["*"] }]'] if profile_statements else []
    lines += ["    boundary: b"] if boundary and profile_boundary else []
    if cross:
        lines += ["cross_account_roles:", "  - name: vendor", f"    accounts: [{name}]",
                  "    trusted_principals: [arn:aws:iam::999999999999:role/scanner]"]
    _assert_same(*_both("\n".join(lines) + "\n", tmp_path, monkeypatch))
