"""`guardgen import` and `guardgen drift`: read a live organization (read-only) into a config, or
compare it with one; `guardgen import --terraform DIR` adopts the SCPs of existing Terraform.

Registered by the main CLI with ``org.register(app)``. :func:`import_to` is the import as a plain
function, for ``guardgen init --from-aws DIR``. boto3, PyYAML and pydantic are imported inside the
functions: ``guardgen --help`` must not pay for them.

Exit codes: import 0 written, 1 (--terraform) written but some constructs not translated, 2 error
(nothing written); drift 0 in sync, 1 drift, 2 error.
"""

from __future__ import annotations

import os
import sys
from enum import Enum
from pathlib import Path
from typing import TYPE_CHECKING, Annotated

import typer

from ..errors import GuardgenError, OutputError
from .common import EXIT_OK, EXIT_STALE, ConfigOpt, QuietOpt, fail, say

if TYPE_CHECKING:
    from ..aws.session import AwsSession

DEFAULT_CONFIG = Path("guardgen.yaml")
# The default of --break-glass (guardgen.aws.importer.DEFAULT_BREAK_GLASS, repeated here so that
# the help text does not import the importer).
DEFAULT_BREAK_GLASS = "arn:aws:iam::*:role/OrganizationAccountAccessRole"


class Format(str, Enum):
    """Output formats of `guardgen drift`."""

    TEXT = "text"
    JSON = "json"


ProfileOpt = Annotated[str | None, typer.Option(
    "--profile", envvar="AWS_PROFILE", help="AWS profile to read with (default: AWS_PROFILE, or the "
    "default credentials).")]
RegionOpt = Annotated[str | None, typer.Option(
    "--region", envvar="AWS_REGION", help="AWS region (default: AWS_REGION, the profile's, or "
    "us-east-1).")]
EndpointOpt = Annotated[str | None, typer.Option(
    "--endpoint-url", envvar="AWS_ENDPOINT_URL", help="Send AWS requests here instead (a "
    "moto_server, say). Default: AWS_ENDPOINT_URL.")]
WriteConfigOpt = Annotated[Path, typer.Option(
    "--config", "-c", help="Where to write the organization description.", dir_okay=False)]
BreakGlassOpt = Annotated[list[str] | None, typer.Option(
    "--break-glass", help="A principal every guardgen Deny spares (repeatable), such as "
    "arn:aws:iam::*:role/BreakGlassAdmin. Default: " + DEFAULT_BREAK_GLASS + ".")]


def _session(profile: str | None, region: str | None, endpoint_url: str | None) -> AwsSession:
    from ..aws.session import AwsSession, SessionOptions

    if endpoint_url is not None and not endpoint_url.startswith(("http://", "https://")):
        raise GuardgenError(f"--endpoint-url must start with http:// or https://, got {endpoint_url!r}")
    return AwsSession(SessionOptions(profile=profile, region=region, endpoint_url=endpoint_url))


def write_import(path: Path, *, profile: str | None = None, region: str | None = None,
                 endpoint_url: str | None = None, break_glass: list[str] | None = None,
                 force: bool = False, quiet: bool = False) -> Path:
    """Read the organization and write a guardgen.yaml reproducing it at ``path``.

    The text is loaded and planned as ``guardgen generate`` would before anything is written;
    the file is replaced atomically.

    Args:
        path: The config file to write.
        profile: AWS profile; None for the environment's.
        region: AWS region; None for the environment's (it becomes ``home_region``).
        endpoint_url: Another AWS endpoint; None for the environment's.
        break_glass: ``break_glass_principals``; None for OrganizationAccountAccessRole.
        force: Overwrite ``path`` if it exists.
        quiet: Print only errors.

    Returns:
        ``path``.

    Raises:
        GuardgenError: The file exists (without ``force``), AWS cannot be read, or the result
            would not load (a bug: the message says so).
    """
    from .. import pipeline, plan
    from ..aws import importer, organization
    from ..errors import ConfigError

    if path.exists() and not force:
        raise OutputError(f"{path} already exists (use --force to overwrite it)")
    break_glass = break_glass or [importer.DEFAULT_BREAK_GLASS]
    importer.check_break_glass(break_glass)
    session = _session(profile, region, endpoint_url)
    org = organization.fetch_organization(session)
    imported = importer.import_config(org, home_region=session.region, break_glass=break_glass)
    try:
        plan.build(pipeline.loads(imported.text, str(path)).config)
    except ConfigError as exc:
        raise GuardgenError("the imported config does not load, which is a bug in guardgen import; "
                            "please report it with these problems:\n" + "\n".join(exc.problems)) from exc
    path.parent.mkdir(parents=True, exist_ok=True)
    tmp = path.with_name(f".{path.name}.{os.getpid()}.tmp")
    try:
        tmp.write_text(imported.text, encoding="utf-8")
        os.replace(tmp, path)
    except OSError as exc:
        tmp.unlink(missing_ok=True)
        raise OutputError(f"cannot write {path}: {exc.strerror}") from exc
    units = len(org.units)
    accounts = sum(1 for a in org.accounts if org.unit(a.parent_id) is not None)
    say(quiet, f"wrote {path}: organization {org.id}, {units} OUs, {accounts} accounts in them, "
        f"{len(imported.replaced)} SCPs as guardrails, {len(imported.unmanaged)} left unmanaged "
        f"(reserved_scp_slots: {imported.reserved_scp_slots}); {session.calls} AWS calls")
    for note in imported.notes:
        say(quiet, f"note: {note}")
    return path


def import_to(directory: Path, *, profile: str | None = None, region: str | None = None,
              endpoint_url: str | None = None, break_glass: list[str] | None = None,
              force: bool = False, quiet: bool = False) -> Path:
    """:func:`write_import` into ``directory/guardgen.yaml`` (``guardgen init --from-aws DIR``).

    Returns:
        The config written. Raises :class:`~guardgen.errors.GuardgenError` as :func:`write_import`.
    """
    return write_import(directory / DEFAULT_CONFIG, profile=profile, region=region,
                        endpoint_url=endpoint_url, break_glass=break_glass, force=force, quiet=quiet)


def write_terraform_import(path: Path, folder: Path, *, dry_run: bool = False,
                           quiet: bool = False) -> int:
    """Read the SCPs and RCPs of the Terraform in ``folder`` into the existing config ``path``.

    Each policy becomes a custom guardrail (its statements exactly as deployed), each attachment
    its id in the guardrails list of the root, OU or account it targets. The new text is loaded
    and planned as ``guardgen generate`` would before anything is written; the file is replaced
    atomically, or with ``dry_run`` the change is printed as a diff.

    Returns:
        0 when everything found was translated, 1 when some construct was not (each is printed
        with its file and line; the rest is written).

    Raises:
        GuardgenError: the config does not load, the folder cannot be read, or the result would
            not load (nothing is written).
    """
    import difflib

    from .. import adopt, pipeline, plan
    from ..errors import ConfigError

    loaded = pipeline.load(path)
    text = path.read_text(encoding="utf-8")
    try:
        result = adopt.import_terraform(folder, loaded.config, text, origin=folder.as_posix())
    except adopt.Untranslatable as exc:
        raise GuardgenError(f"{folder}: {exc.reason}") from None
    if result.text != text:
        try:
            plan.build(pipeline.loads(result.text, str(path)).config)
        except ConfigError as exc:
            raise GuardgenError(
                f"the guardrails read from {folder} do not load into {path}, so nothing was "
                "written:\n" + "\n".join(f"  {p}" for p in exc.problems)
                + "\nFix the policies (or leave them out) and run the import again.") from exc
    for note in result.notes:
        say(quiet, f"note: {folder.as_posix()}/{note}")
    if result.problems:
        typer.echo(f"{folder}: {len(result.problems)} construct(s) not translated:", err=True)
        for problem in result.problems:
            typer.echo(f"  {problem}", err=True)
    attached = sum(len(ids) for ids in result.attached.values())
    summary = (f"{len(result.guardrails)} custom guardrail(s) and {attached} attachment(s) from "
               f"{folder}")
    if dry_run:
        sys.stdout.write("".join(difflib.unified_diff(
            text.splitlines(keepends=True), result.text.splitlines(keepends=True),
            fromfile=f"a/{path.name}", tofile=f"b/{path.name}")))
        say(quiet, f"{path}: would add {summary} (--dry-run: nothing written)")
    elif result.text != text:
        tmp = path.with_name(f".{path.name}.{os.getpid()}.tmp")
        try:
            tmp.write_text(result.text, encoding="utf-8")
            os.replace(tmp, path)
        except OSError as exc:
            tmp.unlink(missing_ok=True)
            raise OutputError(f"cannot write {path}: {exc.strerror}") from exc
        say(quiet, f"wrote {path}: {summary}")
    else:
        say(quiet, f"{path}: nothing to import from {folder}")
    return EXIT_STALE if result.problems else EXIT_OK


def import_(
    config: WriteConfigOpt = DEFAULT_CONFIG,
    profile: ProfileOpt = None,
    region: RegionOpt = None,
    endpoint_url: EndpointOpt = None,
    break_glass: BreakGlassOpt = None,
    force: Annotated[bool, typer.Option("--force", help="Overwrite an existing config.")] = False,
    terraform: Annotated[Path | None, typer.Option(
        "--terraform", help="Read the SCPs and RCPs of the Terraform in this folder (its root "
        "module) into the existing config, as custom guardrails, instead of reading AWS.",
        exists=True, file_okay=False)] = None,
    dry_run: Annotated[bool, typer.Option(
        "--dry-run", help="With --terraform: print the change to the config as a diff, write "
        "nothing.")] = False,
    quiet: QuietOpt = False,
) -> None:
    """Write a guardgen.yaml that reproduces a live organization (read-only), or adopt the SCPs
    of existing Terraform into one (--terraform DIR).

    From AWS: reads the OU tree (each OU keeps its id, so `guardgen generate` adopts it), the
    accounts in it, and every SCP: those that are exactly guardgen guardrails become guardrail
    ids, the others count against each target's SCP slots (reserved_scp_slots). Needs
    credentials of the management account (or a delegated administrator); makes only Describe
    and List calls. Exit 0 written, 2 error (nothing written).

    From Terraform (--terraform DIR, AWS options ignored): reads aws_organizations_policy
    resources (jsonencode, file, templatefile, aws_iam_policy_document, cloudposse's YAML
    catalogs) and their attachments, following local modules and tfvars, into the existing
    config: each policy a custom guardrail with its statements exactly as deployed, each
    attachment its id at the root, OU or account. Exit 0 written, 1 written but some constructs
    were not translated (each printed with file:line), 2 error (nothing written).
    """
    if terraform is not None:
        try:
            code = write_terraform_import(config, terraform, dry_run=dry_run, quiet=quiet)
        except GuardgenError as exc:
            fail(exc)
        raise typer.Exit(code)
    if dry_run:
        fail("--dry-run goes with --terraform DIR; an import from AWS writes a new file")
    try:
        write_import(config, profile=profile, region=region, endpoint_url=endpoint_url,
                     break_glass=break_glass, force=force, quiet=quiet)
    except GuardgenError as exc:
        fail(exc)


def drift(
    config: ConfigOpt = DEFAULT_CONFIG,
    profile: ProfileOpt = None,
    region: RegionOpt = None,
    endpoint_url: EndpointOpt = None,
    output_format: Annotated[Format, typer.Option("--format", help="text or json.")] = Format.TEXT,
    quiet: QuietOpt = False,
) -> None:
    """Compare the live organization with what the config generates (read-only).

    Reports OUs missing or extra, accounts outside the OU the config places them in, guardgen
    SCPs missing, extra, detached or with other content (a diff), and targets over the SCP quota.
    Exit 0 in sync, 1 drift, 2 error.
    """
    from .. import pipeline, plan
    from ..aws import drift as analysis
    from ..aws import organization

    try:
        loaded = pipeline.load(config)
        planned = plan.build(loaded.config)
        session = _session(profile, region, endpoint_url)
        org = organization.fetch_organization(session)
    except GuardgenError as exc:
        fail(exc)
    result = analysis.analyze(org, planned, str(config))
    text = analysis.format_json(result) if output_format == Format.JSON else analysis.format_text(result)
    sys.stdout.write(text)
    say(quiet, f"{session.calls} AWS calls")
    raise typer.Exit(EXIT_OK if result.in_sync else EXIT_STALE)


def register(app: typer.Typer) -> None:
    """Add `import` and `drift` to the main app."""
    app.command("import")(import_)
    app.command()(drift)
