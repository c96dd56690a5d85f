"""``kind: file``: CSV and XLSX files that department staff drop into a watched folder (inbox).

Folders (options ``inbox``, ``processed``, ``failed``; relative paths resolve against CREDITSYNC_HOME,
``processed``/``failed`` default to siblings of the inbox)::

    <dir>/inbox/        staff drop files here; files stay here until their records are safe
    <dir>/processed/    delivered files (moved by the pipeline's cursor-commit hook)
    <dir>/failed/       unreadable files, each with ``<file>.error.txt`` saying why (中文 + English)

Each stream picks its files by name (``patterns``, case-insensitive globs such as ``penalty_*.csv``);
the patterns of two streams must not overlap. Names matching ``ignore`` (hidden ``.*`` files, Excel's
``~$`` lock files, ``*.tmp``/``*.part`` uploads in progress) are never read, and neither is a file
modified in the last ``settle_seconds`` by this machine's clock (it may still be being copied).

Records: each data row is a :class:`RawRecord` keyed ``<file name>#<row>`` (the row number a
spreadsheet shows; the header is row 1). Its cursor is the file's modification time (an instant,
stored ``<mtime UTC ISO>|<file name>``) with the file name breaking ties, so files are read in
mtime/name order and the pipeline's watermark names the newest delivered file.

Delivery guarantee (no file read twice, none lost). The inbox itself is the to-do list: ``read``
yields every settled file still in it, including one older than the cursor (a late drop with a
preserved mtime, or a file whose move failed): re-reading is harmless because the pipeline dedupes by
content. ``read`` also writes a small ledger (``<processed>/.creditsync-read-<stream>.json``) naming
the files and versions (mtime, size) it read. When the pipeline has committed the stream's cursor
(every record answered by the platform or quarantined) it calls :meth:`on_cursor_committed`, which
moves exactly the ledger's files that are unchanged and at or below the cursor to ``processed/``. A
file dropped during the run is in no ledger, so it is never moved unread.

A file that cannot be used at all (damaged workbook, wrong encoding, missing required column, an XLSX
that would unpack past ``source.limits``) is moved to ``failed/`` at once and reported as one bad
record (quarantined with the reason); the stream goes on. A bad row (wrong number of CSV values) is a
bad record; the rest of the file flows. ``creditsync check`` reads with ``preview``: nothing is moved
and no ledger is written.
"""

from __future__ import annotations

import fnmatch
import logging
import os
import time
from collections.abc import Callable, Iterator, Mapping
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

from pydantic import Field, field_validator

from creditsync.exceptions import RetriableError
from creditsync.secrets import Connection
from creditsync.settings import load_settings
from creditsync.sources._dropped import DroppedFile, load_ledger, move_into, save_ledger
from creditsync.sources._file_encoding import AUTO, canonical_codec
from creditsync.sources._file_tables import FileProblem, Row, TableSpec, inspect_table, table_rows
from creditsync.sources.base import AdapterOptions, RawRecord, RecordShape, SourceAdapter, place_key
from creditsync.sources.cursor import Cursor
from creditsync.sources.cursor_formats import CursorFormat
from creditsync.sources.reading import StreamRead
from creditsync.sources.registry import register_adapter

__all__ = ["FileDropAdapter", "FileOptions", "FileStreamOptions"]

log = logging.getLogger(__name__)

DEFAULT_IGNORE = (".*", "~$*", "*.tmp", "*.part", "*.partial", "*.filepart", "*.crdownload")


def _check_encoding(value: str | None) -> str | None:
    if value is not None and value.lower() != AUTO:
        try:
            canonical_codec(value)
        except LookupError:
            raise ValueError(f"unknown encoding {value!r} (use auto, utf-8, gbk or gb18030)") from None
    return value


class FileStreamOptions(AdapterOptions):
    """Which files belong to a stream, what their header must contain and how they are read (the
    source's ``encoding``, ``delimiter`` and ``sheet`` are the defaults of every stream)."""

    patterns: list[str] = Field(min_length=1)
    required_columns: list[str] = Field(default_factory=list)
    optional_columns: list[str] | None = None  # with required_columns: anything else is "extra"
    encoding: str = AUTO  # CSV only: auto, or a declared codec checked strictly
    delimiter: str = Field(default=",", min_length=1, max_length=1)
    sheet: str | None = None  # XLSX worksheet; default the first one

    _encoding = field_validator("encoding")(_check_encoding)


class FileOptions(AdapterOptions):
    inbox: str
    processed: str | None = None
    failed: str | None = None
    encoding: str = AUTO  # CSV only: auto, or a declared codec checked strictly
    delimiter: str = Field(default=",", min_length=1, max_length=1)
    sheet: str | None = None
    settle_seconds: float = Field(default=5.0, ge=0)
    ignore: list[str] = Field(default_factory=lambda: list(DEFAULT_IGNORE))
    patterns: list[str] | None = None  # defaults for the streams, which usually name their own
    required_columns: list[str] | None = None
    optional_columns: list[str] | None = None

    _encoding = field_validator("encoding")(_check_encoding)


@register_adapter
class FileDropAdapter(SourceAdapter):
    kind = "file"
    options_model = FileOptions
    stream_options_model = FileStreamOptions
    requires_connection = False
    retry_reads = False  # a file that changes while read is read again next run
    keys_identify = False  # <file name>#<row>

    def __init__(self, department: str, options: Mapping[str, Any] | None, connection: Connection | None,
                 *, clock: Callable[[], float] = time.time, **kwargs: Any) -> None:
        super().__init__(department, options, connection, **kwargs)
        self.options: FileOptions
        self._clock = clock
        self.inbox = _resolve(self.options.inbox)
        self.processed = _resolve(self.options.processed) if self.options.processed else (
            self.inbox.parent / "processed")
        self.failed = _resolve(self.options.failed) if self.options.failed else self.inbox.parent / "failed"

    # -- the contract ----------------------------------------------------------------------------

    def record_shape(self, options: Any) -> RecordShape:
        """Rows come as records already; the cursor is the file's: an instant (then its name)."""
        return RecordShape("(file#row)", "(the file's modification time)", CursorFormat())

    def records(self, read: StreamRead) -> Iterator[RawRecord]:
        opts: FileStreamOptions = read.options
        files = self.pending_files(opts)
        start = read.cursor
        marks = [max(f.cursor, start) if start else f.cursor for f in files]  # never below the watermark
        if not read.preview:
            self._write_ledger(read.name, files, marks)
        spec = self._spec(opts)
        for dropped, mark in zip(files, marks, strict=True):
            read.start_page(f"file {dropped.path.name}")
            yield from self._read_file(read, spec, dropped, mark)

    def on_cursor_committed(self, stream: str, stream_options: Mapping[str, Any], cursor: Cursor) -> None:
        """Every record up to ``cursor`` is safe: move the files this stream read up to it to processed/."""
        cursor = Cursor.coerce(cursor) or cursor
        ledger = self._ledger_path(stream)
        entries = load_ledger(ledger)
        keep = {}
        for name, entry in entries.items():
            dropped = DroppedFile(self.inbox / name, int(entry["mtime_ns"]), int(entry["size"]))
            if not dropped.unchanged():
                continue  # gone, or replaced after it was read: the new version is read next time
            if Cursor.parse(entry["cursor"]) > cursor:
                keep[name] = entry  # read, but not yet covered by a committed cursor
                continue
            moved = move_into(dropped.path, self.processed)
            log.info("%s: %s delivered, moved to %s", self._where(stream), name, moved)
        save_ledger(ledger, stream, keep)

    def check(self) -> None:
        if not self.inbox.is_dir():
            raise RetriableError(f"{self._where()}: inbox {self.inbox} does not exist or is not reachable")
        if not os.access(self.inbox, os.R_OK | os.W_OK | os.X_OK):
            raise RetriableError(f"{self._where()}: inbox {self.inbox} is not readable and writable")

    # -- listing ---------------------------------------------------------------------------------

    def pending_files(self, opts: FileStreamOptions) -> list[DroppedFile]:
        """The stream's settled files in the inbox, oldest (mtime, name) first."""
        self.check()
        settled_before = self._clock() - self.options.settle_seconds
        files = []
        for entry in os.scandir(self.inbox):
            if not entry.is_file() or not self._belongs(entry.name, opts.patterns):
                continue
            stat = entry.stat()
            if self.options.settle_seconds and stat.st_mtime > settled_before:
                log.debug("%s: %s is still settling, read next time", self._where(), entry.name)
                continue
            files.append(DroppedFile(Path(entry.path), stat.st_mtime_ns, stat.st_size))
        return sorted(files, key=lambda f: f.cursor)

    def _belongs(self, name: str, patterns: list[str]) -> bool:
        lowered = name.lower()
        if any(fnmatch.fnmatchcase(lowered, p.lower()) for p in self.options.ignore):
            return False
        return any(fnmatch.fnmatchcase(lowered, p.lower()) for p in patterns)

    # -- one file --------------------------------------------------------------------------------

    def _spec(self, opts: FileStreamOptions) -> TableSpec:
        known = None
        if opts.optional_columns is not None:
            known = frozenset(opts.required_columns) | frozenset(opts.optional_columns)
        return TableSpec(opts.encoding, opts.delimiter, opts.sheet, tuple(opts.required_columns), known,
                         self.limits)

    def _read_file(self, read: StreamRead, spec: TableSpec, dropped: DroppedFile,
                   mark: Cursor) -> Iterator[RawRecord]:
        stream = read.name
        name, where = dropped.path.name, self._where(stream)
        try:
            layout = inspect_table(dropped.path, spec)
        except FileProblem as problem:
            yield self._reject(read, dropped, mark, problem)
            return
        except FileNotFoundError:
            log.warning("%s: %s disappeared before it was read", where, name)
            return
        except OSError as exc:
            raise RetriableError(f"{where}: cannot read {name}: {exc}") from exc
        if layout.rows == 0:
            if not read.preview:
                moved = move_into(dropped.path, self.processed)  # nothing in it to deliver, nothing to lose
                log.warning("%s: %s has a header but no data rows; moved to %s", where, name, moved)
            return
        if layout.extra:
            log.warning("%s: %s has columns the configuration does not know (kept, not mapped): %s",
                        where, name, ", ".join(layout.extra))
        try:
            for row in table_rows(dropped.path, spec, layout):
                yield _record(stream, name, mark, row)
        except (FileProblem, OSError, UnicodeDecodeError) as exc:
            raise RetriableError(f"{where}: {name} changed while it was read: {exc}") from exc
        if not dropped.unchanged():
            raise RetriableError(f"{where}: {name} changed while it was read; it is read again next run")

    def _reject(self, read: StreamRead, dropped: DroppedFile, mark: Cursor,
                problem: FileProblem) -> RawRecord:
        """Move an unusable file to failed/ with its reason, and report it as one bad record."""
        stream, name = read.name, dropped.path.name
        moved = dropped.path
        if not read.preview:
            try:
                moved = move_into(dropped.path, self.failed)
                _write_reason(moved, problem)
            except OSError as exc:
                raise RetriableError(f"{self._where(stream)}: cannot move {name} to failed/: {exc}") from exc
            log.warning("%s: %s moved to %s: %s", self._where(stream), name, moved, problem)
        data = {"file": name, "moved_to": str(moved), "size": dropped.size, "cursor": str(dropped.cursor),
                "reason": str(problem)}
        return RawRecord(stream=stream, key=name, data=data, cursor=mark,
                         error=f"文件无法读取，已移至 failed/：{problem.zh} "
                               f"(file unreadable, moved to failed/: {problem.en})")

    # -- the ledger ------------------------------------------------------------------------------

    def _ledger_path(self, stream: str) -> Path:
        return self.processed / f".creditsync-read-{stream}.json"

    def _write_ledger(self, stream: str, files: list[DroppedFile], marks: list[Cursor]) -> None:
        entries = {f.path.name: {"mtime_ns": f.mtime_ns, "size": f.size, "cursor": str(mark)}
                   for f, mark in zip(files, marks, strict=True)}
        path = self._ledger_path(stream)
        try:
            save_ledger(path, stream, entries)
        except OSError as exc:
            raise RetriableError(f"{self._where(stream)}: cannot write {path}: {exc}") from exc


def _record(stream: str, name: str, mark: Cursor, row: Row) -> RawRecord:
    # Bad rows keep the file's cursor: the watermark comes from the file, not from the row's content.
    return RawRecord(stream=stream, key=place_key(name, row.number), data=row.data, cursor=mark,
                     error=row.error)


def _resolve(path: str) -> Path:
    """Absolute as given; relative to CREDITSYNC_HOME otherwise (the same for every Airflow worker)."""
    given = Path(os.path.expandvars(path)).expanduser()
    return given if given.is_absolute() else load_settings().home / given


def _write_reason(moved: Path, problem: FileProblem) -> None:
    stamp = datetime.now(UTC).astimezone().isoformat(timespec="seconds")
    text = (f"文件：{moved.name}\n时间：{stamp}\n原因：{problem.zh}\n\n"
            f"File: {moved.name}\nTime: {stamp}\nReason: {problem.en}\n")
    # UTF-8 with a BOM: Windows Notepad then shows the Chinese text correctly.
    moved.with_name(moved.name + ".error.txt").write_text(text, encoding="utf-8-sig")
