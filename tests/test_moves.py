"""Renames become ``moved`` blocks: OU, account, role, boundary and guardrail renames.

Each rename renders the tree before and after, derives the moves, and checks them the way
Terraform would, reading both trees with python-hcl2 (not with guardgen's own scanner): every
``from`` is an address the previous tree declared, every ``to`` one the new tree declares, no
``from`` is still declared, and no resource or module address of the previous tree disappears
without a move. Account roots are matched by the account their provider runs in, so an account
whose folder changed is followed. The end-to-end tests run ``generate`` and ``check`` through
the CLI: moves are written once, carried by every later run, and pruned on request.
"""

from __future__ import annotations

import re
from collections.abc import Callable, Mapping
from pathlib import Path

import hcl2
import pytest
from hcl2 import SerializationOptions

from external import checks
from guardgen import output, pipeline, plan, render
from guardgen.plan import moves
from support import EXAMPLES

IAM = (EXAMPLES / "iam" / "guardgen.yaml").read_text(encoding="utf-8")
CUSTOM = """custom_guardrails:
  - id: deny-s3-public
    title: S3 stays private
    description: Denies changing the account's S3 public access block.
    statements:
      - { Effect: Deny, Action: ["s3:PutAccountPublicAccessBlock"], Resource: "*" }
"""
BASE = IAM.replace(
    "guardrails: [protect-cloudtrail, deny-root-user, require-imdsv2, deny-unapproved-regions]",
    "guardrails: [protect-cloudtrail, deny-root-user, require-imdsv2, deny-unapproved-regions, "
    "deny-s3-public]") + CUSTOM
SOURCE = "../guardgen.yaml"
_OPTIONS = SerializationOptions(strip_string_quotes=True, explicit_blocks=False,
                                preserve_heredocs=False, with_comments=False)

Tree = dict[str, str]


def generation(text: str, previous: Mapping[str, str] | None = None, *, prune: bool = False) -> Tree:
    """The tree ``generate`` writes for ``text`` over ``previous`` (moved.tf files included)."""
    loaded = pipeline.loads(text)
    p = plan.build(loaded.config)
    files = render.render(p, SOURCE)
    prev = dict(previous or {})
    owned = {path: output.digest(t) for path, t in prev.items()}
    found = moves.derive(owned, prev, files, {path: output.digest(t) for path, t in files.items()},
                         loaded.config, prune=prune)
    return {**files, **render.moved_files(found, p, SOURCE)}


# -- reading trees with python-hcl2 ----------------------------------------------------------------

def _roots(tree: Tree) -> dict[str, list[str]]:
    out: dict[str, list[str]] = {}
    for path in tree:
        if path.endswith(".tf") and not path.startswith("modules/"):
            out.setdefault(path.rsplit("/", 1)[0], []).append(path)
    return out


def _parsed(tree: Tree, root: str) -> list[dict[str, object]]:
    return [hcl2.loads(tree[p], serialization_options=_OPTIONS) for p in _roots(tree)[root]]


def declared(tree: Tree, root: str) -> set[str]:
    """Resource and module addresses of one root, as python-hcl2 reads them."""
    out: set[str] = set()
    for doc in _parsed(tree, root):
        for item in doc.get("resource", []):  # type: ignore[attr-defined]
            out |= {f"{t}.{n}" for t, names in item.items() for n in names}
        for item in doc.get("module", []):  # type: ignore[attr-defined]
            out |= {f"module.{n}" for n in item}
    return out


def moved_blocks(tree: Tree, root: str) -> list[tuple[str, str]]:
    def bare(ref: str) -> str:
        return ref.removeprefix("${").removesuffix("}")

    return [(bare(m["from"]), bare(m["to"])) for doc in _parsed(tree, root)
            for m in doc.get("moved", [])]  # type: ignore[attr-defined]


def account_of(tree: Tree, root: str) -> str:
    """The account a root's provider runs in, or the root's own path for the others."""
    for doc in _parsed(tree, root):
        for provider in doc.get("provider", []):  # type: ignore[attr-defined]
            ids = provider["aws"].get("allowed_account_ids")
            if ids and root.startswith("accounts/"):
                return str(ids[0])
    return root


def assert_moves_cover(old: Tree, new: Tree) -> list[tuple[str, str, str]]:
    """The acceptance checks; returns every move as (root, from, to).

    Every ``from`` is an address the previous tree declared (or an earlier move it carried
    started from), every ``to`` one the new tree declares (at the end of a chain of renames, which
    Terraform follows), no ``from`` is declared again, and no address of the previous tree
    disappears without a move.
    """
    old_by_key = {account_of(old, r): r for r in _roots(old)}
    new_by_key = {account_of(new, r): r for r in _roots(new)}
    found = []
    for key, old_root in old_by_key.items():
        assert key in new_by_key, f"root {old_root} has no successor"
        new_root = new_by_key[key]
        before, after = declared(old, old_root), declared(new, new_root)
        # A move carried from an earlier generation starts where that generation's move did.
        known = before | {s for s, _ in moved_blocks(old, old_root)}
        pairs = moved_blocks(new, new_root)
        # Terraform's own rules: one move per from, one per to, chains allowed.
        assert len({s for s, _ in pairs}) == len(pairs) == len({t for _, t in pairs}), pairs
        step = dict(pairs)
        for source, target in pairs:
            assert source in known, f"{new_root}: moved from {source}, which {old_root} did not declare"
            end = target
            while end in step:  # a chain of renames ends at an address the tree declares
                end = step[end]
            assert end in after, f"{new_root}: moved to {target}, which leads to nothing declared"
            assert source not in after, f"{new_root}: {source} is still declared"
        gone = before - after - {s for s, _ in pairs}
        assert not gone, f"{old_root} → {new_root}: {sorted(gone)} disappear without a move"
        found += [(new_root, s, t) for s, t in pairs]
    return found


# -- the renames ------------------------------------------------------------------------------------

RENAMES: dict[str, Callable[[str], str]] = {
    "ou": lambda t: t.replace("  - name: Workloads\n", "  - name: Apps\n    previously: [Workloads]\n"),
    "account": lambda t: t.replace("shop-prod", "shop-production"),
    "role": lambda t: t.replace("  - name: shop-deploy\n",
                                "  - name: shop-ci\n    previously: [shop-deploy]\n"),
    "boundary": lambda t: t.replace("workload-boundary", "app-boundary").replace(
        "  - name: app-boundary\n", "  - name: app-boundary\n    previously: [workload-boundary]\n"),
    "guardrail": lambda t: t.replace("deny-s3-public", "deny-s3-public-access"),
}


@pytest.mark.parametrize("kind", sorted(RENAMES))
def test_a_rename_moves_every_address_it_changes(kind: str) -> None:
    before = generation(BASE)
    after = generation(RENAMES[kind](BASE), before)
    found = assert_moves_cover(before, after)
    if kind == "guardrail":
        # SCPs are named after their targets, not their guardrails: a guardrail's new id changes
        # policy content in place and no address, so there is nothing to move.
        assert found == []
        assert not [p for p in after if p.endswith(moves.MOVED_FILE)]
    else:
        assert found, f"renaming {kind} moved nothing"


def test_the_moves_of_each_rename() -> None:
    before = generation(BASE)
    ou = assert_moves_cover(before, generation(RENAMES["ou"](BASE), before))
    assert ("management", "aws_organizations_organizational_unit.ou_workloads",
            "aws_organizations_organizational_unit.ou_apps") in ou
    # Children of a renamed OU change address with it.
    assert ("management", "aws_organizations_organizational_unit.ou_workloads_prod",
            "aws_organizations_organizational_unit.ou_apps_prod") in ou
    assert ("management", "module.scp_ou_workloads_1", "module.scp_ou_apps_1") in ou

    account = assert_moves_cover(before, generation(RENAMES["account"](BASE), before))
    assert account == [("management", "module.scp_account_shop_prod_1",
                        "module.scp_account_shop_production_1")]
    role = assert_moves_cover(before, generation(RENAMES["role"](BASE), before))
    assert role == [("accounts/shop-prod", "module.role_shop_deploy", "module.role_shop_ci")]
    boundary = assert_moves_cover(before, generation(RENAMES["boundary"](BASE), before))
    assert sorted(boundary) == [
        (r, "module.boundary_workload_boundary", "module.boundary_app_boundary")
        for r in ("accounts/shop-dev", "accounts/shop-prod")]


PERIMETER = EXAMPLES / "perimeter" / "guardgen.yaml"


@pytest.mark.parametrize("kind", ["ou", "account"])
def test_resource_control_and_declarative_policies_move_with_their_target(kind: str) -> None:
    text = PERIMETER.read_text(encoding="utf-8")
    renamed = (text.replace("  - name: Workloads\n", "  - name: Apps\n    previously: [Workloads]\n")
               if kind == "ou" else text.replace("name: sandbox,", "name: sandbox-eu,"))
    assert renamed != text
    before = generation(text)
    found = assert_moves_cover(before, generation(renamed, before))
    moved = {s.split(".")[0] for _, s, _ in found}
    assert "aws_organizations_policy" in moved and "aws_organizations_policy_attachment" in moved


def test_an_account_root_that_changed_folder_says_how_to_move_its_state() -> None:
    before = generation(BASE)
    after = generation(RENAMES["account"](BASE), before)
    assert "accounts/shop-prod/main.tf" not in after
    text = after["accounts/shop-production/moved.tf"]
    assert "# Previously accounts/shop-prod:" in text
    assert "move accounts/shop-prod/terraform.tfstate (local state) into accounts/shop-production/" in text
    with_backend = BASE.replace("units:\n", "backend:\n  bucket: acme-state\n  region: us-east-1\n"
                                "units:\n", 1)
    before = generation(with_backend)
    after = generation(RENAMES["account"](with_backend), before)
    assert ("copy s3://acme-state/guardgen/accounts/shop-prod/terraform.tfstate to "
            "s3://acme-state/guardgen/accounts/shop-production/terraform.tfstate"
            in after["accounts/shop-production/moved.tf"])


def test_an_ou_adopted_by_id_is_followed_without_previously() -> None:
    with_id = BASE.replace("  - name: Workloads\n", "  - name: Workloads\n    id: ou-ab12-workloads1\n")
    before = generation(with_id)
    after = generation(with_id.replace("  - name: Workloads\n", "  - name: Apps\n"), before)
    found = assert_moves_cover(before, after)
    assert ("management", "aws_organizations_organizational_unit.ou_workloads",
            "aws_organizations_organizational_unit.ou_apps") in found


def test_an_ou_moved_under_another_parent_follows_its_old_path() -> None:
    nonprod = "      - name: NonProd\n        guardrails: [deny-iam-user-access-keys]\n"
    assert nonprod in BASE
    moved_ou = BASE.replace(nonprod, "").replace(
        "  - name: Security\n", "  - name: Security\n    units:\n"
        "      - name: NonProd\n        previously: [Workloads/NonProd]\n"
        "        guardrails: [deny-iam-user-access-keys]\n", 1)
    # Its account moves with it in the config text.
    keys = "        guardrails: [deny-iam-user-access-keys]\n"
    dev = "        accounts:\n          - { name: shop-dev, id: \"555555555555\" }\n"
    moved_ou = moved_ou.replace(dev, "", 1).replace(keys, keys + dev, 1)
    before = generation(BASE)
    found = assert_moves_cover(before, generation(moved_ou, before))
    assert ("management", "aws_organizations_organizational_unit.ou_workloads_nonprod",
            "aws_organizations_organizational_unit.ou_security_nonprod") in found


def test_an_address_that_changes_without_a_rename_is_moved() -> None:
    """A new OU whose name slugs like an existing one's gives both a hashed identifier: the
    existing OU keeps its key (its path), so it moves instead of being replaced."""
    before = generation(BASE)
    crowded = BASE.replace("  - name: Workloads\n", "  - name: WORKLOADS\n  - name: Workloads\n", 1)
    after = generation(crowded, before)
    found = assert_moves_cover(before, after)
    assert [(s, t) for _, s, t in found if s == "aws_organizations_organizational_unit.ou_workloads"]
    assert "aws_organizations_organizational_unit.ou_workloads" not in declared(after, "management")


def test_without_a_key_a_rename_is_a_replacement() -> None:
    """No id and no previously: guardgen does not guess that a new OU is an old one."""
    before = generation(BASE)
    after = generation(BASE.replace("  - name: Workloads\n", "  - name: Apps\n"), before)
    assert moved_blocks(after, "management") == []
    assert "aws_organizations_organizational_unit.ou_workloads" not in declared(after, "management")


def test_moves_stay_until_pruned_and_chain() -> None:
    first = generation(BASE)
    second = generation(RENAMES["ou"](BASE), first)
    again = generation(RENAMES["ou"](BASE), second)
    assert again == second  # what `check` renders right after `generate`: no diff
    third_text = RENAMES["ou"](BASE).replace("  - name: Apps\n    previously: [Workloads]\n",
                                             "  - name: Services\n    previously: [Apps]\n")
    third = generation(third_text, second)
    chain = moved_blocks(third, "management")
    assert ("aws_organizations_organizational_unit.ou_workloads",
            "aws_organizations_organizational_unit.ou_apps") in chain
    assert ("aws_organizations_organizational_unit.ou_apps",
            "aws_organizations_organizational_unit.ou_services") in chain
    assert_moves_cover(second, third)
    pruned = generation(third_text, third, prune=True)
    assert not [p for p in pruned if p.endswith(moves.MOVED_FILE)]
    # Pruning keeps the moves a rename of this very run needs.
    renamed_and_pruned = generation(RENAMES["ou"](BASE), first, prune=True)
    assert moved_blocks(renamed_and_pruned, "management") == moved_blocks(second, "management")


def test_a_rename_undone_drops_the_move_terraform_would_refuse() -> None:
    first = generation(BASE)
    second = generation(RENAMES["ou"](BASE), first)
    back = generation(BASE.replace("  - name: Workloads\n",
                                   "  - name: Workloads\n    previously: [Apps]\n"), second)
    pairs = moved_blocks(back, "management")
    assert ("aws_organizations_organizational_unit.ou_apps",
            "aws_organizations_organizational_unit.ou_workloads") in pairs
    assert all(s != "aws_organizations_organizational_unit.ou_workloads" for s, _ in pairs)
    assert_moves_cover(second, back)


def test_account_root_notes_are_carried_and_pruned() -> None:
    first = generation(BASE)
    second = generation(RENAMES["account"](BASE), first)
    again = generation(RENAMES["account"](BASE), second)
    assert again["accounts/shop-production/moved.tf"] == second["accounts/shop-production/moved.tf"]
    pruned = generation(RENAMES["account"](BASE), second, prune=True)
    assert "accounts/shop-production/moved.tf" not in pruned


@pytest.mark.parametrize("example", sorted(p.parent.name for p in EXAMPLES.glob("*/guardgen.yaml")))
def test_nothing_renamed_nothing_moved(example: str) -> None:
    text = (EXAMPLES / example / "guardgen.yaml").read_text(encoding="utf-8")
    loaded = pipeline.loads(text)
    files = render.render(plan.build(loaded.config), SOURCE)
    owned = {p: output.digest(t) for p, t in files.items()}
    assert moves.derive(owned, files, files, owned, loaded.config) == moves.NO_MOVES


def test_moved_files_are_terraform_fmt_clean_and_parse(tmp_path: Path) -> None:
    before = generation(BASE)
    after = generation(RENAMES["boundary"](RENAMES["ou"](RENAMES["account"](BASE))), before)
    written = [p for p in after if p.endswith(moves.MOVED_FILE)]
    assert len(written) == 3
    for rel in written:
        (tmp_path / rel).parent.mkdir(parents=True, exist_ok=True)
        (tmp_path / rel).write_text(after[rel], encoding="utf-8")
    assert checks.hcl2_problems(tmp_path) == []
    assert checks.fmt_problems(tmp_path) == []


def test_the_scanner_reads_escaped_names() -> None:
    """OU names may hold quotes, backslashes and ${: the moves follow them all the same."""
    odd = 'We"ird \\ ${x} %{y}'
    text = BASE.replace("  - name: Workloads\n", f"  - name: {yaml_quote(odd)}\n")
    before = generation(text)
    renamed = text.replace(f"  - name: {yaml_quote(odd)}\n",
                           f"  - name: Apps\n    previously: [{yaml_quote(odd)}]\n")
    found = assert_moves_cover(before, generation(renamed, before))
    assert any(t == "aws_organizations_organizational_unit.ou_apps" for _, _, t in found)


def yaml_quote(s: str) -> str:
    return '"' + s.replace("\\", "\\\\").replace('"', '\\"') + '"'


# -- end to end: generate, check, prune ------------------------------------------------------------

def _write(cfg: Path, text: str) -> None:
    cfg.write_text(text, encoding="utf-8")


def test_generate_writes_moves_check_accepts_them_and_prune_drops_them(tmp_path: Path, cli) -> None:
    cfg = tmp_path / "guardgen.yaml"
    _write(cfg, BASE)
    assert cli("generate", "-c", cfg, "-q").exit_code == 0
    _write(cfg, RENAMES["ou"](BASE))
    assert cli("generate", "-c", cfg, "-q").exit_code == 0
    moved = tmp_path / "terraform" / "management" / "moved.tf"
    assert "from = aws_organizations_organizational_unit.ou_workloads" in moved.read_text()
    r = cli("check", "-c", cfg)
    assert r.exit_code == 0, r.output
    r = cli("generate", "-c", cfg)
    assert "up to date" in r.output
    assert cli("generate", "-c", cfg, "--prune-moves", "-q").exit_code == 0
    assert not moved.exists()
    assert cli("check", "-c", cfg, "-q").exit_code == 0


def test_generate_refuses_a_users_file_that_declares_a_generated_address(tmp_path: Path, cli) -> None:
    cfg = tmp_path / "guardgen.yaml"
    _write(cfg, BASE)
    assert cli("generate", "-c", cfg, "-q").exit_code == 0
    mine = tmp_path / "terraform" / "management" / "extra.tf"
    mine.write_text('# our own\nresource "aws_s3_bucket" "ours" {\n  bucket = "x"\n}\n\n'
                    'module "scp_root_1" {\n  source = "./x"\n}\n', encoding="utf-8")
    r = cli("generate", "-c", cfg)
    assert r.exit_code == 2
    assert re.search(r"management/extra\.tf:6: module\.scp_root_1 is also declared there by "
                     r"guardgen.*management/scps\.tf", r.output)
    assert "aws_s3_bucket.ours" not in r.output
    assert cli("check", "-c", cfg, "-q").exit_code == 2
    mine.write_text('resource "aws_s3_bucket" "ours" {\n  bucket = "x"\n}\n', encoding="utf-8")
    assert cli("generate", "-c", cfg, "-q").exit_code == 0
    assert mine.exists()  # a user's file guardgen never touches
