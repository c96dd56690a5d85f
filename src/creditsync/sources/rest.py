"""``kind: rest``: a JSON-over-HTTP source, read page by page after a cursor.

Two pagination styles. *Page numbers* (default): ``?page=N&page_size=M``, ending at
``total_pages_field`` or at a short/empty page. *Next links*: set ``next_field`` and the adapter
follows the link (relative or absolute, same host only) until it is empty.

With page numbers, plain offsets are unsafe on a live source: a record updated while we page moves
to the end and every later record shifts one slot left, so one record is skipped and, because the
watermark then moves past it, lost for good. ``keyset_paging`` (default on, needs ``cursor_param``
and ``cursor_field``) therefore re-anchors each request on the last cursor read
(``updated_since=<last cursor>&page=1``) and skips the keys already yielded at that exact cursor.
That relies on ``cursor_param`` filtering *inclusively* (``>=``), which the adapter contract needs
anyway to honour the overlap window.

Options may be given on the source (defaults for every stream) and on each stream (overrides;
``params`` are merged). Secrets come only from the Connection: ``password`` is the token, sent as
``Authorization: Bearer <token>`` or in ``token_header``.
"""

from __future__ import annotations

import codecs
import json
import logging
from collections.abc import Iterator, Mapping
from typing import Any, Self
from urllib.parse import urljoin

import requests
from pydantic import Field, field_validator, model_validator

from creditsync import http
from creditsync.exceptions import ConfigurationError, FatalError, RetriableError
from creditsync.sources._records import MISSING, dig, to_record
from creditsync.sources.base import AdapterOptions, RawRecord
from creditsync.sources.cursor import PageState
from creditsync.sources.http_base import HttpSourceAdapter, default_retrying, same_origin
from creditsync.sources.registry import register_adapter

# default_retrying: re-exported for callers that took it from here before http_base existed.
__all__ = ["RestOptions", "RestSourceAdapter", "RestStreamOptions", "default_retrying"]

log = logging.getLogger(__name__)

Scalar = str | int | float | bool


class RestStreamOptions(AdapterOptions):
    """What to request for one stream and where each piece sits in the response."""

    path: str | None = None
    params: dict[str, Scalar] = Field(default_factory=dict)
    items_field: str = "items"  # dotted; "" when the body itself is the list
    key_field: str = "id"
    cursor_field: str | None = "updated_at"
    cursor_param: str | None = "updated_since"
    page_param: str = "page"
    page_size_param: str | None = "page_size"
    page_size: int = Field(default=100, ge=1, le=10_000)
    first_page: int = Field(default=1, ge=0)
    total_pages_field: str | None = "total_pages"
    next_field: str | None = None
    keyset_paging: bool = True
    max_pages: int = Field(default=100_000, ge=1)
    encoding: str | None = None  # of the pages; None: the Content-Type charset, else UTF-8

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
        sent = {name for name in (self.page_param, self.page_size_param, self.cursor_param) if name}
        if clash := sorted(sent & set(self.params)):
            raise ValueError(f"params must not set {clash}: the adapter sends those itself")
        if self.path and "://" in self.path:
            raise ValueError("path must be relative to the connection's base URL")
        return self

    @property
    def keyset(self) -> bool:
        return bool(self.keyset_paging and self.cursor_param and self.cursor_field and not self.next_field)


class RestOptions(RestStreamOptions, http.TransportOptions):
    """Source-level options: the transport settings plus defaults for every stream."""


@register_adapter
class RestSourceAdapter(HttpSourceAdapter):
    kind = "rest"
    options_model = RestOptions
    stream_options_model = RestStreamOptions
    merge_dicts = ("params",)

    accept = "application/json"

    def __init__(self, *args: Any, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        self.options: RestOptions

    # -- public API ------------------------------------------------------------------------------

    def stream_options(self, stream: str, stream_options: Mapping[str, Any] | None) -> RestStreamOptions:
        opts: RestStreamOptions = self.merged_stream_options(stream, stream_options)
        if opts.path is None:
            raise ConfigurationError(f"{self._where(stream)}: option 'path' is required (source or stream)")
        return opts

    def read(self, stream: str, stream_options: Mapping[str, Any], cursor: str | None) -> Iterator[RawRecord]:
        opts = self.stream_options(stream, stream_options)
        state, where = PageState(), self._where(stream)
        pages = (
            self._linked_pages(opts, cursor) if opts.next_field else self._numbered_pages(opts, cursor, state)
        )
        for number, items in enumerate(pages, start=1):
            if number > opts.max_pages:  # a source that never says "last page" must not spin forever
                raise FatalError(f"{where}: more than {opts.max_pages} pages, stopping")
            for index, item in enumerate(items, start=1):
                record = to_record(stream, item, opts.key_field, opts.cursor_field,
                                   f"page {number}, item {index}")
                if state.accept(record, where):
                    yield record

    # -- pagination ------------------------------------------------------------------------------

    def _numbered_pages(
        self, opts: RestStreamOptions, cursor: str | None, state: PageState
    ) -> Iterator[list[Any]]:
        """Each page's items. ``read`` has accepted a page's records before asking for the next, so
        ``state.last`` is then the highest cursor yielded: the keyset anchor."""
        url, page, anchor = self._url(opts.path or ""), opts.first_page, cursor
        while True:
            body = self._fetch(url, _params(opts, anchor, page), opts)
            items = self._items(body, opts, url)
            yield items
            if _is_last_page(opts, body, items, page):
                return
            if opts.keyset and state.last is not None and state.last != anchor:
                anchor, page = state.last, opts.first_page
            else:  # plain paging, or the whole page sat on the anchor's cursor value
                page += 1

    def _linked_pages(self, opts: RestStreamOptions, cursor: str | None) -> Iterator[list[Any]]:
        url: str | None = self._url(opts.path or "")
        params: dict[str, Any] | None = _params(opts, cursor, None)
        while url:
            body = self._fetch(url, params, opts)
            yield self._items(body, opts, url)
            url, params = self._follow(dig(body, opts.next_field or "")), None

    def _follow(self, link: Any) -> str | None:
        if link is MISSING or link in (None, ""):
            return None
        if not isinstance(link, str):
            raise FatalError(f"{self._where()}: next link is not a string: {link!r}")
        url = urljoin(self.base_url, link)
        if not same_origin(url, self.base_url):
            # Following it would send our token to another host.
            raise FatalError(f"{self._where()}: next link leaves the source host: {url.split('?', 1)[0]}")
        return url

    # -- HTTP ------------------------------------------------------------------------------------

    def _fetch(self, url: str, params: Mapping[str, Any] | None, opts: RestStreamOptions) -> Any:
        def attempt() -> Any:
            with self._request(url, params, "read") as response:
                self.raise_for_status(response)
                return self._json(response, opts)

        return http.call_with_retries(self.retrying, attempt)

    def _json(self, response: requests.Response, opts: RestStreamOptions) -> Any:
        where, url = self._where(), url_of(response)
        try:
            text = http.decode_text(response, opts.encoding)
        except UnicodeDecodeError as exc:
            # Decoding anyway would publish U+FFFD in names; the department's charset must be named.
            raise FatalError(
                f"{where}: the page is not valid {exc.encoding} text (byte 0x{exc.object[exc.start]:02x} "
                f"at offset {exc.start}); set the source option 'encoding' to the source's charset "
                "(e.g. gbk), or have it declare one in Content-Type", url=url) from None
        try:
            return json.loads(text)
        except ValueError:
            raise RetriableError(f"{where}: response is not valid JSON: "
                                 f"{http.snippet(response, self._secrets())}", url=url) from None

    def _items(self, body: Any, opts: RestStreamOptions, url: str) -> list[Any]:
        items = dig(body, opts.items_field)
        if not isinstance(items, list):
            found = "missing" if items is MISSING else type(items).__name__
            where = opts.items_field or "(body)"
            raise FatalError(f"{self._where()}: response has no list at {where!r} ({found})", url=url)
        return items


def _params(opts: RestStreamOptions, anchor: str | None, page: int | None) -> dict[str, Any]:
    params: dict[str, Any] = dict(opts.params)
    if anchor is not None and opts.cursor_param:
        params[opts.cursor_param] = anchor
    if page is not None:
        params[opts.page_param] = page
    if opts.page_size_param:
        params[opts.page_size_param] = opts.page_size
    return params


def _is_last_page(opts: RestStreamOptions, body: Any, items: list[Any], page: int) -> bool:
    if not items:
        return True
    total = dig(body, opts.total_pages_field) if opts.total_pages_field else None
    if isinstance(total, int) and not isinstance(total, bool):
        return page - opts.first_page + 1 >= total
    # Without a total, a short page is the last one (only meaningful when we chose the page size).
    return bool(opts.page_size_param) and len(items) < opts.page_size


def url_of(response: requests.Response) -> str:
    return (response.url or "").split("?", 1)[0]
