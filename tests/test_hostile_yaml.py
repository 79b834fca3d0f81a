"""Hostile YAML: every case exits 2 with one message naming file:line, within 2 s, and the output
tree stays as it was. The corpus lives in tests/data/hostile-yaml (one file per case, and
expected.json: file name → the message it must produce, as a regular expression)."""

from __future__ import annotations

import json
import math
import re
import shutil
import subprocess
import sys
import time
from pathlib import Path

import pytest
import yaml
from hypothesis import given, settings
from hypothesis import strategies as st

from guardgen.config import source
from guardgen.errors import ConfigError
from support import ACME, REPO
from test_output import snapshot

CORPUS = REPO / "tests" / "data" / "hostile-yaml"
EXPECTED: dict[str, str] = json.loads((CORPUS / "expected.json").read_text(encoding="utf-8"))
GUARDGEN = Path(sys.executable).with_name("guardgen")
LIMIT_S = 2.0


@pytest.fixture(scope="module")
def acme_tree(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """A generated acme tree to copy: each case starts from it."""
    d = tmp_path_factory.mktemp("acme")
    shutil.copyfile(ACME, d / "guardgen.yaml")
    r = subprocess.run([GUARDGEN, "generate", "-q", "-c", d / "guardgen.yaml"], capture_output=True)
    assert r.returncode == 0, r.stderr
    return d


@pytest.fixture
def repo(acme_tree: Path, tmp_path: Path) -> Path:
    shutil.copytree(acme_tree, tmp_path / "repo")
    return tmp_path / "repo"


def _refused(cli, cfg: Path, pattern: str, *commands: str) -> str:
    """Run each command (generate by default: the one that could write) on ``cfg``."""
    out = cfg.parent / "terraform"
    before = snapshot(out)
    for command in commands or ("generate",):
        started = time.perf_counter()
        r = cli(command, "-c", cfg)
        elapsed = time.perf_counter() - started
        assert r.exit_code == 2, (command, r.output[:2000])
        assert [line for line in r.output.splitlines() if line.startswith("error:")] == [
            "error: invalid configuration (1 problem):"], r.output[:2000]
        assert re.search(pattern, r.output), r.output[:2000]
        assert len(r.output) < 2000, "an error never echoes a large value"
        assert elapsed < LIMIT_S, f"{command} took {elapsed:.1f} s"
    assert snapshot(out) == before
    return str(r.output)


def test_the_corpus_has_sixty_cases_or_more_each_with_its_message() -> None:
    files = sorted(p.name for p in CORPUS.glob("*.yaml"))
    assert files == sorted(EXPECTED)
    assert len(files) >= 60
    for pattern in EXPECTED.values():
        re.compile(pattern)


@pytest.mark.parametrize("name", sorted(EXPECTED))
def test_hostile_case(cli, repo: Path, name: str) -> None:
    cfg = repo / "guardgen.yaml"
    shutil.copyfile(CORPUS / name, cfg)
    # check reads the config exactly as generate does; running both on every tenth case keeps
    # the suite fast while proving it.
    _refused(cli, cfg, EXPECTED[name], *(("generate", "check") if name[2] == "0" else ()))


# --- cases too large to keep as files ----------------------------------------------------


def _write(cfg: Path, text: str | bytes) -> None:
    cfg.write_bytes(text.encode("utf-8") if isinstance(text, str) else text)


def test_a_50_mb_scalar_is_refused_by_size_before_it_is_read(cli, repo: Path) -> None:
    cfg = repo / "guardgen.yaml"
    _write(cfg, ACME.read_text().replace('id: "444444444444"', 'id: "' + "4" * 50_000_000 + '"'))
    _refused(cli, cfg, r"guardgen\.yaml: 50,0\d\d,\d{3} bytes is larger than the 16 MiB guardgen "
             r"reads \(a 10,000-account organization is about 3\.5 MB\); refusing to load it")


def test_a_flood_of_list_items_is_refused_before_parsing(cli, repo: Path) -> None:
    cfg = repo / "guardgen.yaml"
    _write(cfg, "- a\n" * 3_000_000)  # 12 MB: under the size limit
    _refused(cli, cfg, r"guardgen\.yaml: holds up to 6,000,001 values \(lines, list items, nested "
             r"lists and mappings\), more than the 400,000 guardgen reads")
    _write(cfg, "units: [" + ",".join(["{}"] * 300_000) + "]\n")
    _refused(cli, cfg, r"holds up to 600,00\d values")
    _write(cfg, "units:\n" + ("  " + "- " * 30 + "a\n") * 20_000)
    _refused(cli, cfg, r"holds up to [\d,]+ values")


def test_a_document_just_over_the_value_limit_is_refused_in_time(cli, repo: Path) -> None:
    cfg = repo / "guardgen.yaml"
    # Few lines, many values: aliases. Each one counts its whole expansion.
    _write(cfg, "base: &b [" + ",".join(["x"] * 1000) + "]\nunits: [" + ",".join(["*b"] * 400)
           + "]\n")
    _refused(cli, cfg, r"guardgen\.yaml:2:\d+: the document holds more than 400,000 values once "
             r"aliases are expanded \(alias bomb\?\)")


def test_the_limits_leave_room_for_the_largest_organization() -> None:
    """A 10,000-account organization with IAM in every account loads, well inside every limit."""
    sys.path.insert(0, str(REPO / "benchmarks"))
    from synthetic import make_config

    text = make_config(10_000)
    loaded = source.loads(text, "g")
    assert len(text.encode()) * 4 < source.MAX_BYTES
    assert len(loaded.marks) * 2 < source.MAX_NODES  # every value and key has a mark


@pytest.mark.parametrize("where, pattern", [
    ("/dev/zero", r"/dev/zero: larger than the 16 MiB guardgen reads"),
    ("dir", r"is a directory"),
    ("missing.yaml", r"missing\.yaml: cannot read: No such file or directory"),
])
def test_configs_that_are_not_files(cli, repo: Path, where: str, pattern: str) -> None:
    cfg = Path(where) if where.startswith("/") else repo / where
    if where == "dir":
        cfg.mkdir()
    before = snapshot(repo / "terraform")
    started = time.perf_counter()
    r = cli("generate", "-c", cfg)
    assert time.perf_counter() - started < LIMIT_S
    assert r.exit_code == 2 and re.search(pattern, r.output), r.output
    assert snapshot(repo / "terraform") == before


# --- unusual but valid ---------------------------------------------------------------------


@pytest.mark.parametrize("shape", ["bom", "crlf", "json", "aliases"])
def test_unusual_but_valid_files_generate_the_same_tree(cli, repo: Path, shape: str) -> None:
    cfg = repo / "guardgen.yaml"
    text = ACME.read_text()
    if shape == "bom":
        _write(cfg, "\ufeff" + text)
    elif shape == "crlf":
        _write(cfg, text.replace("\n", "\r\n"))
    elif shape == "json":
        cfg.write_text(json.dumps(yaml.safe_load(text), indent=1))
    else:
        _write(cfg, text.replace("    guardrails: [protect-cloudtrail, deny-root-user]",
                                 "    guardrails: &base [protect-cloudtrail, deny-root-user]"))
    before = snapshot(repo / "terraform")
    r = cli("check", "-c", cfg)
    assert r.exit_code == 0, r.output
    assert snapshot(repo / "terraform") == before


def test_positions_survive_the_fast_loader() -> None:
    text = ACME.read_text()
    loc = source.loads(text, "g.yaml")
    assert loc.data == yaml.safe_load(text)
    assert loc.where(("units", 1, "units", 0, "accounts", 0, "id")) == "g.yaml:24:32"
    assert loc.where(("organization", "home_region")) == "g.yaml:5:3"
    assert loc.where(("units", 1, "units", 1, "guardrails", 0)) == "g.yaml:26:22"


_scalars = (st.text(max_size=40) | st.integers(-10**12, 10**12) | st.booleans() | st.none()
            | st.floats(allow_nan=False, allow_infinity=False))
_documents = st.recursive(_scalars, lambda inner: st.lists(inner, max_size=5)
                          | st.dictionaries(st.text(min_size=1, max_size=20), inner, max_size=5),
                          max_leaves=40)


@settings(max_examples=60, deadline=None)
@given(st.dictionaries(st.text(min_size=1, max_size=20), _documents, max_size=6))
def test_the_loader_reads_what_a_yaml_dumper_wrote(data: dict[str, object]) -> None:
    """Any document of plain data round-trips exactly as PyYAML's safe loader reads it."""
    for style in (False, True, None):
        text = yaml.safe_dump(data, default_flow_style=style, allow_unicode=True)
        try:
            loaded = source.loads(text, "g").data
        except ConfigError as exc:  # only the documented refusals may happen
            assert re.search(r"control character|more than", str(exc)), exc
            continue
        assert _same(loaded, yaml.safe_load(text)), text


def _same(a: object, b: object) -> bool:
    if isinstance(a, float) and isinstance(b, float):
        return a == b or (math.isnan(a) and math.isnan(b))
    if isinstance(a, list) and isinstance(b, list):
        return len(a) == len(b) and all(_same(x, y) for x, y in zip(a, b, strict=True))
    if isinstance(a, dict) and isinstance(b, dict):
        return a.keys() == b.keys() and all(_same(a[k], b[k]) for k in a)
    return type(a) is type(b) and a == b
