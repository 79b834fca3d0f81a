"""Generate and check an organization of 10,000 accounts in 2,000 OUs; print timings and memory.

Usage: python benchmarks/large_org.py [--accounts N] [--ous N]
"""

from __future__ import annotations

import argparse
import resource
import sys
import tempfile
import time
from pathlib import Path

from guardgen import output, pipeline, plan, render
from guardgen.prove import verify

GUARDRAILS = ["protect-cloudtrail", "deny-root-user", "require-imdsv2",
              "deny-unapproved-regions", "deny-iam-user-access-keys"]


def make_config(accounts: int, ous: int) -> str:
    """Two levels: ous/20 parents with 19 children each (ous in all), accounts spread evenly."""
    lines = ["version: 1", "organization:", "  name: bench",
             '  management_account_id: "111111111111"', "  home_region: us-east-1",
             "  break_glass_principals: [arn:aws:iam::*:role/BreakGlassAdmin]",
             "  allowed_regions: [us-east-1, eu-west-1]",
             "  guardrails: [deny-leave-organization, protect-security-services]", "units:"]
    parents = max(1, ous // 20)
    per_ou = accounts // ous
    n = 0
    for p in range(parents):
        lines += [f"  - name: Parent {p}", f"    guardrails: [{GUARDRAILS[p % 5]}]",
                  "    units:"]
        for c in range(ous // parents - 1):
            lines += [f"      - name: Child {c}", f"        guardrails: [{GUARDRAILS[c % 5]}]",
                      "        accounts:"]
            for _ in range(per_ou):
                lines.append(f'          - {{ name: acct-{n}, id: "{200000000000 + n}" }}')
                n += 1
    return "\n".join(lines) + "\n"


def timed(label: str, fn):  # type: ignore[no-untyped-def]
    t = time.perf_counter()
    value = fn()
    print(f"{label:<28}{time.perf_counter() - t:8.3f} s")
    return value


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__)
    ap.add_argument("--accounts", type=int, default=10_000)
    ap.add_argument("--ous", type=int, default=2_000)
    args = ap.parse_args()
    with tempfile.TemporaryDirectory() as d:
        cfg_path = Path(d) / "guardgen.yaml"
        cfg_path.write_text(make_config(args.accounts, args.ous))
        size = cfg_path.stat().st_size
        loaded = timed("load + validate", lambda: pipeline.load(cfg_path))
        p = timed("plan", lambda: plan.build(loaded.config))
        files = timed("render", lambda: render.render(p, "../guardgen.yaml"))
        total = sum(len(t) for t in files.values())
        res = pipeline.run(cfg_path)
        timed("generate (write)", lambda: output.write(
            res.out_dir, res.files, output.compare(res.out_dir, res.files)))
        timed("check (compare)", lambda: output.compare(res.out_dir, res.files))
        scenarios = timed("verify: build scenarios", lambda: verify.builtin_scenarios(p))
        outcomes = timed("verify: evaluate", lambda: verify.run(p, scenarios))
        print(f"{len(scenarios):,} scenarios, {len(verify.failures(outcomes))} failed")
        t = time.perf_counter()
        res = pipeline.run(cfg_path)
        output.compare(res.out_dir, res.files)
        verify.run(res.plan, verify.builtin_scenarios(res.plan))
        print(f"{'full check (with verify)':<28}{time.perf_counter() - t:8.3f} s")
        print(f"config {size / 1e6:.1f} MB, {len(p.targets)} targets, {len(p.policies)} SCPs, "
              f"{len(files)} files, {total / 1e6:.1f} MB of output")
    rss = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss
    print(f"peak RSS {rss / 1024:.0f} MiB (python {sys.version.split()[0]})")


if __name__ == "__main__":
    main()
