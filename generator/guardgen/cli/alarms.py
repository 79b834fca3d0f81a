"""`guardgen alarms`: list the monitoring alarms, explain one, test them on CloudTrail logs.

Registered by the main CLI with ``app.add_typer(cli_alarms.app, name="alarms")``. Exit codes
follow the main CLI: 0 success (also when alarms fire: that is the answer, not a failure), 2 for
unreadable or invalid input or an unknown alarm id.
"""

from __future__ import annotations

import gzip
import json
import zlib
from enum import Enum
from pathlib import Path
from typing import TYPE_CHECKING, Annotated, Any

import typer

from .common import fail

if TYPE_CHECKING:
    from ..catalog.alarms import Alarm


app = typer.Typer(
    help="The CloudWatch alarms guardgen can put on the CloudTrail log group: list them, explain "
    "one, or replay CloudTrail records to see which would fire.",
    add_completion=False,
    rich_markup_mode=None,
    pretty_exceptions_enable=False,
)


class Format(str, Enum):
    """Output formats of `guardgen alarms test`."""

    TEXT = "text"
    JSON = "json"


class InputError(Exception):
    """The log file cannot be read as CloudTrail records."""


@app.callback(invoke_without_command=True)
def main(ctx: typer.Context) -> None:
    """List the alarm ids and titles (the ids go in monitoring.alarms in guardgen.yaml)."""
    if ctx.invoked_subcommand is not None:
        return
    from ..catalog.alarms import REGISTRY

    width = max(len(a.id) for a in REGISTRY)
    for alarm in REGISTRY:
        typer.echo(f"{alarm.id:<{width}}  {alarm.title}")


@app.command()
def explain(
    alarm_id: Annotated[str, typer.Argument(metavar="ID", help="An alarm id from `guardgen alarms`.")],
) -> None:
    """Show everything about one alarm: why it exists, where it comes from, its filter pattern."""
    from ..catalog import alarms
    from ..errors import GuardgenError

    try:
        (alarm,) = alarms.select([alarm_id])
    except GuardgenError as exc:
        fail(str(exc))
    typer.echo(_explain(alarm), nl=False)


def _explain(alarm: Alarm) -> str:
    from .. import catalog
    from ..catalog import alarms

    mistake = catalog.MISTAKES.get(alarm.mistake, alarm.mistake)
    lines = [
        f"{alarm.id}: {alarm.title}",
        "",
        alarm.description,
        "",
        f"Mistake:      {mistake} ({alarm.mistake})",
        f"Control:      {alarm.cis or 'none: a guardgen pattern, not a CIS control'}",
        f"Source:       {alarm.source}",
        f"Metric:       {alarm.metric_name}",
        f"Alarm:        {alarms.STATISTIC} over {alarms.PERIOD_SECONDS} s >= {alarms.THRESHOLD}, "
        f"missing data {alarms.TREAT_MISSING_DATA}",
        "",
        "Filter pattern:",
        f"  {alarm.filter_pattern}",
    ]
    if alarm.notes:
        lines += ["", "Notes:", f"  {alarm.notes}"]
    return "\n".join(lines) + "\n"


@app.command("test")
def test_(
    file: Annotated[Path, typer.Argument(
        help="A CloudTrail log file ({\"Records\": ...}, .json or .json.gz as CloudTrail "
        "delivers it), a JSON list of records or a single record.", dir_okay=False,
        metavar="FILE")],
    output_format: Annotated[Format, typer.Option(
        "--format", help="text, or json: a JSON list of {\"event\": REF, \"fired\": list of alarm "
        "ids}; REF is the record's eventID, or FILE#/Records/INDEX (a JSON pointer into the file) "
        "when it has none.",
    )] = Format.TEXT,
    config: Annotated[Path | None, typer.Option(
        "--config", "-c", help="Take the alarms from monitoring.alarms in this config "
        "(default: guardgen.yaml if it exists, else every alarm).", dir_okay=False,
        metavar="PATH")] = None,
    alarm_ids: Annotated[list[str] | None, typer.Option(
        "--alarm", metavar="ID", help="Test only this alarm (repeatable); overrides the config.",
    )] = None,
) -> None:
    """Replay CloudTrail records through the alarms' filter patterns and report what fires.

    Exit 0 whether or not alarms fire; 2 when the file or the config cannot be used.
    """
    from ..catalog import alarms
    from ..errors import GuardgenError

    try:
        ids = alarm_ids or _configured_alarms(config)
        chosen = alarms.select(ids)
    except GuardgenError as exc:
        fail(exc)
    try:
        events, container = read_log(file)
    except InputError as exc:
        fail(str(exc))
    results = alarms.fired(events, [a.id for a in chosen])
    source = str(file)
    refs = [alarms.event_id(event, i, source, _pointer(container, i))
            for i, event in enumerate(events)]
    if output_format is Format.JSON:
        report = [{"event": ref, "fired": ids} for ref, (_, ids) in zip(refs, results, strict=True)]
        typer.echo(json.dumps(report, indent=2))
        return
    width = max((len(str(ref)) for ref in refs), default=0)
    for ref, (_, ids) in zip(refs, results, strict=True):
        typer.echo(f"{ref!s:<{width}}  {', '.join(ids) if ids else '-'}")
    hits = sum(1 for _, ids in results if ids)
    typer.echo(f"{len(results)} event{'s' if len(results) != 1 else ''}, {hits} set off an alarm "
               f"({len(chosen)} alarm{'s' if len(chosen) != 1 else ''} tested).", err=True)


def _configured_alarms(config: Path | None) -> list[str] | None:
    """monitoring.alarms from the config; None (every alarm) without a config, monitoring or list."""
    path = config if config is not None else Path("guardgen.yaml")
    if not path.is_file():
        if config is not None:
            # An explicit --config that is missing is a typo, not a request for every alarm.
            fail(f"{path}: no such config file")
        return None
    from .. import pipeline  # pydantic: only when a config is really read

    loaded = pipeline.load(path)
    monitoring = loaded.config.monitoring
    if monitoring is None or not monitoring.alarms:
        return None  # as in the generator: an empty monitoring.alarms deploys every alarm
    ids = list(monitoring.alarms)
    # `--alarm` and the config name alarms by id; the id must still be known here, and
    # alarms.select reports unknown ones, so say which file they came from.
    from ..catalog.alarms import BY_ID, UnknownAlarmError

    unknown = [i for i in ids if i not in BY_ID]
    if unknown:
        raise UnknownAlarmError(f"{path}: monitoring.alarms: unknown alarm "
                                f"{', '.join(map(repr, unknown))} (run `guardgen alarms` for the list)")
    return ids


def _pointer(container: str | None, index: int) -> str:
    """The JSON pointer of record ``index`` in its file ("" for a file that is one record)."""
    if container is None:
        return ""
    return f"/{container}/{index}" if container else f"/{index}"


def read_events(path: Path) -> list[dict[str, Any]]:
    """The records of a CloudTrail log file or a JSON list of records (see :func:`read_log`).

    Raises:
        InputError: As :func:`read_log`.
    """
    return read_log(path)[0]


def read_log(path: Path) -> tuple[list[dict[str, Any]], str | None]:
    """The records of a CloudTrail log file or a JSON list of records, and where they sit.

    Args:
        path: A ``{"Records": [...]}`` file as CloudTrail writes it, or a JSON list of records;
            gzip-compressed files (``.json.gz``) are decompressed.

    Returns:
        The records, and the top-level member holding them: ``Records``, "" when the file is the
        list itself, None when the file is a single record.

    Raises:
        InputError: The file cannot be read, is not JSON, or does not hold records; the message
            names the file (and the line and column for bad JSON).
    """
    try:
        data = path.read_bytes()
    except OSError as exc:
        raise InputError(f"{path}: cannot read: {exc.strerror or exc}") from None
    if data[:2] == b"\x1f\x8b":  # gzip magic: CloudTrail delivers .json.gz
        try:
            data = gzip.decompress(data)
        except (OSError, EOFError, zlib.error) as exc:
            raise InputError(f"{path}: not a valid gzip file: {exc}") from None
    try:
        text = data.decode("utf-8-sig")
    except UnicodeDecodeError as exc:
        raise InputError(f"{path}: not UTF-8 text (byte {exc.start})") from None
    try:
        doc = json.loads(text)
    except json.JSONDecodeError as exc:
        raise InputError(f"{path}:{exc.lineno}:{exc.colno}: invalid JSON: {exc.msg}") from None
    except (ValueError, RecursionError) as exc:  # integers beyond Python's digit limit; deep nesting
        raise InputError(f"{path}: invalid JSON: {exc}") from None
    records: list[Any]
    container: str | None
    if isinstance(doc, dict) and isinstance(doc.get("Records"), list):
        records, where, container = doc["Records"], "Records", "Records"
    elif isinstance(doc, list):
        records, where, container = doc, "", ""
    elif isinstance(doc, dict) and "eventName" in doc:
        # One record on its own, as the test corpus stores them and as the console shows them.
        records, where, container = [doc], "", None
    else:
        raise InputError(f"{path}: expected a CloudTrail log ({{\"Records\": [...]}}), a JSON "
                         "list of records or a single record")
    for i, record in enumerate(records):
        if not isinstance(record, dict):
            raise InputError(f"{path}: {where}[{i}]: expected a CloudTrail record (a JSON object), "
                             f"got {_json_type(record)}")
    return [dict(r) for r in records], container


def _json_type(value: Any) -> str:
    if value is None:
        return "null"
    if isinstance(value, bool):
        return "a boolean"
    if isinstance(value, int | float):
        return "a number"
    return "a string" if isinstance(value, str) else "an array"
