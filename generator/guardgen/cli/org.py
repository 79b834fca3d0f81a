"""`guardgen import` and `guardgen drift`: read a live organization (read-only) into a config, or
compare it with one.

Registered by the main CLI with ``org.register(app)``. :func:`import_to` is the import as a plain
function, for ``guardgen init --from-aws DIR``. boto3, PyYAML and pydantic are imported inside the
functions: ``guardgen --help`` must not pay for them.

Exit codes: import 0 written, 2 error (nothing written); drift 0 in sync, 1 drift, 2 error.
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


def import_(
    config: WriteConfigOpt = DEFAULT_CONFIG,
    profile: ProfileOpt = None,
    region: RegionOpt = None,
    endpoint_url: EndpointOpt = None,
    break_glass: BreakGlassOpt = None,
    force: Annotated[bool, typer.Option("--force", help="Overwrite an existing config.")] = False,
    quiet: QuietOpt = False,
) -> None:
    """Write a guardgen.yaml that reproduces a live organization (read-only).

    Reads the OU tree (each OU keeps its id, so `guardgen generate` adopts it), the accounts in
    it, and every SCP: those that are exactly guardgen guardrails become guardrail ids, the
    others count against each target's SCP slots (reserved_scp_slots). Needs credentials of the
    management account (or a delegated administrator); makes only Describe and List calls.
    Exit 0 written, 2 error (nothing written).
    """
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
