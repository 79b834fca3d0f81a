"""Two runs on one output never interleave: a writer holds an flock on .guardgen.lock, a second
writer waits (then exits 2 naming the holder), a reader never sees half a write, and a crashed
holder never leaves a stale lock."""

from __future__ import annotations

import os
import re
import shutil
import signal
import subprocess
import sys
import time
from collections.abc import Callable
from pathlib import Path

import pytest

from guardgen import output, pipeline
from support import ACME
from test_output import generate, snapshot

GUARDGEN = Path(sys.executable).with_name("guardgen")


def _tree(tag: str, n: int = 150) -> dict[str, str]:
    """A tree of ``n`` files in 15 folders; ``tag`` changes every file."""
    return {f"d{i % 15}/f{i}.tf": f"{tag} {i}\n" * 20 for i in range(n)}


def _together(*bodies: Callable[[], object]) -> list[int]:
    """Run each body in a forked child, all released at the same instant; their exit codes."""
    r, w = os.pipe()
    pids = []
    for body in bodies:
        pid = os.fork()
        if pid == 0:
            try:
                os.close(w)
                os.read(r, 1)  # wait for the start signal
                body()
                os._exit(0)
            except BaseException:
                os._exit(1)
        pids.append(pid)
    os.close(r)
    os.write(w, b"go")
    os.close(w)
    return [os.waitstatus_to_exitcode(os.waitpid(pid, 0)[1]) for pid in pids]


@pytest.mark.parametrize("same", [False, True], ids=["different trees", "same tree"])
def test_two_writers_started_together_never_mix_their_trees(tmp_path: Path, same: bool) -> None:
    out = tmp_path / "out"
    a, b = _tree("a"), (_tree("a") if same else _tree("b"))
    expected = {}
    for name, files in (("a", a), ("b", b)):
        ref = tmp_path / f"ref-{name}"
        generate(ref, files)
        expected[name] = snapshot(ref)
    trials = 10 if same else 20
    for _ in range(trials):
        shutil.rmtree(out, ignore_errors=True)
        generate(out, _tree("old"))
        codes = _together(lambda: generate(out, a), lambda: generate(out, b))
        assert codes == [0, 0]
        now = snapshot(out)
        assert now in (expected["a"], expected["b"])
        winner = a if now == expected["a"] else b
        full = output.with_manifest(winner)
        assert output.compare(out, full).clean  # the manifest matches the files
        assert not output.interrupted(out)
        assert not (out / output.LOCK).exists()


def test_a_second_writer_waits_briefly_then_exits_2_naming_the_holder(tmp_path: Path) -> None:
    cfg = tmp_path / "guardgen.yaml"
    shutil.copyfile(ACME, cfg)
    out = tmp_path / "terraform"
    assert subprocess.run([GUARDGEN, "generate", "-q", "-c", cfg]).returncode == 0
    before = snapshot(out)
    cfg.write_text(ACME.read_text().replace("shop-prod", "shop-production"))
    with output.OutputLock(out, exclusive=True, command="guardgen generate (test)"):
        for command in ("generate", "check"):
            started = time.monotonic()
            r = subprocess.run([GUARDGEN, command, "-c", cfg, "--wait", "0.3"],
                               capture_output=True, text=True)
            assert time.monotonic() - started >= 0.3
            assert r.returncode == 2, r.stderr
            assert re.search(rf"is in use by `guardgen generate \(test\)` \(pid {os.getpid()} on "
                             r".+, started .+\); waited 0\.3 s", r.stderr), r.stderr
            assert "Traceback" not in r.stderr
    assert snapshot(out) == before


def test_a_writer_waits_for_a_holder_that_finishes(tmp_path: Path) -> None:
    cfg = tmp_path / "guardgen.yaml"
    shutil.copyfile(ACME, cfg)
    out = tmp_path / "terraform"
    output.prepare(out)
    r, w = os.pipe()
    pid = os.fork()
    if pid == 0:
        with output.OutputLock(out, exclusive=True):
            os.write(w, b"x")
            time.sleep(0.6)
        os._exit(0)
    os.read(r, 1)  # the child holds the lock now
    started = time.monotonic()
    res = subprocess.run([GUARDGEN, "generate", "-q", "-c", cfg, "--wait", "10"],
                         capture_output=True, text=True)
    os.waitpid(pid, 0)
    assert res.returncode == 0, res.stderr
    assert time.monotonic() - started >= 0.3  # it did wait
    assert subprocess.run([GUARDGEN, "check", "-q", "-c", cfg]).returncode == 0


def test_a_holder_killed_with_sigkill_leaves_no_stale_lock(tmp_path: Path) -> None:
    cfg = tmp_path / "guardgen.yaml"
    shutil.copyfile(ACME, cfg)
    out = tmp_path / "terraform"
    output.prepare(out)
    r, w = os.pipe()
    pid = os.fork()
    if pid == 0:
        with output.OutputLock(out, exclusive=True, command="doomed"):
            os.write(w, b"x")
            time.sleep(60)
        os._exit(0)
    os.read(r, 1)
    os.kill(pid, signal.SIGKILL)
    os.waitpid(pid, 0)
    assert "doomed" in (out / output.LOCK).read_text()  # the file stays; nothing holds it
    res = subprocess.run([GUARDGEN, "generate", "-q", "-c", cfg, "--wait", "0"],
                         capture_output=True, text=True)
    assert res.returncode == 0, res.stderr
    assert not (out / output.LOCK).exists()


def test_installed_generate_runs_started_together(tmp_path: Path) -> None:
    """Two real `guardgen generate` processes with different configs on one output."""
    repo = tmp_path / "repo"
    repo.mkdir()
    a, b = repo / "a.yaml", repo / "b.yaml"
    a.write_text(ACME.read_text().replace("version: 1", "version: 1\noutput: out"))
    b.write_text(a.read_text().replace("shop-prod", "shop-production"))
    procs = [subprocess.Popen([GUARDGEN, "generate", "-q", "-c", c], stderr=subprocess.PIPE,
                              text=True) for c in (a, b)]
    errors = [p.communicate()[1] for p in procs]
    assert [p.returncode for p in procs] == [0, 0], errors
    clean = [subprocess.run([GUARDGEN, "check", "-q", "-c", c]).returncode for c in (a, b)]
    assert sorted(clean) == [0, 1]  # exactly one config's tree, whole


def test_check_never_sees_half_a_write(cli, tmp_path: Path) -> None:
    """A writer swaps between two trees while `check` runs again and again: every check sees
    one whole tree (clean, or exactly the other config's differences)."""
    repo = tmp_path / "repo"
    repo.mkdir()
    a = repo / "guardgen.yaml"
    a.write_text(ACME.read_text())
    b = repo / "b.yaml"
    b.write_text(ACME.read_text().replace("shop-prod", "shop-production"))
    out = repo / "terraform"
    files = {name: {k: v for k, v in pipeline.run(c, out).files.items() if k != output.MANIFEST}
             for name, c in (("a", a), ("b", b))}
    generate(out, files["a"])
    cmp_b = output.compare(out, output.with_manifest(files["b"]))
    other = f"{len(cmp_b.create)} missing, {len(cmp_b.update)} different, {len(cmp_b.delete)} stale"
    stop, flips = tmp_path / "stop", tmp_path / "flips"
    pid = os.fork()
    if pid == 0:
        try:
            i = 0
            while not stop.exists():
                generate(out, files["b" if i % 2 == 0 else "a"])
                i += 1
            flips.write_text(str(i))
            os._exit(0)
        except BaseException:
            os._exit(1)
    seen = {"clean": 0, "other": 0}
    try:
        for _ in range(3):
            r = cli("check", "-c", a, "-q")
            if r.exit_code == 0:
                seen["clean"] += 1
            else:
                assert r.exit_code == 1 and other in r.output, r.output[-500:]
                seen["other"] += 1
    finally:
        stop.touch()
        status = os.waitpid(pid, 0)[1]
    assert os.waitstatus_to_exitcode(status) == 0
    assert int(flips.read_text()) >= 3  # the tree really changed under the checks
