"""Time `guardgen lint` against parliament on the same 1,000 policy files; print both and the ratio.

The files are variations of the lint corpora (tests/data/lint and tests/data/lint-corpus, or
the directories given with --corpus): the same shapes with other account ids, names, Sids and
subsets of their action and resource lists, so the catalog caches see realistic variety rather
than one document a thousand times. Corpus files that are not JSON policies are left out: they
test guardgen's error handling, not its speed, and parliament stops on them. guardgen runs in-process
(catalog loading included: each run starts cold) and as a subprocess; parliament runs as its
CLI (``parliament --directory DIR``) and through its Python API, both in a virtualenv of its own
under the system temp directory, created with pip on first use (its pins are not ours).

Usage: python benchmarks/lint_vs_parliament.py [--files N] [--seed N] [--corpus DIR ...]
       [--parliament-venv DIR]
"""

from __future__ import annotations

import argparse
import contextlib
import io
import json
import os
import random
import shutil
import subprocess
import sys
import tempfile
import time
import venv
from pathlib import Path
from typing import Any

REPO = Path(__file__).resolve().parent.parent
CORPORA = (REPO / "tests" / "data" / "lint", REPO / "tests" / "data" / "lint-corpus")
ACCOUNTS = ("111122223333", "444455556666", "777788889999", "210987654321", "123456789012")
NAMES = ("orders", "payments", "ledger", "search", "ingest", "reports", "billing", "audit")

# parliament's API over files, timed inside its own interpreter; prints the seconds.
PARLIAMENT_API = """
import sys, time
from pathlib import Path
start = time.perf_counter()
from parliament import analyze_policy_string
count = 0
for path in sorted(Path(sys.argv[1]).glob("*.json")):
    count += len(analyze_policy_string(path.read_text(), filepath=str(path)).findings)
print(time.perf_counter() - start, count)
"""

# guardgen's CLI as a subprocess: the installed `guardgen lint` once cli.py registers it, else
# the same command on a root of its own.
GUARDGEN_CLI = (
    "import sys, typer; from guardgen.cli import lint as cli_lint; app = typer.Typer(); "
    "app.command('version')(lambda: None); cli_lint.register(app); app()"
)


def _vary(value: Any, rng: random.Random, account: str, name: str) -> Any:
    """The same document with other ids and names, and lists sometimes shortened."""
    if isinstance(value, dict):
        return {k: _vary(v, rng, account, name) for k, v in value.items()}
    if isinstance(value, list):
        items = [_vary(v, rng, account, name) for v in value]
        if len(items) > 3 and rng.random() < 0.5:
            items = rng.sample(items, rng.randint(2, len(items)))
        return items
    if isinstance(value, str):
        for old in ("111122223333", "999988887777", "444455556666"):
            value = value.replace(old, account)
        return value.replace("acme-reports", f"acme-{name}").replace("octo-repo", f"octo-{name}")
    return value


def _shapes(corpora: list[Path]) -> list[tuple[Path, Any]]:
    """The corpus files that are JSON policy documents, with their content."""
    out = []
    for corpus in corpora:
        for path in sorted(corpus.glob("*.json")):
            try:
                doc = json.loads(path.read_text("utf-8"))
            except (UnicodeDecodeError, ValueError):
                continue
            if path.name != "expectations.json" and isinstance(doc, dict) and "Statement" in doc:
                out.append((path, doc))
    return out


def build(directory: Path, count: int, seed: int, corpora: list[Path]) -> int:
    """Write ``count`` policy files made from the corpus shapes; return their total size."""
    rng = random.Random(seed)
    shapes = _shapes(corpora)
    total = 0
    for n in range(count):
        shape, original = shapes[n % len(shapes)]
        doc = _vary(original, rng, rng.choice(ACCOUNTS), rng.choice(NAMES))
        for i, stmt in enumerate(doc.get("Statement", []) if isinstance(doc, dict) else []):
            if isinstance(stmt, dict) and rng.random() < 0.5:
                stmt["Sid"] = f"Stmt{n}x{i}"
        text = json.dumps(doc, indent=rng.choice((None, 2, 4)))
        (directory / f"{n:04d}-{shape.name}").write_text(text, "utf-8")
        total += len(text)
    return total


def parliament_python(requested: Path | None) -> Path:
    """A Python with parliament: this one if it can import it, else a venv (made if needed)."""
    try:
        import parliament  # type: ignore[import-not-found]  # noqa: F401
    except ImportError:
        pass
    else:
        return Path(sys.executable)
    env_dir = requested or Path(tempfile.gettempdir()) / "guardgen-bench-parliament"
    python = env_dir / ("Scripts/python.exe" if os.name == "nt" else "bin/python")
    check = subprocess.run([str(python), "-c", "import parliament"], capture_output=True, check=False) \
        if python.exists() else None
    if check is None or check.returncode != 0:
        print(f"installing parliament into {env_dir} ...", file=sys.stderr)
        venv.create(env_dir, with_pip=True, clear=True)
        subprocess.run([str(python), "-m", "pip", "install", "--quiet", "parliament"], check=True)
    return python


def timed_run(command: list[str]) -> float:
    start = time.perf_counter()
    subprocess.run(command, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL, check=False)
    return time.perf_counter() - start


def guardgen_in_process(directory: Path) -> tuple[float, int]:
    """Lint the directory through lint_command; (seconds, findings). Nothing in this process
    has loaded the IAM catalog yet, so its loading is part of the time, as in a fresh process."""
    from guardgen.cli import lint as cli_lint

    out = io.StringIO()
    start = time.perf_counter()
    with contextlib.redirect_stdout(out), contextlib.redirect_stderr(io.StringIO()):
        cli_lint.lint_command([directory], None, "json", "error", Path("guardgen.yaml"), [], None)
    elapsed = time.perf_counter() - start
    return elapsed, len(json.loads(out.getvalue())["findings"])


def guardgen_command() -> list[str]:
    exe = shutil.which("guardgen") or str(Path(sys.executable).with_name("guardgen"))
    if Path(exe).exists() and subprocess.run([exe, "lint", "--help"], capture_output=True,
                                             check=False).returncode == 0:
        return [exe, "lint"]
    return [sys.executable, "-c", GUARDGEN_CLI, "lint"]


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--files", type=int, default=1_000)
    ap.add_argument("--seed", type=int, default=20260515)
    ap.add_argument("--corpus", type=Path, action="append", default=None,
                    help="a directory of policy shapes (repeatable; default: both lint corpora)")
    ap.add_argument("--parliament-venv", type=Path, default=None)
    args = ap.parse_args()
    corpora = args.corpus or list(CORPORA)
    python = parliament_python(args.parliament_venv)
    parliament_cli = python.with_name("parliament.exe" if os.name == "nt" else "parliament")
    with tempfile.TemporaryDirectory() as tmp:
        directory = Path(tmp) / "policies"
        directory.mkdir()
        size = build(directory, args.files, args.seed, corpora)
        print(f"{args.files:,} policy files, {size / 1e6:.2f} MB, in {directory}")

        g_in, g_findings = guardgen_in_process(directory)
        g_sub = timed_run([*guardgen_command(), str(directory), "--format", "json"])
        p_cli = timed_run([str(parliament_cli), "--directory", str(directory),
                           "--include_policy_extension", "json", "--json"])
        api = subprocess.run([str(python), "-c", PARLIAMENT_API, str(directory)],
                             capture_output=True, text=True, check=True).stdout.split()
        p_api, p_findings = float(api[0]), int(api[1])

    print(f"{'guardgen lint, in-process':<34}{g_in:8.3f} s  ({g_findings:,} findings)")
    print(f"{'guardgen lint, subprocess':<34}{g_sub:8.3f} s")
    print(f"{'parliament, Python API':<34}{p_api:8.3f} s  ({p_findings:,} findings)")
    print(f"{'parliament --directory (CLI)':<34}{p_cli:8.3f} s")
    print(f"ratio parliament / guardgen: {p_api / g_in:.1f}x in-process, "
          f"{p_cli / g_sub:.1f}x as commands")
    if g_in > p_api or g_sub > p_cli:
        print("guardgen is slower than parliament: profile it (python -m cProfile ...)")
        sys.exit(1)


if __name__ == "__main__":
    main()
