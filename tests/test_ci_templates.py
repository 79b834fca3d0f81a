"""`guardgen init --ci github|gitlab|none`: the CI files it writes are valid for their CI system
and their scripts do what they say when run.

GitHub workflows are checked with actionlint (with shellcheck for the `run:` scripts), GitLab
pipelines against GitLab's published CI schema (the copy vendored by check-jsonschema). Both
checkers are shown to reject a broken file, and the scripts that need no CI service (check, lint,
diff, the merge-request comment) are run here with bash against a real git repository.
"""

from __future__ import annotations

import json
import os
import shutil
import subprocess
import sys
import threading
from collections.abc import Iterator
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path
from typing import Any

import pytest
import yaml

from guardgen import __version__
from support import EXAMPLES, tree_digest

REQUIRE_ALL = os.environ.get("GUARDGEN_REQUIRE_ALL") == "1"
BIN = Path(sys.executable).parent
PATH = os.pathsep.join([str(BIN), os.environ.get("PATH", "")])
WORKFLOW = ".github/workflows/guardgen.yml"
GITLAB = ".gitlab-ci.yml"


def tool(name: str) -> str:
    """An executable from the test extra: skip without it, unless GUARDGEN_REQUIRE_ALL=1."""
    found = shutil.which(name, path=PATH)
    if found is None:
        message = f"{name} is not installed (pip install -e '.[test]')"
        if REQUIRE_ALL:
            pytest.fail(message + " [GUARDGEN_REQUIRE_ALL=1]", pytrace=False)
        pytest.skip(message)
    return found


def run(args: list[str], cwd: Path, env: dict[str, str] | None = None,
        ) -> subprocess.CompletedProcess[str]:
    return subprocess.run(args, cwd=cwd, capture_output=True, text=True, check=False, timeout=300,
                          env={**os.environ, "PATH": PATH, **(env or {})})


def git(cwd: Path, *args: str) -> str:
    r = run(["git", "-c", "user.name=guardgen", "-c", "user.email=guardgen@example.com",
             "-c", "init.defaultBranch=main", *args], cwd)
    assert r.returncode == 0, r.stderr
    return r.stdout.strip()


def shell(script: str, cwd: Path, env: dict[str, str] | None = None,
          ) -> subprocess.CompletedProcess[str]:
    """Run a CI script the way both systems do: bash, stopping at the first failing command."""
    path = cwd / ".ci-step.sh"
    path.write_text(script, encoding="utf-8")
    try:
        return run(["bash", "--noprofile", "--norc", "-eo", "pipefail", str(path)], cwd, env)
    finally:
        path.unlink()


@pytest.fixture
def landing_zone(cli, tmp_path: Path) -> Iterator[Any]:
    """`guardgen init --ci CI` into a fresh directory; returns that directory."""

    def make(ci: str) -> Path:
        d = tmp_path / ci
        r = cli("init", d, "--ci", ci)
        assert r.exit_code == 0, r.output
        return d

    yield make


def _add_guardrail(config: Path) -> None:
    """A typical change under review: one more guardrail on the Security OU."""
    text = config.read_text(encoding="utf-8")
    changed = text.replace("guardrails: [deny-root-user]\n",
                           "guardrails: [deny-root-user, deny-iam-user-access-keys]\n", 1)
    assert changed != text
    config.write_text(changed, encoding="utf-8")


def _review_repo(cli, d: Path) -> str:
    """Commit the scaffold, then a change on top; returns the base commit."""
    git(d, "init", "-q")
    git(d, "add", "-A")
    git(d, "commit", "-qm", "landing zone")
    base = git(d, "rev-parse", "HEAD")
    _add_guardrail(d / "guardgen.yaml")
    assert cli("generate", "-c", d / "guardgen.yaml", "-q").exit_code == 0
    git(d, "add", "-A")
    git(d, "commit", "-qm", "deny access keys in Security")
    return base


def _steps(workflow: dict[str, Any], job: str) -> dict[str, dict[str, Any]]:
    return {s.get("name", s.get("uses", "")): s for s in workflow["jobs"][job]["steps"]}


# -- what init writes ---------------------------------------------------------------------------

def test_init_writes_exactly_the_demo_golden_tree(cli, tmp_path: Path) -> None:
    r = cli("init", tmp_path / "demo")
    assert r.exit_code == 0, r.output
    assert tree_digest(tmp_path / "demo") == tree_digest(EXAMPLES / "demo"), (
        "examples/demo is not what `guardgen init` writes: run `guardgen init examples/demo --force`")


@pytest.mark.parametrize(("ci", "ci_file"), [("github", WORKFLOW), ("gitlab", GITLAB), ("none", None)])
def test_init_writes_the_chosen_ci_file_only(landing_zone, ci: str, ci_file: str | None) -> None:
    d = landing_zone(ci)
    written = {p.relative_to(d).as_posix() for p in d.rglob("*") if p.is_file()
               and "terraform" not in p.relative_to(d).parts}
    assert written == {"guardgen.yaml", "guardgen.schema.json", *([ci_file] if ci_file else [])}


def test_init_refuses_to_overwrite_a_ci_file(cli, tmp_path: Path) -> None:
    (tmp_path / GITLAB).write_text("mine\n", encoding="utf-8")
    r = cli("init", tmp_path, "--ci", "gitlab")
    assert r.exit_code == 2
    assert ".gitlab-ci.yml" in r.output and "already exists" in r.output
    assert sorted(p.name for p in tmp_path.iterdir()) == [GITLAB]
    assert cli("init", tmp_path, "--ci", "gitlab", "--force").exit_code == 0
    assert "guardgen check" in (tmp_path / GITLAB).read_text(encoding="utf-8")


def test_an_unknown_ci_system_is_a_usage_error(cli, tmp_path: Path) -> None:
    r = cli("init", tmp_path, "--ci", "jenkins")
    assert r.exit_code == 2
    assert "jenkins" in r.output
    assert list(tmp_path.iterdir()) == []


def test_the_modeline_points_at_the_schema_init_writes(landing_zone) -> None:
    import re

    d = landing_zone("none")
    config = (d / "guardgen.yaml").read_text(encoding="utf-8")
    # yaml-language-server takes the first comment matching this (modelineUtil.ts), and
    # resolves a relative path against the YAML file's directory.
    modelines = [line for line in config.splitlines() if re.match(r"#\s+yaml-language-server\s*:", line)]
    assert len(modelines) == 1
    target = re.search(r"\$schema(?:=|:\s*)(\S+)", modelines[0])
    assert target is not None
    schema = d / target.group(1)
    assert json.loads(schema.read_text(encoding="utf-8"))["title"] == "guardgen.yaml"


# -- GitHub Actions ------------------------------------------------------------------------------

def _actionlint(d: Path) -> subprocess.CompletedProcess[str]:
    tool("shellcheck")  # actionlint checks `run:` scripts only when shellcheck is on PATH
    return run([tool("actionlint"), "-no-color", WORKFLOW], d)


def test_github_workflow_passes_actionlint(landing_zone) -> None:
    d = landing_zone("github")
    r = _actionlint(d)
    assert r.returncode == 0, r.stdout + r.stderr
    assert r.stdout == ""


def test_actionlint_rejects_a_broken_workflow(landing_zone) -> None:
    d = landing_zone("github")
    wf = d / WORKFLOW
    text = wf.read_text(encoding="utf-8")
    for broken in (text.replace("github.event_name == 'pull_request' }}",
                                "github.event_nam == 'pull_request' }}"),
                   text.replace("runs-on: ubuntu-latest", "runs_on: ubuntu-latest", 1),
                   text.replace('rm -f guardgen.sarif; fi', 'rm -f guardgen.sarif; done')):
        assert broken != text
        wf.write_text(broken, encoding="utf-8")
        assert _actionlint(d).returncode != 0


def test_github_workflow_checks_lints_formats_and_explains(landing_zone) -> None:
    d = landing_zone("github")
    text = (d / WORKFLOW).read_text(encoding="utf-8")
    wf = yaml.safe_load(text)
    steps = _steps(wf, "check")
    assert steps["Install guardgen"]["run"] == f'pip install "guardgen=={__version__}"'
    assert "guardgen check --config guardgen.yaml" in text
    assert "guardgen lint --config guardgen.yaml --format sarif > guardgen.sarif" in text
    upload = steps["Upload lint findings to code scanning"]
    assert upload["uses"] == "github/codeql-action/upload-sarif@v4"
    assert upload["with"]["sarif_file"] == "guardgen.sarif"
    assert "terraform fmt -check -recursive" in text
    assert "--format markdown" in steps["Say what this pull request changes"]["run"]
    assert "gh pr comment" in steps["Comment on the pull request"]["run"]
    # The whole workflow can read; only the jobs that need more ask for it.
    assert wf["permissions"] == {"contents": "read"}
    assert wf["jobs"]["check"]["permissions"]["security-events"] == "write"


def test_github_plan_job_uses_oidc_never_static_keys(landing_zone) -> None:
    d = landing_zone("github")
    text = (d / WORKFLOW).read_text(encoding="utf-8")
    plan = yaml.safe_load(text)["jobs"]["plan"]
    assert plan["permissions"] == {"contents": "read", "id-token": "write"}
    creds = _steps({"jobs": {"plan": plan}}, "plan")["aws-actions/configure-aws-credentials@v6"]
    assert creds["with"]["role-to-assume"] == "${{ vars.GUARDGEN_PLAN_ROLE_ARN }}"
    assert "vars.GUARDGEN_PLAN_ROLE_ARN != ''" in plan["if"]
    for static in ("aws-access-key-id", "aws-secret-access-key", "AWS_ACCESS_KEY_ID",
                   "AWS_SECRET_ACCESS_KEY", "secrets."):
        assert static not in text
    assert "terraform -chdir=\"$root\" plan" in text


def test_github_steps_run_against_a_real_pull_request(cli, landing_zone) -> None:
    d = landing_zone("github")
    _review_repo(cli, d)
    steps = _steps(yaml.safe_load((d / WORKFLOW).read_text(encoding="utf-8")), "check")
    check = shell(steps["The committed Terraform matches guardgen.yaml and its guardrails prove out"]
                  ["run"], d)
    assert check.returncode == 0, check.stderr

    lint = shell(steps["Lint every policy document"]["run"], d)
    assert lint.returncode == 0, lint.stderr
    sarif = json.loads((d / "guardgen.sarif").read_text(encoding="utf-8"))
    assert sarif["version"] == "2.1.0" and sarif["runs"][0]["tool"]["driver"]["name"] == "guardgen"

    summary = d.parent / "step-summary.md"
    diff = shell(steps["Say what this pull request changes"]["run"], d,
                 {"GITHUB_STEP_SUMMARY": str(summary)})
    assert diff.returncode == 0, diff.stderr
    text = summary.read_text(encoding="utf-8")
    assert text == (d / "guardgen-diff.md").read_text(encoding="utf-8")
    assert text.startswith("### guardgen diff\n")
    assert "**OU Security**" in text and "gains `deny-iam-user-access-keys`" in text


def test_github_lint_step_uploads_nothing_when_the_config_is_invalid(landing_zone) -> None:
    d = landing_zone("github")
    (d / "guardgen.yaml").write_text("version: 1\n", encoding="utf-8")
    steps = _steps(yaml.safe_load((d / WORKFLOW).read_text(encoding="utf-8")), "check")
    lint = shell(steps["Lint every policy document"]["run"], d)
    assert lint.returncode == 2
    assert not (d / "guardgen.sarif").exists()


# -- GitLab CI -----------------------------------------------------------------------------------

def _gitlab_schema_check(path: Path) -> subprocess.CompletedProcess[str]:
    return run([tool("check-jsonschema"), "--builtin-schema", "vendor.gitlab-ci", str(path)],
               path.parent)


def test_gitlab_pipeline_matches_gitlabs_published_schema(landing_zone) -> None:
    d = landing_zone("gitlab")
    r = _gitlab_schema_check(d / GITLAB)
    assert r.returncode == 0, r.stdout + r.stderr


def test_the_gitlab_schema_rejects_a_broken_pipeline(landing_zone) -> None:
    d = landing_zone("gitlab")
    text = (d / GITLAB).read_text(encoding="utf-8")
    for broken in (text.replace("    when: always", "    when: sometimes"),
                   text.replace("  script:\n", "  scripts:\n", 1),
                   text.replace("expose_as: guardgen diff", "expose_as: 42")):
        assert broken != text
        (d / GITLAB).write_text(broken, encoding="utf-8")
        assert _gitlab_schema_check(d / GITLAB).returncode != 0, broken


RESERVED = {"workflow", "stages", "variables", "default", "include", "image", "services",
            "before_script", "after_script", "cache"}


def _gitlab(d: Path) -> dict[str, Any]:
    return yaml.safe_load((d / GITLAB).read_text(encoding="utf-8"))


def test_gitlab_jobs_have_what_gitlab_requires(landing_zone) -> None:
    pipeline = _gitlab(landing_zone("gitlab"))
    jobs = {k: v for k, v in pipeline.items() if k not in RESERVED and not k.startswith(".")}
    assert set(jobs) == {"guardgen-check", "guardgen-lint", "terraform-fmt", "guardgen-diff",
                         "terraform-plan"}
    for name, job in jobs.items():
        resolved = {**pipeline.get(job.get("extends", ""), {}), **job}
        assert resolved.get("script"), name
        assert resolved["stage"] in pipeline["stages"], name
        assert resolved.get("image"), name
    assert pipeline["variables"]["GUARDGEN_VERSION"] == __version__
    assert jobs["guardgen-lint"]["artifacts"]["reports"]["codequality"] == "gl-code-quality-report.json"


def test_gitlab_plan_job_uses_oidc_never_static_keys(landing_zone) -> None:
    d = landing_zone("gitlab")
    text = (d / GITLAB).read_text(encoding="utf-8")
    plan = _gitlab(d)["terraform-plan"]
    assert set(plan["id_tokens"]) == {"GUARDGEN_ID_TOKEN"}
    assert plan["variables"]["AWS_ROLE_ARN"] == "$GUARDGEN_PLAN_ROLE_ARN"
    assert plan["variables"]["AWS_WEB_IDENTITY_TOKEN_FILE"]
    for static in ("AWS_ACCESS_KEY_ID", "AWS_SECRET_ACCESS_KEY", "aws_access_key"):
        assert static not in text


def _script(job: dict[str, Any]) -> str:
    return "\n".join(job["script"]) + "\n"


def test_gitlab_lint_job_reports_findings_as_code_quality(cli, landing_zone) -> None:
    d = landing_zone("gitlab")
    job = _gitlab(d)["guardgen-lint"]
    clean = shell(_script(job), d)
    assert clean.returncode == 0, clean.stderr
    assert json.loads((d / "gl-code-quality-report.json").read_text(encoding="utf-8")) == []

    config = d / "guardgen.yaml"
    config.write_text(config.read_text(encoding="utf-8").replace(
        'resources: ["arn:aws:s3:::demo-app-artifacts/*"]', 'resources: ["*"]'), encoding="utf-8")
    found = shell(_script(job), d)
    assert found.returncode == 1, found.stderr
    (issue,) = json.loads((d / "gl-code-quality-report.json").read_text(encoding="utf-8"))
    assert issue["check_name"] == "GG302"
    assert issue["severity"] == "major"
    assert issue["location"] == {"path": "terraform/accounts/app-prod/policies/role_app_deploy_policy.json",
                                 "lines": {"begin": 1}}
    assert issue["description"].startswith("GG302 allow-wildcard-resource: Resource '*'")
    assert len(issue["fingerprint"]) == 64


class _NotesApi(BaseHTTPRequestHandler):
    """Stands in for the four GitLab API calls the diff job makes, recording them."""

    calls: list[tuple[str, str, str | None, Any]] = []
    notes: list[dict[str, Any]] = []

    def _reply(self, body: Any) -> None:
        data = json.dumps(body).encode()
        self.send_response(200)
        self.send_header("Content-Type", "application/json")
        self.send_header("Content-Length", str(len(data)))
        self.end_headers()
        self.wfile.write(data)

    def _body(self) -> Any:
        return json.loads(self.rfile.read(int(self.headers["Content-Length"])))

    def do_GET(self) -> None:  # noqa: N802 (the http.server API)
        self.calls.append(("GET", self.path, self.headers.get("PRIVATE-TOKEN"), None))
        if self.path == "/api/v4/user":
            self._reply({"id": 7})
        else:
            self._reply(self.notes)

    def do_POST(self) -> None:  # noqa: N802
        body = self._body()
        self.calls.append(("POST", self.path, self.headers.get("PRIVATE-TOKEN"), body))
        self.notes.insert(0, {"id": 100 + len(self.notes), "author": {"id": 7}, "body": body["body"]})
        self._reply(self.notes[0])

    def do_PUT(self) -> None:  # noqa: N802
        body = self._body()
        self.calls.append(("PUT", self.path, self.headers.get("PRIVATE-TOKEN"), body))
        self._reply({"id": int(self.path.rsplit("/", 1)[1]), "body": body["body"]})

    def log_message(self, *args: Any) -> None:
        pass


def test_gitlab_diff_job_keeps_one_merge_request_comment_up_to_date(cli, landing_zone) -> None:
    d = landing_zone("gitlab")
    base = _review_repo(cli, d)
    job = _gitlab(d)["guardgen-diff"]
    env = {"CI_MERGE_REQUEST_DIFF_BASE_SHA": base}
    quiet = shell(_script(job), d, env)
    assert quiet.returncode == 0, quiet.stderr
    text = (d / "guardgen-diff.md").read_text(encoding="utf-8")
    assert "gains `deny-iam-user-access-keys`" in text and text in quiet.stdout

    someone_elses = {"id": 1, "author": {"id": 8}, "body": "### guardgen diff\nby someone else"}
    _NotesApi.calls, _NotesApi.notes = [], [someone_elses]
    server = ThreadingHTTPServer(("127.0.0.1", 0), _NotesApi)
    threading.Thread(target=server.serve_forever, daemon=True).start()
    try:
        env |= {"GUARDGEN_NOTE_TOKEN": "glpat-test", "CI_PROJECT_ID": "42",
                "CI_MERGE_REQUEST_IID": "3", "CI_API_V4_URL": f"http://127.0.0.1:{server.server_port}/api/v4"}
        for _ in range(2):
            r = shell(_script(job), d, env)
            assert r.returncode == 0, r.stderr
    finally:
        server.shutdown()
    notes = "/api/v4/projects/42/merge_requests/3/notes"
    writes = [(method, path, body["body"]) for method, path, _, body in _NotesApi.calls if body]
    # First pipeline: a new comment; the second edits it (never someone else's).
    assert writes == [("POST", notes, text), ("PUT", f"{notes}/101", text)]
    assert {token for _, _, token, _ in _NotesApi.calls} == {"glpat-test"}
