"""Every guardrail in the catalog uses actions, condition keys and ARNs the IAM catalog knows."""

from __future__ import annotations

import pytest

from guardgen import catalog
from guardgen.catalog import docs as explain

from .checks import policy_problems


@pytest.mark.parametrize("g", catalog.REGISTRY, ids=lambda g: g.id)
def test_guardrail_policy_is_known_to_the_iam_catalog(g: catalog.Guardrail) -> None:
    assert policy_problems(explain.example_policy(g), g.id) == []


def test_the_catalog_check_can_fail() -> None:
    bad = {"Version": "2012-10-17", "Statement": [
        {"Effect": "Deny", "Action": "cloudtrail:StopLoging", "Resource": "*",
         "Condition": {"StringEquals": {"ec2:MetadataHttpToken": "required"}}}]}
    problems = policy_problems(bad, "bad")
    assert any("StopLoging" in p for p in problems)
    assert any("MetadataHttpToken" in p for p in problems)
