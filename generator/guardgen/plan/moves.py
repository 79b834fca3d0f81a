"""Renames as Terraform ``moved`` blocks, derived from the previous generation. Pure.

A rename in guardgen.yaml changes Terraform addresses: OU ``Workloads`` becoming ``Apps`` turns
``aws_organizations_organizational_unit.ou_workloads`` into ``...ou_apps`` and its SCP module
``scp_ou_workloads_1`` into ``scp_ou_apps_1``. Without a ``moved`` block Terraform destroys the one
and creates the other; an OU that holds accounts cannot even be destroyed.

Every address guardgen writes gets a *stable key* read from the tree itself: an OU by its path of
names (and its id, when the config adopts an existing OU), a policy module by the target it
attaches to (the root, an OU, an account id), a module in an account root by what it is and its
name (``role shop-deploy``), an account root by its account id. The previous tree is read the same
way (the caller passes the files its manifest lists), the old keys are carried through the
renames the config implies (OU ids, account ids, ``previously:`` lists), and every address whose
key survives under a new address becomes ``moved { from = old  to = new }``.

Moves written before stay (the previous ``moved.tf`` files are read back) until
``prune`` drops them, except those Terraform would refuse: a ``from`` that is declared again, or a
``to`` that no longer leads to anything declared. An account root whose folder changed
(``accounts/shop-prod`` to ``accounts/shop-production``) keeps its addresses, but Terraform keeps
state per folder, so the new root records where it was; rendering tells the user to move the
state.

Only the files of roots that changed are read (the manifest's hashes say which): a 10,000-account
tree with nothing renamed costs hashing the rendered text (0.3 s). Generated text is read with a
line scanner of guardgen's own template shapes, about fifty times faster than python-hcl2 (0.04 s
against 1.9 s for the organization.tf of 2,000 OUs); user-written Terraform never goes through it,
and the tests read every tree these moves are checked against with python-hcl2.
"""

from __future__ import annotations

import re
from collections.abc import Iterable, Mapping
from dataclasses import dataclass, field
from typing import Any

from ..config.models import Config, walk
from ..config.placement import roles

MOVED_FILE = "moved.tf"
_MODULES = "modules/"

# Top-level block headers as guardgen's templates write them: at column 0, labels quoted.
_HEADER = re.compile(r'^(?P<kind>[a-z_]+)(?P<labels>(?: "(?:[^"\\]|\\.)*")*) \{\}?$')
_LABEL = re.compile(r'"((?:[^"\\]|\\.)*)"')
# A direct attribute of a block (two spaces in), and an entry of a map attribute (four).
_ATTR = re.compile(r'^  (?P<key>[a-z_][a-z0-9_]*) *= *(?P<value>.*)$')
_ENTRY = re.compile(r'^    (?P<key>"(?:[^"\\]|\\.)*"|[a-z_][a-z0-9_]*) *= *(?P<value>.*)$')
_ADDRESS = re.compile(r"^(module\.[a-z][a-z0-9_]*|[a-z][a-z0-9_]*\.[a-z][a-z0-9_]*)$")
_OU_REF = re.compile(r"^aws_organizations_organizational_unit\.([a-z][a-z0-9_]*)\.id$")
_ROOT_REF = "data.aws_organizations_organization.this.roots[0].id"
_POLICY = "aws_organizations_policy"
_ATTACHMENT = "aws_organizations_policy_attachment"
_POLICY_REF = re.compile(r"^aws_organizations_policy\.([a-z][a-z0-9_]*)\.id$")
_LABEL_PARTS = re.compile(r"^(?P<kind>[a-z0-9]+)_(?P<target>[a-z0-9_]+?)(?P<part>_[0-9]+)?$")
_PREVIOUSLY = re.compile(r"^# Previously (accounts/[A-Za-z0-9_.-]+):")
_ESCAPE = re.compile(r'\\(u[0-9a-fA-F]{4}|U[0-9a-fA-F]{8}|.)')
_SIMPLE = {"n": "\n", "r": "\r", "t": "\t", '"': '"', "\\": "\\"}

Key = tuple[Any, ...]


@dataclass
class _Block:
    kind: str
    labels: tuple[str, ...]
    attrs: dict[str, str] = field(default_factory=dict)  # raw HCL text of each value
    maps: dict[str, dict[str, str]] = field(default_factory=dict)  # map attributes, raw entries


@dataclass(frozen=True)
class Move:
    """One ``moved`` block of a root."""

    source: str  # the old address (``from``)
    target: str  # the new address (``to``)


@dataclass(frozen=True)
class Moves:
    """What the new tree must carry so that Terraform moves rather than destroys."""

    blocks: dict[str, tuple[Move, ...]]  # root folder → its moved blocks, in order
    # Root folder → the folders that held its state before (the latest first).
    previous_roots: dict[str, tuple[str, ...]]

    @property
    def roots(self) -> list[str]:
        """Every root that gets a moved.tf."""
        return sorted(set(self.blocks) | set(self.previous_roots))


NO_MOVES = Moves({}, {})


# -- reading guardgen's own text ------------------------------------------------------------------

def _unquote(raw: str) -> str | None:
    """The value of an HCL string literal as guardgen writes them, or None if ``raw`` is not one."""
    if len(raw) < 2 or raw[0] != '"' or raw[-1] != '"':
        return None

    def one(m: re.Match[str]) -> str:
        s = m.group(1)
        if s[0] in "uU" and len(s) > 1:
            return chr(int(s[1:], 16))
        return _SIMPLE.get(s, s)

    return _ESCAPE.sub(one, raw[1:-1]).replace("$${", "${").replace("%%{", "%{")


def scan(text: str) -> list[_Block]:
    """The top-level blocks of a generated file with their one-line attributes and map entries."""
    blocks: list[_Block] = []
    block: _Block | None = None
    in_map: str | None = None
    for line in text.splitlines():
        if block is None:
            m = _HEADER.match(line)
            if m:
                block = _Block(m["kind"], tuple(_LABEL.findall(m["labels"])))
                blocks.append(block)
                if line.endswith("{}"):
                    block = None
            continue
        if line == "}":
            block, in_map = None, None
            continue
        if in_map is not None:
            if line == "  }":
                in_map = None
            elif (e := _ENTRY.match(line)) is not None:
                key = e["key"]
                block.maps[in_map][_unquote(key) or "" if key.startswith('"') else key] = (
                    e["value"].strip())
            continue
        a = _ATTR.match(line)
        if a is not None:
            value = a["value"].strip()
            if value == "{":
                in_map = a["key"]
                block.maps[in_map] = {}
            else:
                block.attrs[a["key"]] = value
    return blocks


def declarations(text: str) -> list[str]:
    """Every name a generated file declares in its root's namespace, in Terraform's notation:
    ``TYPE.NAME``, ``data.TYPE.NAME``, ``module.NAME``, ``output.NAME``, ``check.NAME``,
    ``variable.NAME``, and ``provider.NAME`` for a provider block without alias."""
    out = []
    for b in scan(text):
        if b.kind in ("resource", "data") and len(b.labels) == 2:
            out.append(("data." if b.kind == "data" else "") + f"{b.labels[0]}.{b.labels[1]}")
        elif b.kind in ("module", "output", "check", "variable") and len(b.labels) == 1:
            out.append(f"{b.kind}.{b.labels[0]}")
        elif b.kind == "provider" and len(b.labels) == 1 and "alias" not in b.attrs:
            out.append(f"provider.{b.labels[0]}")
    return out


def declared_by_root(files: Mapping[str, str], roots: Iterable[str] | None = None,
                     ) -> dict[str, dict[str, str]]:
    """For each root of a rendered tree (or only ``roots``), what it declares (see
    :func:`declarations`) → the file that declares it."""
    wanted = None if roots is None else set(roots)
    out: dict[str, dict[str, str]] = {}
    for path, text in files.items():
        root = root_of(path)
        if root is not None and (wanted is None or root in wanted):
            out.setdefault(root, {}).update(dict.fromkeys(declarations(text), path))
    return out


def root_of(path: str) -> str | None:
    """The Terraform root a generated ``.tf`` file belongs to; None for modules and other files."""
    if not path.endswith(".tf") or path.startswith(_MODULES) or "/" not in path:
        return None
    return path.rsplit("/", 1)[0]


@dataclass
class _Root:
    """What one root declares, by stable key, and what its moved.tf carried."""

    key: Key
    addresses: dict[str, Key] = field(default_factory=dict)  # address → stable key
    moves: list[Move] = field(default_factory=list)
    previously: list[str] = field(default_factory=list)
    # OU ident → (name, parent ident or None for the root, OU id of its import block or None)
    ous: dict[str, tuple[str, str | None, str | None]] = field(default_factory=dict)


def _account_of(texts: Mapping[str, str], root: str) -> str | None:
    """The account a root runs in, from its provider's ``allowed_account_ids``."""
    text = texts.get(f"{root}/providers.tf")
    for b in scan(text or ""):
        raw = b.attrs.get("allowed_account_ids", "")
        m = re.fullmatch(r'\["([0-9]{12})"\]', raw)
        if b.kind == "provider" and m:
            return m.group(1)
    return None


def _root_key(texts: Mapping[str, str], root: str) -> Key:
    if root.startswith("accounts/"):
        account = _account_of(texts, root)
        if account is not None:
            return ("account-root", account)
    return ("root", root)


def _ou_paths(ous: Mapping[str, tuple[str, str | None, str | None]]) -> dict[str, tuple[str, ...]]:
    paths: dict[str, tuple[str, ...]] = {}

    def path(ident: str, seen: frozenset[str] = frozenset()) -> tuple[str, ...]:
        if ident in paths:
            return paths[ident]
        name, parent, _ = ous[ident]
        up = () if parent is None or parent not in ous or parent in seen else path(parent, seen | {ident})
        paths[ident] = (*up, name)
        return paths[ident]

    for ident in ous:
        path(ident)
    return paths


def _target_key(raw: str, ou_paths: Mapping[str, tuple[str, ...]]) -> Key | None:
    if raw == _ROOT_REF:
        return ("root",)
    m = _OU_REF.match(raw)
    if m:
        return ("ou", ou_paths[m.group(1)]) if m.group(1) in ou_paths else None
    account = _unquote(raw)
    return ("account", account) if account is not None else None


def _inventory(texts: Mapping[str, str], root: str, files: Iterable[str]) -> _Root:
    """Read one root's generated files (``files``: its paths in ``texts``)."""
    inv = _Root(_root_key(texts, root))
    blocks: list[_Block] = []
    for path in sorted(files):
        text = texts.get(path)
        if text is None:
            continue
        if path == f"{root}/{MOVED_FILE}":
            inv.previously += [m.group(1) for line in text.splitlines()
                               if (m := _PREVIOUSLY.match(line))]
        blocks += scan(text)
    imports = {b.attrs.get("to", ""): _unquote(b.attrs.get("id", "")) for b in blocks
               if b.kind == "import"}
    for b in blocks:
        if b.kind == "resource" and b.labels[:1] == ("aws_organizations_organizational_unit",) \
                and len(b.labels) == 2:
            ident = b.labels[1]
            parent = b.attrs.get("parent_id", "")
            m = _OU_REF.match(parent)
            inv.ous[ident] = (_unquote(b.attrs.get("name", "")) or "", m.group(1) if m else None,
                              imports.get(f"aws_organizations_organizational_unit.{ident}"))
    ou_paths = _ou_paths(inv.ous)
    # A policy resource attached by an attachment resource takes the attachment's target.
    attached: dict[str, Key] = {}
    for b in blocks:
        if b.kind == "resource" and b.labels[:1] == (_ATTACHMENT,) and len(b.labels) == 2:
            target = _target_key(b.attrs.get("target_id", ""), ou_paths)
            policy = _POLICY_REF.match(b.attrs.get("policy_id", ""))
            if target is not None:
                attached[f"{_ATTACHMENT}.{b.labels[1]}"] = target
                if policy:
                    attached.setdefault(f"{_POLICY}.{policy.group(1)}", target)
    for b in blocks:
        if b.kind == "moved":
            src, dst = b.attrs.get("from", ""), b.attrs.get("to", "")
            if _ADDRESS.match(src) and _ADDRESS.match(dst):
                inv.moves.append(Move(src, dst))
            continue
        if b.kind == "resource" and len(b.labels) == 2:
            address = f"{b.labels[0]}.{b.labels[1]}"
            label = _LABEL_PARTS.match(b.labels[1])
            if b.labels[0] == "aws_organizations_organizational_unit":
                key: Key = ("ou", ou_paths[b.labels[1]])
            elif address in attached and label:
                # rcp_ou_x_1, ec2_account_y: the kind and the part number stay, the target's
                # identifier between them is what a rename changes.
                key = ("attached", b.labels[0], label["kind"], label["part"] or "",
                       attached[address])
            else:
                key = ("address", address)
        elif b.kind == "module" and len(b.labels) == 1:
            address = f"module.{b.labels[0]}"
            key = _module_key(b, ou_paths) or ("address", address)
        else:
            continue
        inv.addresses[address] = key
    return inv


def _module_key(b: _Block, ou_paths: Mapping[str, tuple[str, ...]]) -> Key | None:
    label = b.labels[0]
    targets = b.maps.get("target_ids")
    if targets is not None and len(targets) == 1:
        ((ident, raw),) = targets.items()
        target = _target_key(raw, ou_paths)
        at = label.find(ident)
        if target is None or at < 0:
            return None
        return ("policy", label[:at], label[at + len(ident):], target)
    source = _unquote(b.attrs.get("source", "")) or ""
    kind = source.rstrip("/").rsplit("/", 1)[-1]
    for attr in ("name", "url"):
        value = _unquote(b.attrs.get(attr, ""))
        if value is not None:
            return ("module", kind, value)
    return None


# -- renames the config implies ---------------------------------------------------------------------

def _ou_renames(old: Mapping[str, tuple[str, str | None, str | None]], cfg: Config,
                ) -> dict[tuple[str, ...], tuple[str, ...]]:
    """Old OU path → new OU path, for every OU of the config that was there before."""
    old_paths = _ou_paths(old)
    by_id = {ou_id: old_paths[ident] for ident, (_, _, ou_id) in old.items() if ou_id}
    known = set(old_paths.values())
    out: dict[tuple[str, ...], tuple[str, ...]] = {}
    back: dict[tuple[str, ...], tuple[str, ...]] = {(): ()}  # new path → old path
    for path, _, unit in walk(cfg.units):
        parent = back.get(path[:-1])
        candidates: list[tuple[str, ...]] = []
        if unit.id and unit.id in by_id:
            candidates.append(by_id[unit.id])
        if parent is not None:
            candidates += [(*parent, n) for n in (unit.name, *unit.previously) if "/" not in n]
        candidates += [tuple(n.split("/")) for n in unit.previously if "/" in n]
        for c in candidates:
            if c in known and c not in out:
                out[c] = path
                back[path] = c
                break
    return out


def _name_renames(cfg: Config) -> dict[tuple[str, str], str]:
    """(module kind, old name) → new name, from ``previously:`` of roles and boundaries."""
    out: dict[tuple[str, str], str] = {}
    for _, _, role in roles(cfg):
        for old in role.previously:
            out.setdefault(("iam-role", old), role.name)
    for b in cfg.permission_boundaries:
        for old in b.previously:
            out.setdefault(("permission-boundary", old), b.name)
    return out


def _translate(key: Key, ous: Mapping[tuple[str, ...], tuple[str, ...]],
               names: Mapping[tuple[str, str], str]) -> Key:
    """An old stable key in the new tree's terms."""
    if key[0] == "ou":
        return ("ou", ous.get(key[1], key[1]))
    if key[0] == "policy":
        return (*key[:3], _translate(key[3], ous, names))
    if key[0] == "attached":
        return (*key[:4], _translate(key[4], ous, names))
    if key[0] == "module":
        kind, name = str(key[1]), str(key[2])
        return ("module", kind, names.get((kind, name), name))
    return key


# -- the derivation -------------------------------------------------------------------------------

def _by_root(paths: Iterable[str]) -> dict[str, list[str]]:
    out: dict[str, list[str]] = {}
    for p in paths:
        root = root_of(p)
        if root is not None:
            out.setdefault(root, []).append(p)
    return out


def derive(owned: Mapping[str, str], previous: Mapping[str, str], rendered: Mapping[str, str],
           digests: Mapping[str, str], cfg: Config, *, prune: bool = False) -> Moves:
    """The moves the new tree carries.

    Args:
        owned: The previous manifest: every file guardgen wrote, with the hash it wrote.
        previous: Text of the previous tree's files, by path. Only ``.tf`` files of roots that
            changed, moved or carry moves are looked up; a file missing from it counts as empty.
        rendered: The new tree, without moved.tf files.
        digests: The manifest's hash of every rendered file (``guardgen.output.digest``).
        cfg: The config the new tree comes from (for ``previously:`` and OU ids).
        prune: Drop the moves of earlier generations; keep only those this change needs.

    Returns:
        Moved blocks per root, and the folders account roots were in before.
    """
    old_files = _by_root(owned)
    new_files = _by_root(rendered)
    changed = {r for r in set(old_files) | set(new_files)
               if sorted(old_files.get(r, ())) != sorted(new_files.get(r, ()))
               or any(owned.get(p) != digests[p] for p in new_files.get(r, ()))}
    if not changed:
        return NO_MOVES

    # The old root each new root continues: itself, or an account root whose folder changed.
    vanished: dict[Key, str] = {}
    for r in sorted(set(old_files) - set(new_files)):
        key = _root_key(previous, r)
        if key[0] == "account-root":
            vanished.setdefault(key, r)
    continues: dict[str, str] = {}
    for r in new_files:
        if r in old_files:
            continues[r] = r
        elif vanished and r in changed and (key := _root_key(rendered, r)) in vanished:
            continues[r] = vanished[key]

    needed = {r: o for r, o in continues.items() if r in changed}
    old_inv = {o: _inventory(previous, o, old_files[o]) for o in set(needed.values())}
    management = old_inv.get("management")
    ous = _ou_renames(management.ous, cfg) if management else {}
    names = _name_renames(cfg)

    blocks: dict[str, tuple[Move, ...]] = {}
    previous_roots: dict[str, tuple[str, ...]] = {}
    for r, o in sorted(needed.items()):
        old = old_inv[o]
        earlier = [] if prune else old.previously
        was = tuple(dict.fromkeys([o, *earlier] if o != r else earlier))
        if was:
            previous_roots[r] = was
        new = _inventory(rendered, r, new_files[r])
        by_key: dict[Key, str] = {}
        for address, key in old.addresses.items():
            by_key.setdefault(_translate(key, ous, names), address)
        fresh = []
        for address, key in new.addresses.items():
            source = by_key.get(key)
            if source is not None and source != address and source not in new.addresses \
                    and address not in old.addresses:
                fresh.append(Move(source, address))
        kept = _valid([*([] if prune else old.moves), *fresh], set(new.addresses))
        if kept:
            blocks[r] = tuple(kept)
    return Moves(blocks, previous_roots)


def _valid(moves: list[Move], declared: set[str]) -> list[Move]:
    """The moves Terraform accepts: no ``from`` still declared, one move from and one into each
    address, every ``to`` leading somewhere declared (directly or through another move)."""
    kept: list[Move] = []
    sources: set[str] = set()
    targets: set[str] = set()
    for m in moves:
        # Terraform refuses two moves from one address, or two into one ("ambiguous").
        if m.source not in declared and m.source not in sources and m.target not in targets:
            kept.append(m)
            sources.add(m.source)
            targets.add(m.target)
    step = {m.source: m.target for m in kept}

    def lands(target: str) -> bool:
        seen: set[str] = set()
        while target not in declared:
            if target not in step or target in seen:
                return False  # a dead end, or a cycle
            seen.add(target)
            target = step[target]
        return True

    return [m for m in kept if lands(m.target)]
