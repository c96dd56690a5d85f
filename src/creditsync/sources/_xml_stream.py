"""Hardened, streaming XML parsing: shared by the ``xml`` source and handed-over ``.xml`` files.

What stops each threat:

* **XXE / external DTDs** and **entity expansion** ("billion laughs"): a DOCTYPE that declares
  entities or names an external DTD is refused by :class:`GuardedReader` from the document's first
  bytes, before libxml2 sees them. Behind that: lxml runs with ``resolve_entities=False``,
  ``no_network=True``, ``load_dtd=False`` (libxml2 also has its own amplification limit), and the
  parsed DOCTYPE is checked again on the first record (encodings the byte scan cannot read).
* **oversized documents**: ``max_bytes`` counts the bytes handed to the parser (after HTTP
  decompression, so a gzip bomb counts at its real size); ``huge_tree=False`` keeps libxml2's limits
  on depth and text-node size.
* **memory**: each record element becomes a dict, then is cleared and removed from its parent with
  every previous sibling, so a 1,000,000-record feed parses in constant memory.

A record element becomes a flat dict: child local name → text; a repeated child → a list; a child
with element children → a nested dict (dotted mapping paths reach into it). With ``attributes`` the
record's attributes appear as ``@name`` and a leaf child's as ``child@name``.
"""

from __future__ import annotations

import re
from collections.abc import Iterator, Mapping
from typing import IO, Any

from lxml import etree

from creditsync.exceptions import ConfigurationError, CreditSyncError, FatalError, RetriableError

HARDENED: dict[str, Any] = {
    "resolve_entities": False, "no_network": True, "load_dtd": False, "huge_tree": False,
    "dtd_validation": False, "collect_ids": False,
}
CHUNK_BYTES = 64 * 1024
PROLOG_LIMIT = 64 * 1024  # a prolog (XML declaration, comments, DOCTYPE) larger than this is refused
_ELEMENT_START = re.compile(r"<[^!?/]")  # the first element: the prolog ends there
_DOCTYPE = re.compile(r"<!DOCTYPE\s+[^\s\[>]+(\s+(?:SYSTEM|PUBLIC)\b)?")
_REFUSED = "refused before parsing, so no entity is expanded and no local file or URL is read"


class GuardedReader:
    """A file-like ``read(size)`` over byte chunks: counts bytes, enforces ``max_bytes``, and refuses
    a dangerous DOCTYPE from the document's first bytes."""

    def __init__(self, chunks: Iterator[bytes], max_bytes: int, where: str) -> None:
        self._chunks, self.max_bytes, self.where = chunks, max_bytes, where
        self._buffer = b""
        self._prolog: bytes | None = b""  # None once the prolog has been checked
        self.bytes_read = 0
        self.exhausted = False

    def read(self, size: int = -1) -> bytes:
        if not self._buffer and not self.exhausted:
            self._pull()
        size = len(self._buffer) if size is None or size < 0 else size
        data, self._buffer = self._buffer[:size], self._buffer[size:]
        return data

    def _pull(self) -> None:
        chunk = next((c for c in self._chunks if c), None)
        if chunk is None:
            self.exhausted = True
            return
        self.bytes_read += len(chunk)
        if self.bytes_read > self.max_bytes:
            raise FatalError(f"{self.where}: the XML document is larger than max_bytes "
                             f"({self.max_bytes} bytes); stopped reading", max_bytes=self.max_bytes)
        if self._prolog is not None:
            self._check_prolog(chunk)
        self._buffer = chunk

    def _check_prolog(self, chunk: bytes) -> None:
        assert self._prolog is not None
        self._prolog += chunk
        # Dropping NUL bytes makes the ASCII of UTF-16/32 readable too; other bytes are only skipped.
        text = self._prolog.replace(b"\x00", b"").decode("latin-1")
        start = _ELEMENT_START.search(text)
        problem = doctype_problem(text[: start.start()] if start else text)
        if problem is None and start is None and len(self._prolog) > PROLOG_LIMIT and "<!DOCTYPE" in text:
            problem = f"its DOCTYPE is larger than {PROLOG_LIMIT} bytes"
        if problem:
            raise FatalError(f"{self.where}: unsafe XML: {problem}; {_REFUSED}")
        if start is not None or len(self._prolog) > PROLOG_LIMIT:
            self._prolog = None


def doctype_problem(prolog: str) -> str | None:
    """Why a document prolog is unsafe, or None. A bare ``<!DOCTYPE root>`` is harmless."""
    match = _DOCTYPE.search(prolog)
    if match is None:
        return None
    if "<!ENTITY" in prolog[match.start():]:
        return ("its DOCTYPE declares entities (<!ENTITY …>), the vehicle of XML external entity (XXE) "
                "reads and of entity-expansion ('billion laughs') attacks")
    if match.group(1):
        return "its DOCTYPE names an external DTD (SYSTEM/PUBLIC), which would be fetched (XXE)"
    return None


def file_chunks(handle: IO[bytes]) -> Iterator[bytes]:
    return iter(lambda: handle.read(CHUNK_BYTES), b"")


def resolve_tag(tag: str, namespaces: Mapping[str, str]) -> str:
    """``p:local`` (prefix from ``namespaces``) or ``{uri}local`` → Clark notation; a bare ``local``
    matches that local name in any namespace, or none (``{*}local``)."""
    if tag.startswith("{"):
        return tag
    prefix, colon, local = tag.rpartition(":")
    if not colon:
        return "{*}" + tag
    if prefix not in namespaces:
        raise ConfigurationError(f"record tag {tag!r}: prefix {prefix!r} is not in the namespaces option")
    return f"{{{namespaces[prefix]}}}{local}"


def iter_records(reader: GuardedReader, tag: str, *, attributes: bool = False) -> Iterator[dict[str, Any]]:
    """Each ``tag`` element of the document as a dict, in document order, in constant memory."""
    events = etree.iterparse(reader, events=("end",), tag=tag, **HARDENED)
    count = 0
    try:
        for _event, elem in events:
            if count == 0:
                check_docinfo(elem, reader.where)
            record = element_to_dict(elem, attributes)
            release(elem)
            count += 1
            yield record
    except etree.XMLSyntaxError as exc:
        raise syntax_error(exc, reader, count) from None
    if count == 0 and events.root is not None:
        check_docinfo(events.root, reader.where)


def detect_record_tag(reader: GuardedReader) -> str:
    """The record element of a sample file: the first child tag of the root that repeats, else the
    first child's tag (a one-record file). Stops reading at the second record."""
    depth, seen = 0, []
    try:
        for event, elem in etree.iterparse(reader, events=("start", "end"), **HARDENED):
            depth += 1 if event == "start" else -1
            if event == "start" and depth == 2:
                if elem.tag in seen:
                    check_docinfo(elem, reader.where)
                    return str(elem.tag)
                seen.append(elem.tag)
            elif event == "end" and depth == 1:
                release(elem)
    except etree.XMLSyntaxError as exc:
        raise syntax_error(exc, reader, 0) from None
    if not seen:
        raise ConfigurationError(f"{reader.where}: the XML root has no child elements (no records)")
    return str(seen[0])


def check_docinfo(elem: Any, where: str) -> None:
    """The second line of defence: the DOCTYPE as libxml2 parsed it (any encoding)."""
    docinfo = elem.getroottree().docinfo
    dtd = docinfo.internalDTD
    entities = dtd is not None and any(True for _ in dtd.iterentities())
    if entities or docinfo.system_url or docinfo.public_id:
        raise FatalError(f"{where}: unsafe XML: its DOCTYPE declares entities or names an external DTD; "
                         "refused (entities were not expanded, nothing was fetched)")


def syntax_error(exc: etree.XMLSyntaxError, reader: GuardedReader, records: int) -> CreditSyncError:
    line, column = exc.position
    message = f"line {line}, column {column}: {exc.msg}"
    if "amplification" in str(exc.msg):  # libxml2's own entity-expansion limit
        return FatalError(f"{reader.where}: unsafe XML (entity expansion) at {message}", line=line)
    if any(words in str(exc.msg).lower() for words in ("huge", "excessive depth", "too deep")):
        # libxml2's limits without huge_tree: a text node over 10 MB, elements nested over 256 deep
        return FatalError(f"{reader.where}: the XML document is beyond the parser's limits (a value over "
                          f"10 MB, or nesting over 256 levels) at {message}; not read", line=line)
    if reader.exhausted:
        # The input ended inside the document: a cut transfer or a file still being copied.
        return RetriableError(f"{reader.where}: the XML document is truncated (ends early) at {message} "
                              f"after {records} records; nothing from this read is kept", line=line)
    return FatalError(f"{reader.where}: malformed XML at {message}", line=line)


def release(elem: Any) -> None:
    """Free a processed element and its already-processed previous siblings."""
    elem.clear(keep_tail=False)
    parent = elem.getparent()
    if parent is not None:
        while elem.getprevious() is not None:
            del parent[0]


def element_to_dict(elem: Any, attributes: bool) -> dict[str, Any]:
    out: dict[str, Any] = {}
    if attributes:
        for name, value in elem.attrib.items():
            _put(out, "@" + local_name(name), value)
    for child in elem:  # the hot loop of a big feed: keep it lean
        tag = child.tag
        if not isinstance(tag, str):
            continue  # a comment or processing instruction
        name = tag.rpartition("}")[2]
        nested = len(child) > 0 and any(isinstance(grandchild.tag, str) for grandchild in child)
        value = element_to_dict(child, attributes) if nested else _text(child)
        if name in out:
            _put(out, name, value)
        else:
            out[name] = value
        if attributes and not nested and child.attrib:
            for attr, text in child.attrib.items():
                _put(out, f"{name}@{local_name(attr)}", text)
    return out


def local_name(tag: str) -> str:
    return tag.rpartition("}")[2]


def _text(elem: Any) -> str:
    return (elem.text or "") if len(elem) == 0 else "".join(elem.itertext())


def _put(out: dict[str, Any], name: str, value: Any) -> None:
    if name not in out:
        out[name] = value
    elif isinstance(out[name], list):
        out[name].append(value)
    else:
        out[name] = [out[name], value]
