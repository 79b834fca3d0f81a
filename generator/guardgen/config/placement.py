"""Where IAM resources go: placements (account names and OU paths) resolved to member accounts.

Shared by the config checks, which report what cannot be resolved, and by IAM planning, which
runs only on configs those checks passed.
"""

from __future__ import annotations

from collections.abc import Callable, Iterator, Sequence

from .models import Config, Placement, Role, Unit, walk
from .source import Loc

Report = Callable[[Loc, str], None]
ROLE_SECTIONS = ("ci_roles", "instance_profiles", "cross_account_roles")


def _ignore(loc: Loc, msg: str) -> None:
    """For configs already checked: nothing left to report."""


def accounts_below(unit: Unit) -> Iterator[str]:
    """Names of the accounts in ``unit`` and every OU below it, in config order."""
    for _, _, u in walk([unit]):
        yield from (a.name for a in u.accounts)


def ou_paths(units: Sequence[Unit]) -> dict[str, list[Unit]]:
    """OUs by path (``Workloads/Prod``). A name containing '/' can make two OUs share a path."""
    out: dict[str, list[Unit]] = {}
    for path, _, u in walk(units):
        out.setdefault("/".join(path), []).append(u)
    return out


def roles(cfg: Config) -> Iterator[tuple[str, int, Role]]:
    """Every role of the config: (section, index in it, role), sections in a fixed order."""
    for section in ROLE_SECTIONS:
        for i, r in enumerate(getattr(cfg, section)):
            yield section, i, r


class Resolver:
    """Resolves placements against one config's OU tree."""

    def __init__(self, cfg: Config) -> None:
        self.cfg = cfg
        self.ous = ou_paths(cfg.units)
        self.account_ids = {a.name: a.id for us in self.ous.values() for u in us for a in u.accounts}

    def resolve(self, p: Placement, loc: Loc = (), err: Report = _ignore) -> list[str]:
        """Account names a placement covers, in config order, without duplicates.

        Unknown names, ambiguous OU paths and the management account are reported through
        ``err`` and left out.
        """
        names: list[str] = []
        for j, name in enumerate(p.accounts):
            if name not in self.account_ids:
                err((*loc, "accounts", j), f"unknown account {name!r}")
            names.append(name)
        for j, path in enumerate(p.units):
            found = self.ous.get(path, [])
            if not found:
                err((*loc, "units", j), f"unknown OU {path!r} (use its path, e.g. Workloads/Prod)")
                continue
            if len(found) > 1:
                err((*loc, "units", j), f"OU path {path!r} names {len(found)} OUs (an OU name "
                    "contains '/'); list their accounts instead")
                continue
            names.extend(accounts_below(found[0]))
        if not p.accounts and not p.units:
            err(loc, "names no accounts or units to create it in")
        mgmt = self.cfg.organization.management_account_id
        out = []
        for n in dict.fromkeys(names):
            if self.account_ids.get(n) == mgmt:
                err(loc, f"{n} is the management account; guardgen creates IAM resources only "
                    "in member accounts")
            elif n in self.account_ids:
                out.append(n)
        return out
