"""The commands end to end through the real Typer app: exit codes, messages, files."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from guardgen import catalog, pipeline
from support import tree_digest


def test_init_generates_a_tree_that_checks_clean(cli, tmp_path: Path) -> None:
    d = tmp_path / "lz"
    r = cli("init", d)
    assert r.exit_code == 0, r.output
    assert (d / "guardgen.yaml").read_text().startswith("# guardgen.yaml")
    wf = (d / ".github/workflows/guardgen.yml").read_text()
    assert "guardgen check" in wf
    assert (d / "terraform/management/scps.tf").exists()
    r = cli("check", "--config", d / "guardgen.yaml")
    assert r.exit_code == 0, r.output


def test_init_refuses_to_overwrite_a_config(cli, tmp_path: Path) -> None:
    (tmp_path / "guardgen.yaml").write_text("mine\n")
    r = cli("init", tmp_path)
    assert r.exit_code == 2
    assert "already exists" in r.output
    assert (tmp_path / "guardgen.yaml").read_text() == "mine\n"


def test_second_generate_writes_nothing_and_says_so(cli, acme: Path) -> None:
    assert cli("generate", "-c", acme).exit_code == 0
    out = acme.parent / "terraform"
    before = {p: p.stat().st_mtime_ns for p in out.rglob("*") if p.is_file()}
    r = cli("generate", "-c", acme)
    assert r.exit_code == 0
    assert "nothing written" in r.output
    assert before == {p: p.stat().st_mtime_ns for p in out.rglob("*") if p.is_file()}


def test_check_reports_stale_output_with_a_diff(cli, acme: Path) -> None:
    assert cli("generate", "-c", acme).exit_code == 0
    acme.write_text(acme.read_text().replace("name: Prod", "name: Production"))
    r = cli("check", "-c", acme)
    assert r.exit_code == 1
    assert '-  name      = "Prod"' in r.output
    assert '+  name      = "Production"' in r.output
    assert "Run `guardgen generate`" in r.output


def test_check_reports_hand_edits_and_generate_refuses_them(cli, acme: Path) -> None:
    assert cli("generate", "-c", acme).exit_code == 0
    scps = acme.parent / "terraform/management/scps.tf"
    scps.write_text(scps.read_text() + "# tweak\n")
    r = cli("check", "-c", acme)
    assert r.exit_code == 1 and "-# tweak" in r.output
    before = tree_digest(acme.parent / "terraform")
    r = cli("generate", "-c", acme)
    assert r.exit_code == 2
    assert "management/scps.tf (edited by hand" in r.output
    assert tree_digest(acme.parent / "terraform") == before
    assert cli("generate", "-c", acme, "--force").exit_code == 0
    assert cli("check", "-c", acme).exit_code == 0


def test_generate_removes_its_stale_files_and_keeps_foreign_ones(cli, acme: Path) -> None:
    assert cli("generate", "-c", acme).exit_code == 0
    out = acme.parent / "terraform"
    (out / "management/terraform.tfvars").write_text("# mine\n")
    (out / "notes.md").write_text("mine\n")
    stale = out / "management/policies/scp_ou_workloads_nonprod_1.json"
    assert stale.exists()
    acme.write_text(acme.read_text().replace("guardrails: [deny-iam-user-access-keys]", ""))
    r = cli("generate", "-c", acme)
    assert r.exit_code == 0, r.output
    assert "1 removed" in r.output
    assert not stale.exists()
    assert (out / "management/terraform.tfvars").read_text() == "# mine\n"
    assert (out / "notes.md").read_text() == "mine\n"
    assert cli("check", "-c", acme).exit_code == 0


def test_generate_refuses_to_overwrite_a_file_it_did_not_write(cli, acme: Path) -> None:
    out = acme.parent / "terraform/management"
    out.mkdir(parents=True)
    (out / "main.tf").write_text("# hand-written\n")
    (out / "scps.tf").write_text("# hand-written\n")
    r = cli("generate", "-c", acme)
    assert r.exit_code == 2
    assert "management/scps.tf (exists, but guardgen did not write it)" in r.output
    assert (out / "scps.tf").read_text() == "# hand-written\n"
    assert not (out / "versions.tf").exists()


def test_output_option_and_default_config_in_cwd(cli, acme: Path, monkeypatch) -> None:
    monkeypatch.chdir(acme.parent)
    r = cli("generate", "--output", "elsewhere")
    assert r.exit_code == 0, r.output
    assert (acme.parent / "elsewhere/management/versions.tf").exists()
    assert cli("check", "-o", "elsewhere").exit_code == 0
    assert cli("check").exit_code == 1  # terraform/ was never generated


def test_missing_config_is_exit_2(cli, tmp_path: Path) -> None:
    r = cli("check", "-c", tmp_path / "nope.yaml")
    assert r.exit_code == 2
    assert "nope.yaml: cannot read" in r.output


def test_guardrails_lists_and_explains(cli) -> None:
    r = cli("guardrails")
    assert r.exit_code == 0
    for g in catalog.REGISTRY:
        assert g.id in r.output
    r = cli("guardrails", "require-imdsv2")
    assert r.exit_code == 0
    policy = json.loads(r.output[r.output.index("{"):])
    assert policy["Version"] == "2012-10-17"
    assert any(s["Action"] == "ec2:ModifyInstanceMetadataOptions" for s in policy["Statement"])
    r = cli("guardrails", "no-such-thing")
    assert r.exit_code == 2 and "unknown guardrail" in r.output
    data = json.loads(cli("guardrails", "--json").output)
    assert [d["id"] for d in data] == [g.id for g in catalog.ALL]


def test_schema_is_json_schema_of_the_config(cli) -> None:
    r = cli("schema")
    assert r.exit_code == 0
    schema = json.loads(r.output)
    assert schema["$schema"].startswith("https://json-schema.org/")
    assert "organization" in schema["properties"]
    assert schema["additionalProperties"] is False


def test_help_teaches(cli) -> None:
    r = cli("--help")
    assert r.exit_code == 0
    for cmd in ("init", "generate", "check", "guardrails", "schema"):
        assert cmd in r.output
    assert "exit 1" in cli("check", "--help").output.lower()


def test_guardrail_docs_are_generated_from_the_registry(cli) -> None:
    from support import REPO

    committed = (REPO / "docs/guardrails.md").read_text(encoding="utf-8")
    assert committed == cli("guardrails", "--markdown").output, (
        "docs/guardrails.md is stale: run `guardgen guardrails --markdown > docs/guardrails.md`")


def test_readme_example_config_is_valid() -> None:
    import re

    from guardgen import plan
    from support import REPO

    readme = (REPO / "README.md").read_text(encoding="utf-8")
    (block,) = [b for b in re.findall(r"```yaml\n(.*?)```", readme, re.S) if "version: 1" in b]
    plan.build(pipeline.loads(block).config)


def test_backend_key_is_distinct_per_root() -> None:
    from guardgen import pipeline
    from support import EXAMPLES

    files = pipeline.run(EXAMPLES / "legacy-backend" / "guardgen.yaml").files
    backend = files["management/backend.tf"]
    assert 'key          = "platform/guardgen/management/terraform.tfstate"' in backend
    assert "use_lockfile = true" in backend
    assert "management/backend.tf" not in pipeline.run(EXAMPLES / "acme" / "guardgen.yaml").files


def test_cli_import_stays_light() -> None:
    import subprocess
    import sys

    code = ("import sys, guardgen.cli; heavy = [m for m in ('boto3', 'pydantic', 'jinja2', "
            "'yaml', 'typer') if m in sys.modules]; print(','.join(heavy))")
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True)
    assert out.stdout.strip() == ""


def _entry(argv: list[str], columns: str | None, *, probe: bool = False,
           name: str = "guardgen") -> str:
    """What the console script's ``main`` prints for ``argv`` at a terminal width of ``columns``;
    with ``probe``, also whether it imported Typer."""
    import os
    import subprocess
    import sys

    env = {k: v for k, v in os.environ.items() if k != "COLUMNS"}
    if columns is not None:
        env["COLUMNS"] = columns
    code = (f"import sys; sys.argv = [{name!r}, *{argv!r}]; from guardgen.cli import main\n"
            "try:\n    main()\nexcept SystemExit as e:\n    assert not e.code, e.code\n"
            + ("print('typer' in sys.modules)" if probe else ""))
    return subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True,
                          env=env).stdout


def _typer_help(columns: str) -> str:
    import os
    import subprocess
    import sys

    code = "from guardgen.cli import app; app(['--help'], prog_name='guardgen')"
    return subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True,
                          env={**os.environ, "COLUMNS": columns}).stdout


def test_top_level_help_file_is_what_typer_renders() -> None:
    from guardgen.cli import HELP_FILE

    with open(HELP_FILE, encoding="utf-8") as f:
        committed = f.read()
    assert committed == _typer_help("80"), (
        "generator/guardgen/cli/help.txt is stale: run ./scripts/regenerate-docs")


# click reads a COLUMNS that is not a positive number as no COLUMNS, and a pipe as 80 wide.
@pytest.mark.parametrize("columns", ["80", "200", None, "junk", "0"])
def test_help_and_version_answer_without_typer(columns: str | None) -> None:
    from guardgen import __version__

    help_out = _entry(["--help"], columns, probe=True)
    assert help_out == _typer_help("80") + "False\n"
    assert _entry(["--version"], columns, probe=True) == f"{__version__}\nFalse\n"


@pytest.mark.parametrize("columns", ["60", "79"])
def test_narrow_terminal_help_is_typer_wrapped(columns: str) -> None:
    out = _entry(["--help"], columns, probe=True)
    assert out.endswith("True\n")
    expected = _typer_help(columns)
    assert out == expected + "True\n"
    if columns == "60":
        assert max(map(len, expected.splitlines())) <= 58
        assert expected != _typer_help("80")


def test_installed_entry_point_runs_alarm_tests() -> None:
    import shutil
    import subprocess
    import sys
    from pathlib import Path

    from support import REPO

    exe = shutil.which("guardgen", path=str(Path(sys.executable).parent))
    assert exe, "guardgen is not installed beside this Python"
    event = REPO / "tests/data/cloudtrail/cloudtrail-delete-trail.json"
    out = subprocess.run([exe, "alarms", "test", str(event), "--format", "json",
                          "--alarm", "cloudtrail-changes", "--alarm", "root-usage"],
                         capture_output=True, text=True, check=False)
    assert out.returncode == 0, out.stderr
    assert json.loads(out.stdout) == [{"event": "1dbd94b3-fba0-57e9-9816-f7b1745ea9ea",
                                       "fired": ["cloudtrail-changes"]}]


def test_lint_rule_docs_are_generated_from_the_registry() -> None:
    from guardgen.policy.lint import docs as lint_docs
    from support import REPO

    assert (REPO / "docs/lint-rules.md").read_text(encoding="utf-8") == lint_docs.markdown(), (
        "docs/lint-rules.md is stale: run scripts/regenerate-docs")


def test_lint_is_a_guardgen_command(cli) -> None:
    from support import EXAMPLES

    r = cli("lint", "--config", EXAMPLES / "iam" / "guardgen.yaml")
    assert r.exit_code == 0, r.output


def test_help_under_another_name_is_typer_s() -> None:
    out = _entry(["--help"], "80", probe=True, name="/usr/local/bin/gg")
    assert out.startswith("Usage: gg [OPTIONS]") and out.endswith("True\n")


def test_help_into_a_closed_pipe_exits_1_quietly() -> None:
    import os
    import subprocess
    import sys

    read, write = os.pipe()
    os.close(read)  # whoever read the help is gone
    try:
        r = subprocess.run([sys.executable, "-c", "import sys; sys.argv = ['guardgen', '--help']; "
                            "from guardgen.cli import main; main()"], stdout=write,
                           stderr=subprocess.PIPE, text=True, env={**os.environ, "COLUMNS": "80"})
    finally:
        os.close(write)
    assert (r.returncode, r.stderr) == (1, "")
