"""Names built to collide never make two things share an identifier or a path.

Every Terraform identifier and file name comes from ``hcl.identifiers``: a readable slug, a short
hash when slugs clash, a longer hash when even that clashes (a name that reads like another's
hashed form). These configs are made of such names: case, Unicode normalisation, the Kelvin sign
that lowercases to ASCII, separators that slug alike, and names equal to another's hashed form.
"""

from __future__ import annotations

import json
import re
import unicodedata
from collections import Counter
from pathlib import Path

from hypothesis import given, settings
from hypothesis import strategies as st

from guardgen import pipeline, plan
from guardgen.hcl import identifiers, short_hash
from guardgen.plan.organization import policy_documents

HEAD = """version: 1
organization:
  name: collide
  management_account_id: "111111111111"
  home_region: us-east-1
  break_glass_principals: [arn:aws:iam::*:role/BreakGlassAdmin]
  guardrails: [deny-leave-organization]
"""

# Names whose slugs clash, and names that read like the hashed identifier of another one.
ACCOUNTS = ["app-prod", "App-Prod", "APP_PROD", "app prod",
            f"app-prod-{short_hash('app-prod')}", f"app-prod-{short_hash('App-Prod')}",
            unicodedata.normalize("NFC", "Café"), unicodedata.normalize("NFD", "Café"), "CAFÉ",
            "caf", "\u212aelvin", "kelvin", "Kelvin", "---", "***"]
OUS = ["Prod", "prod", "PROD", f"prod-{short_hash(json.dumps(['prod']))}",
       f"prod-{short_hash(json.dumps(['Prod']))}", "A/B", "a-b"]


def _config() -> str:
    lines = [HEAD, "units:"]
    n = 100000000000
    homes = [ou for ou in OUS if ou != "A/B"]
    for ou in OUS:
        lines += [f"  - name: {json.dumps(ou)}", "    guardrails: [deny-root-user]"]
        if ou == "A/B":
            continue
        lines.append("    accounts:")
        for name in ACCOUNTS[homes.index(ou)::len(homes)]:
            n += 1
            lines.append(f"      - {{ name: {json.dumps(name)}, id: \"{n}\", "
                         "guardrails: [require-imdsv2] }")
    lines += ["  - name: A", "    units:", "      - name: B", "        guardrails: [deny-root-user]",
              "        accounts: [{ name: nested-b, id: \"199999999999\", guardrails: "
              "[require-imdsv2] }]"]
    lines += ["ci_roles:", "  - name: deploy", "    provider: github", "    repository: acme/app",
              "    branches: [main]", "    accounts: " + json.dumps([*ACCOUNTS, "nested-b"])]
    lines += ["permission_boundaries:", "  - name: fence", "    allow_services: [s3]",
              "    accounts: " + json.dumps(ACCOUNTS)]
    return "\n".join(lines) + "\n"


def _labels(text: str, kind: str) -> list[str]:
    return re.findall(rf'^{kind} "(?:[^"]+" )?"?([a-z][a-z0-9_]*)"? \{{', text, re.M)


def test_the_config_really_collides() -> None:
    """Without the extra hash levels, these names would share identifiers."""
    slugs = Counter(re.sub(r"[^a-z0-9]+", "_", a.lower()).strip("_") for a in ACCOUNTS)
    assert max(slugs.values()) >= 4
    first = identifiers("account", ["app-prod", "App-Prod"])
    assert first["app-prod"] == f"account_app_prod_{short_hash('app-prod')}"  # ACCOUNTS[4] reads so


def test_colliding_names_get_distinct_identifiers_and_paths(tmp_path: Path) -> None:
    cfg = tmp_path / "guardgen.yaml"
    cfg.write_text(_config(), encoding="utf-8")
    loaded = pipeline.load(cfg)
    p = plan.build(loaded.config)
    n_accounts = len(ACCOUNTS) + 1
    assert len(p.accounts) == n_accounts
    assert len({a.directory for a in p.accounts}) == n_accounts
    assert len({a.ident for a in p.accounts}) == n_accounts
    assert len({o.ident for o in p.ous}) == len(p.ous) == len(OUS) + 2
    assert len({t.ident for t in p.targets}) == len(p.targets)
    assert len({pol.ident for pol in p.policies}) == len(p.policies)
    assert len({pol.name for pol in p.policies}) == len(p.policies)
    paths = [d.path for d in policy_documents(p)]
    assert len(set(paths)) == len(paths)
    # Every account has a target of its own (require-imdsv2 is attached to each account).
    assert sorted(t.account_id for t in p.targets if t.kind == "account") == sorted(
        {a.id for a in p.accounts})


def test_colliding_names_generate_every_file_and_check_clean(cli, tmp_path: Path) -> None:
    cfg = tmp_path / "guardgen.yaml"
    cfg.write_text(_config(), encoding="utf-8")
    r = cli("generate", "-c", cfg)
    assert r.exit_code == 0, r.output
    out = tmp_path / "terraform"
    roots = sorted(p.parent.name for p in (out / "accounts").glob("*/main.tf"))
    assert len(roots) == len(ACCOUNTS) + 1
    # Each account's root deploys into that account and no other.
    ids = Counter(re.search(r'allowed_account_ids\s*=\s*\["(\d{12})"\]', (
        out / "accounts" / d / "providers.tf").read_text()).group(1) for d in roots)
    assert len(ids) == len(roots) and set(ids.values()) == {1}
    mgmt = (out / "management")
    scps = (mgmt / "scps.tf").read_text()
    modules = _labels(scps, "module")
    assert len(modules) == len(set(modules)) == len(list((mgmt / "policies").glob("*.json")))
    ous = _labels((mgmt / "organization.tf").read_text(), "resource")
    assert len(ous) == len(set(ous))
    files = json.loads((out / ".guardgen-manifest.json").read_text())["files"]
    assert len(files) == len(pipeline.run(cfg).files) - 1  # nothing rendered was overwritten
    assert cli("check", "-c", cfg).exit_code == 0


_names = st.text(alphabet=st.sampled_from("aAbB-_ é\u0301\u212a0"), min_size=0, max_size=8)


@settings(max_examples=300, deadline=None)
@given(st.lists(_names, max_size=12), st.randoms())
def test_identifiers_are_unique_valid_and_independent_of_order(keys: list[str], rnd) -> None:
    # Add the hashed forms an adversary would pick: names equal to another's identifier.
    crafted = [f"{k}-{short_hash(k)}" for k in keys[:4]] + [f"{k}_{short_hash(k, 10)}" for k in keys[:2]]
    keys = keys + crafted
    ids = identifiers("account", keys)
    assert set(ids) == set(keys)
    assert len(set(ids.values())) == len(ids)
    assert all(re.fullmatch(r"[a-z][a-z0-9_]*", i) and len(i) <= 64 for i in ids.values())
    shuffled = list(keys)
    rnd.shuffle(shuffled)
    assert identifiers("account", shuffled) == ids


def test_a_name_that_reads_like_a_hashed_identifier_renames_nothing_else() -> None:
    """An account added with the name of another's hashed identifier gets a hash itself; the
    identifiers that existed stay, so Terraform plans no renames for them."""
    before = identifiers("account", ["x", "app-prod", "App-Prod"])
    crafted = str(before["app-prod"]).removeprefix("account_").replace("_", "-")
    after = identifiers("account", ["x", "app-prod", "App-Prod", crafted])
    assert {k: after[k] for k in before} == before
    assert after[crafted] == f"account_{crafted.replace('-', '_')}_{short_hash(crafted)}"
    assert len(set(after.values())) == 4
