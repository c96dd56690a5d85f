"""``kind: rest``: a JSON-over-HTTP source, read page by page after a cursor, declared in YAML alone.

Every option, on the source (defaults for every stream) or on a stream (overrides; ``params`` and a
``paginator`` of the same type merge key by key); the JSON Schema is ``creditsync source-schema rest``:

    path                 the endpoint, relative to the Connection's base URL (same host only)
    params               static query parameters
    items_field          dotted path of the list in each page; "" when the page is the list
    key_field            dotted path of the record's own id
    cursor_field         dotted path of its cursor; null: no cursor (every read is a full read)
    cursor_format        how records write it: iso8601 (default), epoch_s, epoch_ms, row_version,
                         text, or {type: date, pattern: "%Y%m%d%H%M%S"}
    cursor_param         the query parameter that filters by it, inclusively (>=); null: none
    cursor_param_format  how that parameter wants it (default: cursor_format)
    timezone             the department's zone: cursor values without an offset are in it, and the
                         cursor is sent in it (e.g. Asia/Shanghai)
    paginator            {type: page_number | offset | next_link | cursor_token | none, …}
                         (creditsync.sources.rest_paging)
    max_pages            a read stops with an error past this many pages
    encoding             of the pages when Content-Type names no charset (e.g. gbk)
    auth                 source only: {type: bearer | api_key | basic | oauth2_client_credentials |
                         session_token | none, …} (creditsync.sources.http_auth)
    timeout_s, verify_tls, headers, check_path     source only: the transport

Secrets come only from the Connection (its password, or login and password).
"""

from __future__ import annotations

import codecs
import json
from collections.abc import Iterator, Mapping
from typing import Any, Self
from urllib.parse import urljoin

from pydantic import Field, field_validator, model_validator

from creditsync import http
from creditsync.exceptions import ConfigurationError, FatalError, RetriableError
from creditsync.sources._records import MISSING, dig
from creditsync.sources.base import RecordShape, StreamOptions
from creditsync.sources.cursor import Cursor
from creditsync.sources.cursor_formats import CursorFormat
from creditsync.sources.http_base import Answer, HttpOptions, HttpSourceAdapter, default_retrying, same_origin
from creditsync.sources.limits import SourceLimitError, too_deep
from creditsync.sources.reading import StreamRead
from creditsync.sources.registry import register_adapter
from creditsync.sources.rest_paging import (
    OffsetPaginator,
    Page,
    PageNumberPaginator,
    PaginatorConfig,
    PagingStart,
    Request,
)

# default_retrying: re-exported for callers that took it from here before http_base existed.
__all__ = ["RestOptions", "RestSourceAdapter", "RestStreamOptions", "default_retrying"]

Scalar = str | int | float | bool


class RestStreamOptions(StreamOptions):
    """What to request for one stream, where each piece sits in the answer, and how to page."""

    path: str | None = Field(default=None, description="endpoint relative to the Connection's base URL")
    params: dict[str, Scalar] = Field(default_factory=dict, description="static query parameters")
    items_field: str = Field(default="items", description='dotted path of the list; "" if the page is it')
    cursor_param: str | None = Field(default="updated_since", description="filters by the cursor (>=)")
    cursor_param_format: CursorFormat | None = Field(default=None, description="default: cursor_format")
    paginator: PaginatorConfig = Field(default_factory=PageNumberPaginator)
    max_pages: int = Field(default=100_000, ge=1)
    encoding: str | None = Field(default=None, description="of the pages; default Content-Type or UTF-8")

    @field_validator("encoding")
    @classmethod
    def _known_codec(cls, value: str | None) -> str | None:
        if value is not None:
            try:
                codecs.lookup(value)
            except LookupError:
                raise ValueError(f"unknown encoding {value!r} (e.g. utf-8, gbk, gb18030)") from None
        return value

    @model_validator(mode="after")
    def _check(self) -> Self:
        sent = {name for name in (self.cursor_param, *self.paginator.sent()) if name}
        if clash := sorted(sent & set(self.params)):
            raise ValueError(f"params must not set {clash}: the adapter sends those itself")
        if self.path and "://" in self.path:
            raise ValueError("path must be relative to the connection's base URL")
        if self.cursor_param and not self.cursor_field:
            raise ValueError("cursor_param needs cursor_field (where records carry the cursor)")
        sent_as = self.cursor_param_format
        if sent_as is not None and sent_as.kind is not self.cursor_format.kind:
            raise ValueError(f"cursor_param_format {sent_as.label} cannot say a {self.cursor_format.label} "
                             f"cursor (a {self.cursor_format.kind} is not a {sent_as.kind})")
        if problem := self._unsafe_paging():
            raise ValueError(problem)
        return self

    def _unsafe_paging(self) -> str | None:
        """Plain page/size paging of an incremental stream loses records for good (rest_paging)."""
        paginator = self.paginator
        if not isinstance(paginator, PageNumberPaginator | OffsetPaginator) or not self.cursor_field:
            return None
        if paginator.keyset and self.cursor_param:
            return None
        why = ("paginator.keyset is false" if paginator.keyset is False or self.cursor_param
               else "there is no cursor_param to page from the last cursor read")
        if isinstance(paginator, OffsetPaginator):
            if paginator.reread == 0:
                return (f"offset paging without keyset ({why}) needs an overlap: a record edited or deleted "
                        "while the stream is paged shifts later ones into pages already read, and one is "
                        "lost for good; set paginator.overlap (e.g. 10)")
            return None
        return (f"page_number paging without keyset ({why}) is refused: a record edited or deleted while "
                "the stream is paged shifts every later one a slot back, into a page already read, and "
                "one record is lost for good. Use keyset paging (set cursor_param), offset paging with an "
                "overlap, a next_link or cursor_token paginator, or cursor_field: null (a full read each "
                "time)")

    @property
    def keyset(self) -> bool:
        paginator = self.paginator
        return bool(isinstance(paginator, PageNumberPaginator | OffsetPaginator) and paginator.keyset
                    and self.cursor_param and self.cursor_field)


class RestOptions(RestStreamOptions, HttpOptions):
    """Source-level options: the transport and auth, plus defaults for every stream."""


@register_adapter
class RestSourceAdapter(HttpSourceAdapter):
    kind = "rest"
    options_model = RestOptions
    stream_options_model = RestStreamOptions
    merge_dicts = ("params",)
    merge_tagged = ("paginator",)
    accept = "application/json"

    def __init__(self, *args: Any, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        self.options: RestOptions

    def stream_options(self, stream: str, stream_options: Mapping[str, Any] | None) -> RestStreamOptions:
        opts: RestStreamOptions = self.merged_stream_options(stream, stream_options)
        if opts.path is None:
            raise ConfigurationError(f"{self._where(stream)}: option 'path' is required (source or stream)")
        return opts

    def records(self, read: StreamRead) -> Iterator[Any]:
        opts: RestStreamOptions = read.options
        first = {**opts.params, **self._anchor(opts, read.shape, read.cursor)}  # filtered from the cursor
        paging = opts.paginator.start(PagingStart(
            url=self._url(opts.path or ""), params=first, cursor=read.cursor,
            anchor_params=lambda cursor: self._anchor(opts, read.shape, cursor), follow=self._follow,
            keyset=opts.keyset, where=read.where))
        request: Request | None = paging.first()
        while request is not None:
            if read.pages >= opts.max_pages:  # a source that never says "last page" must not spin forever
                raise FatalError(f"{read.where}: more than {opts.max_pages} pages, stopping")
            read.start_page()
            page = self._page(request, read, opts)
            for index in paging.fresh(page):
                cursor = page.cursors[index]
                if cursor is not None and request.anchor is not None and cursor < request.anchor:
                    continue  # below the filter's own cursor: read before (the filter was floored)
                yield page.items[index]
            if not read.more_pages():
                return
            request = paging.next(page)

    def _anchor(self, opts: RestStreamOptions, shape: RecordShape, cursor: Cursor | None) -> dict[str, Any]:
        if cursor is None or not opts.cursor_param:
            return {}
        try:
            return {opts.cursor_param: shape.render(cursor, opts.cursor_param_format)}
        except ValueError as exc:
            raise ConfigurationError(f"department {self.department!r}: cannot send the cursor in "
                                     f"{opts.cursor_param!r}: {exc}") from None

    def _follow(self, link: Any) -> str | None:
        if link is MISSING or link in (None, ""):
            return None
        if not isinstance(link, str):
            raise FatalError(f"{self._where()}: next link is not a string: {link!r}")
        url = urljoin(self.base_url, link)
        if not same_origin(url, self.base_url):
            # Following it would send our credentials to another host.
            raise FatalError(f"{self._where()}: next link leaves the source host: {url.split('?', 1)[0]}")
        return url

    # -- one page --------------------------------------------------------------------------------

    def _page(self, request: Request, read: StreamRead, opts: RestStreamOptions) -> Page:
        answer, body = self.get(request.url, request.params, budget=read,
                                max_bytes=read.limits.max_page_bytes,
                                parse=lambda answer: (answer, self._json(answer, opts, read)))
        items = dig(body, opts.items_field)
        if not isinstance(items, list):
            found = "missing" if items is MISSING else type(items).__name__
            where = opts.items_field or "(body)"
            raise FatalError(f"{read.where}: response has no list at {where!r} ({found})",
                             url=_path(answer.url))
        keys = [_key(item, opts.key_field) for item in items]
        cursors = [_cursor(item, read.shape) for item in items]
        return Page(request, body, answer.headers, items, keys, cursors)

    def _json(self, answer: Answer, opts: RestStreamOptions, read: StreamRead) -> Any:
        where, url = f"{read.where}, {read.clock.page_label}", _path(answer.url)
        codec = opts.encoding or http.content_charset(answer.headers.get("Content-Type")) or "utf-8"
        content = answer.content
        try:
            if codecs.lookup(codec).name == "utf-8" and content.startswith(codecs.BOM_UTF8):
                content = content[len(codecs.BOM_UTF8):]
            text = content.decode(codec)
        except LookupError:
            raise ConfigurationError(f"{where}: unknown text encoding {codec!r}") from None
        except UnicodeDecodeError as exc:
            # Decoding anyway would publish U+FFFD in names; the department's charset must be named.
            raise FatalError(
                f"{where}: the page is not valid {exc.encoding} text (byte 0x{exc.object[exc.start]:02x} "
                f"at offset {exc.start}); set the source option 'encoding' to the source's charset "
                "(e.g. gbk), or have it declare one in Content-Type", url=url) from None
        del content
        depth = read.limits.max_depth
        try:
            body = json.loads(text)
        except RecursionError:
            raise SourceLimitError(f"{where}: the page nests deeper than max_depth ({depth}); not read",
                                   "max_depth", url=url) from None
        except json.JSONDecodeError as exc:  # a page cut or garbled in transit: worth asking again
            raise RetriableError(f"{where}: the page is not valid JSON ({exc.msg} at line {exc.lineno}, "
                                 f"column {exc.colno}): {http.redact(text[:200], self._secrets())}",
                                 url=url) from None
        if too_deep(body, depth):
            raise SourceLimitError(f"{where}: the page nests deeper than max_depth ({depth}); not read",
                                   "max_depth", url=url)
        return body


def _key(item: Any, key_field: str) -> str | None:
    key = dig(item, key_field) if isinstance(item, Mapping) else MISSING
    return None if key is MISSING or key is None else str(key)


def _cursor(item: Any, shape: RecordShape) -> Cursor | None:
    if not shape.cursor_field or not isinstance(item, Mapping):
        return None
    value = dig(item, shape.cursor_field)
    if value is MISSING:
        return None
    try:
        return shape.cursor_format.read(value, shape.zone)
    except (ValueError, ArithmeticError, OverflowError):
        return None


def _path(url: str) -> str:
    return (url or "").split("?", 1)[0]
