"""The pre-commit hooks in .pre-commit-hooks.yaml: a valid manifest whose entries do their job.

The entries are run as pre-commit runs them (from the repository root, no file names) with the
installed guardgen; one test then lets pre-commit itself install this repository as a hook
(``pre-commit try-repo``) and run every hook on an example.
"""

from __future__ import annotations

import os
import re
import shlex
import shutil
import subprocess
import sys
from pathlib import Path
from typing import Any

import pytest
import yaml

from support import EXAMPLES, REPO

REQUIRE_ALL = os.environ.get("GUARDGEN_REQUIRE_ALL") == "1"
PATH = os.pathsep.join([str(Path(sys.executable).parent), os.environ.get("PATH", "")])
MANIFEST = REPO / ".pre-commit-hooks.yaml"


def tool(name: str) -> str:
    """An executable from the test extra: skip without it, unless GUARDGEN_REQUIRE_ALL=1."""
    found = shutil.which(name, path=PATH)
    if found is None:
        message = f"{name} is not installed (pip install -e '.[test]')"
        if REQUIRE_ALL:
            pytest.fail(message + " [GUARDGEN_REQUIRE_ALL=1]", pytrace=False)
        pytest.skip(message)
    return found


def hooks() -> dict[str, dict[str, Any]]:
    return {h["id"]: h for h in yaml.safe_load(MANIFEST.read_text(encoding="utf-8"))}


def run(args: list[str], cwd: Path, env: dict[str, str] | None = None,
        timeout: int = 300) -> subprocess.CompletedProcess[str]:
    return subprocess.run(args, cwd=cwd, capture_output=True, text=True, check=False,
                          timeout=timeout, env={**os.environ, "PATH": PATH, **(env or {})})


def hook(name: str, cwd: Path) -> subprocess.CompletedProcess[str]:
    """Run a hook's entry and args the way pre-commit does with pass_filenames: false."""
    h = hooks()[name]
    assert h["pass_filenames"] is False
    return run([*shlex.split(h["entry"]), *h.get("args", [])], cwd)


@pytest.fixture
def demo(tmp_path: Path) -> Path:
    """A repository root holding the demo landing zone."""
    for name in ("guardgen.yaml", "terraform"):
        src = EXAMPLES / "demo" / name
        if src.is_dir():
            shutil.copytree(src, tmp_path / name)
        else:
            shutil.copy(src, tmp_path / name)
    return tmp_path


def test_manifest_is_valid_for_pre_commit() -> None:
    r = run([tool("pre-commit"), "validate-manifest", str(MANIFEST)], REPO)
    assert r.returncode == 0, r.stdout + r.stderr
    assert set(hooks()) == {"guardgen-check", "guardgen-generate", "guardgen-lint"}
    for h in hooks().values():
        assert h["language"] == "python" and h["entry"].startswith("guardgen ")


def test_hooks_run_on_the_config_and_the_generated_tree_only() -> None:
    relevant = ["guardgen.yaml", "org/guardgen.yaml", "terraform/management/scps.tf",
                "terraform/management/policies/scp_root_1.json", "terraform/README.md"]
    unrelated = ["src/app.py", "docs/notes.txt", "my-guardgen.yaml.bak"]
    for h in hooks().values():
        pattern = re.compile(h["files"])
        assert [p for p in relevant[:2] if not pattern.search(p)] == [], h["id"]
        assert [p for p in unrelated if pattern.search(p)] == [], h["id"]
    for name in ("guardgen-check", "guardgen-generate"):
        pattern = re.compile(hooks()[name]["files"])
        assert all(pattern.search(p) for p in relevant), name


def test_check_hook_passes_a_clean_tree_and_stops_a_stale_one(demo: Path) -> None:
    assert hook("guardgen-check", demo).returncode == 0
    config = demo / "guardgen.yaml"
    config.write_text(config.read_text(encoding="utf-8").replace("name: NonProd", "name: Staging"))
    r = hook("guardgen-check", demo)
    assert r.returncode == 1
    assert "Run `guardgen generate`" in r.stderr


def test_generate_hook_rewrites_the_tree_then_check_passes(demo: Path) -> None:
    r = hook("guardgen-generate", demo)
    assert r.returncode == 0 and "nothing written" in r.stderr
    config = demo / "guardgen.yaml"
    config.write_text(config.read_text(encoding="utf-8").replace("name: NonProd", "name: Staging"))
    r = hook("guardgen-generate", demo)
    assert r.returncode == 0 and "updated" in r.stderr
    assert hook("guardgen-check", demo).returncode == 0


def test_lint_hook_passes_the_demo_and_fails_on_a_finding(demo: Path) -> None:
    assert hook("guardgen-lint", demo).returncode == 0
    config = demo / "guardgen.yaml"
    config.write_text(config.read_text(encoding="utf-8").replace(
        'resources: ["arn:aws:s3:::demo-app-artifacts/*"]', 'resources: ["*"]'))
    r = hook("guardgen-lint", demo)
    assert r.returncode == 1
    assert "GG302" in r.stdout


def _source_repository(dest: Path) -> None:
    """What pre-commit installs from this checkout (the package's sources and the hook
    manifest) as a git repository of its own: pre-commit installs hooks from a commit, and the
    working tree may hold files not committed yet."""
    for name in ("pyproject.toml", "README.md", "LICENSE", ".pre-commit-hooks.yaml"):
        if (REPO / name).is_file():
            shutil.copy2(REPO / name, dest / name)
    for name in ("generator", "templates", "modules", "schema"):
        shutil.copytree(REPO / name, dest / name,
                        ignore=shutil.ignore_patterns("__pycache__", "*.pyc", ".*"))
    _commit(dest)


def _commit(repo: Path) -> None:
    for args in (["init", "-q"], ["add", "-A"], ["commit", "-qm", "snapshot"]):
        r = run(["git", "-c", "user.name=guardgen", "-c", "user.email=guardgen@example.com",
                 "-c", "init.defaultBranch=main", *args], repo)
        assert r.returncode == 0, r.stderr


def test_pre_commit_installs_and_runs_every_hook(demo: Path, tmp_path_factory: pytest.TempPathFactory,
                                                 ) -> None:
    pre_commit = tool("pre-commit")
    source = tmp_path_factory.mktemp("hook-source")
    _source_repository(source)
    _commit(demo)
    home = tmp_path_factory.mktemp("pre-commit-home")
    r = run([pre_commit, "try-repo", str(source), "--all-files"], demo,
            {"PRE_COMMIT_HOME": str(home)}, timeout=900)
    assert r.returncode == 0, r.stdout + r.stderr
    for name in ("guardgen check", "guardgen generate", "guardgen lint"):
        assert re.search(rf"^{name}\.+Passed$", r.stdout, re.M), r.stdout
