"""``kind: xml``: an XML feed read over HTTP or from files, streamed record element by record element.

*HTTP*: ``GET <Connection base URL><path>?<params>&<cursor_param>=<cursor>`` with the Connection's
password as the token (``Authorization: Bearer <token>`` or ``token_header``); the body is streamed
(``stream=True``) into the parser, never held whole. *Files*: ``files`` is a path or glob (relative
paths are taken from ``$CREDITSYNC_HOME``) for departments that drop XML exports; files are read in
name order and need no Connection. Once the pipeline has committed the stream's cursor (every record
read answered or quarantined), the files that read took are moved to ``processed`` (default: a
``processed/`` folder beside them), as the file source does, so no run re-parses every file ever
dropped; a file changed since it was read stays and is read again (see ``sources._dropped``).

Parsing is hardened and constant-memory (:mod:`creditsync.sources._xml_stream`): a DOCTYPE declaring
entities or naming an external DTD fails fast with FatalError, so does a document over ``max_bytes``;
a truncated document raises RetriableError naming the line (the pipeline then discards what this
read staged, so nothing before the cut is half-committed); malformed XML raises FatalError.

Records: ``record_tag`` names the record element: ``p:local`` with ``namespaces: {p: uri}``,
``{uri}local``, or a bare ``local`` (any namespace). Each becomes a flat dict (see ``_xml_stream``);
``key_field`` and ``cursor_field`` are (dotted) keys of that dict, e.g. ``CF_WSH`` and ``SJC``.

Cursor order: a feed is one document, typically in the department's own order (文书号, row id), not
sorted by the cursor. The adapter therefore does *not* promise ascending order: it sends the cursor
as ``cursor_param`` (when set), keeps only records whose cursor is ``>=`` the given one (inclusive,
the overlap the pipeline dedupes by content hash), and yields them in document order with their
cursors. The pipeline commits the *maximum* cursor of a completed read
(:func:`creditsync.sources.cursor.max_cursor`), and a failed read commits none, so an unsorted feed
loses nothing. Cursor values must share one format (ISO timestamps, or digits compared as numbers).
"""

from __future__ import annotations

import glob
import logging
from collections.abc import Iterator, Mapping
from pathlib import Path
from typing import TYPE_CHECKING, Any, Self

import requests
from pydantic import Field, model_validator

from creditsync import http
from creditsync.exceptions import ConfigurationError, FatalError, RetriableError
from creditsync.settings import load_settings, xml_record_tag
from creditsync.sources._dropped import DroppedFile, load_ledger, move_into, save_ledger
from creditsync.sources._records import dig, to_record
from creditsync.sources._xml_stream import (
    CHUNK_BYTES,
    GuardedReader,
    detect_record_tag,
    file_chunks,
    iter_records,
    resolve_tag,
)
from creditsync.sources.base import AdapterOptions, RawRecord
from creditsync.sources.cursor import compare_cursors, is_at_or_after, max_cursor
from creditsync.sources.http_base import HttpSourceAdapter
from creditsync.sources.registry import register_adapter

if TYPE_CHECKING:
    from creditsync.departments import DepartmentConfig

__all__ = ["XmlOptions", "XmlSourceAdapter", "XmlStreamOptions", "read_xml_file", "sample_options"]

log = logging.getLogger(__name__)

Scalar = str | int | float | bool
DEFAULT_MAX_BYTES = 2 * 1024**3
RECORD_TAG_ENV = "CREDITSYNC_XML_RECORD_TAG"


class XmlStreamOptions(AdapterOptions):
    """Where one stream's document is and how its records look."""

    path: str | None = None  # HTTP: relative to the Connection's base URL
    files: str | None = None  # or a file path / glob
    processed: str | None = None  # files: where delivered files go; default processed/ beside them
    params: dict[str, Scalar] = Field(default_factory=dict)
    record_tag: str = "record"
    namespaces: dict[str, str] = Field(default_factory=dict)
    key_field: str = "id"
    cursor_field: str | None = None
    cursor_param: str | None = None  # HTTP: lets the source filter too; the adapter filters anyway
    attributes: bool = False  # include attributes as @name / child@name
    max_bytes: int = Field(default=DEFAULT_MAX_BYTES, ge=1)

    @model_validator(mode="after")
    def _check(self) -> Self:
        if self.path and "://" in self.path:
            raise ValueError("path must be relative to the connection's base URL")
        if self.cursor_param and self.cursor_param in self.params:
            raise ValueError(f"params must not set {self.cursor_param!r}: the adapter sends it itself")
        resolve_tag(self.record_tag, self.namespaces)  # an unknown prefix is a configuration error
        return self


class XmlOptions(XmlStreamOptions, http.TransportOptions):
    """Source-level options: the transport settings plus defaults for every stream."""

    timeout_s: float = Field(default=60.0, gt=0)  # whole documents: longer than a REST page


@register_adapter
class XmlSourceAdapter(HttpSourceAdapter):
    kind = "xml"
    options_model = XmlOptions
    stream_options_model = XmlStreamOptions
    merge_dicts = ("params", "namespaces")
    requires_connection = False  # file feeds need none; HTTP streams check for it when they read

    accept = "application/xml, text/xml"

    def __init__(self, *args: Any, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        self.options: XmlOptions
        self._reader: GuardedReader | None = None

    @property
    def bytes_read(self) -> int:
        """Bytes of the current (or last) document handed to the parser so far."""
        return self._reader.bytes_read if self._reader else 0

    def stream_options(self, stream: str, stream_options: Mapping[str, Any] | None) -> XmlStreamOptions:
        opts: XmlStreamOptions = self.merged_stream_options(stream, stream_options)
        if (opts.path is None) == (opts.files is None):
            raise ConfigurationError(f"{self._where(stream)}: set exactly one of 'path' (HTTP) or 'files'")
        if opts.path is not None and self.connection is None:
            raise ConfigurationError(f"{self._where(stream)}: an HTTP feed needs source.connection_id")
        return opts

    def read(self, stream: str, stream_options: Mapping[str, Any], cursor: str | None) -> Iterator[RawRecord]:
        opts = self.stream_options(stream, stream_options)
        where = self._where(stream)
        if opts.files is None:
            with self._open(opts, cursor, where) as response:
                self._reader = GuardedReader(_body_chunks(response, where), opts.max_bytes, where)
                yield from self._records(stream, opts, cursor, self._reader)
            return
        paths = self._files(opts.files)
        if not paths:
            log.warning("%s: no file matches %r", where, opts.files)
        ledger: dict[str, dict[str, Any]] = {}
        for path in paths:
            dropped, highest = DroppedFile.of(path), None
            with path.open("rb") as handle:
                self._reader = GuardedReader(file_chunks(handle), opts.max_bytes, f"{where}, file {path}")
                for record in self._records(stream, opts, cursor, self._reader):
                    highest = max_cursor(highest, [record])
                    yield record
            ledger[str(path)] = {"mtime_ns": dropped.mtime_ns, "size": dropped.size, "cursor": highest}
        save_ledger(self._ledger_path(stream, opts), stream, ledger)  # only after a complete read

    def on_cursor_committed(self, stream: str, stream_options: Mapping[str, Any], cursor: str) -> None:
        """Every record up to ``cursor`` is safe: move the files the read took up to it to processed/."""
        opts = self.stream_options(stream, stream_options)
        if opts.files is None:
            return
        ledger = self._ledger_path(stream, opts)
        keep = {}
        for name, entry in load_ledger(ledger).items():
            dropped = DroppedFile(Path(name), int(entry["mtime_ns"]), int(entry["size"]))
            if not dropped.unchanged():
                continue  # gone, or replaced after it was read: the new version is read next time
            if entry["cursor"] is not None and compare_cursors(entry["cursor"], cursor) > 0:
                keep[name] = entry  # read by a later run than the one whose cursor this is
                continue
            moved = move_into(dropped.path, ledger.parent)
            log.info("%s: %s delivered, moved to %s", self._where(stream), dropped.path.name, moved)
        save_ledger(ledger, stream, keep)

    def check(self) -> None:
        if self.options.files is not None:
            # Delivered files move to processed/: an empty drop folder is normal, a missing one is not.
            folder = _home_relative(self.options.files).parent
            if not folder.is_dir():
                raise FatalError(f"{self._where()}: the folder of {self.options.files!r} does not exist: "
                                 f"{folder}")
            return
        if self.connection is None:
            raise ConfigurationError(f"{self._where()}: set 'files' or source.connection_id")
        super().check()

    # -- documents -------------------------------------------------------------------------------

    def _records(self, stream: str, opts: XmlStreamOptions, cursor: str | None,
                 reader: GuardedReader) -> Iterator[RawRecord]:
        tag = resolve_tag(opts.record_tag, opts.namespaces)
        for number, item in enumerate(iter_records(reader, tag, attributes=opts.attributes), start=1):
            value = dig(item, opts.cursor_field) if opts.cursor_field else None
            if isinstance(value, str) and value.strip() and not is_at_or_after(value.strip(), cursor):
                continue  # already synced; records without a usable cursor are flagged by to_record
            yield to_record(stream, item, opts.key_field, opts.cursor_field, f"record {number} of the feed")

    def _ledger_path(self, stream: str, opts: XmlStreamOptions) -> Path:
        return self._processed(opts) / f".creditsync-read-{stream}.json"

    def _processed(self, opts: XmlStreamOptions) -> Path:
        if opts.processed:
            return _home_relative(opts.processed)
        return _home_relative(opts.files or "").parent / "processed"

    def _files(self, pattern: str) -> list[Path]:
        full = _home_relative(pattern)
        return [Path(name) for name in sorted(glob.glob(str(full))) if Path(name).is_file()]

    # -- HTTP ------------------------------------------------------------------------------------

    def _open(self, opts: XmlStreamOptions, cursor: str | None, where: str) -> requests.Response:
        params: dict[str, Any] = dict(opts.params)
        if cursor is not None and opts.cursor_param:
            params[opts.cursor_param] = cursor
        response = self._get_ok(self._url(opts.path or ""), params, "read", stream=True)
        declared = response.headers.get("Content-Length", "")
        if declared.isdigit() and int(declared) > opts.max_bytes:
            response.close()
            raise FatalError(f"{where}: the XML document is {declared} bytes, over max_bytes "
                             f"({opts.max_bytes}); not read", max_bytes=opts.max_bytes)
        return response


def _home_relative(path: str) -> Path:
    return Path(path) if Path(path).is_absolute() else load_settings().home / path


def _body_chunks(response: requests.Response, where: str) -> Iterator[bytes]:
    try:
        yield from response.iter_content(CHUNK_BYTES)
    except requests.RequestException as exc:  # a cut connection, a broken chunk, bad compression
        raise RetriableError(f"{where}: the connection broke while reading the XML document: "
                             f"{type(exc).__name__}") from exc


def read_xml_file(path: Path, record_tag: str | None = None, *, namespaces: Mapping[str, str] | None = None,
                  attributes: bool = False, max_bytes: int = DEFAULT_MAX_BYTES) -> Iterator[dict[str, Any]]:
    """The records of one XML file, hardened and streamed (the CLI's ``map``/``validate`` samples).

    Without ``record_tag`` (or ``$CREDITSYNC_XML_RECORD_TAG``, a tag as in the ``record_tag``
    option) the record element is the first child element of the root whose tag repeats."""
    where = str(path)
    record_tag = record_tag or xml_record_tag()
    if record_tag:
        tag = resolve_tag(record_tag, namespaces or {})
    else:
        with path.open("rb") as handle:
            tag = detect_record_tag(GuardedReader(file_chunks(handle), max_bytes, where))
    with path.open("rb") as handle:
        yield from iter_records(GuardedReader(file_chunks(handle), max_bytes, where), tag,
                                attributes=attributes)


def sample_options(department: DepartmentConfig, category: str) -> XmlStreamOptions:
    """How a sample file of this department's XML feed is read (``record_tag``, ``namespaces``,
    ``attributes``): the source's options merged with the stream's, as a sync would read them."""
    adapter = XmlSourceAdapter(department.department, department.source.options, None)
    stream = department.stream(category)
    opts: XmlStreamOptions = adapter.merged_stream_options(category, stream.options)
    return opts
