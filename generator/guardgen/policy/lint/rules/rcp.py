"""GG7xx rules. Resource control policy grammar: Principal "*" only, Deny only (the one Allow is
AWS's own RCPFullAWSAccess), services that support RCPs only, and the RCP size quota."""

from __future__ import annotations

from collections.abc import Iterator

from ... import iamcatalog
from ...evaluate import RCP_SERVICES
from ...limits import RCP_MAX_BYTES
from ..model import Doc, Hit, Kind, Rule

_RCP: frozenset[Kind] = frozenset({"rcp"})
_SYNTAX = "https://docs.aws.amazon.com/organizations/latest/userguide/orgs_manage_policies_rcps_syntax.html"
_SERVICES_DOC = ("https://docs.aws.amazon.com/organizations/latest/userguide/"
                 "orgs_manage_policies_rcps.html#rcp-supported-services")
_LIMITS = "https://docs.aws.amazon.com/organizations/latest/userguide/orgs_reference_limits.html"
_SUPPORTED = ", ".join(sorted(RCP_SERVICES))


def _check_principal(doc: Doc) -> Iterator[Hit]:
    for s in doc.statements:
        if "NotPrincipal" in s.data:
            yield s.at("NotPrincipal"), "an RCP cannot use NotPrincipal; write Principal \"*\" " \
                "and say who is spared in the Condition (aws:PrincipalArn, aws:PrincipalAccount)"
        elif s.data.get("Principal") != "*":
            where = s.at("Principal") if "Principal" in s.data else s.pointer
            yield where, "an RCP statement's Principal must be \"*\" (the only value RCPs " \
                "accept); narrow it with a Condition instead"


def _full_access(data: dict[str, object]) -> bool:
    """Tell whether a statement is RCPFullAWSAccess's Allow of everything to everyone."""
    return (data.get("Effect") == "Allow" and data.get("Principal") == "*"
            and data.get("Action") == "*" and data.get("Resource") == "*"
            and "Condition" not in data)


def _check_deny_only(doc: Doc) -> Iterator[Hit]:
    for s in doc.statements:
        if s.effect == "Allow" and not _full_access(s.data):
            yield s.at("Effect"), "an RCP grants nothing: AWS accepts Allow only in its own " \
                "RCPFullAWSAccess, so this statement would be refused; use Deny"


def _check_services(doc: Doc) -> Iterator[Hit]:
    for s in doc.statements:
        for value, pointer in s.strings("Action"):
            prefix, sep, _ = value.partition(":")
            if value == "*" or not sep:
                continue
            others = [p for p in iamcatalog.matching_services(prefix) if p not in RCP_SERVICES]
            if others:
                yield pointer, (f"RCPs do not apply to {others[0]}, so {value!r} denies nothing "
                                f"there; RCPs cover {_SUPPORTED} (use an SCP for the rest)")


def _check_size(doc: Doc) -> Iterator[Hit]:
    used = len(doc.minified.encode("utf-8"))
    if used > RCP_MAX_BYTES:
        yield "", (f"the RCP is {used:,} bytes (UTF-8, minified), over the {RCP_MAX_BYTES:,} AWS "
                   "accepts (the RCP quota did not grow with the SCP one)")


RULES: tuple[Rule, ...] = (
    Rule("GG701", "rcp-principal-not-star", "RCP statement names a Principal other than \"*\"",
         "error", _RCP,
         "Every statement of a resource control policy must have Principal \"*\"; AWS refuses "
         "any other Principal and NotPrincipal. Whom a Deny spares goes in its Condition "
         "(aws:PrincipalOrgID, aws:PrincipalAccount, aws:PrincipalArn).", _SYNTAX,
         _check_principal),
    Rule("GG702", "rcp-allow", "RCP statement allows", "error", _RCP,
         "RCPs only restrict: the one Allow AWS accepts is its own RCPFullAWSAccess (Allow * on "
         "* to \"*\", which passes this rule), attached everywhere once RCPs are enabled.",
         _SYNTAX, _check_deny_only),
    Rule("GG703", "rcp-unsupported-service", "RCP names a service that RCPs do not cover",
         "warning", _RCP,
         "RCPs apply only to the resources of the services that support them (" + _SUPPORTED
         + "); an action of another service in an RCP has no effect, which a reader would not "
         "expect. NotAction and \"*\" are not flagged.", _SERVICES_DOC, _check_services),
    Rule("GG704", "rcp-too-large", "RCP is over AWS's size limit", "error", _RCP,
         "AWS refuses an RCP over 5,120 characters; guardgen counts the UTF-8 bytes of the "
         "minified JSON, an upper bound. The limit did not change when SCPs went to 10,240.",
         _LIMITS, _check_size),
)
