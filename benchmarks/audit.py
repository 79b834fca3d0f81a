"""The seed article's bash audit script against guardgen's audit, on one real moto_server.

1. Seeds 100 IAM users with the article's mistakes (tests/aws/motoharness.py plants them, and the
   clean controls), then runs the article's script verbatim with AWS CLI v1 (from PyPI, in a venv
   of the benchmark's own: benchmarks/.venv-awscli, made on the first run) and guardgen's audit
   (fetch + analyze, the same functions the CLI calls) against it: both times, their ratio, the
   API calls each made (moto_server's request log), and what each found.
2. Runs guardgen's audit alone at 1,000 and 5,000 users.

Usage: python benchmarks/audit.py [--sizes 1000 5000] [--skip-script]
"""

from __future__ import annotations

import argparse
import os
import re
import subprocess
import sys
import tempfile
import time
from datetime import datetime, timezone
from pathlib import Path

HERE = Path(__file__).resolve().parent
sys.path.insert(0, str(HERE.parent / "tests" / "aws"))  # the moto harness the tests use

from guardgen.aws.audit_run import AuditResult, run_audit  # noqa: E402
from guardgen.aws.session import SessionOptions  # noqa: E402
from motoharness import (  # noqa: E402
    MotoServer,
    Planted,
    fake_credentials,
    moto_server_path,
    seed_controls,
    seed_mistakes,
    seed_users,
)

AWSCLI_VENV = HERE / ".venv-awscli"
AWSCLI_REQUIREMENT = "awscli>=1.40,<2"  # AWS CLI v1, the one PyPI ships

# Verbatim from the article ("IAM Security Audit Script"); one line is too long for this file, so
# it is folded at a marked point and unfolded below. check_verbatim() compares with the article.
_FOLD = " \\\n"
ARTICLE_SCRIPT = r"""#!/bin/bash
echo "=== AWS IAM Security Quick Audit ==="

echo "\n--- Users with console access ---"
aws iam list-users --query 'Users[*].UserName' --output table

echo "\n--- Users with access keys ---"
for user in $(aws iam list-users --query 'Users[*].UserName' --output text); do
  keys=$(aws iam list-access-keys --user-name $user --query 'AccessKeyMetadata[*].[Status,CreateDate]' \
--output text)
  if [ -n "$keys" ]; then
    echo "$user: $keys"
  fi
done

echo "\n--- Policies with admin access ---"
aws iam list-policies --only-attached --query 'Policies[?PolicyName==`AdministratorAccess`]'

echo "\n--- MFA status ---"
for user in $(aws iam list-users --query 'Users[*].UserName' --output text); do
  mfa=$(aws iam list-mfa-devices --user-name $user --query 'MFADevices' --output text)
  if [ -z "$mfa" ]; then
    echo "NO MFA: $user"
  fi
done
""".replace(_FOLD, " ")
ARTICLE = HERE.parent.parent / "shared" / "reference" / "000_d158971af2610c97.txt"


def check_verbatim() -> None:
    """Refuse to run a script that differs from the article's, when the article is at hand."""
    if not ARTICLE.exists():
        return
    text = ARTICLE.read_text(encoding="utf-8")
    start = text.index("#!/bin/bash")
    original = text[start:text.index("Need an AWS Security Audit?", start)].rstrip("\n") + "\n"
    if original != ARTICLE_SCRIPT:
        sys.exit(f"benchmarks/audit.py's copy of the script differs from {ARTICLE}")


def awscli() -> Path:
    """The ``aws`` of the benchmark's own venv, installed on the first run."""
    aws = AWSCLI_VENV / "bin" / "aws"
    if not aws.exists():
        print(f"installing {AWSCLI_REQUIREMENT} into {AWSCLI_VENV} ...", flush=True)
        subprocess.run([sys.executable, "-m", "venv", str(AWSCLI_VENV)], check=True)
        subprocess.run([str(AWSCLI_VENV / "bin" / "pip"), "install", "-q", AWSCLI_REQUIREMENT], check=True)
    return aws


def seed(server: MotoServer, users: int) -> Planted:
    """The article's mistakes and the controls (4 users), then ordinary users up to ``users``."""
    server.reset()
    planted = Planted()
    seed_mistakes(server.endpoint, planted)
    seed_controls(server.endpoint, planted)
    seed_users(server.endpoint, users - len(planted.users))
    return planted


def run_script(server: MotoServer, aws: Path) -> tuple[float, int, str]:
    """Run the article's script; returns (seconds, API requests, output)."""
    env = dict(os.environ, PATH=f"{aws.parent}:{os.environ['PATH']}", AWS_ENDPOINT_URL=server.endpoint,
               AWS_PAGER="")
    with tempfile.NamedTemporaryFile("w", suffix=".sh", delete=False) as script:
        script.write(ARTICLE_SCRIPT)
    before = server.requests()
    start = time.perf_counter()
    done = subprocess.run(["bash", script.name], env=env, capture_output=True, text=True, check=False)
    seconds = time.perf_counter() - start
    os.unlink(script.name)
    if done.returncode != 0 or done.stderr.strip():
        print("script stderr:", done.stderr[-2000:], file=sys.stderr)
    return seconds, server.requests() - before, done.stdout


def run_guardgen(server: MotoServer) -> tuple[float, int, AuditResult]:
    """guardgen's audit; returns (seconds, API requests as moto logged them, result)."""
    before = server.requests()
    start = time.perf_counter()
    result = run_audit(SessionOptions(endpoint_url=server.endpoint), now=datetime.now(timezone.utc))
    return time.perf_counter() - start, server.requests() - before, result


def script_found(output: str) -> dict[str, set[str]]:
    """What the script listed: users with keys, users without MFA, whether AdministratorAccess is attached."""
    keys = {m.group(1) for m in re.finditer(r"^([\w+=,.@-]+): (Active|Inactive)", output, re.MULTILINE)}
    no_mfa = {m.group(1) for m in re.finditer(r"^NO MFA: (\S+)$", output, re.MULTILINE)}
    admin = {"AdministratorAccess"} if '"PolicyName": "AdministratorAccess"' in output else set()
    return {"users with access keys": keys, "users without MFA": no_mfa, "admin policy attached": admin}


def guardgen_found(result: AuditResult) -> dict[str, set[str]]:
    """The same three lists from guardgen's findings (user names from the ARNs)."""
    def users(*checks: str) -> set[str]:
        return {x.resource.rsplit("/", 1)[-1] for x in result.audit.findings if x.id in checks}

    admin = {"AdministratorAccess"} if users("admin-policy-attached") else set()
    return {"users with access keys": users("access-key-active"),
            "users without MFA": users("console-without-mfa", "user-without-mfa"),
            "admin policy attached": admin}


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--users", type=int, default=100, help="users for the script comparison")
    ap.add_argument("--sizes", type=int, nargs="*", default=[1_000, 5_000], help="guardgen-only sizes")
    ap.add_argument("--skip-script", action="store_true", help="do not run the article's script")
    args = ap.parse_args()
    check_verbatim()
    executable = moto_server_path()
    if executable is None:
        sys.exit("moto_server is not installed: pip install 'moto[server]' (the test extra)")
    rows: list[tuple[str, int, float, int, str]] = []
    with fake_credentials(), tempfile.TemporaryDirectory() as tmp:
        server = MotoServer(executable, Path(tmp) / "moto_server.log")
        try:
            t = time.perf_counter()
            seed(server, args.users)
            print(f"seeded {args.users} users in {time.perf_counter() - t:.1f} s", flush=True)
            g_time, g_requests, result = run_guardgen(server)
            rows.append(("guardgen audit", args.users, g_time, g_requests,
                         f"{len(result.audit.findings)} findings, {len(result.audit.unknown)} unknown"))
            assert g_requests == result.calls, (g_requests, result.calls)  # the hook counts what is sent
            if not args.skip_script:
                s_time, s_requests, output = run_script(server, awscli())
                found_s, found_g = script_found(output), guardgen_found(result)
                rows.insert(0, ("article script (AWS CLI v1)", args.users, s_time, s_requests,
                                "; ".join(f"{len(v)} {k}" for k, v in found_s.items())))
            for size in args.sizes:
                t = time.perf_counter()
                seed(server, size)
                print(f"seeded {size} users in {time.perf_counter() - t:.1f} s", flush=True)
                seconds, requests, res = run_guardgen(server)
                rows.append(("guardgen audit", size, seconds, requests,
                             f"{len(res.audit.findings)} findings (fetch {res.fetch_seconds:.2f} s, "
                             f"analyze {res.analyze_seconds:.2f} s)"))
        finally:
            server.stop()

    print()
    print(f"{'run':<30}{'users':>7}{'seconds':>10}{'API calls':>11}  found")
    for name, users, seconds, requests, found in rows:
        print(f"{name:<30}{users:>7}{seconds:>10.2f}{requests:>11}  {found}")
    if not args.skip_script:
        print(f"\nguardgen is {s_time / g_time:.0f}x faster than the script at {args.users} users "
              f"and made {s_requests / max(g_requests, 1):.0f}x fewer API calls")
        print(f"guardgen's calls at {args.users} users: {result.operations}")
        print("\nwhat the script lists, and whether guardgen reports it too:")
        for key, listed in found_s.items():
            missing = listed - found_g[key]
            print(f"  {key:<24} script {len(listed):>4}  guardgen {len(found_g[key]):>4}  "
                  f"listed by the script but not by guardgen: {sorted(missing) or 'none'}")
        print(f"  guardgen also reports: {sorted({x.id for x in result.audit.findings})}")


if __name__ == "__main__":
    main()
