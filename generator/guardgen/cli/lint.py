"""`guardgen lint`: lint the policy documents of the config's plan, or policy files.

Registered by the main CLI with ``lint.register(app)``. :func:`lint_command` is the whole
command as a plain function (the Typer wrapper only parses flags), so it can be called and
tested without Typer. It does the I/O (reading the config or the files, printing); the rules and
the formats live in :mod:`guardgen.policy.lint`.

Exit codes follow the main CLI: 0 no finding at or above ``--fail-on``; 1 some finding is;
2 usage error (a bad flag, a path that does not exist, an invalid config). A file that cannot be
read, is not UTF-8 or is not JSON is not a usage error: it becomes a GG004 finding for that file,
in every format, and the other files are still linted.
"""

from __future__ import annotations

import dataclasses
import functools
import json
import os
import re
from collections.abc import Callable, Sequence
from enum import Enum
from pathlib import Path
from typing import TYPE_CHECKING, Annotated, cast

import typer

if TYPE_CHECKING:
    from ..policy.lint import Finding, Kind, LintInput, LintOptions, Severity, Unreadable

from .common import EXIT_INVALID, EXIT_OK, describe

EXIT_FINDINGS = 1


class PolicyType(str, Enum):
    """Policy types `--type` accepts."""

    SCP = "scp"
    RCP = "rcp"
    IDENTITY = "identity"
    BOUNDARY = "boundary"
    TRUST = "trust"
    RESOURCE = "resource"
    KEY = "key"


class Format(str, Enum):
    """Output formats of `guardgen lint`."""

    TEXT = "text"
    JSON = "json"
    SARIF = "sarif"


class FailOn(str, Enum):
    """The lowest severity that makes `guardgen lint` exit 1."""

    ERROR = "error"
    WARNING = "warning"
    INFO = "info"


class ScpLimit(str, Enum):
    """SCP size profiles: current (10,240 bytes) or legacy (5,120)."""

    CURRENT = "current"
    LEGACY = "legacy"


class UsageError(Exception):
    """The command cannot run as asked; the message says why (exit 2)."""


def _choice(value: str | None, allowed: type[Enum], flag: str) -> str | None:
    if value is None:
        return None
    value = value.value if isinstance(value, Enum) else value
    names = [str(m.value) for m in allowed]
    if value not in names:
        raise UsageError(f"{flag} must be one of {', '.join(names)}, not {value!r}")
    return value


def _display(path: Path, cwd: Path | None = None) -> str:
    """A path as findings show it: relative to the working directory when below it (what
    GitHub code scanning expects when run from the repository root), else as given."""
    try:
        return path.resolve().relative_to(cwd or Path.cwd().resolve()).as_posix()
    except ValueError:
        return path.as_posix()


def _policy_files(paths: Sequence[Path]) -> list[tuple[Path, bool]]:
    """Files to lint, each with whether it was named (True) or found in a directory (False)."""
    out: list[tuple[Path, bool]] = []
    for p in paths:
        if p.is_dir():
            out += [(f, False) for f in sorted(p.rglob("*.json"))
                    if f.is_file() and not f.name.endswith(".tf.json")]
        elif p.is_file():
            out.append((p, True))
        else:
            raise UsageError(f"{p}: no such file or directory")
    return out


def _read(path: Path) -> tuple[str | None, object, Unreadable | None]:
    """A file's text and JSON, or why it cannot be linted (the text is kept when it was read)."""
    from ..policy.lint import Unreadable

    try:
        data = path.read_bytes()
    except OSError as exc:
        return None, None, Unreadable(f"cannot read the file: {exc.strerror or exc}")
    try:
        text = data.decode("utf-8")
    except UnicodeDecodeError as exc:
        line = data.count(b"\n", 0, exc.start) + 1
        column = exc.start - (data.rfind(b"\n", 0, exc.start) + 1) + 1
        return None, None, Unreadable(f"not UTF-8 text: byte {exc.start} (0x{data[exc.start]:02x}) "
                                      "cannot be decoded", line, column)
    if text.startswith("\ufeff"):
        return text, None, Unreadable("not valid JSON: the file starts with a UTF-8 byte order mark, "
                                      "which JSON does not allow (AWS rejects it); save it without one",
                                      1, 1)
    try:
        return text, json.loads(text), None
    except json.JSONDecodeError as exc:
        return text, None, Unreadable(f"not valid JSON: {exc.msg}", exc.lineno, exc.colno)
    except (ValueError, RecursionError) as exc:  # integers beyond Python's digit limit; deep nesting
        return text, None, Unreadable(f"not valid JSON: {exc}")


def file_inputs(paths: Sequence[Path], policy_type: str | None) -> list[LintInput]:
    """Read policy files and type each one.

    Args:
        paths: Files (always linted) or directories (every ``*.json`` below with a Statement, and
            every one that is not valid JSON; ``*.tf.json`` and other JSON are skipped).
        policy_type: The type of every file; None to infer each one.

    Returns:
        One input per file, named relative to the working directory when below it. A file that
        cannot be read, is not UTF-8 or is not JSON is an input marked ``unreadable``.

    Raises:
        UsageError: A path does not exist.
    """
    from ..policy.lint import LintInput, infer_kind

    inputs = []
    cwd = Path.cwd().resolve()
    for path, named in _policy_files(paths):
        text, document, unreadable = _read(path)
        shown = _display(path, cwd)
        if unreadable is not None:
            kind = cast("Kind", policy_type or "identity")
            reason = "given with --type" if policy_type else "not inferred: the file could not be read"
            inputs.append(LintInput(shown, kind, None, "", text, reason, unreadable))
            continue
        if not named and not (isinstance(document, dict) and "Statement" in document):
            continue  # a directory's other JSON files (manifests, tfvars) are not policies
        if policy_type:
            kind, reason = cast("Kind", policy_type), "given with --type"
        else:
            kind, reason = infer_kind(document, shown)
        inputs.append(LintInput(shown, kind, document, "", text, reason))
    return inputs


def inferred_types(findings: Sequence[Finding], inputs: Sequence[LintInput]) -> list[str]:
    """For the text report: the type each file with findings was linted as, when it was inferred
    rather than given (findings depend on it: an SCP has other rules than an identity policy).

    Args:
        findings: What was found.
        inputs: The documents linted.

    Returns:
        One ``path: linted as KIND (why)`` line per such file.
    """
    with_findings = {f.path for f in findings}
    return [f"{d.path}: linted as {d.kind} ({d.kind_reason})" for d in inputs
            if d.path in with_findings and d.kind_reason.startswith(("inferred", "default"))]


_PLAIN_PATH = re.compile(r"[^/\\:]+(/[^/\\:]+)*")  # relative, "/"-separated, no drive


def _display_tree(root: Path, paths: Sequence[str], cwd: Path) -> list[str]:
    """:func:`_display` of ``root / path`` for each path, resolving each folder once: a path
    resolves to its folder's resolved path and its name unless it is a symbolic link (then, or
    for a name such as ``..``, :func:`_display` itself answers). A plan has tens of thousands
    of files in a few thousand folders."""
    try:
        reals: dict[str, str | None] = {"": str(root.resolve())}  # None: not worked out here
        folders: dict[str, tuple[str | None, str | None]] = {}  # resolved, shown prefix

        def real(path: str) -> str | None:
            if path not in reals:
                folder, _, name = path.rpartition("/")
                base = real(folder)
                joined = os.path.join(base, name) if base is not None else None
                plain = joined is not None and name not in (".", "..") and not os.path.islink(joined)
                reals[path] = joined if plain else None
            return reals[path]

        out = []
        for path in paths:
            if not _PLAIN_PATH.fullmatch(path):
                out.append(_display(root / path, cwd))
                continue
            folder, _, name = path.rpartition("/")
            if folder not in folders:
                resolved = real(folder)
                prefix = None
                if resolved is not None:
                    try:
                        shown = Path(resolved).relative_to(cwd).as_posix()
                        prefix = "" if shown == "." else shown + "/"
                    except ValueError:
                        pass  # outside the working directory: shown as given
                folders[folder] = resolved, prefix
            resolved, prefix = folders[folder]
            if resolved is None or name in (".", "..") \
                    or os.path.islink(os.path.join(resolved, name)):
                out.append(_display(root / path, cwd))
            elif prefix is None:
                out.append((root / path).as_posix())
            else:
                out.append(prefix + name)
        return out
    except RuntimeError:  # a symlink loop: let _display say so, as for a single file
        return [_display(root / path, cwd) for path in paths]


def _committed_text(file: Path, document: object) -> str | None:
    """A file's text when it holds exactly ``document`` (for line numbers), else None."""
    try:
        on_disk = file.read_text(encoding="utf-8")
        if json.loads(on_disk) == document:
            return on_disk
    except (OSError, ValueError):
        pass  # not generated yet, or stale: findings simply carry no line
    return None


def _text_of(root: Path, files: dict[str, str], item: LintInput) -> str | None:
    return _committed_text(root / files[item.path], item.document)


def _plan(config: Path, scp_limit: str | None
          ) -> tuple[list[LintInput], LintOptions, Callable[[LintInput], str | None]]:
    """:func:`plan_inputs` without the texts, and what reads the committed text of an input."""
    from .. import pipeline, plan
    from ..policy import lint
    from ..prove.lint import plan_options

    loaded = pipeline.load(config)
    p = plan.build(loaded.config)
    out_dir = pipeline.output_dir(loaded)
    docs = plan.policy_documents(p)
    shown = _display_tree(out_dir, [d.path for d in docs], Path.cwd().resolve())
    inputs = [lint.LintInput(name, d.kind, d.document, d.where, None, "from the plan")
              for d, name in zip(docs, shown, strict=True)]
    files = {name: d.path for d, name in zip(docs, shown, strict=True)}
    return inputs, plan_options(p, scp_limit), functools.partial(_text_of, out_dir, files)


def plan_inputs(config: Path, scp_limit: str | None) -> tuple[list[LintInput], LintOptions]:
    """The policy documents of a config's plan, and the options to lint them with.

    Args:
        config: The guardgen.yaml.
        scp_limit: ``current`` or ``legacy`` to override the config's ``scp_limits``.

    Returns:
        One input per document, named by its path in the output tree (``terraform/...``
        relative to the working directory), with the committed file's text attached (for line
        numbers) when it holds exactly the planned document; and :func:`~guardgen.prove.lint.plan_options`.

    Raises:
        GuardgenError: The config is invalid or its guardrails do not fit.
    """
    inputs, options, read = _plan(config, scp_limit)
    return [dataclasses.replace(item, text=read(item)) for item in inputs], options


def lint_command(paths: Sequence[Path], policy_type: str | None, fmt: str, fail_on: str,
                 config: Path, break_glass: Sequence[str], scp_limit: str | None) -> int:
    """Run `guardgen lint` and return its exit code; prints the report to stdout.

    Args:
        paths: Policy files or directories; empty to lint the plan of ``config``.
        policy_type: The type of every file (``scp``, ``identity``...); None to infer it.
        fmt: ``text``, ``json`` or ``sarif``.
        fail_on: The lowest severity (``error``, ``warning``, ``info``) that makes it exit 1.
        config: The guardgen.yaml whose plan is linted when no path is given.
        break_glass: Break-glass principal ARNs every SCP Deny must spare (files only; a plan
            takes them from organization.break_glass_principals).
        scp_limit: ``current`` or ``legacy`` SCP size; None for the config's (plan) or current.
    """
    from .. import __version__
    from ..catalog import REGISTRY as GUARDRAILS
    from ..catalog import everyone_statements
    from ..errors import GuardgenError
    from ..policy import lint
    from ..policy.limits import SCP_MAX_BYTES

    try:
        policy_type = _choice(policy_type, PolicyType, "--type")
        fmt = _choice(fmt, Format, "--format") or Format.TEXT.value
        fail_on = _choice(fail_on, FailOn, "--fail-on") or FailOn.WARNING.value
        scp_limit = _choice(scp_limit, ScpLimit, "--scp-limit")
        text: Callable[[LintInput], str | None] | None = None  # by default, each input's own
        if paths:
            inputs = file_inputs(paths, policy_type)
            options = lint.LintOptions(
                SCP_MAX_BYTES[scp_limit or "current"], tuple(dict.fromkeys(break_glass)),
                everyone_statements(GUARDRAILS))
        else:
            if policy_type or break_glass:
                flag = "--type" if policy_type else "--break-glass"
                raise UsageError(f"{flag} applies to policy files given as arguments; the plan "
                                 "knows each document's type and the config's break-glass principals")
            # Only documents with findings need their text (for lines): the files of the others
            # are never read.
            inputs, options, text = _plan(config, scp_limit)
    except UsageError as exc:
        typer.echo(f"error: {exc}", err=True)
        return EXIT_INVALID
    except GuardgenError as exc:
        typer.echo(describe(exc), err=True)
        return EXIT_INVALID
    findings = lint.lint(inputs, options, text)
    if fmt == Format.JSON.value:
        typer.echo(lint.format_json(findings, inputs, __version__), nl=False)
    elif fmt == Format.SARIF.value:
        typer.echo(lint.format_sarif(findings, __version__, inputs), nl=False)
    else:
        typer.echo(lint.format_text(findings), nl=False)
        for line in inferred_types(findings, inputs):
            typer.echo(line, err=True)
        typer.echo(lint.summary(findings, len(inputs)), err=True)
    return EXIT_FINDINGS if lint.fails(findings, cast("Severity", fail_on)) else EXIT_OK


HELP = """Lint policy documents: IAM catalog (services, actions, condition keys, ARNs), sizes,
wildcards, trust, condition logic and break-glass exemptions. Rules: GG0xx language, GG1xx
catalog, GG2xx sizes, GG3xx broad grants, GG4xx trust, GG5xx conditions, GG6xx SCP
conventions.

Without PATHS, lints every document of the config's plan (SCPs, boundaries, trust and role
policies, monitoring policies), named by its path in the output tree. With PATHS (files or
directories of *.json), lints those; each file's type is inferred (a Principal with
sts:AssumeRole* only: trust; a path naming scp or boundary; Deny statements only and no
Principal: scp; otherwise identity) and reported with the findings: use --type to set it. A file
that is not readable, not UTF-8 or not JSON is a GG004 finding; the others are still linted.

Exit 0 when no finding reaches --fail-on, 1 when one does, 2 on a usage error."""


def register(app: typer.Typer) -> None:
    """Add the ``lint`` command to a Typer app.

    Args:
        app: The root app (guardgen's, or a test's); the command is named ``lint``.
    """

    @app.command("lint", help=HELP)
    def lint(
        paths: Annotated[list[Path] | None, typer.Argument(
            metavar="PATH", help="Policy JSON files or directories (default: lint the "
            "plan of --config).", show_default=False)] = None,
        policy_type: Annotated[PolicyType | None, typer.Option(
            "--type", help="The type of every file given: scp, identity, boundary, trust, "
            "resource or key (default: inferred per file).", show_default=False)] = None,
        fmt: Annotated[Format, typer.Option(
            "--format", help="text (one line per finding), json, or sarif (SARIF 2.1.0 for "
            "GitHub code scanning).")] = Format.TEXT,
        fail_on: Annotated[FailOn, typer.Option(
            "--fail-on", help="Exit 1 when a finding has this severity or a higher one.")
        ] = FailOn.WARNING,
        config: Annotated[Path, typer.Option(
            "--config", "-c", help="The organization description whose plan is linted when no "
            "PATHS are given.", dir_okay=False)] = Path("guardgen.yaml"),
        break_glass: Annotated[list[str] | None, typer.Option(
            "--break-glass", metavar="ARN", help="A break-glass principal every SCP Deny must "
            "spare (repeatable; files only: a plan uses organization.break_glass_principals).",
            show_default=False)] = None,
        scp_limit: Annotated[ScpLimit | None, typer.Option(
            "--scp-limit", help="SCP size limit: current (10,240 bytes) or legacy (5,120). "
            "Default: the config's scp_limits for a plan, current for files.",
            show_default=False)] = None,
    ) -> None:
        code = lint_command(paths or [], policy_type.value if policy_type else None, fmt.value,
                            fail_on.value, config, break_glass or [],
                            scp_limit.value if scp_limit else None)
        raise typer.Exit(code)
