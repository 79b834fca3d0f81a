"""GG2xx rules. Quotas: document sizes."""

from __future__ import annotations

import re
from collections.abc import Iterator

from ...limits import MAX_MANAGED_POLICY_CHARS, MAX_TRUST_POLICY_CHARS
from ..model import Doc, Hit, Rule

# The same characters as str.isspace(), counted in C.
_WHITESPACE = re.compile(r"\s")


def _check_size(doc: Doc) -> Iterator[Hit]:
    text = doc.minified
    if doc.kind == "scp":
        used, limit = len(text.encode("utf-8")), doc.options.scp_max_bytes
        unit = "bytes (UTF-8, minified)"
    else:
        # IAM does not count whitespace; minified JSON keeps only whitespace inside strings.
        used = len(text) - len(_WHITESPACE.findall(text))
        limit = MAX_TRUST_POLICY_CHARS if doc.kind == "trust" else MAX_MANAGED_POLICY_CHARS
        unit = "characters without whitespace"
    if used > limit:
        yield "", f"the {doc.kind} policy is {used:,} {unit}, over the {limit:,} AWS accepts"



RULES: tuple[Rule, ...] = (
    Rule("GG201", "policy-too-large", "Policy is over AWS's size limit", "error",
         frozenset({"scp", "identity", "boundary", "trust"}),
         "AWS refuses the policy at deploy time. SCPs: 10,240 UTF-8 bytes of the minified JSON "
         "(5,120 with --scp-limit legacy or scp_limits: legacy). Managed identity policies and "
         "boundaries: 6,144 characters, whitespace not counted. Role trust policies: 2,048 "
         "characters (the default quota). Resource and key policies have per-service limits and "
         "are not checked.", "https://docs.aws.amazon.com/IAM/latest/UserGuide/reference_iam-quotas.html",
         _check_size),
)
