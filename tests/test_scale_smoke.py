"""The scale benchmark's synthetic organization, small: it loads, generates, checks, verifies
and lints cleanly, so the benchmark measures working commands. No timing is asserted here."""

from __future__ import annotations

import json
import sys
from pathlib import Path

from hypothesis import given, settings
from hypothesis import strategies as st

from guardgen import output, pipeline, plan
from guardgen.policy import lint
from guardgen.policy.documents import minify, pretty
from guardgen.prove import verify
from guardgen.prove.lint import plan_options
from support import REPO

sys.path.insert(0, str(REPO / "benchmarks"))
import synthetic  # noqa: E402


def test_synthetic_organization_generates_checks_and_proves(tmp_path: Path) -> None:
    cfg = tmp_path / "guardgen.yaml"
    text = synthetic.make_config(100)
    cfg.write_text(text, encoding="utf-8")
    res = pipeline.run(cfg)
    p = res.plan
    # IAM in most accounts, several CI providers, OUs nested to the limit.
    assert len(p.accounts) == 100
    assert {r.kind for a in p.accounts for r in a.roles} == {"ci", "instance-profile", "cross-account"}
    assert max(len(ou.path) for ou in p.ous) == synthetic.MAX_DEPTH
    output.write(res.out_dir, res.files, output.compare(res.out_dir, res.files))
    assert output.compare(res.out_dir, pipeline.run(cfg).files).clean
    outcomes = verify.run(p, verify.builtin_scenarios(p))
    assert outcomes and verify.failures(outcomes) == []
    docs = [lint.LintInput(d.path, d.kind, d.document) for d in plan.policy_documents(p)]
    assert lint.fails(lint.lint(docs, plan_options(p)), "error") is False
    cfg.write_text(synthetic.change_one_account(text), encoding="utf-8")
    changed = output.compare(res.out_dir, pipeline.run(cfg).files)
    assert (changed.create, changed.delete) == ([], []) and len(changed.update) >= 1


_json = st.recursive(
    st.none() | st.booleans() | st.integers() | st.floats(allow_nan=False) | st.text(),
    lambda inner: st.lists(inner, max_size=4) | st.dictionaries(st.text(), inner, max_size=4),
    max_leaves=30)


@settings(max_examples=300, deadline=None)
@given(_json)
def test_policy_text_is_exactly_what_json_dumps_writes(value: object) -> None:
    assert pretty(value) == json.dumps(value, indent=2, ensure_ascii=False)
    assert minify(value) == json.dumps(value, separators=(",", ":"), ensure_ascii=False)
