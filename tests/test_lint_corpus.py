"""The lint corpus by class (tests/data/lint-corpus): each file's exact findings and inferred type,
lint and the evaluator agreeing on the break-glass exemptions of its SCPs, and CLI runs over the
whole corpus, in every format, that must not stop at the files that are not policies."""

from __future__ import annotations

import json
from collections import Counter
from pathlib import Path
from typing import Any

import pytest
import typer
from typer.testing import CliRunner, Result

from guardgen import catalog
from guardgen.cli import lint as cli_lint
from guardgen.policy import evaluate, lint
from test_lint import sarif_problems

CORPUS = Path(__file__).resolve().parent / "data" / "lint-corpus"
EXPECTATIONS: dict[str, Any] = json.loads((CORPUS / "expectations.json").read_text("utf-8"))
FILES: dict[str, dict[str, Any]] = EXPECTATIONS["files"]
CLASSES: dict[str, str] = EXPECTATIONS["classes"]
BREAK_GLASS: tuple[str, ...] = tuple(EXPECTATIONS["break_glass"])
NAMES = sorted(FILES)
# A directory scan lints the JSON files that hold a Statement, and every file that is not JSON.
SCANNED = [n for n in NAMES if FILES[n].get("readable") is False
           or "Statement" in json.loads((CORPUS / n).read_text("utf-8"))]


def _options() -> lint.LintOptions:
    return lint.LintOptions(break_glass=BREAK_GLASS, everyone=catalog.everyone_statements(catalog.REGISTRY))


def test_every_file_has_a_class_and_every_class_good_and_bad_files() -> None:
    on_disk = {p.name for p in CORPUS.iterdir()} - {"expectations.json", "README.md"}
    assert on_disk == set(FILES)
    for name, entry in FILES.items():
        assert entry["class"] in CLASSES and name.startswith(entry["class"] + "-"), name
        assert entry["type"] in lint.KINDS
        assert entry["findings"] == sorted(entry["findings"]) and set(entry["findings"]) <= set(lint.BY_ID)
        assert entry["note"]
    for cls in CLASSES:
        entries = [e for e in FILES.values() if e["class"] == cls]
        assert any(not e["findings"] for e in entries), f"{cls}: no good file"
        assert any(e["findings"] for e in entries), f"{cls}: no bad file"


@pytest.mark.parametrize("name", NAMES)
def test_file_has_exactly_the_expected_findings(name: str) -> None:
    entry = FILES[name]
    (item,) = cli_lint.file_inputs([CORPUS / name], None)  # read and typed as the CLI does
    if entry.get("readable") is False:
        assert item.unreadable is not None
    else:
        assert item.kind == entry["type"], item.kind_reason
    got = lint.lint([item], _options())
    assert sorted(f.rule for f in got) == entry["findings"], "\n".join(
        f"{f.rule} {f.pointer}: {f.message}" for f in got)
    for f in got:
        assert f.line is not None and f.column is not None, f


def _concrete(arn: str) -> str:
    return arn.replace(":*:", ":111122223333:")


def _only_principal_conditions(doc: dict[str, Any]) -> bool:
    return all(key.lower() == "aws:principalarn" for s in doc["Statement"]
               for tests in s.get("Condition", {}).values() for key in tests)


AGREEMENT = [n for n in NAMES if FILES[n]["type"] == "scp" and FILES[n].get("readable") is not False
             and _only_principal_conditions(json.loads((CORPUS / n).read_text("utf-8")))]


@pytest.mark.parametrize("name", AGREEMENT)
def test_break_glass_rule_agrees_with_the_evaluator(name: str) -> None:
    # GG601 reports a Deny exactly when evaluating a break-glass role's request against it denies.
    doc = json.loads((CORPUS / name).read_text("utf-8"))
    admin = [evaluate.Policy("admin", {"Version": "2012-10-17", "Statement": [
        {"Effect": "Allow", "Action": "*", "Resource": "*"}]})]
    for n, statement in enumerate(doc["Statement"]):
        one = {"Version": doc["Version"], "Statement": [statement]}
        linted = lint.lint([lint.LintInput(name, "scp", one)], _options())
        flagged = any(f.rule == "GG601" for f in linted)
        action = lint.Stmt(statement, "").strings("Action")[0][0]
        denied = [arn for arn in BREAK_GLASS if evaluate.evaluate(
            evaluate.Request(_concrete(arn), "111122223333", action.replace("*", "List")),
            scp_levels=[[evaluate.Policy(name, one)]], identity=admin).reason == "explicit-deny"]
        assert flagged == bool(denied), (n, denied)


def _root() -> typer.Typer:
    root = typer.Typer(add_completion=False, rich_markup_mode=None, pretty_exceptions_enable=False,
                       no_args_is_help=True)

    @root.command()
    def version() -> None:
        """A sibling command, as in guardgen's CLI."""

    cli_lint.register(root)
    return root


def _run(*args: str | Path) -> Result:
    bg = [a for b in BREAK_GLASS for a in ("--break-glass", b)]
    return CliRunner().invoke(_root(), ["lint", *map(str, args), *bg], catch_exceptions=False)


def _by_file(pairs: list[tuple[str, str]]) -> dict[str, list[str]]:
    out: dict[str, list[str]] = {}
    for path, rule in pairs:
        out.setdefault(Path(path).name, []).append(rule)
    return {name: sorted(rules) for name, rules in out.items()}


def _expected(names: list[str]) -> dict[str, list[str]]:
    return {n: FILES[n]["findings"] for n in names if FILES[n]["findings"]}


@pytest.mark.parametrize("named", [True, False], ids=["files", "directory"])
def test_one_run_over_the_corpus_as_json(named: bool) -> None:
    args = [CORPUS / n for n in NAMES] if named else [CORPUS]
    r = _run(*args, "--format", "json")
    assert r.exit_code == 1, r.output  # findings, not a usage error, and no traceback
    report = json.loads(r.stdout)
    linted = NAMES if named else SCANNED
    assert sorted(Path(d["path"]).name for d in report["documents"]) == linted
    assert _by_file([(f["path"], f["rule"]) for f in report["findings"]]) == _expected(linted)
    kinds = {Path(d["path"]).name: d for d in report["documents"]}
    assert kinds["robust-deny-only-no-principal.json"]["kind"] == "scp"
    assert "every statement is a Deny" in kinds["robust-deny-only-no-principal.json"]["kind_reason"]
    assert "could not be read" in kinds["robust-latin1.json"]["kind_reason"]


def test_one_run_over_the_corpus_as_sarif() -> None:
    r = _run(CORPUS, "--format", "sarif")
    assert r.exit_code == 1, r.output
    log = json.loads(r.stdout)
    assert sarif_problems(log) == []
    run = log["runs"][0]
    results = run["results"]
    got = _by_file([(res["locations"][0]["physicalLocation"]["artifactLocation"]["uri"], res["ruleId"])
                    for res in results])
    assert got == _expected(SCANNED)
    assert all("region" in res["locations"][0]["physicalLocation"] for res in results)
    unreadable = [res for res in results if res["ruleId"] == "GG004"]
    assert len(unreadable) == sum(1 for n in SCANNED if FILES[n].get("readable") is False)
    artifacts = {Path(a["location"]["uri"]).name: a["properties"] for a in run["artifacts"]}
    assert sorted(artifacts) == SCANNED
    assert artifacts["robust-deny-only-no-principal.json"]["policyType"] == "scp"
    assert artifacts["oidc-aud-exact.json"]["policyType"] == "trust"


def test_one_run_over_the_corpus_as_text() -> None:
    r = _run(CORPUS)
    assert r.exit_code == 1
    pairs = []
    for line in r.stdout.splitlines():
        place, rest = line.split(": ", 1)
        pairs.append((place.split(":")[0], rest.split()[1]))
    assert _by_file(pairs) == _expected(SCANNED)
    assert "robust-trailing-comma.json:4:" in r.stdout  # where JSON parsing stopped
    assert "robust-latin1.json:3:" in r.stdout and "not UTF-8 text" in r.stdout
    assert "byte order mark" in r.stdout
    # The type each file with findings was linted as, when inferred.
    note = "robust-deny-only-no-principal.json: linted as scp (inferred: every statement is a Deny"
    assert note in r.stderr
    assert "policy documents:" in r.stderr.splitlines()[-1]


def test_findings_counted_per_class() -> None:
    # The corpus's shape, as reported: per class, how many files, how many good.
    shape = Counter(e["class"] for e in FILES.values())
    assert set(shape) == set(CLASSES) and all(n >= 6 for n in shape.values())
    assert len(FILES) >= 70
