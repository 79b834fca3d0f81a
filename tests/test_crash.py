"""SIGKILL the installed `guardgen generate` at many points while it rewrites a large tree into a
different one. After every kill the output is exactly the old tree or exactly the new one (every
file hashed), `check` says what happened, and the next `generate` completes.

The suite runs a short version (12 kill points on about 700 files: each point costs a run of the
installed command); ``scripts/crash-test-long`` runs the long one (150 points on about 6,000
files) through the same code, set by GUARDGEN_CRASH_ACCOUNTS and GUARDGEN_CRASH_KILLS.
"""

from __future__ import annotations

import os
import shutil
import signal
import subprocess
import sys
import time
from collections import Counter
from collections.abc import Callable
from pathlib import Path

from guardgen import output, pipeline
from guardgen.output import atomic
from support import REPO
from test_output import generate, snapshot

sys.path.insert(0, str(REPO / "benchmarks"))
from synthetic import make_config  # noqa: E402

GUARDGEN = Path(sys.executable).with_name("guardgen")
ACCOUNTS = int(os.environ.get("GUARDGEN_CRASH_ACCOUNTS", "60"))
KILLS = int(os.environ.get("GUARDGEN_CRASH_KILLS", "12"))


def _new_config(old: str) -> str:
    """A config that rewrites most of the tree: every boundary, trust and instance profile
    changes, and a role is renamed in every account (files created and removed)."""
    new = (old.replace("allow_services: [s3, dynamodb, lambda, logs, sqs]", "allow_services: [s3, sqs]")
           .replace("branches: [main]", "branches: [main, release]")
           .replace("instance_profiles:\n  - name: web", "instance_profiles:\n  - name: app-server"))
    assert new.count("\n") == old.count("\n") and new != old
    return new


def _timeline(cmd: list[str], work: Path, out: Path) -> tuple[float, float]:
    """Run ``cmd`` once: (seconds until its work folder appeared, seconds it then built the new
    tree before swapping it in)."""
    inode = out.stat().st_ino
    start = time.monotonic()
    proc = subprocess.Popen(cmd, stdout=subprocess.DEVNULL, stderr=subprocess.PIPE)
    appeared = _wait_for(work.exists, proc)
    swapped = _wait_for(lambda: _inode(out) != inode, proc)
    _, err = proc.communicate()
    assert proc.returncode == 0, err
    assert appeared is not None, "the run never made its work folder"
    return appeared - start, (swapped or time.monotonic()) - appeared


def _wait_for(ready: Callable[[], bool], proc: subprocess.Popen[bytes]) -> float | None:
    """Poll (every 0.5 ms) until ``ready()``; when it became true, or None if the run ended."""
    while proc.poll() is None:
        if ready():
            return time.monotonic()
        time.sleep(0.0005)
    return None


def _inode(path: Path) -> int | None:
    try:
        return path.stat().st_ino
    except FileNotFoundError:
        return None


def _schedule(before_write: float, writing: float, kills: int) -> list[tuple[str, float]]:
    """Kill points spread over the whole run: a third at times from the start, before the write
    phase; half at delays after the work folder appears, over the time it took to build the new
    tree; the rest just after the swap (removing the old tree), the short window where a crash
    leaves a tree that is new but not yet tidied."""
    early = kills // 3
    swap = max(3, kills // 5)
    build = kills - early - swap
    points = [("start", before_write * (i + 0.5) / early) for i in range(early)]
    points += [("work folder", writing * i / build) for i in range(build)]
    points += [("swap", 0.002 * i) for i in range(swap)]
    return points


def test_sigkill_at_many_points_leaves_the_old_tree_or_the_new_one(tmp_path: Path) -> None:
    repo = tmp_path / "repo"
    repo.mkdir()
    cfg = repo / "guardgen.yaml"
    old_text = make_config(ACCOUNTS)
    new_text = _new_config(old_text)
    out = repo / "terraform"
    work = atomic.work_dir(out)
    pristine = tmp_path / "pristine"

    cfg.write_text(old_text)
    assert subprocess.run([GUARDGEN, "generate", "-q", "-c", cfg]).returncode == 0
    shutil.copytree(out, pristine, copy_function=os.link)  # the old tree, kept by hard links
    old_tree = snapshot(out)
    cfg.write_text(new_text)
    new_files = {k: v for k, v in pipeline.run(cfg).files.items() if k != output.MANIFEST}
    assert len(new_files) > 8 * ACCOUNTS

    def reset() -> None:
        shutil.rmtree(out)
        shutil.rmtree(work, ignore_errors=True)
        shutil.copytree(pristine, out, copy_function=os.link)

    cmd = [str(GUARDGEN), "generate", "-q", "-c", str(cfg)]
    before_write, writing = _timeline(cmd, work, out)
    new_tree = snapshot(out)
    changed = sum(old_tree.get(k) != v for k, v in new_tree.items())
    assert changed > len(old_tree) // 3, "the new config must rewrite much of the tree"

    states: Counter[str] = Counter()
    checked: set[str] = set()
    for anchor, delay in _schedule(before_write, writing, KILLS):
        reset()
        inode = out.stat().st_ino
        ready = {"start": lambda: True, "work folder": work.exists,
                 "swap": lambda inode=inode: _inode(out) != inode}[anchor]
        proc = subprocess.Popen(cmd, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
        if _wait_for(ready, proc) is None:
            states["finished before the kill"] += 1
            continue
        time.sleep(delay)
        if proc.poll() is not None:
            states["finished before the kill"] += 1
            assert snapshot(out) == new_tree
            continue
        os.kill(proc.pid, signal.SIGKILL)
        proc.wait()
        now = snapshot(out)
        assert now in (old_tree, new_tree), f"killed {delay:.3f} s after the {anchor}: a mixed tree"
        left = output.interrupted(out)
        state = (left.state if left else "no work folder") + (" / new" if now == new_tree else " / old")
        assert state in ("no work folder / old", "no work folder / new", "building / old",
                         "empty / old", "empty / new", "committed / new"), state
        states[state] += 1
        if state not in checked and state in ("building / old", "committed / new"):
            # Once per interrupted state: check explains it, the real generate completes it.
            checked.add(state)
            r = subprocess.run([GUARDGEN, "check", "-c", cfg], capture_output=True, text=True)
            if state == "building / old":
                assert r.returncode == 1 and "interrupted before it replaced" in r.stderr
                assert "+++ b/" not in r.stdout  # a sentence, not a diff of the whole tree
            else:
                assert r.returncode == 0 and "replaced" in r.stderr and "completely" in r.stderr
            r = subprocess.run(cmd, capture_output=True, text=True)
            assert r.returncode == 0, r.stderr
        else:
            generate(out, new_files)  # the same recovery and write, without rendering again
        assert snapshot(out) == new_tree
        assert not work.exists()
        assert not [p for p in repo.iterdir() if ".guardgen-kept" in p.name]
    killed = sum(n for s, n in states.items() if s != "finished before the kill")
    print(f"\n{len(old_tree)} -> {len(new_tree)} entries, {changed} changed; kill points: "
          f"{killed} ({dict(states)})")
    assert killed >= KILLS * 3 // 4, states
    assert states["building / old"] >= 1 and states["committed / new"] >= 1, states
    assert snapshot(pristine) == old_tree  # the reference the resets used never changed
