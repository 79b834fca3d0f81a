"""The committed JSON Schema of guardgen.yaml: current, complete, and in agreement with loading.

Editors use ``schema/guardgen.schema.json`` (and the copy ``guardgen init`` writes beside a config)
through ``yaml-language-server``, which implements draft 7, so the schema is checked under draft
7 as well as the draft it declares.
"""

from __future__ import annotations

import json
import re
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
import yaml
from jsonschema import Draft7Validator, Draft202012Validator

from guardgen import catalog, pipeline
from guardgen.catalog import alarms
from guardgen.errors import ConfigError
from support import EXAMPLES, REPO

SCHEMA_FILE = REPO / "schema" / "guardgen.schema.json"
CONFIGS = sorted(EXAMPLES.glob("*/guardgen.yaml"))
VALIDATORS = (Draft202012Validator, Draft7Validator)


def _schema() -> dict[str, Any]:
    return json.loads(SCHEMA_FILE.read_text(encoding="utf-8"))


def _readme_config() -> str:
    readme = (REPO / "README.md").read_text(encoding="utf-8")
    (block,) = [b for b in re.findall(r"```yaml\n(.*?)```", readme, re.S) if "version: 1" in b]
    return block


def test_committed_schema_is_what_guardgen_schema_prints(cli) -> None:
    r = cli("schema")
    assert r.exit_code == 0
    assert SCHEMA_FILE.read_text(encoding="utf-8") == r.output, (
        "schema/guardgen.schema.json is stale: run `guardgen schema > schema/guardgen.schema.json`")


@pytest.mark.parametrize("validator", VALIDATORS, ids=lambda v: v.__name__)
def test_schema_is_a_valid_schema(validator: Any) -> None:
    validator.check_schema(_schema())


@pytest.mark.parametrize("validator", VALIDATORS, ids=lambda v: v.__name__)
@pytest.mark.parametrize("config", [*CONFIGS, "README"], ids=lambda p: getattr(p, "parent", Path(
    str(p))).name)
def test_every_example_config_validates(config: Path | str, validator: Any) -> None:
    text = _readme_config() if config == "README" else Path(config).read_text(encoding="utf-8")
    errors = [f"{'.'.join(map(str, e.absolute_path))}: {e.message}"
              for e in validator(_schema()).iter_errors(yaml.safe_load(text))]
    assert errors == []


def _properties(node: Any, where: str = "") -> Iterator[tuple[str, dict[str, Any]]]:
    """Every property schema of every object in the schema, with a path naming it."""
    if isinstance(node, dict):
        for name, prop in (node.get("properties") or {}).items():
            yield f"{where}.{name}", prop
        for key, value in node.items():
            yield from _properties(value, f"{where}/{key}")
    elif isinstance(node, list):
        for i, value in enumerate(node):
            yield from _properties(value, f"{where}[{i}]")


def test_every_field_and_type_is_described() -> None:
    schema = _schema()
    props = list(_properties(schema))
    assert len(props) > 60
    assert [w for w, p in props if not p.get("description")] == []
    assert [n for n, d in schema["$defs"].items() if not d.get("description")] == []


def test_guardrail_and_alarm_ids_are_listed_for_completion() -> None:
    schema = _schema()
    guardrail_ids = [g.id for g in catalog.ALL]
    for owner in ("Organization", "Unit", "Account"):
        items = schema["$defs"][owner]["properties"]["guardrails"]["items"]
        assert items["anyOf"][0]["enum"] == guardrail_ids
        assert items["pattern"]  # a custom id must still be well formed
    alarm_ids = [a.id for a in alarms.REGISTRY]
    assert schema["$defs"]["Monitoring"]["properties"]["alarms"]["items"]["enum"] == alarm_ids


def test_examples_in_the_schema_are_valid_values() -> None:
    """Every example shown in an editor's completion validates against its own property."""
    schema = _schema()
    checked = 0
    for where, prop in _properties(schema):
        for example in prop.get("examples", []):
            sub = {**prop, "$defs": schema["$defs"]}
            errors = [e.message for e in Draft202012Validator(sub).iter_errors(example)]
            assert errors == [], f"{where}: example {example!r}: {errors}"
            checked += 1
    assert checked > 40


GOOD = (EXAMPLES / "demo" / "guardgen.yaml").read_text(encoding="utf-8")
# Mistakes an editor should flag as you type, each also refused by loading.
REFUSED = {
    "unknown key": GOOD.replace("  home_region: us-east-1", "  home_region: us-east-1\n  homeregion: x"),
    "unquoted account id": GOOD.replace('id: "444444444444"', "id: 444444444444"),
    "account id not 12 digits": GOOD.replace('"444444444444"', '"44444444444"'),
    "malformed guardrail id": GOOD.replace("deny-iam-user-access-keys]", "Deny_IAM_User_Keys]"),
    "unknown CI provider": GOOD.replace("provider: github", "provider: jenkins"),
    "unknown alarm": GOOD.replace("alarms: [", "alarms: [root-usag, "),
    "retention CloudWatch refuses": GOOD.replace("log_retention_days: 365", "log_retention_days: 100"),
}


@pytest.mark.parametrize("name", sorted(REFUSED))
def test_schema_and_loading_refuse_the_same_mistakes(name: str) -> None:
    text = REFUSED[name]
    assert text != GOOD, "the mutation did not apply"
    with pytest.raises(ConfigError):
        pipeline.loads(text)
    for validator in VALIDATORS:
        assert list(validator(_schema()).iter_errors(yaml.safe_load(text))), (name, validator)


def test_the_schema_ships_with_the_package_data() -> None:
    """init copies the schema from the installation's data; in a checkout that is schema/."""
    from guardgen.output import scaffold

    assert scaffold.schema() == SCHEMA_FILE.read_text(encoding="utf-8")
