"""``creditsync audit``: verify the chain, list history, trace one record (read-only); ``checkpoint``
signs the head into the log outside the store; ``prune`` archives entries older than the retention
window (creditsync.audit.retention)."""

from __future__ import annotations

import csv
import json
import sys
from datetime import datetime
from enum import StrEnum
from pathlib import Path
from typing import TYPE_CHECKING, Any

import typer
from rich.table import Table

from creditsync.cli.output import (
    EXIT_INVALID,
    EXIT_OK,
    console,
    errors,
    gateway_errors,
    print_json,
    safe_text,
)

if TYPE_CHECKING:
    from creditsync.audit.keys import AuditConfig
    from creditsync.cli.store_access import StoreAccess

app = typer.Typer(help="The tamper-evident audit trail (read-only but for prune).", no_args_is_help=True)


class HistoryFormat(StrEnum):
    table = "table"
    csv = "csv"
    json = "json"


def _gateway() -> StoreAccess:
    from creditsync.cli.store_access import StoreAccess

    return StoreAccess.open()


@app.command("verify")
def verify(
    archive: list[Path] = typer.Option(None, "--archive", help="Check pruned-entry archive files instead."),
    deep: bool = typer.Option(False, "--deep", help="Also check every record, version, outbox item and "
                              "cursor row against its seal and its audit entry (reads every row)."),
) -> None:
    """Check the keyed chain, its anchors and archives, its checkpoints and the tables it describes;
    exit 1 naming the first altered, removed or reordered entry and every other discrepancy."""
    from rich.markup import escape
    from rich.progress import Progress
    from sqlalchemy import func, select

    from creditsync.audit import verify_trail
    from creditsync.lifecycle.seal import sealer
    from creditsync.lifecycle.verify import deep_check
    from creditsync.store.models import AuditEntry

    if archive:
        _verify_archives(archive)
    with gateway_errors():
        gateway = _gateway()
        config = _audit_config(gateway)
        with gateway.store.reader() as session, Progress(console=errors, transient=True) as progress:
            total = session.scalar(select(func.count()).select_from(AuditEntry)) or 0
            bar = progress.add_task("verifying audit trail", total=total)
            report = verify_trail(session, config, progress=lambda n: progress.update(bar, completed=n))
            if deep:
                progress.update(bar, description="checking every row against its seal and entry")
                rows = deep_check(session, sealer(config.keyring))
                report.problems += rows.lines()
                report.notes.append("deep: " + ", ".join(f"{n} {what}" for what, n in rows.checked.items())
                                    + " checked against their seals and entries")
    # the same words as the console's check (TrailReport.headline, problems, notes)
    console.print(f"[{'green' if report.ok else 'red'}]{escape(report.headline())}[/]")
    for problem in report.problems:
        console.print(f"  [red]✗[/red] {escape(problem)}")
    for note in report.notes:
        console.print(f"  {'[yellow]![/yellow] ' if note in report.warnings else ''}{escape(note)}")
    raise typer.Exit(EXIT_OK if report.ok else EXIT_INVALID)


@app.command("checkpoint")
def checkpoint_cmd() -> None:
    """Sign the chain head into the checkpoint log outside the store (also done at every run's end)."""
    from creditsync.audit.checkpoints import CheckpointLog, store_identity
    from creditsync.audit.trail import default_actor
    from creditsync.store.models import AuditHead

    with gateway_errors():
        gateway = _gateway()
        config = _audit_config(gateway)
        with gateway.store.reader() as session:
            head = session.get(AuditHead, 1)
            store = store_identity(session)
        if head is None:
            console.print("the audit trail is empty: nothing to checkpoint")
            raise typer.Exit(EXIT_OK)
        point = CheckpointLog(config.checkpoints, config.keyring).append(
            store, head.last_id, head.last_hash, default_actor())
    console.print(f"checkpoint {point.seq}: entry {point.entry_id} ({config.keyring.describe()}) "
                  f"written to {config.checkpoints}")


def _audit_config(gateway: Any) -> AuditConfig:
    from creditsync.audit import load_audit_config

    return load_audit_config(gateway.settings)


def _parse_date(value: str | None) -> datetime | None:
    if value is None:
        return None
    try:
        return datetime.strptime(value.replace("/", "-"), "%Y-%m-%d")
    except ValueError as exc:
        raise typer.BadParameter(f"{value!r} is not a date (YYYY-MM-DD)") from exc


TABLE_LIMIT = 200  # entries a table shows unless asked (a table of a whole trail would never finish)


@app.command("history")
def history_cmd(
    department: str = typer.Option(None, "--department", "-d"),
    category: str = typer.Option(None, "--category", "-c"),
    status: str = typer.Option(None, "--status", "-s", help="Event: push_receipt, record_quarantined, …"),
    since: str = typer.Option(None, "--since", help="YYYY-MM-DD, a day in CREDITSYNC_DISPLAY_TZ (北京时间)"),
    until: str = typer.Option(None, "--until", help="YYYY-MM-DD (inclusive)"),
    output: HistoryFormat = typer.Option(HistoryFormat.table, "--format", "-f"),
    limit: int = typer.Option(None, "--limit", "-n", min=0,
                              help=f"Only the latest N entries (the table: {TABLE_LIMIT} unless given; "
                                   "0: all; CSV and JSON: all unless given)"),
) -> None:
    """Sync history from the trail, filtered."""
    from creditsync.audit.history import HistoryFilter, entry_row, history

    since_dt, until_dt = _parse_date(since), _parse_date(until)
    filters = HistoryFilter(department, category, status, since_dt.date() if since_dt else None,
                            until_dt.date() if until_dt else None)
    if limit is None and output is HistoryFormat.table:
        limit = TABLE_LIMIT
    with gateway_errors():
        gateway = _gateway()
        with gateway.store.read_connection() as connection:  # Core: no ORM, no models to load
            if not limit:  # everything, streamed
                _emit((entry_row(e) for e in history(connection, filters)), output)
                return
            # one more than asked: whether earlier entries were left out
            latest = [entry_row(e) for e in history(connection, filters, latest=limit + 1)]
            if len(latest) > limit:
                latest = latest[1:]
                errors.print(f"[yellow]only the latest {limit} entries are shown; earlier ones: --since/"
                             "--until, a larger --limit (0: all), or --format csv[/]")
            _emit(latest, output)


def _emit(rows: object, output: HistoryFormat) -> None:
    """Times in the display zone (creditsync.display_time): ISO with its offset in CSV and JSON."""
    from creditsync.display_time import local_iso, local_text, zone_label

    if output is HistoryFormat.json:
        for row in rows:  # type: ignore[attr-defined]
            print_json(dict(row, ts=local_iso(row["ts"])))
        return
    if output is HistoryFormat.csv:
        from creditsync.export_safety import neutralise_row

        writer = csv.writer(sys.stdout)
        writer.writerow(["id", "ts", "event", "actor", "department", "category", "business_key", "run_id",
                         "details"])
        for row in rows:  # type: ignore[attr-defined]
            details = safe_text(json.dumps(row["details"], ensure_ascii=False))
            writer.writerow(neutralise_row([
                row["id"], local_iso(row["ts"]), row["event"], row["actor"], row["department"],
                row["category"], row["business_key"], row["run_id"], details]))
        return
    table = Table("id", f"time ({zone_label(english=True)})", "event", "department", "category", "record",
                  "details")
    for row in rows:  # type: ignore[attr-defined]
        table.add_row(str(row["id"]), local_text(row["ts"]), row["event"], row["department"] or "",
                      row["category"] or "", row["business_key"] or "",
                      json.dumps(row["details"], ensure_ascii=False)[:120])
    console.print(table)


@app.command("trace")
def trace_cmd(
    key: str = typer.Argument(..., help="Business key, 文书号, or the department's record id"),
) -> None:
    """One record's whole story: source, mapping, push attempts, receipts, lifecycle."""
    from creditsync.audit.history import trace

    with gateway_errors():
        gateway = _gateway()
        with gateway.store.reader() as session:
            story = trace(session, key)
            if not story.found:
                errors.print(f"nothing found for {key!r}")
                raise typer.Exit(EXIT_INVALID)
            _print_trace(story)


def _print_trace(story: object) -> None:
    from creditsync.audit.history import Trace
    from creditsync.display_time import local_text, zone_label
    from creditsync.exceptions import FieldError

    assert isinstance(story, Trace)
    for record in story.records:
        console.rule(f"{record.business_key}")
        console.print(f"文书号 {record.document_no}  subject {record.subject_name}  "
                      f"state [bold]{record.state}[/bold]  version {record.version}  "
                      f"platform id {record.platform_id or '-'}")
    for version in story.versions:
        console.print(f"v{version.version}  run {version.run_id}  source {version.source_key}  "
                      f"source hash {version.source_hash[:12]}  mapped hash {version.mapped_hash[:12]}  "
                      f"mapping {(version.mapping_digest or 'canonical')[:12]}  adapter {version.adapter}")
    for item in story.outbox:
        console.print(f"push v{item.version} {item.action}: {item.status} after {item.attempts} attempt(s)"
                      f"{'  platform id ' + item.platform_id if item.platform_id else ''}"
                      f"{'  errors ' + '; '.join(item.platform_errors) if item.platform_errors else ''}")
    for q in story.quarantine:
        reasons = "; ".join(str(FieldError.from_stored(e)) for e in q.errors)
        source = f", source {q.source_key}" if q.source_key else ""  # a twin's row names its own id
        console.print(f"[red]quarantine[/red] #{q.id} ({q.stage}{source}) {reasons}"
                      f"{'  [resolved: ' + q.resolution + ']' if q.resolution else ''}")
    table = Table("id", f"time ({zone_label(english=True)})", "event", "actor", "run", "details",
                  title="audit trail")
    for entry in story.entries:
        table.add_row(str(entry.id), local_text(entry.ts), entry.event, entry.actor,
                      entry.run_id or "", json.dumps(entry.details, ensure_ascii=False)[:160])
    console.print(table)


def _verify_archives(paths: list[Path]) -> None:
    from creditsync.audit.retention import verify_archive

    broken = 0
    with gateway_errors():
        gateway = _gateway()
        with gateway.store.reader() as session:
            for path in paths:
                result = verify_archive(session, path, _audit_config(gateway).keyring)
                broken += not result.ok
                shown = (f"[green]archive intact[/green] {path}: {result.checked} entries match its anchor"
                         if result.ok else f"[red]archive broken[/red] {path}: {result.problem}")
                console.print(shown)
    raise typer.Exit(EXIT_INVALID if broken else EXIT_OK)


@app.command("prune")
def prune_cmd(
    keep_days: int = typer.Option(..., "--keep-days", help="Keep every entry younger than this (min 180)."),
    dry_run: bool = typer.Option(False, "--dry-run", help="Say what would be archived; change nothing."),
    archive_dir: Path = typer.Option(
        None, "--archive-dir", help="Default: CREDITSYNC_AUDIT_ARCHIVE_DIR, else "
        "$CREDITSYNC_HOME/var/audit-archive (where `audit verify` looks for archives)."),
) -> None:
    """Archive and remove the oldest entries, only as a whole prefix of the chain and only when older
    than the window; `audit verify` then starts from the recorded anchor."""
    from creditsync.audit.retention import prune

    with gateway_errors():
        gateway = _gateway()
        folder = archive_dir or _audit_config(gateway).archive_dir
        done = prune(gateway.store, keep_days=keep_days, archive_dir=folder, dry_run=dry_run)
    verb = "would archive" if dry_run else "archived and removed"
    span = f"entries {done.first_id}..{done.last_id}" if done.entries else "nothing"
    from creditsync.display_time import local_text, zone_label

    console.print(f"{verb} {done.entries} entries older than {local_text(done.cutoff)} "
                  f"{zone_label(english=True)} ({span})")
    if done.archive:
        console.print(f"archive {done.archive}  sha256 {done.sha256}")
