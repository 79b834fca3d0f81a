"""The built wheel works on its own: templates and modules ship inside it."""

from __future__ import annotations

import subprocess
import sys
import zipfile
from pathlib import Path

from support import REPO


def _run(*args: str | Path, cwd: Path | None = None) -> subprocess.CompletedProcess[str]:
    return subprocess.run([str(a) for a in args], cwd=cwd, capture_output=True, text=True,
                          check=False, timeout=600)


def test_wheel_installs_and_runs_init_and_check(tmp_path: Path) -> None:
    dist = tmp_path / "dist"
    r = _run(sys.executable, "-m", "pip", "wheel", "--quiet", "--no-deps", "-w", dist, REPO)
    assert r.returncode == 0, r.stderr
    (wheel,) = dist.glob("guardgen-*.whl")
    names = zipfile.ZipFile(wheel).namelist()
    assert "guardgen/templates/management/scps.tf.j2" in names
    assert "guardgen/templates/init/guardgen.yaml" in names
    assert "guardgen/modules/scp/main.tf" in names
    assert "guardgen/schema/guardgen.schema.json" in names
    assert "guardgen/cli/help.txt" in names

    venv = tmp_path / "venv"
    assert _run(sys.executable, "-m", "venv", venv).returncode == 0
    r = _run(venv / "bin" / "pip", "install", "--quiet", wheel)
    assert r.returncode == 0, r.stderr
    work = tmp_path / "work"
    work.mkdir()
    # Run from a directory where the source checkout cannot be found by accident.
    r = _run(venv / "bin" / "guardgen", "init", "lz", cwd=work)
    assert r.returncode == 0, r.stderr
    r = _run(venv / "bin" / "guardgen", "check", "--config", "lz/guardgen.yaml", cwd=work)
    assert r.returncode == 0, r.stderr + r.stdout
    (work / "lz/terraform/management/versions.tf").write_text("# edited\n")
    r = _run(venv / "bin" / "guardgen", "check", "--config", "lz/guardgen.yaml", cwd=work)
    assert r.returncode == 1

