"""`guardgen lint`: the rule registry, the corpus, each rule, type inference, formats, the CLI
(through a Typer root of its own, the way cli.py registers it) and the committed examples."""

from __future__ import annotations

import json
import re
import subprocess
import sys
from collections import Counter
from pathlib import Path
from typing import Any

import pytest
import typer
from typer.testing import CliRunner, Result

from guardgen import catalog, pipeline, plan
from guardgen.cli import lint as cli_lint
from guardgen.policy import evaluate, iamcatalog, lint
from guardgen.policy.limits import SCP_MAX_BYTES
from guardgen.prove.lint import plan_options
from support import EXAMPLES

CORPUS = Path(__file__).resolve().parent / "data" / "lint"
CLASS_CORPUS = Path(__file__).resolve().parent / "data" / "lint-corpus"
EXPECTATIONS: dict[str, Any] = json.loads((CORPUS / "expectations.json").read_text("utf-8"))
FILES: dict[str, dict[str, Any]] = EXPECTATIONS["files"]
BREAK_GLASS: tuple[str, ...] = tuple(EXPECTATIONS["break_glass"])
NAMES = sorted(FILES)
CONFIGS = sorted(EXAMPLES.glob("*/guardgen.yaml"))
BG = "arn:aws:iam::*:role/BreakGlassAdmin"
GH = "token.actions.githubusercontent.com"
GH_FED = {"Federated": f"arn:aws:iam::111122223333:oidc-provider/{GH}"}
# Over 5,120 bytes as an SCP and 6,144 characters as an identity policy, under 10,240 bytes.
DESTRUCTIVE_EC2 = [a for a in iamcatalog.expand("ec2:*") if a.split(":")[1].startswith(
    ("Delete", "Detach", "Disassociate", "Disable", "Terminate", "Revoke", "Deregister", "Reject",
     "Cancel", "Modify"))]


def _options(**kw: Any) -> lint.LintOptions:
    kw.setdefault("everyone", catalog.everyone_statements(catalog.REGISTRY))
    return lint.LintOptions(**kw)


def findings(doc: Any, kind: lint.Kind = "identity", **kw: Any) -> list[lint.Finding]:
    return lint.lint([lint.LintInput("p.json", kind, doc)], _options(**kw))


def ids(doc: Any, kind: lint.Kind = "identity", **kw: Any) -> list[str]:
    return sorted(f.rule for f in findings(doc, kind, **kw))


def pol(*statements: dict[str, Any]) -> dict[str, Any]:
    return {"Version": "2012-10-17", "Statement": list(statements)}


def allow(action: Any, resource: Any = "arn:aws:s3:::b/*", **extra: Any) -> dict[str, Any]:
    return {"Effect": "Allow", "Action": action, "Resource": resource, **extra}


def deny(action: Any, resource: Any = "*", **extra: Any) -> dict[str, Any]:
    return {"Effect": "Deny", "Action": action, "Resource": resource, **extra}


def trust(principal: Any, action: Any = "sts:AssumeRole", condition: Any = None) -> dict[str, Any]:
    stmt = {"Effect": "Allow", "Principal": principal, "Action": action}
    if condition is not None:
        stmt["Condition"] = condition
    return pol(stmt)


# -- the registry -----------------------------------------------------------------------------------

def test_rule_ids_are_unique_and_well_formed() -> None:
    assert len({r.id for r in lint.REGISTRY}) == len(lint.REGISTRY)
    assert len({r.name for r in lint.REGISTRY}) == len(lint.REGISTRY)
    for rule in lint.REGISTRY:
        assert re.fullmatch(r"GG\d{3}", rule.id), rule.id
        assert re.fullmatch(r"[a-z0-9]+(-[a-z0-9]+)*", rule.name), rule.name
    assert [r.id for r in lint.REGISTRY] == sorted(r.id for r in lint.REGISTRY)
    assert {r.id: r for r in lint.REGISTRY} == lint.BY_ID


@pytest.mark.parametrize("rule", lint.REGISTRY, ids=lambda r: r.id)
def test_every_rule_has_its_metadata(rule: lint.Rule) -> None:
    assert rule.severity in lint.SEVERITIES
    assert rule.source.startswith("https://"), rule.source
    assert rule.title and not rule.title.endswith(".")
    assert len(rule.description) > 60
    assert rule.applies_to and rule.applies_to <= set(lint.KINDS)
    assert callable(rule.check)


def test_ceiling_exemptions_say_why() -> None:
    # Boundaries are ceilings, not grants: the rules that skip them must say so.
    for rid in ("GG301", "GG302", "GG303", "GG305"):
        rule = lint.BY_ID[rid]
        assert "boundary" not in rule.applies_to
        assert "ceiling" in rule.description or "cap" in rule.description


def test_every_rule_is_exercised_by_the_corpora() -> None:
    by_class = json.loads((CLASS_CORPUS / "expectations.json").read_text("utf-8"))["files"]
    exercised = {rid for e in [*FILES.values(), *by_class.values()] for rid in e["findings"]}
    assert exercised == {r.id for r in lint.REGISTRY}


# -- the corpus -------------------------------------------------------------------------------------

def test_corpus_size_and_expectations_cover_every_file() -> None:
    on_disk = {p.name for p in CORPUS.glob("*.json")} - {"expectations.json"}
    assert on_disk == set(FILES)
    good = [n for n in NAMES if not FILES[n]["findings"]]
    assert len(NAMES) >= 60 and len(good) >= 20 and len(NAMES) - len(good) >= 20
    for entry in FILES.values():
        assert entry["type"] in lint.KINDS
        assert entry["findings"] == sorted(entry["findings"])
        assert set(entry["findings"]) <= set(lint.BY_ID)
    assert {e["type"] for e in FILES.values()} == set(lint.KINDS)


@pytest.mark.parametrize("name", NAMES)
def test_corpus_file_has_exactly_the_expected_findings(name: str) -> None:
    text = (CORPUS / name).read_text("utf-8")
    entry = FILES[name]
    got = lint.lint([lint.LintInput(name, entry["type"], json.loads(text), text=text)],
                    _options(break_glass=BREAK_GLASS))
    assert sorted(f.rule for f in got) == entry["findings"], "\n".join(
        f"{f.rule} {f.pointer}: {f.message}" for f in got)
    for f in got:  # every finding of a file with text has a line
        assert f.line is not None and f.column is not None


@pytest.mark.parametrize("name", NAMES)
def test_corpus_file_type_is_inferred(name: str) -> None:
    kind, reason = lint.infer_kind(json.loads((CORPUS / name).read_text("utf-8")), name)
    if FILES[name].get("type_given"):
        assert kind != FILES[name]["type"], "inferred after all: drop type_given"
    else:
        assert kind == FILES[name]["type"], reason


# -- catalog ----------------------------------------------------------------------------------------

def test_catalog_lookups_are_case_insensitive() -> None:
    assert iamcatalog.expand("S3:getobject") == ("s3:GetObject",)
    assert "s3:GetObject" in iamcatalog.expand("s3:Get*")
    assert iamcatalog.expand("s3:NoSuchAction") == () and iamcatalog.expand("*") == ()
    assert iamcatalog.service_exists("EC2") and not iamcatalog.service_exists("ec3")
    assert iamcatalog.access_level("iam:PassRole") == "Permissions management"
    assert iamcatalog.resource_types("s3:ListAllMyBuckets") == ()
    assert "object" in iamcatalog.resource_types("s3:GetObject")
    assert "bucket" in iamcatalog.arn_patterns("s3")
    key = iamcatalog.condition_key_type("AWS:PrincipalARN")
    assert key == iamcatalog.KeyType(frozenset({"ARN"}))
    assert iamcatalog.condition_key_type("aws:PrincipalTag/team") is not None
    assert iamcatalog.condition_key_type("s3:ExistingObjectTag/owner") is not None
    assert iamcatalog.condition_key_type("kms:EncryptionContext:aws:logs:arn") is not None
    assert iamcatalog.condition_key_type("aws:NoSuchKey") is None
    assert iamcatalog.condition_key_type("ec2:ResourceTag/x") is not None
    assert iamcatalog.condition_keys("ec2")["ec2:MetadataHttpTokens"].types == {"String"}
    assert iamcatalog.global_condition_keys()["aws:EpochTime"].types == {"Date", "Numeric"}


@pytest.mark.parametrize("service", sorted(iamcatalog.templated_condition_keys()))
def test_placeholder_keys_of_every_service_are_known(service: str) -> None:
    # Every spelling of a key's variable part in the catalog stands for any text.
    for key, form in iamcatalog.templated_condition_keys()[service]:
        if form == "empty suffix":
            instance = key + "team"
        elif form == "bare word":
            instance = key.rsplit("/", 1)[0] + "/team"
        else:
            instance = re.sub(r"\$\{[^}]*\}|<[^>]*>", "team", key)
        assert iamcatalog.condition_key_type(instance) is not None, (key, instance)


def test_placeholder_key_forms_come_from_the_catalog() -> None:
    forms = {form for keys in iamcatalog.templated_condition_keys().values() for _, form in keys}
    assert forms == {"${Name}", "<name>", "empty suffix", "bare word"}
    for key in ("secretsmanager:ResourceTag/team", "glacier:ResourceTag/team", "ssm:ResourceTag/env",
                "sagemaker:ResourceTag/p", "elasticloadbalancing:ResourceTag/o", "s3:RequestObjectTag/k",
                "kms:EncryptionContext:tenant", "codebuild:secondarySources/src1.location"):
        assert iamcatalog.condition_key_type(key) is not None, key
    # A documented literal key stays literal; misspelt stems stay unknown.
    assert iamcatalog.condition_key_type("ssm:resourceTag/aws:ssmmessages:session-id") is not None
    assert iamcatalog.condition_key_type("apigateway:Request/NoSuchField") is None
    assert iamcatalog.condition_key_type("secretsmanager:ResourceTags/team") is None
    assert iamcatalog.condition_key_type("ResourceTag/team") is None


def test_key_context_per_action_and_resource_type() -> None:
    assert iamcatalog.key_in_context("ec2:RunInstances", "instance", "ec2:InstanceType")
    assert not iamcatalog.key_in_context("ec2:RunInstances", "image", "ec2:InstanceType")
    assert iamcatalog.key_in_context("ec2:RunInstances", "image", "ec2:ResourceTag/team")
    assert iamcatalog.key_in_context("s3:CreateBucket", "bucket", "s3:LocationConstraint")


def test_multivalued_keys_are_the_documented_ones() -> None:
    assert set(iamcatalog.MULTIVALUED_GLOBAL_KEYS) == {
        "aws:CalledVia", "aws:PrincipalOrgPaths", "aws:PrincipalServiceNamesList",
        "aws:ResourceOrgPaths", "aws:SourceOrgPaths", "aws:TagKeys", "aws:VpceOrgPaths"}
    sts_keys = iamcatalog.condition_keys("sts")
    assert sts_keys["sts:TransitiveTagKeys"].multivalued
    assert not sts_keys["sts:ExternalId"].multivalued
    assert iamcatalog.oidc_claim_type(f"{GH}:amr", frozenset({GH})) == iamcatalog.KeyType(
        frozenset({"String"}), True)
    assert iamcatalog.oidc_claim_type(f"{GH}:sub", frozenset()) is None


@pytest.mark.parametrize(("a", "b", "expected"), [
    ("arn:aws:ec2:*:*:instance/*", "arn:aws:ec2:us-east-1:1:instance/i-1", True),
    ("a*c", "ab*", True),
    ("*", "", True),
    ("a?c", "abd", False),
    ("abc*", "abd*", False),
    ("*x*", "*y*", True),
    ("x*", "*y", True),
])
def test_globs_intersect(a: str, b: str, expected: bool) -> None:
    assert iamcatalog.globs_intersect(a, b) is expected
    assert iamcatalog.globs_intersect(b, a) is expected


def test_arn_globs_compare_part_by_part() -> None:
    # As plain text these two globs share "arn:aws:iam:::role/BreakGlassX:root"; as ARNs they
    # cannot: the account part's * does not reach across colons.
    assert iamcatalog.globs_intersect("arn:aws:iam::*:role/BreakGlass*", "arn:aws:iam::*:root")
    assert not iamcatalog.arns_intersect("arn:aws:iam::*:role/BreakGlass*", "arn:aws:iam::*:root")
    assert iamcatalog.arn_covers("arn:aws:iam::*:role/break-glass/*",
                                 "arn:aws:iam::*:role/break-glass/Emergency*")
    assert not iamcatalog.arn_covers("arn:aws:iam::123456789012:role/X", "arn:aws:iam::*:role/X")
    assert not iamcatalog.arn_covers("arn:aws:iam::*:role/breakglassadmin", BG)  # case matters
    assert not iamcatalog.arn_covers("arn:aws:iam::*:role/Break?", "arn:aws:iam::*:role/Break*")
    assert iamcatalog.arn_covers("arn:aws:iam::*:role/Break?", "arn:aws:iam::*:role/Break?")


@pytest.mark.parametrize(("arn", "matches"), [
    ("arn:aws:s3:::bucket/${aws:username}/*", True),
    ("arn:aws:logs:us-east-1:111122223333:log-group:/app:log-stream:*", True),
    ("arn:aws:lambda:us-east-1:111122223333:function:f:prod", True),
    ("arn:aws:ec2:*:*:instance/*", True),
    ("arn:aws:ec2:*:*:instances/*", False),
    ("arn:aws:iam:us-east-1:111122223333:role/app", False),
    ("arn:aws:iam::111122223333:root", True),
])
def test_arn_formats_match_with_wildcards(arn: str, matches: bool) -> None:
    assert bool(iamcatalog.matching_arn_formats(arn)) is matches


def test_the_catalog_is_not_loaded_at_import() -> None:
    code = ("import sys, guardgen.policy.lint, guardgen.cli.lint, guardgen.policy.iamcatalog; "
            "assert 'policy_sentry' not in sys.modules, 'loaded at import'")
    subprocess.run([sys.executable, "-c", code], check=True)


def test_the_catalog_is_loaded_once() -> None:
    iamcatalog.services()
    ids(pol(allow("s3:GetObject")))
    ids(pol(allow("ec2:RunInstances", "*")))
    assert iamcatalog._services.cache_info().misses == 1


# -- rules, one by one ------------------------------------------------------------------------------

def test_gg001_grammar() -> None:
    assert ids([]) == ["GG001"]
    assert ids({"Version": "2012-10-17"}) == ["GG001"]
    assert ids({"Version": "2012-10-17", "Statement": []}) == ["GG001"]
    assert ids({"Version": "2012-10-17", "Statement": ["x"]}) == ["GG001"]
    assert ids({"Version": "2012-10-18", "Statement": allow("s3:GetObject")}) == ["GG001"]
    assert ids(pol(allow("s3:GetObject", Sids="x"))) == ["GG001"]
    assert ids(pol(allow(["s3:GetObject", 3]))) == ["GG001"]
    assert ids(pol(allow("GetObject"))) == ["GG001"]
    assert ids(pol({**allow("s3:GetObject"), "Condition": {"StringEquals": "x"}})) == ["GG001"]
    nested: dict[str, Any] = {"StringEquals": {"s3:prefix": [{}]}}
    assert ids(pol({**allow("s3:GetObject"), "Condition": nested})) == ["GG001"]
    assert ids(pol({**deny("s3:GetObject"), "Principal": "*"}), "scp") == ["GG001"]
    assert ids(pol(deny("s3:GetObject")), "resource") == ["GG001"]
    # A single statement object is fine, and so are the optional elements.
    assert ids({"Version": "2012-10-17", "Id": "x", "Statement": {**allow("s3:GetObject"), "Sid": "A"}}) == []


def test_gg002_version() -> None:
    assert ids({"Statement": [allow("s3:GetObject")]}) == ["GG002"]
    assert ids({"Version": "2008-10-17", "Statement": [allow("s3:GetObject")]}) == ["GG002"]


def test_gg101_gg102_services_and_actions() -> None:
    assert ids(pol(allow("s3s:GetObject"))) == ["GG101"]
    assert ids(pol(allow("s3:GetObjects"))) == ["GG102"]
    assert ids(pol(allow("s3:Get*Objectz"))) == ["GG102"]
    assert ids(pol(allow(["s3:getobject", "s3:Get*", "s?:GetObject", "*:GetObject"]))) == []
    # NotAction entries are checked too: a typo there silently narrows an exemption.
    typo = {"Effect": "Deny", "NotAction": ["iam:*", "organisations:*"], "Resource": "*"}
    assert ids(pol(typo)) == ["GG101"]
    f = findings(pol(allow(["s3:GetObject", "s3:Gett"])))[0]
    assert f.pointer == "/Statement/0/Action/1" and "s3:Gett" in f.message


def test_gg103_condition_keys() -> None:
    cond = {"StringEquals": {"aws:RequestRegion": "eu-west-1"}}
    assert ids(pol(allow("s3:GetObject", Condition=cond))) == ["GG103"]
    known = {"StringEquals": {"aws:requestedregion": "eu-west-1", "s3:x-amz-acl": "private",
                              "aws:PrincipalTag/team": "a", "ec2:ResourceTag/env": "prod"}}
    assert ids(pol(allow("s3:GetObject", Condition=known))) == []
    # OIDC claims are keys only where the policy federates that provider.
    oidc = {"StringEquals": {f"{GH}:aud": "sts.amazonaws.com", f"{GH}:sub": "repo:o/r:ref:refs/heads/main"}}
    assert ids(trust(GH_FED, "sts:AssumeRoleWithWebIdentity", oidc), "trust") == []
    assert ids(pol(deny("s3:GetObject", Condition={"StringLike": {f"{GH}:sub": "x"}}))) == ["GG103"]


def test_gg104_operators() -> None:
    assert ids(pol(allow("s3:GetObject", Condition={"StringEqual": {"aws:SourceVpc": "v"}}))) == ["GG104"]
    assert ids(pol(allow("s3:GetObject", Condition={"NullIfExists": {"aws:SourceVpc": "true"}}))) == ["GG104"]
    fine = {"StringEqualsIfExists": {"aws:SourceVpc": "v"}, "ForAnyValue:StringLike": {"aws:TagKeys": "a*"},
            "stringequals": {"aws:SourceVpce": "v"}}
    assert ids(pol(allow("s3:GetObject", Condition=fine))) == []


def test_gg105_gg106_resource_arns() -> None:
    assert ids(pol(allow("s3:GetObject", "arn:aws:s4:::b/*"))) == ["GG105"]
    assert ids(pol(allow("ec2:StopInstances", "arn:aws:ec2:*:*:instances/*"))) == ["GG106"]
    assert ids(pol(allow("s3:ListBucket", "arn:aws:s3:::b"))) == []
    assert ids(pol(allow("s3:GetObject", "arn:aws:s3"))) == ["GG106"]
    # Wildcards where the service goes, or ARNs too short to tell, are left alone.
    assert ids(pol(allow("s3:GetObject", ["arn:aws:*:*:*:*", "arn:*"]))) == []
    not_resource = {"Effect": "Deny", "Action": "s3:GetObject", "NotResource": "arn:aws:s4:::b"}
    assert ids(pol(not_resource)) == ["GG105"]


def test_gg201_sizes() -> None:
    big = [f"arn:aws:s3:::bucket-{n:04d}/*" for n in range(260)]
    assert ids(pol(allow("s3:GetObject", big))) == ["GG201"]
    assert ids(pol(allow("s3:GetObject", big[:150]))) == []
    assert ids(pol(allow("s3:GetObject", big)), "boundary") == ["GG201"]
    roles = [f"arn:aws:iam::111122223333:role/r{n:03d}" for n in range(60)]
    assert ids(trust({"AWS": roles}), "trust") == ["GG201"]
    assert ids(trust({"AWS": roles[:40]}), "trust") == []
    scp = pol(deny(DESTRUCTIVE_EC2, Condition={"ArnNotLike": {"aws:PrincipalArn": BG}}))
    size = len(lint.minify(scp).encode())
    assert 5_120 < size < 10_240
    assert ids(scp, "scp", break_glass=(BG,)) == []
    assert ids(scp, "scp", break_glass=(BG,), scp_max_bytes=SCP_MAX_BYTES["legacy"]) == ["GG201"]


def test_gg201_counts_utf8_bytes_for_scps_and_characters_for_iam() -> None:
    sid = "é" * 5_000  # 5,000 characters, 10,000 bytes
    doc = pol(deny("s3:GetObject", Condition={"ArnNotLike": {"aws:PrincipalArn": "é" * 400}}) | {"Sid": "x"})
    doc["Statement"][0]["Condition"]["StringEquals"] = {"aws:userid": sid}
    assert "GG201" in ids(doc, "scp")
    assert "GG201" not in ids(doc, "identity") or len(lint.minify(doc)) > 6_144


def test_gg301_to_gg305_broad_grants() -> None:
    assert ids(pol(allow("*", "*"))) == ["GG301"]
    assert ids(pol(allow("*:*", "*"))) == ["GG301"]
    assert ids(pol(allow("*", "*")), "scp") == []  # FullAWSAccess
    assert ids(pol(allow("*", "*")), "boundary") == []
    assert ids(pol(allow("s3:*", "*"))) == ["GG302", "GG305"]
    assert ids(pol(allow("s3:*", "*")), "boundary") == []
    assert ids(pol(allow("s3:*"))) == ["GG305"]
    assert ids(pol(allow(["ec2:Describe*", "s3:ListAllMyBuckets"], "*"))) == []
    assert ids(pol(allow("s3:Get*", "*"))) == ["GG302"]
    assert ids(pol({"Effect": "Allow", "NotAction": "iam:*", "Resource": "*"})) == ["GG303"]
    assert ids(pol({"Effect": "Allow", "NotAction": "iam:*", "Resource": "*"}), "boundary") == []
    assert ids(pol({"Effect": "Deny", "NotAction": "iam:*", "Resource": "*"})) == []
    not_resource = {"Effect": "Allow", "Action": "s3:GetObject", "NotResource": "arn:aws:s3:::b/*"}
    assert ids(pol(not_resource)) == ["GG304"]
    key = pol({"Effect": "Allow", "Principal": {"AWS": "arn:aws:iam::111122223333:root"},
               "Action": "kms:*", "Resource": "*"})
    assert ids(key, "key") == []  # the default key policy


def test_gg401_gg402_trust_principals() -> None:
    assert ids(trust("*"), "trust") == ["GG401"]
    assert ids(trust({"AWS": ["arn:aws:iam::111122223333:role/a", "*"]}), "trust") == ["GG401"]
    assert ids(pol({"Effect": "Allow", "NotPrincipal": {"AWS": "arn:aws:iam::111122223333:root"},
                    "Action": "sts:AssumeRole"}), "trust") == ["GG401"]
    assert ids(trust({"AWS": "arn:aws:iam::999988887777:root"}), "trust") == ["GG402"]
    assert ids(trust({"AWS": "999988887777"}), "trust") == ["GG402"]
    ext = {"StringEquals": {"sts:ExternalId": "abc"}}
    assert ids(trust({"AWS": "arn:aws:iam::999988887777:root"}, condition=ext), "trust") == []
    weak = {"StringEqualsIfExists": {"sts:ExternalId": "abc"}}  # passes without an external id
    assert ids(trust({"AWS": "999988887777"}, condition=weak), "trust") == ["GG402"]
    assert ids(trust({"AWS": "arn:aws:iam::999988887777:role/x"}), "trust") == []
    # Resource policies may name '*' with conditions: GG401 is about role trust only.
    assert ids(pol({**allow("s3:GetObject"), "Principal": "*"}), "resource") == []


@pytest.mark.parametrize(("sub", "op", "broad"), [
    ("repo:octo-org/octo-repo:ref:refs/heads/main", "StringEquals", False),
    ("repo:octo-org/octo-repo:*", "StringLike", False),
    ("repo:octo-org/octo-repo:environment:prod*", "StringLike", False),
    ("repo:octo-org@12/octo-repo@34:pull_request", "StringLike", False),
    ("*", "StringLike", True),
    ("repo:*", "StringLike", True),
    ("repo:octo-org/*", "StringLike", True),
    ("repo:octo-org/*:*", "StringLike", True),
    ("repo:octo-org/octo-rep?:*", "StringLike", True),
    ("repo:*", "StringEquals", False),  # no wildcard under StringEquals: matches nothing, not all
    ("project_path:acme/*:ref_type:branch:ref:main", "StringLike", True),
    ("organization:acme:pipeline:deploy:ref:refs/heads/main:commit:*:step:*", "StringLike", False),
])
def test_gg404_subjects(sub: str, op: str, broad: bool) -> None:
    cond = {"StringEquals": {f"{GH}:aud": "sts.amazonaws.com"}}
    cond.setdefault(op, {})[f"{GH}:sub"] = sub
    got = ids(trust(GH_FED, "sts:AssumeRoleWithWebIdentity", cond), "trust")
    assert got == (["GG404"] if broad else [])


def test_gg403_gg404_missing_claims() -> None:
    web = "sts:AssumeRoleWithWebIdentity"
    assert ids(trust(GH_FED, web), "trust") == ["GG403", "GG404"]
    sub = {f"{GH}:sub": "repo:o/r:ref:refs/heads/main"}
    assert ids(trust(GH_FED, web, {"StringEquals": sub}), "trust") == ["GG403"]
    assert ids(trust(GH_FED, web, {"StringEquals": {f"{GH}:aud": "sts.amazonaws.com"},
                                   "StringLikeIfExists": sub}), "trust") == ["GG404"]
    assert ids(trust(GH_FED, web, {"StringEquals": {f"{GH}:aud": "sts.amazonaws.com"},
                                   "StringNotEquals": sub}), "trust") == ["GG404"]
    eks = "oidc.eks.eu-west-1.amazonaws.com/id/ABC"
    fed = {"Federated": f"arn:aws:iam::111122223333:oidc-provider/{eks}"}
    good = {"StringEquals": {f"{eks}:aud": "sts.amazonaws.com", f"{eks}:sub": "system:serviceaccount:a:b"}}
    assert ids(trust(fed, web, good), "trust") == []
    saml = {"Federated": "arn:aws:iam::111122223333:saml-provider/Okta"}
    assert ids(trust(saml, "sts:AssumeRoleWithSAML"), "trust") == []  # not OIDC


def test_gg501_gg502_set_operators() -> None:
    single = {"ForAnyValue:StringEquals": {"aws:RequestedRegion": "eu-west-1"}}
    assert ids(pol(deny("*", Condition=single))) == ["GG501"]
    assert ids(pol(deny("*", Condition={"ForAnyValue:StringEquals": {"aws:CalledVia": "x"}}))) == []
    tags = {"ForAllValues:StringEquals": {"aws:TagKeys": ["a", "b"]}}
    assert ids(pol(allow("ec2:CreateTags", "arn:aws:ec2:*:*:instance/*", Condition=tags))) == ["GG502"]
    guarded = {**tags, "Null": {"aws:TagKeys": "false"}}
    assert ids(pol(allow("ec2:CreateTags", "arn:aws:ec2:*:*:instance/*", Condition=guarded))) == []
    assert ids(pol(deny("ec2:CreateTags", Condition=tags))) == []
    # Service keys typed ArrayOf... are multivalued; unknown keys are GG103's business only.
    assert ids(pol(deny("sts:AssumeRole", Condition={
        "ForAnyValue:StringLike": {"sts:TransitiveTagKeys": "x"}}))) == []
    unknown = {"ForAnyValue:StringLike": {"aws:Nope": "x"}}
    assert ids(pol(deny("s3:GetObject", Condition=unknown))) == ["GG103"]


def test_gg503_gg504_operator_types() -> None:
    def cond(block: dict[str, Any]) -> list[str]:
        return ids(pol(deny("s3:GetObject", Condition=block)))

    assert cond({"NumericLessThan": {"aws:PrincipalArn": "2"}}) == ["GG503"]
    assert cond({"Bool": {"aws:SourceIp": "true"}}) == ["GG503"]
    assert cond({"IpAddress": {"aws:SourceVpc": "10.0.0.0/8"}}) == ["GG503"]
    assert cond({"DateGreaterThan": {"aws:MultiFactorAuthAge": "3600"}}) == ["GG503"]
    assert cond({"ArnLike": {"aws:SourceIp": "x"}}) == ["GG503"]
    assert cond({"StringEquals": {"aws:SourceArn": "arn:aws:s3:::b"}}) == ["GG504"]
    assert cond({"StringNotLikeIfExists": {"aws:PrincipalArn": "x"}}) == ["GG504"]
    assert cond({"ArnLike": {"aws:SourceArn": "arn:aws:s3:::b"},
                 "ArnEquals": {"kms:EncryptionContext:aws:logs:arn": "arn:aws:logs:*"},
                 "NumericLessThan": {"aws:EpochTime": "1"}, "DateLessThan": {"aws:EpochTime": "x"},
                 "Null": {"aws:PrincipalArn": "true"},
                 "BoolIfExists": {"aws:MultiFactorAuthPresent": "false"},
                 "IpAddress": {"aws:SourceIp": "203.0.113.0/24"}}) == []


def test_gg601_break_glass() -> None:
    other = "arn:aws:iam::*:role/OrganizationAccountAccessRole"
    bg = (BG, other)

    def scp(*stmts: dict[str, Any], **kw: Any) -> list[str]:
        return ids(pol(*stmts), "scp", break_glass=bg, **kw)

    exempt = {"ArnNotLike": {"aws:PrincipalArn": [BG, other]}}
    assert scp(deny("cloudtrail:StopLogging")) == ["GG601"]
    assert scp(deny("cloudtrail:StopLogging", Condition=exempt)) == []
    def spare(op: str, values: Any) -> dict[str, Any]:
        return deny("cloudtrail:StopLogging", Condition={op: {"aws:PrincipalArn": values}})

    assert scp(spare("ArnNotLike", BG)) == ["GG601"]
    assert scp(spare("ArnNotLike", "arn:aws:iam::*:role/*")) == []
    # A String operator spares them too (GG504 only suggests the Arn one).
    assert scp(spare("StringNotEquals", [BG, other])) == ["GG504"]
    # Only root is denied: break-glass roles are not concerned.
    root = {"ArnLike": {"aws:PrincipalArn": "arn:aws:iam::*:root"}, "Null": {"aws:AssumedRoot": "true"}}
    assert scp(deny("*", Condition=root)) == []
    # Applies to everyone by design (deny-leave-organization), Sid aside, in any spelling.
    assert scp(deny(["organizations:leaveorganization"]) | {"Sid": "Mine"}) == []
    assert scp(deny(["organizations:LeaveOrganization", "account:CloseAccount"])) == ["GG601"]
    assert scp(deny("cloudtrail:StopLogging"), everyone=frozenset()) == ["GG601"]
    # No break-glass principals given: nothing to check. Allows and other kinds: not concerned.
    assert ids(pol(deny("cloudtrail:StopLogging")), "scp") == []
    assert scp({"Effect": "Allow", "Action": "*", "Resource": "*"}) == []
    assert ids(pol(deny("cloudtrail:StopLogging")), "identity", break_glass=bg) == []


def test_gg003_template_placeholders() -> None:
    for value in ("arn:${PARTITION}:s3:::b/*", "arn:aws:s3:::${ACCELERATOR_PREFIX}-logs/*",
                  "arn:aws:s3:::${AWS::AccountId}-x/*", "arn:aws:s3:::[BUCKET]/*", "arn:aws:s3:::<bucket>/*",
                  "arn:aws:s3:::{{ bucket }}/*", "arn:aws:s3:::{bucket}/*", "arn:aws:s3:::${var.bucket}/*"):
        assert ids(pol(allow("s3:GetObject", value))) == ["GG003"], value
    for value in ("arn:aws:s3:::b/${aws:username}/*", "arn:aws:s3:::b/${*}x", "arn:aws:s3:::b/${$}x",
                  "arn:aws:s3:::b/${aws:PrincipalTag/team, 'shared'}/*", "arn:aws:s3:::b/*"):
        assert ids(pol(allow("s3:GetObject", value))) == [], value
    # In every element, and once per value: other rules leave the value alone.
    assert ids(pol(allow("<action>", "*"))) == ["GG003"]
    tag_key = {"StringEquals": {"aws:PrincipalTag/<tag>": "x"}}
    assert ids(pol(allow("s3:GetObject", Condition=tag_key))) == ["GG003"]
    vpcs = {"StringEquals": {"aws:SourceVpc": ["vpc-1", "<vpc>"]}}
    assert ids(pol(allow("s3:GetObject", Condition=vpcs))) == ["GG003"]
    assert ids(trust({"AWS": "arn:aws:iam::[ACCOUNT]:role/x"}), "trust") == ["GG003"]
    f = findings(pol(allow("s3:GetObject", Condition=vpcs)))[0]
    assert f.pointer == "/Statement/0/Condition/StringEquals/aws:SourceVpc/1" and "'<vpc>'" in f.message
    # IPv6 literals, JSON-looking values and plain wildcards are not placeholders.
    assert lint.placeholders("2001:db8::/32") == () and lint.placeholders('{"a": 1}') == ()
    assert lint.placeholders("arn:aws:iam::*:role/[X]${Account}") == ("[X]", "${Account}")


def test_lint_and_the_evaluator_agree_on_placeholders_in_exemptions() -> None:
    # For each exemption value, GG601 says the break-glass role is spared exactly when the
    # evaluator lets a request by that role through the same SCP.
    values = {
        "arn:aws:iam::${Account}:role/BreakGlassAdmin": False,  # never resolves: spares no one
        "arn:aws:iam::${aws:PrincipalAccount}:role/BreakGlassAdmin": True,
        "arn:aws:iam::*:role/[BREAK_GLASS_ROLE]": False,
        "arn:aws:iam::*:role/${aws:username}": False,  # roles have no aws:username
        "arn:aws:iam::*:role/BreakGlass*": True,
        "arn:aws:iam::*:role/${AWS::StackName}": False,
    }
    role = "arn:aws:iam::111122223333:role/BreakGlassAdmin"
    for value, spared in values.items():
        scp = pol(deny("cloudtrail:StopLogging", Condition={"ArnNotLike": {"aws:PrincipalArn": value}}))
        linted = "GG601" not in ids(scp, "scp", break_glass=(BG,))
        decision = evaluate.evaluate(
            evaluate.Request(role, "111122223333", "cloudtrail:StopLogging"),
            scp_levels=[[evaluate.Policy("scp", scp)]],
            identity=[evaluate.Policy("admin", pol(allow("*", "*")))])
        assert linted is spared, value
        assert (decision.reason != "explicit-deny") is spared, value
    # A Deny aimed only at a placeholder principal matches no one: the break-glass role too.
    aimed = pol(deny("*", Condition={"ArnLike": {"aws:PrincipalArn": "arn:aws:iam::${Account}:root"}}))
    assert ids(aimed, "scp", break_glass=(BG,)) == ["GG003"]
    assert evaluate.is_policy_variable("aws:PrincipalTag/team") and not evaluate.is_policy_variable("Account")
    # The evaluator never fills a placeholder in, even from a context that happens to hold its name.
    assert evaluate.substitute("arn:aws:iam::${Account}:root", {"account": "1"}) is None
    assert evaluate.substitute("arn:aws:iam::${aws:PrincipalAccount}:root",
                               {"aws:principalaccount": "1"}) == "arn:aws:iam::1:root"


def test_gg004_unreadable_input_gets_one_finding() -> None:
    item = lint.LintInput("x.json", "identity", None, "", "{,", "",
                          lint.Unreadable("not valid JSON: Expecting property name", 1, 2))
    (f,) = lint.lint([item, lint.LintInput("y.json", "identity", pol(allow("s3:Gett")))])[:1]
    assert (f.rule, f.path, f.line, f.column, f.pointer) == ("GG004", "x.json", 1, 2, "")
    assert [g.rule for g in lint.lint([item, lint.LintInput("y.json", "identity", pol(allow("s3:Gett")))])] \
        == ["GG004", "GG102"]


def test_gg107_retired_services_and_actions() -> None:
    assert ids(pol(deny(["macie:ListMemberAccounts", "macie2:GetFindings"]))) == ["GG107"]
    assert ids(pol(deny("aws-marketplace:CreatePrivateMarketplace"))) == ["GG107"]
    assert ids(pol(deny("aws-marketplace:CreatePrivateMarketplaceRequests"))) == []  # live
    assert ids(pol(deny("aws-marketplace:CreatePrivateMarketplaceRequest"))) == ["GG102"]  # typo
    assert ids(pol(deny("macey:ListMemberAccounts"))) == ["GG101"]
    whole, part = findings(pol(deny("macie:*"))), findings(pol(deny(["macie:*", "s3:GetObject"])))
    assert "the statement has no effect" in whole[0].message
    assert "the statement still covers its other actions" in part[0].message
    assert lint.BY_ID["GG107"].severity == "warning" and lint.BY_ID["GG102"].severity == "error"


def test_retired_entries_are_unknown_to_the_catalog() -> None:
    # An entry the catalog knows would never be consulted: the table and the catalog must agree.
    for prefix in iamcatalog.RETIRED_SERVICES:
        assert not iamcatalog.service_exists(prefix), prefix
    for action in iamcatalog.RETIRED_ACTIONS:
        assert iamcatalog.expand(action) == (), action
        assert iamcatalog.service_exists(action.partition(":")[0]), action


@pytest.mark.parametrize(("resource", "expected"), [
    ("arn:aws:logs:::log-group:/app:*", ["GG106"]),
    ("arn:aws:logs:eu-west-1::log-group:/app:*", ["GG106"]),
    ("arn:aws:logs::111122223333:log-group:/app:*", ["GG106"]),
    ("arn:aws:logs:*:*:log-group:/app:*", []),
    ("arn:aws:logs:eu-west-1:111122223333:log-group:/app:*", []),
])
def test_gg106_empty_region_or_account(resource: str, expected: list[str]) -> None:
    assert ids(pol(allow("logs:CreateLogStream", resource))) == expected


def test_gg106_knows_aws_owned_resources() -> None:
    assert ids(pol(allow("ssm:GetParameter", "arn:aws:ssm:*::parameter/aws/service/x"))) == []
    assert ids(pol(allow("ssm:SendCommand", "arn:aws:ssm:*::document/AWS-RunShellScript"))) == []
    assert ids(pol(allow("cloudformation:CreateChangeSet", "arn:aws:cloudformation:*:aws:transform/*"))) == []
    assert ids(pol(allow("kms:Decrypt", "arn:aws:kms:*::key/*"))) == ["GG106"]
    assert "use * for any" in findings(pol(allow("kms:Decrypt", "arn:aws:kms:*::key/*")))[0].message


def test_gg108_arn_fits_none_of_the_actions() -> None:
    assert ids(pol(allow("s3:GetObject", "arn:aws:s3:::b"))) == ["GG108"]
    assert ids(pol(allow(["s3:GetObject", "s3:ListBucket"], ["arn:aws:s3:::b", "arn:aws:s3:::b/*"]))) == []
    assert ids(pol(allow("s3:Get*", "arn:aws:s3:::b"))) == []  # s3:GetBucketPolicy takes the bucket
    assert ids(pol(allow("logs:PutLogEvents", "arn:aws:logs:*:*:log-group:g"))) == ["GG108"]
    assert ids(pol(allow("iam:PassRole", "arn:aws:iam::*:instance-profile/p"))) == ["GG108"]
    # Left alone: NotAction, '*', actions the catalog lists no resource for, API Gateway's
    # HTTP-method actions, NotResource.
    assert ids(pol({"Effect": "Deny", "NotAction": "s3:GetObject", "Resource": "arn:aws:s3:::b"})) == []
    assert ids(pol(deny("*", "arn:aws:s3:::b"))) == []
    assert ids(pol(allow("s3:ListAllMyBuckets", "arn:aws:s3:::*"))) == []
    assert ids(pol(allow("apigateway:GET", "arn:aws:apigateway:*::/restapis"))) == []
    assert ids(pol({"Effect": "Deny", "Action": "s3:GetObject", "NotResource": "arn:aws:s3:::b"})) == []
    # An ARN of another service than the actions' resources may be an alias: left alone too.
    assert ids(pol(allow("logs:CreateLogStream", "arn:aws:s3:::bucket/*"))) == []


def test_gg302_abac_is_not_a_least_privilege_warning() -> None:
    actions = ["ec2:StartInstances", "ec2:StopInstances"]
    assert ids(pol(allow(actions, "*"))) == ["GG302"]
    for key in ("aws:ResourceTag/team", "ec2:ResourceTag/team"):
        scoped = {"StringEquals": {key: "${aws:PrincipalTag/team}"}}
        assert ids(pol(allow(actions, "*", Condition=scoped))) == [], key
    for op in ("StringNotEquals", "StringEqualsIfExists", "ForAllValues:StringEquals"):
        loose = {op: {"aws:ResourceTag/team": "a"}}
        assert "GG302" in ids(pol(allow(actions, "*", Condition=loose))), op
    request_tag = {"StringEquals": {"aws:RequestTag/team": "a"}}
    assert ids(pol(allow(actions, "*", Condition=request_tag))) == ["GG302"]


def test_gg403_audience_under_a_set_operator_is_reported_once() -> None:
    web, sub = "sts:AssumeRoleWithWebIdentity", {f"{GH}:sub": "repo:o/r:ref:refs/heads/main"}
    for op in ("ForAllValues:StringEquals", "ForAnyValue:StringEquals"):
        got = ids(trust(GH_FED, web, {op: {f"{GH}:aud": "sts.amazonaws.com"}, "StringEquals": sub}), "trust")
        assert "GG403" not in got and "GG501" in got, op
    assert "GG403" in ids(trust(GH_FED, web, {"StringEquals": sub}), "trust")


def test_gg505_deny_that_skips_requests_without_the_key() -> None:
    mfa_false = {"Bool": {"aws:MultiFactorAuthPresent": "false"}}
    assert ids(pol(deny("s3:*", Condition=mfa_false))) == ["GG505"]
    assert ids(pol(deny("s3:*", Condition={"BoolIfExists": {"aws:MultiFactorAuthPresent": "false"}}))) == []
    assert ids(pol(allow("s3:GetObject", Condition={"Bool": {"aws:MultiFactorAuthPresent": "true"}}))) == []
    assert ids(pol(deny("s3:*", Condition={"NumericGreaterThan": {"aws:MultiFactorAuthAge": "3600"}}))) \
        == ["GG505"]
    age_if_exists = {"NumericGreaterThanIfExists": {"aws:MultiFactorAuthAge": "1"}}
    assert ids(pol(deny("s3:*", Condition=age_if_exists))) == []
    # A Deny of the same document that catches the missing key closes the gap.
    assert ids(pol(deny("s3:*", Condition=mfa_false),
                   deny("s3:*", Condition={"Null": {"aws:MultiFactorAuthPresent": "true"}}))) == []


def test_gg506_negated_test_on_a_key_requests_lack() -> None:
    def scp(resource: Any, cond: dict[str, Any]) -> list[str]:
        return ids(pol(deny("ec2:RunInstances", resource, Condition=cond)), "scp")

    types = {"StringNotEquals": {"ec2:InstanceType": ["t3.micro"]}}
    assert scp("*", types) == ["GG506"]
    assert scp("arn:aws:ec2:*:*:instance/*", types) == []
    assert scp("*", {**types, "Null": {"ec2:InstanceType": "false"}}) == []
    assert scp("*", {"StringNotEqualsIfExists": {"ec2:InstanceType": ["t3.micro"]}}) == []
    assert scp("*", {"StringNotEquals": {"aws:RequestedRegion": ["eu-west-1"]}}) == []  # always there
    assert scp("*", {"StringEquals": {"ec2:InstanceType": ["p5.48xlarge"]}}) == []  # positive: fine
    ec2_all = pol(deny("ec2:*", Condition={"StringNotEquals": {"ec2:InstanceType": "t3.micro"}}))
    assert ids(ec2_all, "scp") == ["GG506"]

    def bucket(values: Any, **extra: Any) -> list[str]:
        cond = {"StringNotLike": {"s3:LocationConstraint": values}, **extra}
        return ids(pol(deny("s3:CreateBucket", Condition=cond)), "scp")

    assert bucket(["eu-*", "us-east-1"]) == ["GG506"]
    assert bucket(["eu-*", "us-*"]) == ["GG506"]
    assert bucket(["eu-*"]) == []
    assert bucket(["eu-*", "us-east-1"], Null={"s3:LocationConstraint": "false"}) == []


def test_gg507_multivalued_key_without_set_operator() -> None:
    for key in ("aws:TagKeys", "aws:CalledVia", "aws:PrincipalOrgPaths", "sts:TransitiveTagKeys"):
        assert ids(pol(deny("*", Condition={"StringEquals": {key: "x"}}))) == ["GG507"], key
        assert ids(pol(deny("*", Condition={"ForAnyValue:StringEquals": {key: "x"}}))) == [], key
        assert ids(pol(deny("*", Condition={"Null": {key: "true"}}))) == [], key
    assert ids(pol(deny("*", Condition={"StringEquals": {"aws:RequestedRegion": "x"}}))) == []


def test_findings_carry_pointer_line_and_source() -> None:
    text = json.dumps(pol(allow(["s3:GetObject", "s3:Gett"])), indent=2)
    (f,) = lint.lint([lint.LintInput("x.json", "identity", json.loads(text), "w", text)])
    assert (f.rule, f.name, f.severity, f.pointer, f.where) == ("GG102", "unknown-action", "error",
                                                                "/Statement/0/Action/1", "w")
    assert f.line is not None and f.column is not None
    assert text.splitlines()[f.line - 1][f.column - 1:].startswith('"s3:Gett"')
    assert f.source == lint.BY_ID["GG102"].source


def test_positions_point_at_keys_and_elements() -> None:
    text = '{"a": {"b/c": [1, {"d~": true}]},\n  "e": "x"}'
    where = lint.positions(text)
    assert where[""] == (1, 1)
    assert where["/a"] == (1, 2)
    assert where["/a/b~1c"] == (1, 8)
    assert where["/a/b~1c/1"] == (1, 19)
    assert where["/a/b~1c/1/d~0"] == (1, 20)
    assert where["/e"] == (2, 3)


def test_malformed_documents_never_crash_the_rules() -> None:
    weird: list[Any] = [None, 1, "x", {"Statement": {"Effect": 1}}, {"Statement": [None, {"Action": {}}]},
                        pol({"Effect": "Allow", "Action": [None], "Principal": {"AWS": [1]},
                             "Condition": {"StringLike": {"k": [{"a": 1}]}, "Bool": []}}),
                        pol({"Effect": "Deny", "Action": ["ec2:RunInstances", "macie:*", "<a>"],
                             "Resource": 5,
                             "Principal": {"AWS": [None, "<p>"], "Federated": {"x": 1}},
                             "Condition": {"StringNotEquals": {"ec2:InstanceType": [None, {}]},
                                           "Bool": {"aws:MultiFactorAuthPresent": [False]},
                                           "ArnNotLike": {"aws:PrincipalArn": ["${x", "${}", 3]}}}),
                        pol({"Effect": "Deny", "NotAction": "s3:*", "Resource": ["arn:aws:s3:::", "arn:"],
                             "Condition": {"StringNotLike": {"s3:LocationConstraint": None}}})]
    for doc in weird:
        for kind in lint.KINDS:
            lint.lint([lint.LintInput("x", kind, doc)], _options(break_glass=(BG,)))


# -- type inference -----------------------------------------------------------------------------------

@pytest.mark.parametrize(("doc", "path", "kind"), [
    (trust({"Service": "ec2.amazonaws.com"}), "x.json", "trust"),
    (trust(GH_FED, ["sts:AssumeRoleWithWebIdentity", "sts:TagSession"]), "x.json", "trust"),
    (trust({"AWS": "arn:aws:iam::1:root"}, "kms:*"), "x.json", "key"),
    (trust("*", "s3:GetObject"), "x.json", "resource"),
    (trust("*", ["sts:AssumeRole", "s3:GetObject"]), "x.json", "resource"),
    (pol(deny("*")), "policies/scp_root_1.json", "scp"),
    (pol(deny("*")), "org/scps/deny-root.json", "scp"),
    (pol(deny("*")), "service-control-policies/a.json", "scp"),
    (pol(deny("*")), "boundaries/a.json", "boundary"),
    (pol(deny("*")), "permission-boundary.json", "boundary"),
    (pol(deny("*")), "deny-only.json", "scp"),  # Deny only and no Principal: a guardrail's shape
    (pol(deny("*"), allow("s3:GetObject")), "mixed.json", "identity"),
    ({"Version": "2012-10-17", "Statement": deny("*")}, "one.json", "scp"),
    ({"Version": "2012-10-17", "Statement": []}, "empty.json", "identity"),
    (pol(deny("*")), "boundaries/deny.json", "boundary"),  # the path wins over the content
    (pol(allow("*", "*")), "admin.json", "identity"),  # FullAWSAccess shape alone: not an SCP
    (pol(allow("*", "*")), "javascript/describe.json", "identity"),
    ([], "x.json", "identity"),
])
def test_infer_kind(doc: Any, path: str, kind: str) -> None:
    assert lint.infer_kind(doc, path)[0] == kind


# -- formats ------------------------------------------------------------------------------------------

def _sample() -> tuple[list[lint.LintInput], list[lint.Finding]]:
    text = json.dumps(trust("*"), indent=2)
    docs = [lint.LintInput("dir with space/t.json", "trust", json.loads(text), "role x", text, "given"),
            lint.LintInput("terraform/p.json", "identity", pol(allow("s3:*", "*")), "plan")]
    return docs, lint.lint(docs, _options())


def test_text_format() -> None:
    _, found = _sample()
    lines = lint.format_text(found).splitlines()
    assert lines[0].startswith("dir with space/t.json:6:7: error GG401 trust-any-principal: ")
    assert lines[0].endswith("(at /Statement/0/Principal; role x)")
    # Without text, no line: findings follow the pointer order.
    assert lines[1].startswith("terraform/p.json: info GG305 allow-service-wildcard: ")
    assert lines[2].startswith("terraform/p.json: warning GG302 ")
    assert lint.summary(found, 2).startswith("3 findings in 2 of 2 policy documents: 1 error(s)")
    assert lint.summary([], 1) == "1 policy document checked: no findings."


def test_json_format() -> None:
    docs, found = _sample()
    report = json.loads(lint.format_json(found, docs, "1.2.3"))
    assert report["version"] == "1.2.3" and report["summary"] == {
        "documents": 2, "findings": 3, "error": 1, "warning": 1, "info": 1}
    assert report["documents"][0] == {"path": "dir with space/t.json", "kind": "trust",
                                      "kind_reason": "given", "where": "role x"}
    first = report["findings"][0]
    assert first == {"rule": "GG401", "name": "trust-any-principal", "severity": "error",
                     "message": first["message"], "path": "dir with space/t.json",
                     "pointer": "/Statement/0/Principal", "line": 6, "column": 7, "where": "role x",
                     "source": lint.BY_ID["GG401"].source}


_LEVELS = {"none", "note", "warning", "error"}


def sarif_problems(log: Any) -> list[str]:
    """The SARIF 2.1.0 schema's required properties and enums, plus what GitHub code scanning
    needs on top (rule help URIs, short descriptions, default levels), checked by hand: the
    jsonschema package is not a dependency of ours."""
    problems = []

    def need(cond: bool, what: str) -> None:
        if not cond:
            problems.append(what)

    need(log.get("version") == "2.1.0", "version must be 2.1.0")
    need(isinstance(log.get("$schema"), str), "$schema")
    runs = log.get("runs")
    need(isinstance(runs, list) and len(runs) == 1, "runs: a list of one run")
    for run in runs or []:
        driver = run.get("tool", {}).get("driver", {})
        need(isinstance(driver.get("name"), str) and bool(driver["name"]), "tool.driver.name")
        rules = driver.get("rules", [])
        need(isinstance(rules, list) and bool(rules), "tool.driver.rules")
        for n, rule in enumerate(rules):
            need(isinstance(rule.get("id"), str), f"rules[{n}].id")
            for text in ("shortDescription", "fullDescription"):
                need(isinstance(rule.get(text, {}).get("text"), str), f"rules[{n}].{text}.text")
            need(str(rule.get("helpUri", "")).startswith("https://"), f"rules[{n}].helpUri")
            level = rule.get("defaultConfiguration", {}).get("level")
            need(level in _LEVELS, f"rules[{n}].defaultConfiguration.level")
        need(len({r.get("id") for r in rules}) == len(rules), "rule ids unique")
        for n, result in enumerate(run.get("results", [])):
            need(isinstance(result.get("message", {}).get("text"), str), f"results[{n}].message.text")
            need(result.get("level") in _LEVELS, f"results[{n}].level")
            index = result.get("ruleIndex")
            need(isinstance(index, int) and 0 <= index < len(rules)
                 and rules[index]["id"] == result.get("ruleId"), f"results[{n}].ruleIndex/ruleId")
            for loc in result.get("locations", []):
                physical = loc.get("physicalLocation", {})
                uri = physical.get("artifactLocation", {}).get("uri")
                need(isinstance(uri, str) and " " not in uri
                     and (uri.startswith("file:///") or not uri.startswith("/")),
                     f"results[{n}] uri {uri!r} must be a relative reference or a file URI")
                region = physical.get("region")
                if region is not None:
                    need(isinstance(region.get("startLine"), int) and region["startLine"] >= 1,
                         f"results[{n}].region.startLine")
                    need(isinstance(region.get("startColumn", 1), int) and region.get("startColumn", 1) >= 1,
                         f"results[{n}].region.startColumn")
            need(isinstance(result.get("partialFingerprints", {}), dict), f"results[{n}].partialFingerprints")
    return problems


def test_sarif_format() -> None:
    _, found = _sample()
    log = json.loads(lint.format_sarif(found, "1.2.3"))
    assert sarif_problems(log) == []
    run = log["runs"][0]
    assert [r["id"] for r in run["tool"]["driver"]["rules"]] == [r.id for r in lint.REGISTRY]
    first, third, second = run["results"]
    assert first["ruleId"] == "GG401" and first["level"] == "error"
    location = first["locations"][0]["physicalLocation"]
    assert location == {"artifactLocation": {"uri": "dir%20with%20space/t.json"},
                        "region": {"startLine": 6, "startColumn": 7}}
    assert "region" not in second["locations"][0]["physicalLocation"]  # no text, no line
    assert third["level"] == "note"  # GG305 is info
    assert first["partialFingerprints"] != second["partialFingerprints"]


def test_sarif_problems_catches_broken_logs() -> None:
    assert sarif_problems({"version": "2.0.0", "runs": []})
    log = json.loads(lint.format_sarif(_sample()[1], "1"))
    log["runs"][0]["results"][0]["ruleIndex"] = 0
    assert sarif_problems(log)


# -- the CLI ----------------------------------------------------------------------------------------

def _root() -> typer.Typer:
    root = typer.Typer(add_completion=False, rich_markup_mode=None, pretty_exceptions_enable=False,
                       no_args_is_help=True)

    @root.command()
    def version() -> None:
        """A sibling command, as in guardgen's CLI."""

    cli_lint.register(root)
    return root


@pytest.fixture
def run(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Any:
    monkeypatch.chdir(tmp_path)
    runner = CliRunner()
    app = _root()

    def invoke(*args: str | Path) -> Result:
        return runner.invoke(app, ["lint", *map(str, args)], catch_exceptions=False)

    return invoke


def _write(path: Path, doc: Any) -> Path:
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text(json.dumps(doc, indent=2), "utf-8")
    return path


def test_cli_help_names_the_rule_ranges(run: Any) -> None:
    r = run("--help")
    assert r.exit_code == 0
    for text in ("GG1xx", "--fail-on", "--break-glass", "--scp-limit", "sarif", "--type"):
        assert text in r.output


def test_cli_exit_codes_and_fail_on(run: Any, tmp_path: Path) -> None:
    good = _write(tmp_path / "good.json", pol(allow("s3:GetObject")))
    info = _write(tmp_path / "info.json", pol(allow("s3:*")))  # GG305 only
    warn = _write(tmp_path / "warn.json", pol(allow("s3:Get*", "*")))  # GG302
    err = _write(tmp_path / "err.json", pol(allow("s3:Gett")))
    assert run(good).exit_code == 0
    assert run(info).exit_code == 0
    assert run(info, "--fail-on", "info").exit_code == 1
    assert run(warn).exit_code == 1
    assert run(warn, "--fail-on", "error").exit_code == 0
    r = run(err, "--fail-on", "error")
    assert r.exit_code == 1
    assert "err.json:6:7: error GG102 unknown-action" in r.stdout
    assert "1 finding in 1 of 1 policy documents" in r.stderr


@pytest.mark.parametrize(("args", "message"), [
    (["missing.json"], "missing.json: no such file or directory"),
    (["good.json", "missing.json"], "missing.json: no such file or directory"),
    (["good.json", "--format", "xml"], "Invalid value for '--format'"),
    (["good.json", "--fail-on", "never"], "Invalid value for '--fail-on'"),
    (["good.json", "--type", "iam"], "Invalid value for '--type'"),
    (["--type", "scp"], "--type applies to policy files"),
    (["--break-glass", BG], "--break-glass applies to policy files"),
    ([], "guardgen.yaml"),
])
def test_cli_usage_errors_exit_2(run: Any, tmp_path: Path, args: list[str], message: str) -> None:
    _write(tmp_path / "good.json", pol(allow("s3:GetObject")))
    (tmp_path / "bad.json").write_text('{\n  "Version": "2012-10-17",\n', "utf-8")
    (tmp_path / "latin1.json").write_bytes(b'{"Sid": "caf\xe9"}')
    r = run(*args)
    assert r.exit_code == 2
    assert message in r.stderr
    assert "Traceback" not in r.output


def test_lint_command_is_a_plain_function(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    path = _write(tmp_path / "scp.json", pol(deny("cloudtrail:StopLogging")))
    assert cli_lint.lint_command([path], None, "text", "warning", Path("x"), [], None) == 0
    assert cli_lint.lint_command([path], None, "text", "warning", Path("x"), [BG], None) == 1
    assert "GG601" in capsys.readouterr().out
    assert cli_lint.lint_command([path], "bogus", "text", "warning", Path("x"), [], None) == 2
    assert "--type must be one of" in capsys.readouterr().err


def test_cli_type_break_glass_and_scp_limit(run: Any, tmp_path: Path) -> None:
    doc = pol(deny(DESTRUCTIVE_EC2, Condition={"ArnNotLike": {"aws:PrincipalArn": BG}}))
    path = _write(tmp_path / "deny.json", doc)
    # As an identity policy: over the 6,144-character managed policy limit.
    assert "GG201" in run(path, "--type", "identity").stdout
    # Deny only and no Principal: inferred an SCP, within 10,240 bytes.
    r = run(path)
    assert r.exit_code == 0 and "GG201" not in r.stdout
    assert run(path, "--type", "scp").exit_code == 0
    r = run(path, "--type", "scp", "--scp-limit", "legacy")
    assert r.exit_code == 1 and "over the 5,120" in r.stdout
    r = run(path, "--type", "scp", "--break-glass", BG, "--break-glass", "arn:aws:iam::*:role/Other")
    assert r.exit_code == 1 and "arn:aws:iam::*:role/Other" in r.stdout


def test_cli_lints_directories(run: Any, tmp_path: Path) -> None:
    _write(tmp_path / "policies" / "scps" / "deny.json", pol(deny("cloudtrail:StopLogging")))
    _write(tmp_path / "policies" / "role.json", trust("*"))
    _write(tmp_path / "policies" / "not-a-policy.json", {"accounts": []})
    _write(tmp_path / "policies" / "main.tf.json", {"resource": {}})
    r = run("policies", "--format", "json", "--break-glass", BG)
    assert r.exit_code == 1
    report = json.loads(r.stdout)
    assert [(d["path"], d["kind"]) for d in report["documents"]] == [
        ("policies/role.json", "trust"), ("policies/scps/deny.json", "scp")]
    assert sorted(f["rule"] for f in report["findings"]) == ["GG401", "GG601"]
    # A file named explicitly is linted even without a Statement.
    assert "GG001" in run(tmp_path / "policies" / "not-a-policy.json").stdout


def test_cli_corpus_as_sarif(run: Any) -> None:
    args = [str(CORPUS / n) for n in NAMES if not FILES[n].get("type_given")]
    bg = [a for b in BREAK_GLASS for a in ("--break-glass", b)]
    r = run(*args, *bg, "--format", "sarif")
    assert r.exit_code == 1
    log = json.loads(r.stdout)
    assert sarif_problems(log) == []
    got = Counter(res["ruleId"] for res in log["runs"][0]["results"])
    want = Counter(rid for n in NAMES if not FILES[n].get("type_given") for rid in FILES[n]["findings"])
    assert got == want
    assert all("region" in res["locations"][0]["physicalLocation"] for res in log["runs"][0]["results"])


def test_installed_entry_point_style_subprocess(tmp_path: Path) -> None:
    path = _write(tmp_path / "t.json", trust("*"))
    code = ("import sys, typer; from guardgen.cli import lint as cli_lint; app = typer.Typer(); "
            "app.command('noop')(lambda: None); cli_lint.register(app); app()")
    proc = subprocess.run([sys.executable, "-c", code, "lint", str(path), "--format", "json"],
                          capture_output=True, text=True, check=False)
    assert proc.returncode == 1, proc.stderr
    assert json.loads(proc.stdout)["findings"][0]["rule"] == "GG401"


# -- plan linting over the committed examples ----------------------------------------------------------

@pytest.mark.parametrize("cfg", CONFIGS, ids=lambda p: p.parent.name)
def test_examples_lint_clean(cfg: Path) -> None:
    inputs, options = cli_lint.plan_inputs(cfg, None)
    assert len(inputs) == len(plan.policy_documents(plan.build(pipeline.load(cfg).config)))
    found = lint.lint(inputs, options)
    assert found == [], lint.format_text(found)
    # Every Deny of every SCP was checked against the config's break-glass principals.
    assert options.break_glass == tuple(pipeline.load(cfg).config.organization.break_glass_principals)


def test_plan_linting_exempts_guardrails_that_apply_to_everyone() -> None:
    cfg = pipeline.load(EXAMPLES / "acme" / "guardgen.yaml").config
    p = plan.build(cfg)
    options = plan_options(p)
    leave = catalog.statements(catalog.BY_ID["deny-leave-organization"], cfg.params, ())
    assert lint.normalized_statement(leave[0]) in options.everyone
    # Without the exemption, the root SCP (deny-leave-organization only) would be a finding.
    docs = [lint.LintInput(d.path, d.kind, d.document) for d in plan.policy_documents(p)]
    bare = lint.LintOptions(options.scp_max_bytes, options.break_glass)
    assert {f.path for f in lint.lint(docs, bare)} == {"management/policies/scp_root_1.json"}
    assert options.scp_max_bytes == 10_240
    legacy = plan.build(pipeline.load(EXAMPLES / "legacy-backend" / "guardgen.yaml").config)
    assert plan_options(legacy).scp_max_bytes == 5_120
    assert plan_options(p, "legacy").scp_max_bytes == 5_120


def test_cli_plan_mode_names_output_files(run: Any, tmp_path: Path) -> None:
    # A role whose own policy reads every object of every bucket: a finding in plan mode.
    cfg = tmp_path / "wide" / "guardgen.yaml"
    cfg.parent.mkdir()
    cfg.write_text((EXAMPLES / "iam" / "guardgen.yaml").read_text("utf-8").replace(
        "cross_account_roles:", "  - name: reader\n    accounts: [shop-dev]\n"
        "    statements: [{actions: [s3:GetObject], resources: ['*']}]\ncross_account_roles:"),
        "utf-8")
    from typer.testing import CliRunner

    from guardgen.cli import app as main_app

    assert CliRunner().invoke(main_app, ["generate", "-c", str(cfg)]).exit_code == 0
    r = run("--config", cfg, "--format", "sarif")
    assert r.exit_code == 1, r.output
    log = json.loads(r.stdout)
    assert sarif_problems(log) == []
    (result,) = log["runs"][0]["results"]
    assert result["ruleId"] == "GG302"
    location = result["locations"][0]["physicalLocation"]
    assert location["artifactLocation"]["uri"].endswith(
        "terraform/accounts/shop-dev/policies/role_reader_policy.json")
    assert location["region"]["startLine"] > 1
    assert run("--config", cfg, "--fail-on", "error").exit_code == 0
    acme = tmp_path / "guardgen.yaml"
    acme.write_text((EXAMPLES / "acme" / "guardgen.yaml").read_text("utf-8"), "utf-8")
    r = run()
    assert r.exit_code == 0, r.output
    assert "policy documents checked: no findings" in r.stderr
