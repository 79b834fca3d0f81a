"""The alarm registry, the filter-pattern evaluator, and every alarm against the CloudTrail corpus."""

from __future__ import annotations

import json
import re
from pathlib import Path
from typing import Any

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from guardgen import catalog
from guardgen.catalog import alarms
from guardgen.policy import logfilter
from guardgen.policy.logfilter import FilterSyntaxError, parse

CORPUS = Path(__file__).resolve().parent / "data" / "cloudtrail"
EXPECTATIONS: dict[str, list[str]] = json.loads((CORPUS / "expectations.json").read_text("utf-8"))
IDS = (
    "root-usage", "iam-policy-changes", "cloudtrail-changes", "console-login-without-mfa",
    "access-key-created", "principal-created", "security-group-ingress", "bucket-policy-changes",
    "unauthorized-api-calls", "console-auth-failures", "kms-key-disable-or-delete",
)


def _event(name: str) -> dict[str, Any]:
    data: dict[str, Any] = json.loads((CORPUS / name).read_text("utf-8"))
    return data


# --------------------------------------------------------------------------------- registry


def test_registry_has_exactly_the_documented_ids() -> None:
    assert [a.id for a in alarms.REGISTRY] == list(IDS)
    assert all(alarms.BY_ID[a.id] is a for a in alarms.REGISTRY)
    assert len(alarms.BY_ID) == len(alarms.REGISTRY)


def test_ids_are_well_formed_and_accepted_by_the_config_schema() -> None:
    from guardgen.config import GUARDRAIL_ID

    for a in alarms.REGISTRY:
        assert re.fullmatch(r"[a-z0-9]+(-[a-z0-9]+)*", a.id), a.id
        assert re.fullmatch(GUARDRAIL_ID, a.id), a.id


def test_metric_names_are_unique_camel_case() -> None:
    names = [a.metric_name for a in alarms.REGISTRY]
    assert len(set(names)) == len(names)
    for name in names:
        assert re.fullmatch(r"[A-Z][A-Za-z0-9]+", name), name


@pytest.mark.parametrize("alarm", alarms.REGISTRY, ids=lambda a: a.id)
def test_metadata_is_complete(alarm: alarms.Alarm) -> None:
    assert alarm.mistake in catalog.MISTAKES
    assert alarm.source.startswith("https://docs.aws.amazon.com/")
    assert alarm.title and alarm.description.endswith(".")
    if alarm.cis is None:
        # Our own patterns say so, so nobody mistakes them for CIS text.
        assert "guardgen's own" in alarm.notes
    else:
        assert re.fullmatch(r"CIS 4\.\d+( \(SSO variant\))? / Security Hub CloudWatch\.\d+", alarm.cis)


@pytest.mark.parametrize("alarm", alarms.REGISTRY, ids=lambda a: a.id)
def test_every_pattern_parses_and_fits_the_aws_limit(alarm: alarms.Alarm) -> None:
    pattern = parse(alarm.filter_pattern)
    assert pattern.text == alarm.filter_pattern
    assert len(alarm.filter_pattern) <= logfilter.MAX_PATTERN_LENGTH
    assert alarm.pattern is alarm.pattern  # parsed once


def test_root_usage_is_the_cis_pattern_verbatim() -> None:
    assert alarms.BY_ID["root-usage"].filter_pattern == (
        '{ $.userIdentity.type = "Root" && $.userIdentity.invokedBy NOT EXISTS '
        '&& $.eventType != "AwsServiceEvent" }')


def test_iam_policy_changes_cover_attach_user_and_role_policy() -> None:
    pattern = alarms.BY_ID["iam-policy-changes"].pattern
    for name in ("AttachUserPolicy", "AttachRolePolicy", "PutRolePolicy", "DetachGroupPolicy"):
        assert pattern.matches({"eventName": name}), name


def test_unauthorized_api_calls_keeps_the_cis_precedence() -> None:
    # && binds tighter than ||: the CIS exclusions guard the AccessDenied* branch only.
    pattern = alarms.BY_ID["unauthorized-api-calls"].pattern
    head = {"errorCode": "AccessDenied", "eventName": "HeadBucket", "sourceIPAddress": "1.2.3.4"}
    assert not pattern.matches(head)
    assert pattern.matches({**head, "errorCode": "Client.UnauthorizedOperation"})


def test_fired_names_events_by_event_id_else_index() -> None:
    events = [_event("root-api-list-buckets.json"), {"eventName": "StopLogging"}, {}]
    result = alarms.fired(events)
    assert result == [(events[0]["eventID"], ["root-usage"]), (1, ["cloudtrail-changes"]), (2, [])]


def test_fired_evaluates_only_the_alarms_asked_for() -> None:
    event = _event("root-create-access-key.json")
    assert alarms.fired([event], ["root-usage"]) == [(event["eventID"], ["root-usage"])]
    assert alarms.fired([event], []) == [(event["eventID"], [])]


def test_unknown_alarm_ids_are_refused() -> None:
    with pytest.raises(alarms.UnknownAlarmError, match=r"unknown alarm 'nope'.*guardgen alarms"):
        alarms.fired([], ["root-usage", "nope"])


# ------------------------------------------------------------------------------- evaluator

# The example log events of the CloudWatch Logs filter pattern documentation.
DOC = {
    "eventType": "UpdateTrail",
    "sourceIPAddress": "111.111.111.111",
    "arrayKey": ["value", "another value"],
    "objectList": [{"name": "a", "id": 1}, {"name": "b", "id": 2}],
    "SomeObject": None,
    "ThisFlag": True,
    "OtherFlag": False,
    "cluster.name": "c",
    "latency": 1200,
    "ratio": 0.25,
    "count": "42",
    "one": 1,
    "empty": "",
    "nested": {"deep": {"value": "x"}},
    "quote": 'say "hi"',
}
COMPOUND = {
    "user": {"id": 1, "email": "John.Stiles@example.com"},
    "users": [{"id": 2, "email": "John.Doe@example.com"}, {"id": 3, "email": "Jane.Doe@example.com"}],
    "actions": ["GET", "PUT", "DELETE"],
    "coordinates": [[0, 1, 2], [4, 5, 6], [7, 8, 9]],
}

CASES = [
    # strings: quoted, unquoted, case sensitive
    ('{ $.eventType = "UpdateTrail" }', True),
    ("{ $.eventType = UpdateTrail }", True),
    ("{$.eventType=UpdateTrail}", True),
    ('{ $.eventType = "updatetrail" }', False),
    ('{ $.eventType != "UpdateTrail" }', False),
    ('{ $.eventType != "CreateTrail" }', True),
    ('{ $.empty = "" }', True),
    (r'{ $.quote = "say \"hi\"" }', True),
    # wildcards: prefix, suffix, infix, alone
    ("{ $.sourceIPAddress != 123.123.* }", True),
    ("{ $.sourceIPAddress = 111.111.* }", True),
    ('{ $.eventType = "*Trail" }', True),
    ('{ $.eventType = "Update*" }', True),
    ('{ $.eventType = "Up*Tr*l" }', True),
    ('{ $.eventType = "Up*X*l" }', False),
    ('{ $.eventType = "*Update" }', False),
    ("{ $.eventType = * }", True),
    ("{ $.latency = * }", True),
    ("{ $.eventType != * }", False),
    # absent fields: no comparison holds, = and != alike; NOT EXISTS does
    ('{ $.missing = "x" }', False),
    ('{ $.missing != "x" }', False),
    ("{ $.missing = * }", False),
    ("{ $.missing < 5 }", False),
    ("{ $.missing NOT EXISTS }", True),
    ("{ $.eventType NOT EXISTS }", False),
    ("{ $.eventType.inner NOT EXISTS }", True),
    ("{ $.nested.deep.value NOT EXISTS }", False),
    ("{ $.nested.deep.other NOT EXISTS }", True),
    ('{ $.nested.deep.value = "x" }', True),
    # null: exists, IS NULL, never compares
    ("{ $.SomeObject IS NULL }", True),
    ("{ $.SomeObject NOT EXISTS }", False),
    ('{ $.SomeObject = "null" }', False),
    ('{ $.SomeObject != "x" }', False),
    ("{ $.eventType IS NULL }", False),
    ("{ $.missing IS NULL }", False),
    # booleans
    ("{ $.ThisFlag IS TRUE }", True),
    ("{ $.ThisFlag IS FALSE }", False),
    ("{ $.OtherFlag IS FALSE }", True),
    ("{ $.one IS TRUE }", False),
    ("{ $.ThisFlag = true }", True),
    ("{ $.ThisFlag = 1 }", False),
    # numbers
    ("{ $.latency > 1000 }", True),
    ("{ $.latency >= 1200 }", True),
    ("{ $.latency > 1200 }", False),
    ("{ $.latency < +1300 }", True),
    ("{ $.latency <= 1.2e3 }", True),
    ("{ $.latency = 1200 }", True),
    ("{ $.latency = 1.2e3 }", True),
    ("{ $.latency != 1200 }", False),
    ("{ $.latency != 500 }", True),
    ("{ $.ratio < 0.3 }", True),
    ("{ $.ratio > -1 }", True),
    ("{ $.count = 42 }", True),
    ("{ $.count > 41.5 }", True),
    ('{ $.latency = "1200" }', True),
    ("{ $.latency = 12* }", True),
    ("{ $.eventType > 1 }", False),
    ("{ $.eventType = 1 }", False),
    ("{ $.eventType != 1 }", True),
    # arrays and objects: a whole array or object never compares; [*] and .* look inside
    ('{ $.arrayKey[0] = "value" }', True),
    ('{ $.arrayKey[1] = "value" }', False),
    ('{ $.arrayKey[2] = "value" }', False),
    ('{ $.arrayKey[2] != "value" }', False),
    ('{ $.arrayKey = "value" }', False),
    ('{ $.arrayKey != "value" }', False),
    ('{ $.objectList = "a" }', False),
    ('{ $.nested != "a" }', False),
    ('{ $.arrayKey[*] = "another*" }', True),
    ('{ $.arrayKey[*] = "nothing" }', False),
    ('{ $.arrayKey[*] != "value" }', True),
    ("{ $.objectList[1].id = 2 }", True),
    ("{ $.objectList[*].id > 1 }", True),
    ("{ $.objectList[*].id > 2 }", False),
    ('{ $.objectList[*].name = "b" }', True),
    ("{ $.objectList[*].missing NOT EXISTS }", True),
    ("{ $.objectList[*].id NOT EXISTS }", False),
    ('{ $.eventType[0] = "U" }', False),
    ('{ $.nested.* NOT EXISTS }', False),
    ('{ $.nested.deep.* = "x" }', True),
    ('{ $.arrayKey.* = "value" }', False),
    ('{ $.objectList[*] = "a" }', False),
    ("{ $.['cluster.name'] = \"c\" }", True),
    ('{ $.["cluster.name"] = c }', True),
]

COMPOUND_CASES = [
    # the documentation's own compound examples, with the answers it gives
    ('{ ($.user.id = 1) && ($.users[0].email = "John.Doe@example.com") }', True),
    ('{ ($.user.id = 2 && $.users[0].email = "nonmatch") || $.actions[2] = "GET" }', False),
    ('{ $.user.email = "John.Stiles@example.com" || $.coordinates[0][1] = nonmatch '
     '&& $.actions[2] = nomatch }', True),
    ('{ ($.user.email = "John.Stiles@example.com" || $.coordinates[0][1] = nonmatch) '
     '&& $.actions[2] = nomatch }', False),
    ("{ $.coordinates[2][0] = 7 }", True),
    ("{ $.coordinates[0] = 0 }", False),
    # precedence: && before ||, left to right within each
    ("{ $.user.id = 1 || $.user.id = 2 && $.user.id = 3 }", True),
    ("{ ($.user.id = 1 || $.user.id = 2) && $.user.id = 3 }", False),
    ("{ $.user.id = 2 && $.user.id = 3 || $.user.id = 1 }", True),
    ("{ $.user.id = 2 && ($.user.id = 3 || $.user.id = 1) }", False),
    ("{ (((($.user.id = 1)))) }", True),
    ("{ $.user.id = 1 && $.users[1].id = 3 && $.actions[*] = DELETE }", True),
    ("{ $.user.id = 9 || $.users[1].id = 9 || $.actions[*] = POST }", False),
]


@pytest.mark.parametrize(("pattern", "expected"), CASES)
def test_evaluator_on_the_documented_example(pattern: str, expected: bool) -> None:
    assert parse(pattern).matches(DOC) is expected


@pytest.mark.parametrize(("pattern", "expected"), COMPOUND_CASES)
def test_compound_expressions(pattern: str, expected: bool) -> None:
    assert parse(pattern).matches(COMPOUND) is expected


def test_and_binds_tighter_than_or_in_the_tree() -> None:
    root = parse("{ $.a = 1 || $.b = 2 && $.c = 3 }").root
    assert isinstance(root, logfilter.Or)
    assert isinstance(root.parts[1], logfilter.And)


BAD = [
    ("", 1, "JSON filter patterns only"),
    ("ERROR", 1, "JSON filter patterns only"),
    ("[ip, user]", 1, "JSON filter patterns only"),
    ("{", 2, "expected a condition"),
    ("{}", 2, "expected a condition"),
    ("{ $.a = 1", 10, "expected '&&', '||' or '}'"),
    ("{ $.a = 1 } x", 13, "expected the end of the pattern"),
    ("{ $.a = }", 9, "expected a value after '='"),
    ("{ $.a }", 7, "expected an operator"),
    ("{ $.a == 1 }", 8, "expected a value after '='"),
    ("{ $.a = 1 & $.b = 2 }", 11, "expected '&&'"),
    ("{ $.a = 1 | $.b = 2 }", 11, "expected '||'"),
    ("{ $.a ! 1 }", 7, "expected '!='"),
    ("{ $.a = 1 && }", 14, "expected a condition"),
    ("{ ($.a = 1 }", 12, "expected '&&', '||' or ')'"),
    ("{ $.a = 1) }", 10, "expected '&&', '||' or '}'"),
    ('{ $.a = "abc }', 9, "unterminated string"),
    ("{ $.a = foo@bar }", 12, "unexpected character '@'"),
    ("{ $.a = arn:aws }", 12, "unexpected character ':'"),
    ("{ $a = 1 }", 4, "a selector starts with '$.'"),
    ("{ $. = 1 }", 5, "expected a property name"),
    ("{ $.a[x] = 1 }", 6, "expected an array index"),
    ("{ $.a[-1] = 1 }", 6, "expected an array index"),
    ("{ $.[cluster.name] = 1 }", 5, "expected a quoted property name"),
    ("{ $.['cluster.name = 1 }", 5, "unterminated bracketed property name"),
    ("{ $.a@ = 1 }", 6, "unexpected character '@' in selector"),
    ("{ $.a[*].b[*] = 1 }", 3, "at most 1 wildcard"),
    ("{ $.a[*] = 1 && $.b[*] = 1 && $.c.* = 1 && $.d[*] = 1 }", 44, "at most 3 wildcard selectors"),
    ("{ $.a < abc }", 9, "'<' needs a number"),
    ('{ $.a >= "5" }', 10, "'>=' needs a number"),
    ("{ $.a <= 5* }", 10, "'<=' needs a number"),
    ("{ $.a = %ab+c% }", 9, "regular expressions"),
    ("{ $.a EXISTS }", 7, "EXISTS is not supported"),
    ("{ $.a IS NOT NULL }", 10, "IS NOT is not supported"),
    ("{ $.a IS EMPTY }", 10, "expected NULL, TRUE or FALSE"),
    ("{ $.a NOT NULL }", 11, "expected EXISTS after NOT"),
    ("{ $.a not exists }", 7, "expected an operator"),
    ("{ $.a = $.b }", 9, "expected a value after '='"),
    ("{ 1 = $.a }", 3, "expected a condition"),
]


@pytest.mark.parametrize(("pattern", "column", "message"), BAD)
def test_syntax_errors_point_at_the_column(pattern: str, column: int, message: str) -> None:
    with pytest.raises(FilterSyntaxError) as info:
        parse(pattern)
    assert info.value.column == column, str(info.value)
    assert message in info.value.reason
    assert str(info.value).startswith(f"column {column}: ")
    assert info.value.pattern == pattern


def test_too_long_and_too_deep_are_syntax_errors_not_crashes() -> None:
    with pytest.raises(FilterSyntaxError, match="at most 1024 characters"):
        parse("{ $.a = " + "x" * 1100 + " }")
    deep = "{ " + "(" * 300 + "$.a = 1" + ")" * 300 + " }"
    with pytest.raises(FilterSyntaxError, match="nested deeper than"):
        parse(deep[: logfilter.MAX_PATTERN_LENGTH])
    ok = "{ " + "(" * 50 + "$.a = 1" + ")" * 50 + " }"
    assert parse(ok).matches({"a": 1})


_TOKENS = st.sampled_from([
    "{", "}", "(", ")", "&&", "||", "&", "|", "=", "!=", "!", "<", "<=", ">", ">=", " ",
    "$.a", "$.a.b", "$.a[0]", "$.a[*]", "$.*", "$.['k.k']", "$", "$.", "[", "]", "'",
    '"x"', '"', "\\", "NOT", "EXISTS", "IS", "NULL", "TRUE", "FALSE", "x*", "*", "1e3", "-2.5",
    "%re%", "@", "\n", "é",
])
_JSON = st.recursive(
    st.none() | st.booleans() | st.integers() | st.floats() | st.text(max_size=5),
    lambda inner: st.lists(inner, max_size=3) | st.dictionaries(st.sampled_from("abk"), inner, max_size=3),
    max_leaves=10,
)


def _parse_or_syntax_error(text: str) -> logfilter.Pattern | None:
    try:
        return parse(text)
    except FilterSyntaxError as exc:
        assert 1 <= exc.column <= max(len(text), logfilter.MAX_PATTERN_LENGTH) + 1
        return None


@settings(max_examples=400)
@given(st.text(max_size=200))
def test_parse_raises_only_filter_syntax_error_on_arbitrary_text(text: str) -> None:
    _parse_or_syntax_error(text)


@settings(max_examples=400)
@given(st.lists(_TOKENS, max_size=30).map("".join),
       st.dictionaries(st.sampled_from(["a", "b", "k.k"]), _JSON, max_size=3))
def test_parse_and_match_never_crash_on_pattern_like_text(text: str, event: dict[str, Any]) -> None:
    pattern = _parse_or_syntax_error(text)
    if pattern is not None:
        assert pattern.matches(event) in (True, False)


# ---------------------------------------------------------------------------------- corpus

# For each alarm, records that look like what it watches but must not set it off.
NEAR_MISSES = {
    "root-usage": ["root-service-event-credential-verification.json", "root-invoked-by-support.json",
                   "root-invoked-by-aws-internal.json", "iam-user-named-root-lists-buckets.json"],
    "iam-policy-changes": ["iam-set-default-policy-version.json", "iam-get-role-policy.json",
                           "iam-list-attached-role-policies.json"],
    "cloudtrail-changes": ["cloudtrail-get-trail-status.json", "cloudtrail-put-event-selectors.json",
                           "cloudtrail-lookup-events.json"],
    "console-login-without-mfa": ["sso-console-login.json", "sso-console-login-dev.json",
                                  "iam-user-console-login-with-mfa.json",
                                  "iam-user-console-login-failed.json",
                                  "root-console-login-without-mfa.json"],
    "access-key-created": ["iam-create-access-key-denied.json", "iam-update-access-key-inactive.json",
                           "iam-list-access-keys.json"],
    "principal-created": ["iam-create-service-linked-role.json", "iam-create-user-already-exists.json",
                          "iam-create-group.json"],
    "security-group-ingress": ["ec2-authorize-sg-egress.json", "ec2-revoke-sg-ingress.json",
                               "ec2-authorize-sg-ingress-duplicate.json",
                               "ec2-authorize-sg-ingress-unauthorized.json"],
    "bucket-policy-changes": ["s3-get-bucket-policy.json", "s3-put-public-access-block.json",
                              "glacier-set-vault-access-policy.json"],
    "unauthorized-api-calls": ["s3-head-bucket-access-denied.json", "s3-log-delivery-access-denied.json",
                               "ec2-request-limit-exceeded.json", "iam-get-role-no-such-entity.json"],
    "console-auth-failures": ["iam-user-console-login-without-mfa.json", "sso-console-login.json",
                              "root-console-login-with-mfa.json"],
    "kms-key-disable-or-delete": ["kms-disable-key-rotation.json", "kms-cancel-key-deletion.json",
                                  "kms-delete-key-service-event.json", "kms-enable-key.json"],
}


def test_expectations_cover_every_record_and_nothing_else() -> None:
    files = {p.name for p in CORPUS.glob("*.json")} - {"expectations.json"}
    assert files == set(EXPECTATIONS)
    assert len(files) >= 40
    for name, expected in EXPECTATIONS.items():
        assert expected == sorted(set(expected)), name
        assert set(expected) <= set(IDS), name


@pytest.mark.parametrize("name", sorted(EXPECTATIONS))
def test_corpus_record_sets_off_exactly_the_expected_alarms(name: str) -> None:
    event = _event(name)
    fired = [a.id for a in alarms.REGISTRY if a.pattern.matches(event)]
    assert sorted(fired) == EXPECTATIONS[name]


@pytest.mark.parametrize("name", sorted(EXPECTATIONS))
def test_corpus_records_are_shaped_like_cloudtrail(name: str) -> None:
    event = _event(name)
    for key in ("eventVersion", "userIdentity", "eventTime", "eventSource", "eventName", "awsRegion",
                "sourceIPAddress", "userAgent", "requestParameters", "responseElements", "eventType",
                "eventID", "recipientAccountId"):
        assert key in event, key
    assert event["eventType"] in ("AwsApiCall", "AwsConsoleSignIn", "AwsServiceEvent")
    assert re.fullmatch(r"[0-9]{12}", event["recipientAccountId"])
    assert re.fullmatch(r"\d{4}-\d\d-\d\dT\d\d:\d\d:\d\dZ", event["eventTime"])
    assert event["eventSource"].endswith(".amazonaws.com")
    if "errorCode" in event or event["eventName"] == "ConsoleLogin" and "errorMessage" in event:
        assert event["errorMessage"]
    if event["eventName"] == "ConsoleLogin":
        assert event["additionalEventData"]["MFAUsed"] in ("Yes", "No")
        assert event["responseElements"]["ConsoleLogin"] in ("Success", "Failure")


def test_event_ids_are_unique() -> None:
    ids = [_event(name)["eventID"] for name in EXPECTATIONS]
    assert len(set(ids)) == len(ids)


@pytest.mark.parametrize("alarm_id", IDS)
def test_every_alarm_has_two_hits_and_two_near_misses(alarm_id: str) -> None:
    hits = [n for n, fired in EXPECTATIONS.items() if alarm_id in fired]
    assert len(hits) >= 2, hits
    misses = NEAR_MISSES[alarm_id]
    assert len(misses) >= 2
    for name in misses:
        assert alarm_id not in EXPECTATIONS[name], name


@pytest.mark.parametrize(("name", "expected"), [
    ("root-console-login-with-mfa.json", ["root-usage"]),
    ("root-console-login-without-mfa.json", ["root-usage"]),
    ("root-api-list-buckets.json", ["root-usage"]),
    ("root-service-event-credential-verification.json", []),
    ("root-invoked-by-support.json", []),
    ("s3-head-bucket-access-denied.json", []),
    ("sso-console-login.json", []),
    ("iam-user-console-login-failed.json", ["console-auth-failures"]),
])
def test_mandatory_cases(name: str, expected: list[str]) -> None:
    assert EXPECTATIONS[name] == expected
    event = _event(name)
    assert [a.id for a in alarms.REGISTRY if a.pattern.matches(event)] == expected


def test_sso_login_would_fire_the_base_cis_pattern() -> None:
    # Why guardgen uses the SSO variant of CIS 4.2: the base pattern pages on every SSO sign-in.
    base = parse('{ ($.eventName = "ConsoleLogin") && ($.additionalEventData.MFAUsed != "Yes") }')
    assert base.matches(_event("sso-console-login.json"))
    assert not alarms.BY_ID["console-login-without-mfa"].pattern.matches(_event("sso-console-login.json"))
