"""``kind: xml``: an XML feed read over HTTP or from files, streamed record element by record element.

*HTTP*: ``GET <Connection base URL><path>?<params>&<cursor_param>=<cursor>`` with the Connection's
credentials as the ``auth`` option says (a bearer token by default, as for REST); the body is streamed
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
sorted by the cursor. The adapter therefore does *not* promise ascending order (``ordered = False``):
it sends the cursor as ``cursor_param`` (when set, written in ``cursor_format``), the framework keeps
only records whose cursor is ``>=`` the given one (inclusive, the overlap the pipeline dedupes by
content hash), and they are yielded in document order. The pipeline commits the *maximum* cursor of
a completed read (:func:`creditsync.sources.cursor.max_cursor`), and a failed read commits none, so an
unsorted feed loses nothing. ``cursor_format`` and ``timezone`` say how the feed writes its cursor.
"""

from __future__ import annotations

import glob
import logging
from collections.abc import Iterator, Mapping
from pathlib import Path
from typing import TYPE_CHECKING, Any, Self

import requests
from pydantic import Field, model_validator

from creditsync.exceptions import ConfigurationError, FatalError
from creditsync.settings import load_settings, xml_record_tag
from creditsync.sources._dropped import DroppedFile, load_ledger, move_into, save_ledger
from creditsync.sources._records import MISSING, dig
from creditsync.sources._xml_stream import (
    GuardedReader,
    detect_record_tag,
    file_chunks,
    iter_records,
    resolve_tag,
)
from creditsync.sources.base import StreamOptions
from creditsync.sources.cursor import Cursor
from creditsync.sources.http_base import HttpOptions, HttpSourceAdapter, body_chunks
from creditsync.sources.reading import StreamRead
from creditsync.sources.registry import register_adapter

if TYPE_CHECKING:
    from creditsync.departments import DepartmentConfig

__all__ = ["XmlOptions", "XmlSourceAdapter", "XmlStreamOptions", "read_xml_file", "sample_options"]

log = logging.getLogger(__name__)

Scalar = str | int | float | bool
DEFAULT_MAX_BYTES = 2 * 1024**3
RECORD_TAG_ENV = "CREDITSYNC_XML_RECORD_TAG"


class XmlStreamOptions(StreamOptions):
    """Where one stream's document is and how its records look."""

    path: str | None = None  # HTTP: relative to the Connection's base URL
    files: str | None = None  # or a file path / glob
    processed: str | None = None  # files: where delivered files go; default processed/ beside them
    params: dict[str, Scalar] = Field(default_factory=dict)
    record_tag: str = "record"
    namespaces: dict[str, str] = Field(default_factory=dict)
    cursor_field: str | None = None
    cursor_param: str | None = None  # HTTP: lets the source filter too; the framework filters anyway
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


class XmlOptions(XmlStreamOptions, HttpOptions):
    """Source-level options: the transport settings plus defaults for every stream."""

    timeout_s: float = Field(default=60.0, gt=0)  # whole documents: longer than a REST page


@register_adapter
class XmlSourceAdapter(HttpSourceAdapter):
    kind = "xml"
    options_model = XmlOptions
    stream_options_model = XmlStreamOptions
    merge_dicts = ("params", "namespaces")
    requires_connection = False  # file feeds need none; HTTP streams check for it when they read
    ordered = False  # a feed is one document in the department's order: the framework filters

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

    def records(self, read: StreamRead) -> Iterator[dict[str, Any]]:
        opts: XmlStreamOptions = read.options
        if opts.files is None:
            read.start_page("the XML feed", item="record")
            with self._open(opts, read) as response:
                chunks = body_chunks(response, read, opts.max_bytes + 1, read.where, limit="max_bytes")
                self._reader = GuardedReader(chunks, opts.max_bytes, read.where)
                yield from self._items(opts, self._reader)
            return
        paths = self._files(opts.files)
        if not paths:
            log.warning("%s: no file matches %r", read.where, opts.files)
        ledger: dict[str, dict[str, Any]] = {}
        for path in paths:
            dropped, highest = DroppedFile.of(path), None
            read.start_page(f"file {path.name}", item="record")
            with path.open("rb") as handle:
                self._reader = GuardedReader(_checked(file_chunks(handle), read), opts.max_bytes,
                                             f"{read.where}, file {path}")
                for item in self._items(opts, self._reader):
                    cursor = _cursor(item, read)
                    if cursor is not None and (highest is None or cursor > highest):
                        highest = cursor
                    yield item
            ledger[str(path)] = {"mtime_ns": dropped.mtime_ns, "size": dropped.size,
                                 "cursor": None if highest is None else str(highest)}
        if not read.preview:
            save_ledger(self._ledger_path(read.name, opts), read.name, ledger)  # only after a complete read

    def on_cursor_committed(self, stream: str, stream_options: Mapping[str, Any], cursor: Cursor) -> None:
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
            if entry["cursor"] is not None and Cursor.parse(entry["cursor"]) > Cursor.coerce(cursor):  # type: ignore[operator]
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

    def _items(self, opts: XmlStreamOptions, reader: GuardedReader) -> Iterator[dict[str, Any]]:
        tag = resolve_tag(opts.record_tag, opts.namespaces)
        yield from iter_records(reader, tag, attributes=opts.attributes)

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

    def _open(self, opts: XmlStreamOptions, read: StreamRead) -> requests.Response:
        params: dict[str, Any] = dict(opts.params)
        if read.cursor is not None and opts.cursor_param:
            params[opts.cursor_param] = read.cursor_text()
        response = self.open(self._url(opts.path or ""), params, budget=read)
        declared = response.headers.get("Content-Length", "")
        if declared.isdigit() and int(declared) > opts.max_bytes:
            response.close()
            raise FatalError(f"{read.where}: the XML document is {declared} bytes, over max_bytes "
                             f"({opts.max_bytes}); not read", max_bytes=opts.max_bytes)
        return response


def _cursor(item: Mapping[str, Any], read: StreamRead) -> Cursor | None:
    field = read.shape.cursor_field
    value = dig(item, field) if field else MISSING
    if value is MISSING:
        return None
    try:
        return read.shape.cursor_format.read(value, read.shape.zone)
    except (ValueError, ArithmeticError):
        return None


def _checked(chunks: Iterator[bytes], read: StreamRead) -> Iterator[bytes]:
    for chunk in chunks:
        read.check()
        yield chunk


def _home_relative(path: str) -> Path:
    return Path(path) if Path(path).is_absolute() else load_settings().home / path


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

