"""`guardgen alarms` through a Typer root of its own, the way cli.py registers it."""

from __future__ import annotations

import gzip
import json
import re
from pathlib import Path
from typing import Any

import pytest
import typer
from typer.testing import CliRunner, Result

from guardgen.catalog import alarms
from guardgen.cli import alarms as cli_alarms

CORPUS = Path(__file__).resolve().parent / "data" / "cloudtrail"
EXPECTATIONS: dict[str, list[str]] = json.loads((CORPUS / "expectations.json").read_text("utf-8"))
NAMES = sorted(EXPECTATIONS)
RECORDS: list[dict[str, Any]] = [json.loads((CORPUS / n).read_text("utf-8")) for n in NAMES]
BY_EVENT_ID = {r["eventID"]: EXPECTATIONS[n] for n, r in zip(NAMES, RECORDS, strict=True)}

CONFIG = """\
version: 1
organization:
  name: test
  management_account_id: "111122223333"
  home_region: us-east-1
  break_glass_principals: [arn:aws:iam::*:role/BreakGlassAdmin]
"""


def _root() -> typer.Typer:
    root = typer.Typer(add_completion=False, rich_markup_mode=None, pretty_exceptions_enable=False,
                       no_args_is_help=True)

    @root.command()
    def version() -> None:
        """A sibling command, so `alarms` is a real sub-group as in guardgen's CLI."""

    root.add_typer(cli_alarms.app, name="alarms")
    return root


@pytest.fixture
def run(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Any:
    # An empty working directory: no stray guardgen.yaml decides which alarms run.
    monkeypatch.chdir(tmp_path)
    runner = CliRunner()
    app = _root()

    def invoke(*args: str | Path) -> Result:
        return runner.invoke(app, ["alarms", *map(str, args)], catch_exceptions=False)

    return invoke


@pytest.fixture
def trail_log(tmp_path: Path) -> Path:
    """The whole corpus as one CloudTrail log file."""
    path = tmp_path / "111122223333_CloudTrail_us-east-1_20250531T0000Z_corpus.json"
    path.write_text(json.dumps({"Records": RECORDS}), encoding="utf-8")
    return path


def _fired(result: Result) -> dict[str, list[str]]:
    data = json.loads(result.stdout)
    assert isinstance(data, list)
    assert all(set(item) == {"event", "fired"} and isinstance(item["event"], str) for item in data)
    return {item["event"]: item["fired"] for item in data}


def test_no_subcommand_lists_ids_and_titles(run: Any) -> None:
    result = run()
    assert result.exit_code == 0
    lines = result.stdout.splitlines()
    assert len(lines) == len(alarms.REGISTRY)
    for line, alarm in zip(lines, alarms.REGISTRY, strict=True):
        assert line.split()[0] == alarm.id
        assert line.endswith(alarm.title)


def test_explain_shows_all_metadata_and_the_pattern(run: Any) -> None:
    alarm = alarms.BY_ID["unauthorized-api-calls"]
    result = run("explain", alarm.id)
    assert result.exit_code == 0
    for text in (alarm.title, alarm.description, alarm.source, alarm.metric_name, alarm.filter_pattern,
                 "CIS 4.1 / Security Hub CloudWatch.2", "No CloudTrail monitoring", "Sum over 300 s"):
        assert text in result.stdout, text


def test_explain_says_when_a_pattern_is_guardgens_own(run: Any) -> None:
    result = run("explain", "access-key-created")
    assert result.exit_code == 0
    assert "not a CIS control" in result.stdout


def test_explain_unknown_id_exits_2(run: Any) -> None:
    result = run("explain", "root-usuage")
    assert result.exit_code == 2
    assert "unknown alarm 'root-usuage'" in result.stderr
    assert result.stdout == ""


def test_json_report_on_a_trail_log_matches_the_expectations(run: Any, trail_log: Path) -> None:
    result = run("test", trail_log, "--format", "json")
    assert result.exit_code == 0, result.output
    assert _fired(result) == BY_EVENT_ID
    assert [item["event"] for item in json.loads(result.stdout)] == [r["eventID"] for r in RECORDS]


def test_gzipped_log_as_cloudtrail_delivers_it(run: Any, tmp_path: Path) -> None:
    path = tmp_path / "log.json.gz"
    path.write_bytes(gzip.compress(json.dumps({"Records": RECORDS}).encode()))
    result = run("test", path, "--format", "json")
    assert result.exit_code == 0, result.output
    assert _fired(result) == BY_EVENT_ID


def test_a_list_of_records_without_ids_is_reported_by_file_and_index(run: Any, tmp_path: Path) -> None:
    records = [{k: v for k, v in r.items() if k != "eventID"} for r in RECORDS[:5]]
    path = tmp_path / "events.json"
    path.write_text(json.dumps(records), encoding="utf-8")
    result = run("test", path, "--format", "json")
    assert result.exit_code == 0
    assert _fired(result) == {f"{path}#/{i}": EXPECTATIONS[n] for i, n in enumerate(NAMES[:5])}


def test_every_event_has_a_stable_reference(run: Any, tmp_path: Path) -> None:
    # A CloudTrail log where some records lack an eventID: those are named by file and JSON
    # pointer, the others by eventID; two runs name every event alike, and no two alike.
    records = [dict(r) for r in RECORDS[:6]]
    for r in records[1::2]:
        del r["eventID"]
    records[2]["eventID"] = ""  # empty: no id either
    path = tmp_path / "mixed.json.gz"
    path.write_bytes(gzip.compress(json.dumps({"Records": records}).encode()))
    first = json.loads(run("test", path, "--format", "json").stdout)
    second = json.loads(run("test", path, "--format", "json").stdout)
    assert first == second
    refs = [item["event"] for item in first]
    assert len(set(refs)) == len(refs) == 6
    assert refs[0] == RECORDS[0]["eventID"]
    assert refs[1] == f"{path}#/Records/1"
    assert refs[2] == f"{path}#/Records/2"
    assert [item["fired"] for item in first] == [
        alarms.fired([r])[0][1] for r in records]
    # The text report names them the same way.
    text = run("test", path).stdout.splitlines()
    assert [line.split()[0] for line in text] == refs


def test_a_single_record_file_is_named_by_the_file(run: Any, tmp_path: Path) -> None:
    record = {k: v for k, v in RECORDS[0].items() if k != "eventID"}
    path = tmp_path / "one.json"
    path.write_text(json.dumps(record), encoding="utf-8")
    (item,) = json.loads(run("test", path, "--format", "json").stdout)
    assert item["event"] == f"{path}#"  # the pointer to the whole file


def test_event_id_without_a_source_keeps_the_index() -> None:
    assert alarms.event_id({}, 3) == 3
    assert alarms.event_id({"eventID": "e"}, 3, "f.json", "/Records/3") == "e"
    assert alarms.event_id({"eventID": 7}, 3, "f.json") == "f.json#/3"


def test_a_single_corpus_record(run: Any) -> None:
    result = run("test", CORPUS / "root-create-access-key.json", "--format", "json")
    assert result.exit_code == 0
    assert list(_fired(result).values()) == [["access-key-created", "root-usage"]]


def test_text_report_lists_every_event(run: Any, trail_log: Path) -> None:
    result = run("test", trail_log)
    assert result.exit_code == 0
    lines = result.stdout.splitlines()
    assert len(lines) == len(RECORDS)
    for line, record in zip(lines, RECORDS, strict=True):
        eid, fired = line.split(maxsplit=1)
        assert eid == record["eventID"]
        expected = BY_EVENT_ID[eid]
        assert fired == (", ".join(expected) if expected else "-")
    hits = sum(1 for v in EXPECTATIONS.values() if v)
    assert f"{len(RECORDS)} events, {hits} set off an alarm (11 alarms tested)." in result.stderr


def test_alarm_option_limits_the_alarms(run: Any, trail_log: Path) -> None:
    result = run("test", trail_log, "--format", "json", "--alarm", "root-usage",
                 "--alarm", "console-auth-failures")
    assert result.exit_code == 0
    wanted = {"root-usage", "console-auth-failures"}
    assert _fired(result) == {e: [a for a in f if a in wanted] for e, f in BY_EVENT_ID.items()}


def test_unknown_alarm_option_exits_2(run: Any, trail_log: Path) -> None:
    result = run("test", trail_log, "--alarm", "nope")
    assert result.exit_code == 2
    assert "unknown alarm 'nope'" in result.stderr


def test_alarms_come_from_monitoring_in_the_config(run: Any, trail_log: Path, tmp_path: Path) -> None:
    (tmp_path / "guardgen.yaml").write_text(CONFIG + "monitoring:\n  alarms: [principal-created]\n")
    result = run("test", trail_log, "--format", "json")  # guardgen.yaml in the working directory
    assert result.exit_code == 0, result.output
    assert _fired(result) == {e: [a for a in f if a == "principal-created"]
                              for e, f in BY_EVENT_ID.items()}
    # --alarm wins over the config.
    result = run("test", trail_log, "--format", "json", "--alarm", "root-usage")
    assert {a for f in _fired(result).values() for a in f} == {"root-usage"}


def test_explicit_config_path(run: Any, trail_log: Path, tmp_path: Path) -> None:
    cfg = tmp_path / "org" / "custom.yaml"
    cfg.parent.mkdir()
    cfg.write_text(CONFIG + "monitoring:\n  alarms: [root-usage]\n")
    result = run("test", trail_log, "--format", "json", "--config", cfg)
    assert result.exit_code == 0, result.output
    assert {a for f in _fired(result).values() for a in f} == {"root-usage"}


@pytest.mark.parametrize("monitoring", ["", "monitoring:\n  trail: create\n"])
def test_config_without_alarms_tests_every_alarm(run: Any, trail_log: Path, tmp_path: Path,
                                                 monitoring: str) -> None:
    # No monitoring section, or one without alarms (the generator then deploys them all).
    (tmp_path / "guardgen.yaml").write_text(CONFIG + monitoring)
    result = run("test", trail_log, "--format", "json")
    assert result.exit_code == 0, result.output
    assert _fired(result) == BY_EVENT_ID


def test_invalid_config_exits_2_with_its_problems(run: Any, trail_log: Path, tmp_path: Path) -> None:
    (tmp_path / "guardgen.yaml").write_text(CONFIG.replace('"111122223333"', '"1234"'))
    result = run("test", trail_log)
    assert result.exit_code == 2
    assert "invalid configuration" in result.stderr
    assert "management_account_id" in result.stderr
    assert result.stdout == ""


def test_missing_explicit_config_exits_2(run: Any, trail_log: Path, tmp_path: Path) -> None:
    result = run("test", trail_log, "--config", tmp_path / "nope.yaml")
    assert result.exit_code == 2
    assert "nope.yaml: no such config file" in result.stderr


@pytest.mark.parametrize(("content", "message"), [
    (b'{"Records": [\n  {"eventName": "x",}\n]}', r"bad.json:2:\d+: invalid JSON: "),
    (b"", "bad.json:1:1: invalid JSON"),
    (b'{"records": []}', "expected a CloudTrail log"),
    (b'"text"', "expected a CloudTrail log"),
    (b'{"Records": [{"eventName": "x"}, 3]}', r"Records\[1\]: expected a CloudTrail record .*got a number"),
    (b'[null]', r"\[0\]: expected a CloudTrail record .*got null"),
    (b"\x1f\x8b\x08\x00garbage", "not a valid gzip file"),
    (b"\xff\xfe\x00{", "not UTF-8 text"),
    (b"[" * 100_000, "invalid JSON"),
    (b"[" + b"9" * 5000 + b"]", "invalid JSON"),
])
def test_bad_input_exits_2_naming_the_file(run: Any, tmp_path: Path, content: bytes, message: str) -> None:
    path = tmp_path / "bad.json"
    path.write_bytes(content)
    result = run("test", path)
    assert result.exit_code == 2
    assert result.stdout == ""
    assert re.search(message, result.stderr), result.stderr
    assert "bad.json" in result.stderr


def test_missing_file_exits_2(run: Any, tmp_path: Path) -> None:
    result = run("test", tmp_path / "absent.json")
    assert result.exit_code == 2
    assert "absent.json: cannot read" in result.stderr


def test_unknown_format_is_a_usage_error(run: Any, trail_log: Path) -> None:
    result = run("test", trail_log, "--format", "yaml")
    assert result.exit_code == 2


def test_importing_the_cli_module_does_not_import_pydantic() -> None:
    import subprocess
    import sys

    code = "import sys, guardgen.cli.alarms; print('pydantic' in sys.modules)"
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True)
    assert out.stdout.strip() == "False"
