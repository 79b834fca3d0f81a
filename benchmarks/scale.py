"""guardgen at scale: synthetic organizations with IAM in most accounts, measured command by command.

For each size N it writes benchmarks/synthetic.py's config to a temporary directory and runs the
installed ``guardgen`` as a separate process for each step, reading wall time, CPU time and peak
RSS of that process alone (``os.wait4``). Steps: ``generate`` cold, ``generate`` with nothing
changed (answered from the record of the last generation, and again without it), ``generate``
after changing one account, ``check`` (verify included), ``verify`` and
``lint``. In the same run it measures the floors: ``cp -r`` of the generated tree, and reading
every file of it back. Each step must exit 0 (the tree is fresh and the config valid); the numbers
are printed with each step's ratio to the copy floor.

Usage: python benchmarks/scale.py [--sizes 100,1000,10000] [--repeat N] [--guardgen PATH] [--markdown]
"""

from __future__ import annotations

import argparse
import os
import shutil
import statistics
import subprocess
import sys
import tempfile
import time
from dataclasses import dataclass
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent))
from synthetic import change_one_account, make_config  # noqa: E402


@dataclass(frozen=True)
class Measure:
    step: str
    wall: float
    cpu: float
    rss_mib: float
    code: int


def run(step: str, argv: list[str], cwd: Path, env: dict[str, str] | None = None) -> Measure:
    """Run one command to completion; its own wall, CPU and peak RSS."""
    start = time.perf_counter()
    proc = subprocess.Popen(argv, cwd=cwd, stdout=subprocess.DEVNULL, stderr=subprocess.PIPE,
                            env={**os.environ, **(env or {})})
    _, status, usage = os.wait4(proc.pid, 0)
    wall = time.perf_counter() - start
    code = os.waitstatus_to_exitcode(status)
    if code != 0:  # every step runs on a tree it just generated: anything else is a failure
        err = proc.stderr.read().decode() if proc.stderr else ""
        raise SystemExit(f"{step}: {' '.join(argv)} exited {code}\n{err}")
    if proc.stderr:
        proc.stderr.close()
    return Measure(step, wall, usage.ru_utime + usage.ru_stime, usage.ru_maxrss / 1024, code)


def floors(tree: Path, scratch: Path) -> list[Measure]:
    """The cost of only moving the bytes: ``cp -r`` of the tree, and reading every file back."""
    copy = run("floor: cp -r", ["cp", "-r", str(tree), str(scratch / "copy")], scratch)
    start, cpu = time.perf_counter(), time.process_time()
    total = sum(len(p.read_bytes()) for p in tree.rglob("*") if p.is_file())
    read = Measure("floor: read back", time.perf_counter() - start, time.process_time() - cpu, 0.0,
                   0 if total else 1)
    return [copy, read]


def measure(n: int, guardgen: str) -> tuple[list[Measure], int, int, int]:
    """Every step for an organization of ``n`` accounts: measures, files, bytes, config bytes."""
    with tempfile.TemporaryDirectory(prefix=f"guardgen-scale-{n}-") as d:
        work = Path(d)
        cfg = work / "guardgen.yaml"
        text = make_config(n)
        cfg.write_text(text, encoding="utf-8")
        # The record of the last generation lives in the run's own folder, not the user's cache.
        cached = {"GUARDGEN_CACHE_DIR": str(work / "cache")}
        no_record = {"GUARDGEN_CACHE_DIR": "off"}
        gen = [guardgen, "generate", "-q"]
        out: list[Measure] = [run("generate (cold)", gen, work, cached),
                              run("generate (no change)", gen, work, cached),
                              run("generate (no change, no record)", gen, work, no_record)]
        cfg.write_text(change_one_account(text), encoding="utf-8")
        out.append(run("generate (one account)", gen, work, cached))
        out.append(run("check", [guardgen, "check", "-q"], work))
        out.append(run("verify", [guardgen, "verify", "-q"], work))
        out.append(run("lint", [guardgen, "lint"], work))
        tree = work / "terraform"
        files = [p for p in tree.rglob("*") if p.is_file()]
        size = sum(p.stat().st_size for p in files)
        scratch = work / "scratch"
        scratch.mkdir()
        out += floors(tree, scratch)
        return out, len(files), size, len(text.encode())


def table(n: int, rows: list[Measure], files: int, size: int, cfg: int, markdown: bool) -> str:
    copy = next(r.wall for r in rows if r.step == "floor: cp -r")
    head = (f"N = {n:,} accounts: config {cfg / 1e6:.1f} MB, {files:,} files, "
            f"{size / 1e6:.1f} MB written")
    if markdown:
        lines = [f"**{head}**", "", "| step | wall s | CPU s | peak RSS MiB | wall / cp -r |",
                 "|---|---|---|---|---|"]
        lines += [f"| {r.step} | {r.wall:.2f} | {r.cpu:.2f} | {r.rss_mib:.0f} | "
                  f"{r.wall / copy:.1f}× |" for r in rows]
        return "\n".join(lines) + "\n"
    lines = [head, f"  {'step':<26}{'wall s':>9}{'CPU s':>9}{'RSS MiB':>9}{'/ cp -r':>9}"]
    lines += [f"  {r.step:<26}{r.wall:9.2f}{r.cpu:9.2f}{r.rss_mib:9.0f}{r.wall / copy:8.1f}×"
              for r in rows]
    return "\n".join(lines) + "\n"


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--sizes", default="100,1000,10000", help="comma-separated account counts")
    ap.add_argument("--guardgen", default=shutil.which("guardgen") or
                    str(Path(sys.executable).with_name("guardgen")), help="the guardgen to run")
    ap.add_argument("--markdown", action="store_true", help="tables for benchmarks/README.md")
    ap.add_argument("--repeat", type=int, default=1,
                    help="run every size this many times and print each step's median")
    args = ap.parse_args()
    print(f"python {sys.version.split()[0]}, {os.cpu_count()} CPUs, guardgen {args.guardgen}, "
          f"median of {args.repeat} run(s)\n")
    for n in (int(s) for s in args.sizes.split(",")):
        runs = [measure(n, args.guardgen) for _ in range(args.repeat)]
        rows = [Measure(step, statistics.median(r[0][i].wall for r in runs),
                        statistics.median(r[0][i].cpu for r in runs),
                        statistics.median(r[0][i].rss_mib for r in runs), 0)
                for i, step in enumerate(m.step for m in runs[0][0])]
        _, files, size, cfg = runs[0]
        print(table(n, rows, files, size, cfg, args.markdown), flush=True)


if __name__ == "__main__":
    main()
