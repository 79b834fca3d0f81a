"""`guardgen lint` over many documents: each distinct document is checked once and its findings
reused, so what is shared must be exactly what does not depend on the file (its type, text,
options and readability do), and the shortcuts taken for speed must answer what the slow paths
answer (ARN formats, placeholders, display names, the texts read only for findings)."""

from __future__ import annotations

import dataclasses
import json
import os
import sys
from pathlib import Path
from typing import Any

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st
from typer.testing import CliRunner

from guardgen import catalog, pipeline, plan
from guardgen.cli import app
from guardgen.cli import lint as cli_lint
from guardgen.policy import iamcatalog, lint
from guardgen.policy.lint.model import Doc, matching_arn_formats
from support import REPO

sys.path.insert(0, str(REPO / "benchmarks"))
import synthetic  # noqa: E402

BG = "arn:aws:iam::*:role/BreakGlassAdmin"
# Findings as an identity policy (GG102, GG302) and as an SCP (GG102, GG601 without the
# break-glass exemption); none as a trust policy's GG3xx.
DOC: dict[str, Any] = {"Version": "2012-10-17", "Statement": [
    {"Effect": "Allow", "Action": ["s3:GetObject", "s3:Gett"], "Resource": "*"},
    {"Effect": "Deny", "Action": "iam:DeleteRole", "Resource": "*"}]}


def _options(**kw: Any) -> lint.LintOptions:
    kw.setdefault("everyone", catalog.everyone_statements(catalog.REGISTRY))
    return lint.LintOptions(**kw)


def _one_by_one(docs: list[lint.LintInput], options: lint.LintOptions) -> list[lint.Finding]:
    return [f for d in docs for f in lint.lint([d], options)]


def _without_file(found: list[lint.Finding]) -> list[tuple[Any, ...]]:
    return [dataclasses.astuple(dataclasses.replace(f, path="", where="")) for f in found]


def test_identical_texts_get_the_same_findings_but_their_own_file() -> None:
    text = json.dumps(DOC, indent=2)
    docs = [lint.LintInput(f"{n}/p.json", "identity", json.loads(text), f"role {n}", text)
            for n in ("a", "b", "c")]
    found = lint.lint(docs, _options())
    per_file = {d.path: [f for f in found if f.path == d.path] for d in docs}
    assert all(len(fs) == 2 for fs in per_file.values())
    assert _without_file(per_file["a/p.json"]) == _without_file(per_file["c/p.json"])
    assert [f.where for f in per_file["b/p.json"]] == ["role b", "role b"]
    assert all(f.line is not None for f in found)
    assert found == _one_by_one(docs, _options())


def test_the_same_document_in_another_text_is_placed_in_that_text() -> None:
    compact, wide = json.dumps(DOC), json.dumps(DOC, indent=4)
    docs = [lint.LintInput("a.json", "identity", DOC, text=compact),
            lint.LintInput("b.json", "identity", DOC, text=wide),
            lint.LintInput("c.json", "identity", DOC),  # no text: no lines
            lint.LintInput("d.json", "identity", DOC, text=compact)]
    found = lint.lint(docs, _options())
    lines = {d.path: [(f.line, f.column) for f in found if f.path == d.path] for d in docs}
    assert lines["a.json"] == lines["d.json"] and {line for line, _ in lines["a.json"]} == {1}
    assert lines["b.json"] != lines["a.json"] and all(line and line > 1 for line, _ in lines["b.json"])
    assert lines["c.json"] == [(None, None), (None, None)]
    assert found == _one_by_one(docs, _options())


def test_findings_are_not_shared_across_types() -> None:
    kinds: list[lint.Kind] = ["identity", "scp", "trust", "identity"]
    docs = [lint.LintInput(f"{n}-{kind}.json", kind, DOC) for n, kind in enumerate(kinds)]
    found = lint.lint(docs, _options(break_glass=(BG,)))
    rules = [sorted(f.rule for f in found if f.path == d.path) for d in docs]
    assert rules[0] == rules[3] == ["GG102", "GG302"]
    assert "GG601" in rules[1] and "GG302" not in rules[1]
    assert "GG302" not in rules[2] and "GG001" in rules[2]
    assert found == _one_by_one(docs, _options(break_glass=(BG,)))


def test_findings_are_not_shared_across_options() -> None:
    docs = [lint.LintInput("p.json", "scp", DOC)]
    spared = _options()
    locked = _options(break_glass=(BG,))
    assert "GG601" not in {f.rule for f in lint.lint(docs, spared)}
    assert "GG601" in {f.rule for f in lint.lint(docs, locked)}
    assert "GG601" not in {f.rule for f in lint.lint(docs, spared)}
    big = {"Version": "2012-10-17", "Statement": [
        {"Effect": "Deny", "Action": "s3:DeleteBucket", "Resource": f"arn:aws:s3:::b{n}",
         "Condition": {"ArnNotLike": {"aws:PrincipalArn": BG}}} for n in range(60)]}
    sized = [lint.LintInput("big.json", "scp", big)]
    assert [f.rule for f in lint.lint(sized, _options(scp_max_bytes=10_240))] == []
    assert [f.rule for f in lint.lint(sized, _options(scp_max_bytes=5_120))] == ["GG201"]


def test_documents_equal_in_python_but_not_alike_for_the_rules_are_not_shared() -> None:
    def deny_without_mfa(value: Any) -> dict[str, Any]:
        return {"Version": "2012-10-17", "Statement": [
            {"Effect": "Deny", "Action": "s3:DeleteBucket", "Resource": "*",
             "Condition": {"Bool": {"aws:MultiFactorAuthPresent": value}}}]}

    def allow(action: Any) -> dict[str, Any]:
        return {"Version": "2012-10-17", "Statement": [
            {"Effect": "Allow", "Action": action, "Resource": "arn:aws:s3:::b/*"}]}

    reordered = {"Statement": allow(["s3:Gett"])["Statement"], "Version": "2012-10-17"}
    # False == 0, a tuple is JSON's list, and key order means nothing to ==; each is another
    # document to the rules (GG505 reads "false", GG001 wants a list) or another text.
    variants = [deny_without_mfa(False), deny_without_mfa(0), allow(("s3:GetObject",)),
                allow(["s3:GetObject"]), allow(["s3:Gett"]), reordered]
    assert variants[0] == variants[1] and variants[4] == variants[5]
    docs = [lint.LintInput(f"{n}.json", "identity", v, text=json.dumps(v))
            for n, v in enumerate(variants)]
    found = lint.lint(docs, _options())
    assert found == _one_by_one(docs, _options())
    rules = {d.path: sorted(f.rule for f in found if f.path == d.path) for d in docs}
    assert rules["0.json"] == ["GG505"] and rules["1.json"] == []
    assert rules["2.json"] == ["GG001"] and rules["3.json"] == []
    assert rules["4.json"] == rules["5.json"] == ["GG102"]
    assert [f.column for f in found if f.path == "4.json"] != [f.column for f in found if f.path == "5.json"]


def test_documents_of_other_types_and_deep_ones_are_checked_too() -> None:
    class Name(str):
        pass

    deep: Any = "x"
    for _ in range(3000):
        deep = [deep]
    statement = {"Effect": "Allow", "Principal": "*", "Action": Name("s3:Gett"), "Resource": "*"}
    variants: list[Any] = [{"Version": "2012-10-17", "Statement": [statement]},
                           {"Version": "2012-10-17", "Statement": [dict(statement, Action="s3:Gett")]},
                           {"Version": "2012-10-17", "Statement": [dict(statement, Condition={
                               "StringEquals": {"aws:PrincipalOrgID": deep}})]}]
    docs = [lint.LintInput(f"{n}.json", "resource", v) for n, v in enumerate(variants * 2)]
    found = lint.lint(docs, _options())
    assert found == _one_by_one(docs, _options())
    assert [f.rule for f in found if f.path == "0.json"] == ["GG102"]
    assert "GG001" in {f.rule for f in found if f.path == "5.json"}


def test_unreadable_files_keep_their_own_reason_and_place() -> None:
    why = [lint.Unreadable("not valid JSON: a", 1, 2), lint.Unreadable("not valid JSON: b", 3, 4),
           lint.Unreadable("cannot read the file")]
    docs = [lint.LintInput("a.json", "identity", None, text="{", unreadable=why[0]),
            lint.LintInput("b.json", "identity", None, text="{", unreadable=why[1]),
            lint.LintInput("c.json", "identity", None, unreadable=why[2])]
    found = lint.lint(docs, _options())
    assert [(f.path, f.rule, f.line, f.column) for f in found] == [
        ("a.json", "GG004", 1, 2), ("b.json", "GG004", 3, 4), ("c.json", "GG004", None, None)]
    assert [f.message.split(";")[0] for f in found] == [
        "not valid JSON: a", "not valid JSON: b", "cannot read the file"]


def test_texts_are_read_only_for_documents_with_findings() -> None:
    clean = {"Version": "2012-10-17", "Statement": [
        {"Effect": "Allow", "Action": "s3:GetObject", "Resource": "arn:aws:s3:::b/*"}]}
    docs = [lint.LintInput(f"{n}.json", "identity", d) for n, d in enumerate([clean, DOC, clean, DOC])]
    asked: list[str] = []

    def text(item: lint.LintInput) -> str | None:
        asked.append(item.path)
        return json.dumps(item.document, indent=2)

    found = lint.lint(docs, _options(), text)
    assert asked == ["1.json", "3.json"]
    eager = [dataclasses.replace(d, text=json.dumps(d.document, indent=2)) for d in docs]
    assert found == lint.lint(eager, _options())


def test_cli_duplicate_files_differ_only_in_their_names(tmp_path: Path,
                                                        monkeypatch: pytest.MonkeyPatch) -> None:
    text = json.dumps(DOC, indent=2)
    for folder in ("one", "two", "three/deeper"):
        (tmp_path / folder).mkdir(parents=True)
        (tmp_path / folder / "p.json").write_text(text, encoding="utf-8")
    (tmp_path / "two" / "q.json").write_text(json.dumps(DOC), encoding="utf-8")
    monkeypatch.chdir(tmp_path)
    r = CliRunner().invoke(app, ["lint", "--format", "json", "."])
    assert r.exit_code == 1, r.output
    found = json.loads(r.stdout)["findings"]
    by_file: dict[str, list[dict[str, Any]]] = {}
    for f in found:
        by_file.setdefault(f.pop("path"), []).append(f)
    assert sorted(by_file) == ["one/p.json", "three/deeper/p.json", "two/p.json", "two/q.json"]
    assert by_file["one/p.json"] == by_file["two/p.json"] == by_file["three/deeper/p.json"]
    assert by_file["two/q.json"] != by_file["two/p.json"]
    assert [f["line"] for f in by_file["two/q.json"]] == [1, 1]


# -- the shortcuts answer what the slow paths answer ------------------------------------------

def _digit_variants() -> list[str]:
    out = []
    for service, formats in sorted(iamcatalog.arn_formats().items()):
        digits = any(c.isdigit() for f in formats for c in f.split(":", 5)[-1])
        for fmt in formats if digits else formats[:4]:
            for fill in ("a1", "12", "x-7/y9", "*", "0?", "123456789012"):
                out.append(fmt.replace("${Partition}", "aws").replace("${Region}", "us-east-2")
                           .replace("${Account}", "123456789012")
                           .replace("${", "").replace("}", fill) + "9")
        out.append(f"arn:aws:{service}:eu-west-1:123456789012:thing9/x1")
    return out


def test_arn_formats_shared_among_digit_variants_are_the_catalog_answers() -> None:
    arns = _digit_variants()
    assert len(arns) > 2000
    assert [matching_arn_formats(a) for a in arns] == [iamcatalog.matching_arn_formats(a) for a in arns]
    # Services whose formats spell digits (a region in an S3 format, versions in EC2's) are
    # compared in those parts as they are: us-east-2 is not us-east-1.
    assert matching_arn_formats("arn:aws:s3:us-west-2:123456789012:async-request/mrap/x/y") != \
        matching_arn_formats("arn:aws:s3:us-west-1:123456789012:async-request/mrap/x/y")


_PIECES = st.sampled_from(["${Account}", "${aws:username}", "${*}", "<vpc>", "[ROLE]", "{{ x }}",
                           "{name}", "{_x}", "{", "}", "[", "]", "<", ">", "$", "a", "Z", "_", "1",
                           ":", "/", "*", " ", "\n", "\"", "\\", "é"])
_STRINGS = st.lists(_PIECES, max_size=6).map("".join)


@settings(max_examples=300, deadline=None)
@given(action=_STRINGS, resource=_STRINGS, key=_STRINGS, value=_STRINGS, principal=_STRINGS)
def test_documents_said_free_of_placeholders_hold_none(action: str, resource: str, key: str,
                                                       value: str, principal: str) -> None:
    document = {"Version": "2012-10-17", "Statement": [
        {"Effect": "Allow", "Action": [action], "Resource": resource,
         "Principal": {"AWS": principal}, "Condition": {"StringEquals": {key: [value]}}}]}
    doc = Doc(lint.LintInput("p.json", "trust", document), _options())
    if any(lint.placeholders(s) for s in (action, resource, key, value, principal)):
        assert doc.may_hold_placeholders
        assert any(f.rule == "GG003" for f in lint.lint([doc.input], _options()))


def test_display_names_of_a_tree_are_those_of_each_file(tmp_path: Path,
                                                        monkeypatch: pytest.MonkeyPatch) -> None:
    work, away = tmp_path / "work", tmp_path / "away"
    root = work / "out"
    for folder in ("a/policies", "b/policies", "moved/c/policies", "real/e"):
        (root / folder).mkdir(parents=True)
    (away / "d" / "policies").mkdir(parents=True)
    for path in ("a/policies/x.json", "b/policies/y.json", "moved/c/policies/z.json",
                 "real/e/t.json"):
        (root / path).write_text("{}", encoding="utf-8")
    (away / "d" / "policies" / "w.json").write_text("{}", encoding="utf-8")
    os.symlink(root / "moved" / "c", root / "c")  # a folder elsewhere in the tree
    os.symlink(away / "d", root / "d")  # a folder outside the working directory
    os.symlink(root / "real" / "e" / "t.json", root / "a" / "policies" / "link.json")  # a file
    paths = ["a/policies/x.json", "a/policies/link.json", "a/policies/missing.json",
             "b/policies/y.json", "c/policies/z.json", "d/policies/w.json", "top.json", "a/ax.json",
             "new/folder/n.json", "a/../b/policies/y.json", "a/./policies/x.json", "/abs.json"]
    shown = {}
    for cwd, out in ((work, Path("out")), (work, root), (root / "a", Path("..")),
                     (tmp_path, Path("work/out")), (away, root)):
        monkeypatch.chdir(cwd)
        expected = [cli_lint._display(out / p, cwd.resolve()) for p in paths]
        assert cli_lint._display_tree(out, paths, cwd.resolve()) == expected
        shown[cwd, out] = expected
    assert shown[work, Path("out")][:6] == [
        "out/a/policies/x.json", "out/real/e/t.json", "out/a/policies/missing.json",
        "out/b/policies/y.json", "out/moved/c/policies/z.json", "out/d/policies/w.json"]
    assert shown[root / "a", Path("..")][7] == "ax.json"


def test_plan_mode_reads_only_what_it_places_and_places_it_as_before(
        tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    cfg = tmp_path / "guardgen.yaml"
    # A synthetic organization with a CI role policy that has findings, repeated across accounts.
    text = synthetic.make_config(40)
    assert "resources: [\"arn:aws:s3:::artifacts-" in text
    cfg.write_text(text.replace("actions: [s3:PutObject]", "actions: [s3:PutObject, s3:Gett]"),
                   encoding="utf-8")
    assert CliRunner().invoke(app, ["generate", "-c", str(cfg)]).exit_code == 0
    out = pipeline.output_dir(pipeline.load(cfg))
    policies = sorted(out.rglob("role_deploy_*_policy.json"))
    assert len(policies) > 10
    stale, reformatted, missing = policies[0], policies[1], policies[2]
    stale.write_text(stale.read_text("utf-8").replace("Gett", "Put"), encoding="utf-8")
    reformatted.write_text(json.dumps(json.loads(reformatted.read_text("utf-8"))), encoding="utf-8")
    missing.unlink()
    monkeypatch.chdir(tmp_path)
    inputs, options = cli_lint.plan_inputs(Path("guardgen.yaml"), None)
    eager = lint.lint(inputs, options)
    assert len(inputs) == len(plan.policy_documents(plan.build(pipeline.load(cfg).config)))
    lines = {tmp_path / f.path: f.line for f in eager}
    assert len(lines) > 10 and set(lines) >= {stale, missing, reformatted}
    assert lines.pop(stale) is None and lines.pop(missing) is None  # no text to place them in
    assert lines.pop(reformatted) == 1
    assert all(line is not None and line > 1 for line in lines.values())
    r = CliRunner().invoke(app, ["lint", "--format", "json"])
    assert r.exit_code == 1, r.output
    report = json.loads(r.stdout)
    assert report["findings"] == [
        {"rule": f.rule, "name": f.name, "severity": f.severity, "message": f.message,
         "path": f.path, "pointer": f.pointer, "line": f.line, "column": f.column,
         "where": f.where, "source": f.source} for f in eager]
    assert [d["path"] for d in report["documents"]] == [d.path for d in inputs]


def test_a_forked_child_checking_half_the_documents_finds_what_one_process_finds(
        monkeypatch: pytest.MonkeyPatch) -> None:
    from guardgen import forked
    from guardgen.policy.lint import engine

    if not forked.available():
        pytest.skip("one CPU: no second process")
    docs: list[lint.LintInput] = []
    for i in range(40):
        doc = json.loads(json.dumps(DOC))
        doc["Statement"][0]["Action"].append(f"s3:Nope{i}")
        for kind in ("identity", "scp", "trust"):
            docs.append(lint.LintInput(f"p{i}-{kind}.json", kind, doc))  # type: ignore[arg-type]
    docs.append(lint.LintInput("bad.json", "identity", None, unreadable=lint.Unreadable("not JSON")))
    docs.append(lint.LintInput("again.json", "identity", docs[0].document))
    options = _options(break_glass=(BG,))
    monkeypatch.setattr(engine, "_FORK_FROM", 10**9)
    alone = lint.lint(docs, options)
    forks: list[int] = []
    real = forked.Forked

    def counted(fn: Any) -> Any:
        forks.append(1)
        return real(fn)

    monkeypatch.setattr(forked, "Forked", counted)
    monkeypatch.setattr(engine, "_FORK_FROM", 2)
    shared = lint.lint(docs, options)
    assert forks == [1]
    assert shared == alone
    assert {f.rule for f in alone} >= {"GG004", "GG102"}
    assert len({f.path for f in alone}) > 80  # findings from both halves
