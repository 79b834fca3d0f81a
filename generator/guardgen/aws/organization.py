"""Fetch an AWS Organization (its OU tree, accounts and SCPs) into plain frozen dataclasses.

Everything goes through the read-only :class:`~guardgen.aws.session.AwsSession`, whose hook
refuses any operation that is not a read. The number of calls grows with OUs and SCPs, not with
accounts: the tree is walked with one ``list_organizational_units_for_parent`` and one
``list_accounts_for_parent`` per parent (each a page per 20 children, AWS's maximum), and every
SCP costs one ``describe_policy`` and one ``list_targets_for_policy``. Asking each account for its
parent or each target for its policies would cost a call per account instead.

The analyses (:mod:`.importer`, :mod:`.drift`) work on :class:`Organization` only, so they are
tested on data built inline, without AWS.
"""

from __future__ import annotations

from collections.abc import Iterator, Mapping
from dataclasses import dataclass, field
from typing import Any

from ..policy.limits import MAX_OU_DEPTH
from .errors import AccessDenied, AwsApiError, AwsError
from .session import AwsSession, call, paginate

SCP = "SERVICE_CONTROL_POLICY"
PAGE = 20  # MaxResults: AWS's maximum for the Organizations list operations used here


class OrganizationUnavailable(AwsError):
    """The organization cannot be read: not in one, or not allowed to read it."""


@dataclass(frozen=True)
class OrgAccount:
    """One member account (the management account included) and the OU or root it sits in."""

    id: str
    name: str
    email: str
    status: str  # ACTIVE, SUSPENDED, PENDING_CLOSURE
    parent_id: str


@dataclass(frozen=True)
class OrgUnit:
    """One organizational unit, with the names of the OUs from the root down to it."""

    id: str
    name: str
    parent_id: str
    path: tuple[str, ...]  # names from the root's child down to this OU, this one's last


@dataclass(frozen=True)
class OrgPolicy:
    """One service control policy: its content exactly as AWS returns it, and where it is attached."""

    id: str
    name: str
    description: str
    aws_managed: bool
    content: str
    targets: tuple[str, ...]  # root, OU and account ids


@dataclass(frozen=True)
class Organization:
    """What guardgen reads of an organization. OUs come parents first, siblings by name."""

    id: str
    management_account_id: str
    root_id: str
    units: tuple[OrgUnit, ...]
    accounts: tuple[OrgAccount, ...]
    policies: tuple[OrgPolicy, ...]
    # Indexes, so that questions per target stay cheap with 10,000 accounts and an SCP
    # (FullAWSAccess) attached to every one of them.
    _units: dict[str, OrgUnit] = field(default_factory=dict, init=False, repr=False, compare=False)
    _accounts: dict[str, OrgAccount] = field(default_factory=dict, init=False, repr=False, compare=False)
    _attached: dict[str, list[OrgPolicy]] = field(default_factory=dict, init=False, repr=False,
                                                  compare=False)
    _children: dict[str, list[OrgUnit]] = field(default_factory=dict, init=False, repr=False,
                                                compare=False)
    _members: dict[str, list[OrgAccount]] = field(default_factory=dict, init=False, repr=False,
                                                  compare=False)

    def __post_init__(self) -> None:
        for u in self.units:
            self._units[u.id] = u
            self._children.setdefault(u.parent_id, []).append(u)
        for a in self.accounts:
            self._accounts[a.id] = a
            self._members.setdefault(a.parent_id, []).append(a)
        for p in self.policies:
            for t in p.targets:
                self._attached.setdefault(t, []).append(p)

    def unit(self, unit_id: str) -> OrgUnit | None:
        """The OU with this id, or None (the root, an account, an OU not read)."""
        return self._units.get(unit_id)

    def account(self, account_id: str) -> OrgAccount | None:
        """The account with this id, or None."""
        return self._accounts.get(account_id)

    def children(self, parent_id: str) -> tuple[OrgUnit, ...]:
        """The OUs directly below a root or OU, in :attr:`units` order."""
        return tuple(self._children.get(parent_id, ()))

    def members(self, parent_id: str) -> tuple[OrgAccount, ...]:
        """The accounts directly in a root or OU, in :attr:`accounts` order."""
        return tuple(self._members.get(parent_id, ()))

    def path_of(self, parent_id: str) -> tuple[str, ...] | None:
        """The OU path of a parent id: ``()`` for the root, None for an unknown id."""
        if parent_id == self.root_id:
            return ()
        found = self._units.get(parent_id)
        return found.path if found else None

    def attached(self, target_id: str) -> tuple[OrgPolicy, ...]:
        """The SCPs attached directly to a root, OU or account, in :attr:`policies` order."""
        return tuple(self._attached.get(target_id, ()))


# -- parsing ---------------------------------------------------------------------------------------

def parse_account(entry: Mapping[str, Any], parent_id: str) -> OrgAccount:
    """An :class:`OrgAccount` from an ``Accounts`` entry of ``list_accounts_for_parent``."""
    # `Status` is deprecated in favour of `State` (2025); read whichever the endpoint sends.
    status = str(entry.get("State") or entry.get("Status") or "ACTIVE")
    return OrgAccount(str(entry["Id"]), str(entry.get("Name", "")), str(entry.get("Email", "")),
                      status, parent_id)


def parse_policy(summary: Mapping[str, Any], content: str, targets: list[Mapping[str, Any]]) -> OrgPolicy:
    """An :class:`OrgPolicy` from a ``PolicySummary``, its content and its targets."""
    return OrgPolicy(str(summary["Id"]), str(summary.get("Name", "")),
                     str(summary.get("Description", "")), bool(summary.get("AwsManaged", False)),
                     content, tuple(sorted(str(t["TargetId"]) for t in targets)))


# -- fetching --------------------------------------------------------------------------------------

_SERVICE = "organizations"


def _pages(client: Any, operation: str, method: str, key: str, **kwargs: Any) -> Iterator[Mapping[str, Any]]:
    for page in paginate(_SERVICE, operation, client, method,
                         PaginationConfig={"PageSize": PAGE}, **kwargs):
        yield from page.get(key, [])


def fetch_organization(session: AwsSession) -> Organization:
    """Read the organization the session's credentials can see.

    Needs the management account or a delegated administrator for Organizations; makes only
    ``Describe*`` and ``List*`` calls.

    Args:
        session: The read-only session.

    Returns:
        The organization: its root, OUs down to 5 levels (AWS allows no more), every account in
        them, and every SCP with its content and targets.

    Raises:
        OrganizationUnavailable: Not in an organization, or not allowed to read it.
        AwsError: Credentials, network, or another error from AWS.
    """
    client = session.organizations()
    try:
        described = call(_SERVICE, "DescribeOrganization", client.describe_organization)["Organization"]
        roots = list(_pages(client, "ListRoots", "list_roots", "Roots"))
    except AccessDenied as exc:
        raise OrganizationUnavailable(
            f"not allowed to read the organization ({exc.code} on {_SERVICE}:{exc.operation}): run "
            "with credentials of the management account or of a delegated administrator for "
            "AWS Organizations, allowed organizations:Describe* and organizations:List*") from exc
    except AwsApiError as exc:
        if exc.code == "AWSOrganizationsNotInUseException":
            raise OrganizationUnavailable(
                "these credentials belong to an account that is not in an AWS Organization; use "
                "credentials of the organization's management account") from exc
        raise
    if not roots:
        raise OrganizationUnavailable(f"organization {described['Id']} has no root")
    root_id = str(roots[0]["Id"])

    units: list[OrgUnit] = []
    accounts: list[OrgAccount] = []
    # Breadth-first, so each OU's parent is read (and its path known) before the OU.
    level: list[tuple[str, tuple[str, ...]]] = [(root_id, ())]
    while level:
        following: list[tuple[str, tuple[str, ...]]] = []
        for parent_id, path in level:
            accounts += (parse_account(a, parent_id) for a in _pages(
                client, "ListAccountsForParent", "list_accounts_for_parent", "Accounts",
                ParentId=parent_id))
            if len(path) >= MAX_OU_DEPTH:
                continue  # AWS allows no OU below this level
            children = sorted(_pages(client, "ListOrganizationalUnitsForParent",
                                     "list_organizational_units_for_parent", "OrganizationalUnits",
                                     ParentId=parent_id), key=lambda o: (str(o["Name"]), str(o["Id"])))
            for child in children:
                unit = OrgUnit(str(child["Id"]), str(child["Name"]), parent_id, (*path, str(child["Name"])))
                units.append(unit)
                following.append((unit.id, unit.path))
        level = following

    policies = []
    for summary in _pages(client, "ListPolicies", "list_policies", "Policies", Filter=SCP):
        described_policy = call(_SERVICE, "DescribePolicy", client.describe_policy,
                                PolicyId=summary["Id"])["Policy"]
        targets = list(_pages(client, "ListTargetsForPolicy", "list_targets_for_policy", "Targets",
                              PolicyId=summary["Id"]))
        policies.append(parse_policy(summary, str(described_policy.get("Content", "")), targets))

    return Organization(
        id=str(described["Id"]),
        management_account_id=str(described.get("MasterAccountId", "")),
        root_id=root_id,
        units=tuple(sorted(units, key=lambda u: (len(u.path), u.path, u.id))),
        accounts=tuple(sorted(accounts, key=lambda a: (a.name, a.id))),
        policies=tuple(sorted(policies, key=lambda p: (p.name, p.id))),
    )
