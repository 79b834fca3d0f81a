"""A Terraform configuration read far enough to find its organization policies.

:class:`Program` loads the root module from a folder, follows calls to local modules (``./x``,
``../x``) with their arguments, ``count`` and ``for_each``, reads variables from defaults,
``terraform.tfvars`` and ``*.auto.tfvars``, and resolves the references
:mod:`.evaluate` meets. It knows what the data sources of hand-written SCP code produce
(``aws_iam_policy_document``, ``template_file``, ``local_file``, the organization's root) and the
two cloudposse modules that read SCP statements from YAML catalogs (``cloudposse/config/yaml``
and ``cloudposse/service-control-policies/aws``). Everything else is reported, not guessed.
"""

from __future__ import annotations

import json
from collections.abc import Iterator
from dataclasses import dataclass, field
from typing import Any

from .evaluate import (
    Files,
    Scope,
    Step,
    Untranslatable,
    evaluate,
    relative,
    render_template,
    to_text,
)
from .syntax import Attribute, Block, SyntaxProblem, Where, bare_name, parse

MAX_DEPTH = 16  # module calls inside module calls

CLOUDPOSSE_YAML = ("cloudposse/config/yaml", "cloudposse/terraform-yaml-config")
CLOUDPOSSE_SCP = ("cloudposse/service-control-policies/aws",
                  "cloudposse/terraform-aws-service-control-policies")


# -- objects that only exist in AWS --------------------------------------------------------------

@dataclass(frozen=True)
class RootRef:
    """The organization's root (``data.aws_organizations_organization.x.roots[0].id``)."""

    def __str__(self) -> str:
        return "the organization root"


@dataclass(frozen=True)
class OuRef:
    """An OU this configuration declares: its address, name and parent."""

    address: str
    name: str
    parent: Any  # RootRef, OuRef, an OU id string, or an Untranslatable to raise when used

    def __str__(self) -> str:
        return f"{self.address}.id"


@dataclass(frozen=True)
class PolicyRef:
    """The id of an ``aws_organizations_policy`` this configuration declares."""

    address: str

    def __str__(self) -> str:
        return f"{self.address}.id"


# -- modules ---------------------------------------------------------------------------------------

@dataclass
class Source:
    """The blocks of one module folder."""

    path: str  # relative to the root module's folder, "." for the root
    variables: dict[str, Block] = field(default_factory=dict)
    locals: dict[str, Attribute] = field(default_factory=dict)
    resources: dict[tuple[str, str], Block] = field(default_factory=dict)
    data: dict[tuple[str, str], Block] = field(default_factory=dict)
    modules: dict[str, Block] = field(default_factory=dict)
    outputs: dict[str, Block] = field(default_factory=dict)


def _file_of(b: Block | Attribute) -> str:
    return b.where.file


@dataclass
class Instance:
    """One instance of a module: its source, its address and where its variables come from."""

    source: Source
    address: str  # "" for the root module, else "module.a", 'module.a["k"].module.b'...
    inputs: dict[str, tuple[Attribute, Scope]]  # argument → (expression, the caller's scope)
    tfvars: dict[str, Any]  # the root module's variable values from .tfvars files
    call: Block | None  # the module block that made it
    depth: int = 0
    _locals: dict[str, Any] = field(default_factory=dict)
    _busy: set[str] = field(default_factory=set)

    def prefix(self, address: str) -> str:
        return f"{self.address}.{address}" if self.address else address


def _index(key: Any) -> str:
    return f"[{key}]" if isinstance(key, int) else f"[{json.dumps(key, ensure_ascii=False)}]"


class Program:
    """A root module and the local modules it calls, ready to be asked about references."""

    def __init__(self, files: Files, problems: list[str]) -> None:
        self.files = files
        self.problems = problems
        self.sources: dict[str, Source] = {}
        self.root = Instance(self.load("."), "", {}, {}, None)
        self.root.tfvars = self._tfvars()

    # loading ------------------------------------------------------------------------------------
    def load(self, path: str) -> Source:
        """The blocks of the ``.tf`` files in ``path`` (cached)."""
        if path in self.sources:
            return self.sources[path]
        src = Source(path)
        self.sources[path] = src
        try:
            names = self.files.listdir(path)
        except OSError as exc:
            raise Untranslatable(None, f"cannot read the folder {path}: {exc.strerror}") from None
        for name in names:
            rel = name if path == "." else f"{path}/{name}"
            if name.endswith(".tf.json"):
                self.problems.append(f"{rel}: Terraform in JSON syntax is not read")
            if not name.endswith(".tf"):
                continue
            try:
                top = parse(self.files.read(rel), rel)
            except (OSError, UnicodeDecodeError) as exc:
                self.problems.append(f"{rel}: cannot read it ({getattr(exc, 'strerror', exc)})")
                continue
            except SyntaxProblem as exc:
                self.problems.append(str(exc))
                continue
            for b in top.blocks:
                self._add(src, b)
        return src

    def _add(self, src: Source, b: Block) -> None:
        if b.type == "variable" and len(b.labels) == 1:
            src.variables[b.labels[0]] = b
        elif b.type == "locals":
            src.locals.update(b.attributes)
        elif b.type == "resource" and len(b.labels) == 2:
            src.resources[(b.labels[0], b.labels[1])] = b
        elif b.type == "data" and len(b.labels) == 2:
            src.data[(b.labels[0], b.labels[1])] = b
        elif b.type == "module" and len(b.labels) == 1:
            src.modules[b.labels[0]] = b
        elif b.type == "output" and len(b.labels) == 1:
            src.outputs[b.labels[0]] = b

    def _tfvars(self) -> dict[str, Any]:
        """Values of the root module's variables from terraform.tfvars and *.auto.tfvars."""
        values: dict[str, Any] = {}
        try:
            names = self.files.listdir(".")
        except OSError:
            return values
        chosen: list[str] = [n for n in ("terraform.tfvars", "terraform.tfvars.json") if n in names]
        chosen += sorted(n for n in names if n.endswith((".auto.tfvars", ".auto.tfvars.json")))
        constant = self.scope(self.root, only_names=True)
        for name in chosen:
            try:
                text = self.files.read(name)
                if name.endswith(".json"):
                    data = json.loads(text)
                    if not isinstance(data, dict):
                        raise ValueError("not a JSON object")
                    values.update(data)
                    continue
                top = parse(text, name)
            except (OSError, UnicodeDecodeError, ValueError) as exc:
                self.problems.append(f"{name}: cannot read it ({exc})")
                continue
            except SyntaxProblem as exc:
                self.problems.append(str(exc))
                continue
            for attr in top.attributes.values():
                try:
                    values[attr.name] = evaluate(attr.expr, constant, name)
                except Untranslatable as exc:
                    values[attr.name] = exc
        return values

    def scope(self, inst: Instance, *, only_names: bool = False, **names: Any) -> Scope:
        return Scope(inst, inst.source.path, self.files, self, dict(names), only_names)

    # values ----------------------------------------------------------------------------------
    def var(self, inst: Instance, name: str, where: Where) -> Any:
        if name in inst.inputs:
            attr, caller = inst.inputs[name]
            return evaluate(attr.expr, caller, _file_of(attr))
        if inst.address == "" and name in inst.tfvars:
            value = inst.tfvars[name]
            if isinstance(value, Untranslatable):
                raise value
            return value
        block = inst.source.variables.get(name)
        if block is None:
            raise Untranslatable(where, f"var.{name} is not declared in {inst.source.path}")
        default = block.attributes.get("default")
        if default is None:
            raise Untranslatable(where, f"var.{name} has no default and no value in "
                                 + ("terraform.tfvars" if inst.address == "" else
                                    f"the call of {inst.address}"))
        return evaluate(default.expr, self.scope(inst, only_names=True), _file_of(default))

    def local(self, inst: Instance, name: str, where: Where) -> Any:
        if name in inst._locals:
            return inst._locals[name]
        attr = inst.source.locals.get(name)
        if attr is None:
            raise Untranslatable(where, f"local.{name} is not declared in {inst.source.path}")
        if name in inst._busy:
            raise Untranslatable(where, f"local.{name} depends on itself")
        inst._busy.add(name)
        try:
            value = evaluate(attr.expr, self.scope(inst), _file_of(attr))
        finally:
            inst._busy.discard(name)
        inst._locals[name] = value
        return value

    def expansion(self, inst: Instance, block: Block) -> list[tuple[Any, dict[str, Any]]]:
        """The instance keys of a block with ``count`` or ``for_each`` (``None``: one, unkeyed),
        each with the names (``count``, ``each``) its expressions see."""
        scope = self.scope(inst)
        if "count" in block.attributes:
            attr = block.attributes["count"]
            n = evaluate(attr.expr, scope, _file_of(attr))
            if isinstance(n, bool) or not isinstance(n, (int, float)):
                raise Untranslatable(attr.where, "count must be a number")
            return [(i, {"count": {"index": i}}) for i in range(int(n))]
        if "for_each" in block.attributes:
            attr = block.attributes["for_each"]
            value = evaluate(attr.expr, scope, _file_of(attr))
            if isinstance(value, dict):
                return [(k, {"each": {"key": k, "value": v}}) for k, v in sorted(value.items())]
            if isinstance(value, list):
                keys = [to_text(v, attr.where) for v in value]
                return [(k, {"each": {"key": k, "value": k}}) for k in sorted(set(keys))]
            raise Untranslatable(attr.where, "for_each must be a map or a set of strings")
        return [(None, {})]

    def reference(self, scope: Scope, name: str, steps: list[Step], where: Where) -> tuple[Any, int]:
        inst: Instance = scope.module
        first = steps[0].value if steps and steps[0].kind == "attr" else None
        if first is None:
            raise Untranslatable(where, f"{name} is not a value")
        if name == "var":
            return self.var(inst, first, where), 1
        if name == "local":
            return self.local(inst, first, where), 1
        if name == "module":
            block = inst.source.modules.get(first)
            if block is None:
                raise Untranslatable(where, f"module.{first} is not declared")
            return self.module_value(inst, first, block), 1
        if name == "data":
            second = steps[1].value if len(steps) > 1 and steps[1].kind == "attr" else None
            block = inst.source.data.get((first, second or ""))
            if block is None:
                raise Untranslatable(where, f"data.{first}.{second} is not declared")
            return self.collection(inst, block, DataValue), 2
        block = inst.source.resources.get((name, first))
        if block is None:
            raise Untranslatable(where, f"{name}.{first} is not declared here")
        return self.collection(inst, block, ResourceValue), 1

    def collection(self, inst: Instance, block: Block, kind: type[_Object]) -> Any:
        prefix = "data." if kind is DataValue else ""
        base = inst.prefix(f"{prefix}{block.labels[0]}.{block.labels[1]}")
        keys = self.expansion(inst, block)
        if keys == [(None, {})]:
            return kind(self, inst, block, base, {})
        objects = {k: kind(self, inst, block, base + _index(k), names) for k, names in keys}
        if "count" in block.attributes:
            return list(objects.values())
        return {str(k): v for k, v in objects.items()}

    def module_value(self, inst: Instance, name: str, block: Block) -> Any:
        keys = self.expansion(inst, block)
        values = {k: ModuleValue(self, self.child(inst, name, block, k, names))
                  for k, names in keys}
        if keys == [(None, {})]:
            return values[None]
        if "count" in block.attributes:
            return list(values.values())
        return {str(k): v for k, v in values.items()}

    def child(self, inst: Instance, name: str, block: Block, key: Any,
              names: dict[str, Any]) -> Instance | RemoteModule:
        address = inst.prefix(f"module.{name}") + ("" if key is None else _index(key))
        source_attr = block.attributes.get("source")
        source = evaluate(source_attr.expr, self.scope(inst), _file_of(source_attr)) \
            if source_attr else ""
        caller = self.scope(inst, **names)
        args = {k: (a, caller) for k, a in block.attributes.items()
                if k not in ("source", "version", "count", "for_each", "providers", "depends_on")}
        if not isinstance(source, str) or not source.startswith(("./", "../")):
            return RemoteModule(str(source), address, block, args, self)
        if inst.depth >= MAX_DEPTH:
            raise Untranslatable(block.where, f"modules nested more than {MAX_DEPTH} deep")
        path = relative(inst.source.path, source)
        return Instance(self.load(path), address, args, {}, block, inst.depth + 1)

    def instances(self) -> Iterator[Instance | RemoteModule]:
        """Every module instance, the root first, then each call depth-first in file order."""
        yield from self._walk(self.root)

    def _walk(self, inst: Instance) -> Iterator[Instance | RemoteModule]:
        yield inst
        for name, block in inst.source.modules.items():
            try:
                keys = self.expansion(inst, block)
                children = [self.child(inst, name, block, k, n) for k, n in keys]
            except Untranslatable as exc:
                self.problems.append(f"{exc.where or block.where}: module.{name}: {exc.reason}")
                continue
            for c in children:
                if isinstance(c, Instance):
                    yield from self._walk(c)
                else:
                    yield c


class _Object:
    """A resource or data source instance: attributes resolved on demand."""

    def __init__(self, program: Program, inst: Instance, block: Block, address: str,
                 names: dict[str, Any]) -> None:
        self.program = program
        self.inst = inst
        self.block = block
        self.address = address
        self.names = names

    def __str__(self) -> str:
        return self.address

    @property
    def type(self) -> str:
        return self.block.labels[0]

    def scope(self) -> Scope:
        return self.program.scope(self.inst, **self.names)

    def attr(self, name: str) -> Any:
        """The value of one of the block's own attributes."""
        a = self.block.attributes.get(name)
        if a is None:
            raise Untranslatable(self.block.where, f"{self.address} sets no {name}")
        return evaluate(a.expr, self.scope(), _file_of(a))

    def has(self, name: str) -> bool:
        return name in self.block.attributes

    def get_attr(self, name: str, where: Where) -> Any:
        if name in self.block.attributes:
            return self.attr(name)
        raise Untranslatable(where, f"{self.address}.{name} is known only after apply")


class ResourceValue(_Object):
    def get_attr(self, name: str, where: Where) -> Any:
        if name == "id" and self.type == "aws_organizations_policy":
            return PolicyRef(self.address)
        if name == "id" and self.type == "aws_organizations_organizational_unit":
            try:
                parent = self.attr("parent_id")
            except Untranslatable as exc:
                parent = exc
            return OuRef(self.address, to_text(self.attr("name"), self.block.where), parent)
        return super().get_attr(name, where)


class _Root:
    def get_attr(self, name: str, where: Where) -> Any:
        if name == "id":
            return RootRef()
        raise Untranslatable(where, f"the root's {name} is known only after apply")


class DataValue(_Object):
    def get_attr(self, name: str, where: Where) -> Any:
        t = self.type
        if t == "aws_iam_policy_document" and name in ("json", "minified_json"):
            return json.dumps(policy_document(self), separators=(",", ":"), ensure_ascii=False)
        if t == "template_file" and name == "rendered":
            variables = self.attr("vars") if self.has("vars") else {}
            if not isinstance(variables, dict):
                raise Untranslatable(self.block.where, "template_file vars must be a map")
            scope = Scope(None, self.inst.source.path, self.program.files, self.program,
                          dict(variables), only_names=True)
            return render_template(to_text(self.attr("template"), where), scope,
                                   self.block.where.file, self.block.where.line)
        if t == "local_file" and name == "content":
            path = to_text(self.attr("filename"), where)
            try:
                return self.program.files.read(path)
            except (OSError, UnicodeDecodeError) as exc:
                raise Untranslatable(where, f"cannot read {path}: {exc}") from None
        if t == "aws_organizations_organization" and name == "roots":
            return [_Root()]
        return super().get_attr(name, where)


class ModuleValue:
    """``module.x``: its outputs."""

    def __init__(self, program: Program, inst: Instance | RemoteModule) -> None:
        self.program = program
        self.inst = inst

    def get_attr(self, name: str, where: Where) -> Any:
        if isinstance(self.inst, RemoteModule):
            return self.inst.output(name, where)
        block = self.inst.source.outputs.get(name)
        if block is None or "value" not in block.attributes:
            raise Untranslatable(where, f"{self.inst.address} has no output {name}")
        value = block.attributes["value"]
        return evaluate(value.expr, self.program.scope(self.inst), _file_of(value))


class RemoteModule:
    """A module from a registry or a repository: only the cloudposse SCP pair is understood."""

    def __init__(self, source: str, address: str, block: Block,
                 args: dict[str, tuple[Attribute, Scope]], program: Program) -> None:
        self.source = source
        self.address = address
        self.block = block
        self.args = args
        self.program = program

    def kind(self) -> str | None:
        s = self.source.lower()
        if any(k in s for k in CLOUDPOSSE_YAML):
            return "cloudposse-yaml"
        if any(k in s for k in CLOUDPOSSE_SCP):
            return "cloudposse-scp"
        return None

    def arg(self, name: str, default: Any = Untranslatable) -> Any:
        if name not in self.args:
            if default is Untranslatable:
                raise Untranslatable(self.block.where, f"{self.address} sets no {name}")
            return default
        attr, scope = self.args[name]
        return evaluate(attr.expr, scope, _file_of(attr))

    def output(self, name: str, where: Where) -> Any:
        if self.kind() == "cloudposse-yaml" and name in ("list_configs", "map_configs"):
            return self.yaml_configs(name == "list_configs")
        raise Untranslatable(where, f"{self.address} comes from {self.source}, which guardgen "
                             "does not read (only local modules and cloudposse's SCP modules)")

    def yaml_configs(self, lists: bool) -> Any:
        """What cloudposse/config/yaml reads: each file of list_config_paths (or
        map_config_paths) under list_config_local_base_path, as a template over ``parameters``."""
        key = "list" if lists else "map"
        base = to_text(self.arg(f"{key}_config_local_base_path", "."), self.block.where)
        paths = self.arg(f"{key}_config_paths", [])
        params = self.arg("parameters", {}) or {}
        if not isinstance(paths, list) or not isinstance(params, dict):
            raise Untranslatable(self.block.where, f"{key}_config_paths must be a list and "
                                 "parameters a map")
        out_list: list[Any] = []
        out_map: dict[str, Any] = {}
        for p in paths:
            pattern = to_text(p, self.block.where)
            if "://" in pattern:
                raise Untranslatable(self.block.where, f"{pattern}: remote catalogs are not read")
            found = ([relative(base, x) for x in self.program.files.glob(base, pattern)]
                     if "*" in pattern else [relative(base, pattern)])
            for rel in found:
                data = self._yaml_file(rel, params)
                if lists:
                    if not isinstance(data, list):
                        raise Untranslatable(Where(rel, 1), "a list catalog must hold a YAML list")
                    out_list.extend(data)
                elif isinstance(data, dict):
                    out_map.update(data)
        return out_list if lists else out_map

    def _yaml_file(self, rel: str, params: dict[str, Any]) -> Any:
        import yaml

        try:
            text = self.program.files.read(rel)
        except (OSError, UnicodeDecodeError) as exc:
            raise Untranslatable(self.block.where, f"cannot read {rel}: {exc}") from None
        scope = Scope(None, ".", self.program.files, self.program, dict(params), only_names=True)
        rendered = render_template(text, scope, rel)
        try:
            return yaml.safe_load(rendered)
        except yaml.YAMLError as exc:
            mark = getattr(exc, "problem_mark", None)
            raise Untranslatable(Where(rel, mark.line + 1 if mark else 1),
                                 f"not YAML ({getattr(exc, 'problem', exc)})") from None


# -- aws_iam_policy_document -------------------------------------------------------------------------

_STATEMENT_LISTS = (("actions", "Action"), ("not_actions", "NotAction"),
                    ("resources", "Resource"), ("not_resources", "NotResource"))


def _strings(value: Any, where: Where) -> list[str]:
    if value is None:
        return []
    if not isinstance(value, list):
        value = [value]
    return [to_text(v, where) for v in value]


def _principals(blocks: list[tuple[Block, Scope]]) -> Any:
    out: dict[str, list[str]] = {}
    for b, scope in blocks:
        kind = to_text(_eval(b, "type", scope), b.where)
        ids = _strings(_eval(b, "identifiers", scope), b.where)
        out.setdefault(kind, []).extend(ids)
    if list(out) == ["*"] and out["*"] == ["*"]:
        return "*"
    return {k: v[0] if len(v) == 1 else v for k, v in out.items()}


def _eval(b: Block, name: str, scope: Scope, default: Any = None) -> Any:
    a = b.attributes.get(name)
    return default if a is None else evaluate(a.expr, scope, _file_of(a))


def _expand(parent: Block, type_: str, scope: Scope) -> list[tuple[Block, Scope]]:
    """Nested blocks of one type, static and ``dynamic``, each with the scope it sees."""
    out: list[tuple[Block, Scope]] = []
    for b in parent.blocks:
        if b.type == type_:
            out.append((b, scope))
        elif b.type == "dynamic" and b.labels == (type_,):
            iterator = b.attributes.get("iterator")
            name = type_ if iterator is None else bare_name(iterator.expr)
            if name is None:
                raise Untranslatable(b.where, "a dynamic block's iterator is a bare name")
            for_each = b.attributes.get("for_each")
            content = b.children("content")
            if for_each is None or len(content) != 1:
                raise Untranslatable(b.where, f"dynamic \"{type_}\" needs for_each and one content")
            value = evaluate(for_each.expr, scope, _file_of(for_each))
            items = sorted(value.items()) if isinstance(value, dict) else list(enumerate(value)) \
                if isinstance(value, list) else None
            if items is None:
                raise Untranslatable(for_each.where, "for_each must be a map or a list")
            for k, v in items:
                out.append((content[0], scope.with_names(**{name: {"key": k, "value": v}})))
    return out


def policy_document(doc: DataValue) -> dict[str, Any]:
    """The JSON an ``aws_iam_policy_document`` data source renders, as the AWS provider builds
    it (source and override documents merged by Sid)."""
    scope = doc.scope()
    block = doc.block
    statements: list[dict[str, Any]] = []
    for b, s in _expand(block, "statement", scope):
        stmt: dict[str, Any] = {}
        sid = _eval(b, "sid", s)
        if sid:
            stmt["Sid"] = to_text(sid, b.where)
        stmt["Effect"] = to_text(_eval(b, "effect", s, "Allow"), b.where)
        for attr, key in _STATEMENT_LISTS:
            values = _strings(_eval(b, attr, s), b.where)
            if values:
                stmt[key] = values[0] if len(values) == 1 else values
        for kind, key in (("principals", "Principal"), ("not_principals", "NotPrincipal")):
            found = _expand(b, kind, s)
            if found:
                stmt[key] = _principals(found)
        conditions: dict[str, dict[str, Any]] = {}
        for c, cs in _expand(b, "condition", s):
            test = to_text(_eval(c, "test", cs), c.where)
            variable = to_text(_eval(c, "variable", cs), c.where)
            values = _strings(_eval(c, "values", cs), c.where)
            have = conditions.setdefault(test, {}).get(variable, [])
            have = [have] if isinstance(have, str) else have
            merged = [*have, *values]
            conditions[test][variable] = merged[0] if len(merged) == 1 else merged
        if conditions:
            stmt["Condition"] = conditions
        statements.append(stmt)
    result: dict[str, Any] = {"Version": to_text(_eval(block, "version", scope, "2012-10-17"),
                                                 block.where)}
    policy_id = _eval(block, "policy_id", scope)
    if policy_id:
        result["Id"] = to_text(policy_id, block.where)
    merged_statements: list[dict[str, Any]] = []
    for text in _strings(_eval(block, "source_policy_documents", scope), block.where):
        merged_statements = _overlay(merged_statements, _statements_of(text, block.where))
    merged_statements = _overlay(merged_statements, statements)
    for text in _strings(_eval(block, "override_policy_documents", scope), block.where):
        merged_statements = _overlay(merged_statements, _statements_of(text, block.where))
    result["Statement"] = merged_statements
    return result


def _statements_of(text: str, where: Where) -> list[dict[str, Any]]:
    try:
        doc = json.loads(text)
    except ValueError:
        raise Untranslatable(where, "a source or override policy document is not JSON") from None
    found = doc.get("Statement", []) if isinstance(doc, dict) else None
    found = [found] if isinstance(found, dict) else found
    if not isinstance(found, list):
        raise Untranslatable(where, "a source or override policy document has no statements")
    return [dict(s) for s in found]


def _overlay(base: list[dict[str, Any]], top: list[dict[str, Any]]) -> list[dict[str, Any]]:
    """Statements of ``top`` replace those of ``base`` with the same Sid, the others append."""
    out = list(base)
    for s in top:
        sid = s.get("Sid")
        at = next((i for i, b in enumerate(out) if sid and b.get("Sid") == sid), None)
        if at is None:
            out.append(s)
        else:
            out[at] = s
    return out


__all__ = ["OuRef", "PolicyRef", "Program", "RemoteModule", "ResourceValue", "RootRef",
           "policy_document"]
