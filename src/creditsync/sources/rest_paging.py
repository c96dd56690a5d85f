"""How a REST source pages: a registry of paginators chosen by ``paginator.type``.

* ``page_number`` (default): ``page_param`` N+1, or with ``keyset`` page 1 again after the last cursor
  read; ends at an empty or short page, or at ``total_pages_field``;
* ``offset``: ``offset_param`` + ``page_size`` (less ``overlap``), or with ``keyset`` 0 again after the
  last cursor read; ends at an empty or short page, or at ``total_field``;
* ``next_link``: the link at body ``path``, or in the ``Link: <…>; rel="next"`` header
  (``header: true``); ends where there is none;
* ``cursor_token``: the opaque token at body ``token_path``, sent as ``token_param``; ends without one;
* ``none``: one page.

Each paginator refuses to loop: the same page, offset, link or token asked for twice is an error
naming it. Why keyset and overlap: a source sorted by the cursor moves an edited record to the end,
and a deleted one leaves a gap, so every later record shifts one slot left between two requests;
plain page/size paging then skips one record for good (the watermark moves past it). Keyset paging
asks again from the last cursor read (``cursor_param`` >= it, page 1), which no shift can affect;
plain ``offset`` paging re-reads ``overlap`` records of the previous page and checks that it finds one
it has read, so shifts up to ``overlap`` are safe and a larger one fails the read (nothing lost).
"""

from __future__ import annotations

import re
from abc import ABC, abstractmethod
from collections.abc import Callable, Mapping
from dataclasses import dataclass
from typing import Annotated, Any, Literal, Self

from pydantic import Discriminator, Field, Tag, model_validator

from creditsync.exceptions import FatalError, RetriableError
from creditsync.sources._records import MISSING, dig
from creditsync.sources.base import AdapterOptions, type_of
from creditsync.sources.cursor import Cursor


@dataclass
class Request:
    url: str
    params: dict[str, Any] | None  # None: the URL is complete (a next link)
    anchor: Cursor | None = None  # the cursor this request filters from


@dataclass
class Page:
    """One answer: its body and headers, and its items with their keys and cursors (None when
    unusable; the framework flags those items)."""

    request: Request
    body: Any
    headers: Mapping[str, str]
    items: list[Any]
    keys: list[str | None]
    cursors: list[Cursor | None]

    @property
    def last_cursor(self) -> Cursor | None:
        return max((c for c in self.cursors if c is not None), default=None)


@dataclass
class PagingStart:
    """What the adapter gives a paginator: the first request's URL and parameters (static ones and
    the filter from the read's cursor), how to filter from another cursor (keyset), and how to follow
    a link."""

    url: str
    params: dict[str, Any]
    cursor: Cursor | None
    anchor_params: Callable[[Cursor | None], dict[str, Any]]
    follow: Callable[[Any], str | None]
    keyset: bool
    where: str


class Paging(ABC):
    """One read's paging state."""

    def __init__(self, start: PagingStart) -> None:
        self.start = start
        self.seen: set[Any] = set()

    @abstractmethod
    def first(self) -> Request: ...

    @abstractmethod
    def next(self, page: Page) -> Request | None: ...

    def fresh(self, page: Page) -> list[int]:
        """Indexes of the page's items to yield (all but re-reads)."""
        return list(range(len(page.items)))

    def _once(self, what: str, value: Any) -> None:
        if value in self.seen:
            raise FatalError(f"{self.start.where}: the source sent the same {what} twice ({_shown(value)}): "
                             "its paging loops; stopped")
        self.seen.add(value)


# -- configurations ----------------------------------------------------------------------------------


class _Sized(AdapterOptions):
    size_param: str | None = Field(default="page_size", description="the page size parameter; null: none")
    page_size: int = Field(default=100, ge=1, le=10_000)

    def size(self) -> dict[str, Any]:
        return {self.size_param: self.page_size} if self.size_param else {}


class PageNumberPaginator(_Sized):
    type: Literal["page_number"] = "page_number"
    page_param: str = "page"
    first_page: int = Field(default=1, ge=0)
    total_pages_field: str | None = Field(default="total_pages", description="null: stop at a short page")
    keyset: bool = Field(default=True, description="page 1 again after the last cursor read (safe)")

    def sent(self) -> set[str]:
        return {self.page_param, *self.size()}

    def start(self, start: PagingStart) -> Paging:
        return _Numbered(start, self, self.page_param, self.first_page, 1, self.total_pages_field)


class OffsetPaginator(_Sized):
    type: Literal["offset"]
    size_param: str | None = "limit"
    offset_param: str = "offset"
    total_field: str | None = Field(default=None, description="total number of records, if the source says")
    keyset: bool = True
    overlap: int | None = Field(default=None, ge=0, description="records of the previous page read again "
                                "(without keyset); default a tenth of page_size, at least 1")

    @model_validator(mode="after")
    def _overlap(self) -> Self:
        if self.overlap is not None and self.overlap >= self.page_size:
            raise ValueError(f"overlap ({self.overlap}) must be smaller than page_size ({self.page_size})")
        if not self.size_param:
            raise ValueError("offset paging needs size_param (the limit parameter)")
        return self

    @property
    def reread(self) -> int:
        return self.overlap if self.overlap is not None else max(1, self.page_size // 10)

    def sent(self) -> set[str]:
        return {self.offset_param, *self.size()}

    def start(self, start: PagingStart) -> Paging:
        if start.keyset:
            return _Numbered(start, self, self.offset_param, 0, self.page_size, None, self.total_field)
        return _Overlapping(start, self)


class NextLinkPaginator(_Sized):
    type: Literal["next_link"]
    size_param: str | None = None
    path: str | None = Field(default="next", description="dotted path of the next link in the body")
    header: bool = Field(default=False, description='the Link: <…>; rel="next" header instead')

    def sent(self) -> set[str]:
        return set(self.size())

    def start(self, start: PagingStart) -> Paging:
        return _Linked(start, self)


class CursorTokenPaginator(_Sized):
    type: Literal["cursor_token"]
    size_param: str | None = None
    token_path: str = Field(default="next_cursor", description="dotted path of the next page's token")
    token_param: str = Field(default="cursor", description="the parameter the token is sent in")

    def sent(self) -> set[str]:
        return {self.token_param, *self.size()}

    def start(self, start: PagingStart) -> Paging:
        return _Tokens(start, self)


class SinglePage(AdapterOptions):
    type: Literal["none"]

    def sent(self) -> set[str]:
        return set()

    def start(self, start: PagingStart) -> Paging:
        return _Single(start)


PAGINATOR_KINDS = ("page_number", "offset", "next_link", "cursor_token", "none")
PaginatorConfig = Annotated[
    Annotated[PageNumberPaginator, Tag("page_number")] | Annotated[OffsetPaginator, Tag("offset")]
    | Annotated[NextLinkPaginator, Tag("next_link")] | Annotated[CursorTokenPaginator, Tag("cursor_token")]
    | Annotated[SinglePage, Tag("none")],
    Discriminator(type_of("page_number", PAGINATOR_KINDS))]


# -- paging states -----------------------------------------------------------------------------------


class _Single(Paging):
    def first(self) -> Request:
        return Request(self.start.url, dict(self.start.params), self.start.cursor)

    def next(self, page: Page) -> Request | None:
        return None


class _Numbered(Paging):
    """Page numbers or offsets; with keyset, back to the first position after the last cursor read."""

    def __init__(self, start: PagingStart, config: _Sized, param: str, first: int, step: int,
                 total_pages: str | None, total_records: str | None = None) -> None:
        super().__init__(start)
        self.config, self.param, self.first_position, self.step = config, param, first, step
        self.total_pages, self.total_records = total_pages, total_records
        self.anchor, self.position = start.cursor, first
        self.previous: tuple[str | None, ...] = ()

    def first(self) -> Request:
        return self._request()

    def _request(self) -> Request:
        self._once(f"{self.param} after cursor", (str(self.anchor), self.position))
        params = {**self.start.params, **self.start.anchor_params(self.anchor), **self.config.size(),
                  self.param: self.position}
        return Request(self.start.url, params, self.anchor)

    def next(self, page: Page) -> Request | None:
        if self._last(page):
            return None
        keys = tuple(page.keys)
        if keys == self.previous:  # distinct positions, the same records: the parameter is ignored
            raise FatalError(f"{self.start.where}: the source sent the same page twice (records "
                             f"{_shown(', '.join(map(str, keys[:3])))}…) for {self.param} {self.position}: "
                             f"it ignores {self.param!r}; its paging loops; stopped")
        self.previous = keys
        last = page.last_cursor
        if self.start.keyset and last is not None and (self.anchor is None or last > self.anchor):
            self.anchor, self.position = last, self.first_position
        else:  # plain paging, or the whole page sat on the anchor's cursor value
            self.position += self.step
        return self._request()

    def _last(self, page: Page) -> bool:
        """The totals a source gives are those of this request's filter (this anchor)."""
        if not page.items:
            return True
        pages = _count(dig(page.body, self.total_pages)) if self.total_pages else None
        if pages is not None:
            return (self.position - self.first_position) // self.step + 1 >= pages
        records = _count(dig(page.body, self.total_records)) if self.total_records else None
        if records is not None:
            return self.position + len(page.items) >= records
        # Without a total, a short page is the last one (only meaningful when we chose the page size).
        return bool(self.config.size_param) and len(page.items) < self.config.page_size


class _Overlapping(Paging):
    """Plain offsets that read ``overlap`` records of the previous page again, to prove no record
    slipped between two requests (see the module docstring)."""

    def __init__(self, start: PagingStart, config: OffsetPaginator) -> None:
        super().__init__(start)
        self.config = config
        self.offset = 0
        self.previous: list[str | None] = []

    def first(self) -> Request:
        return self._request()

    def _request(self) -> Request:
        self._once(self.config.offset_param, self.offset)
        params = {**self.start.params, **self.config.size(), self.config.offset_param: self.offset}
        return Request(self.start.url, params, self.start.cursor)

    def fresh(self, page: Page) -> list[int]:
        if not self.previous or self.offset == 0:
            return list(range(len(page.items)))
        read = {key for key in self.previous if key is not None}
        window = page.keys[: self.config.reread]
        joined = max((index for index, key in enumerate(window) if key in read), default=-1)
        if joined < 0 and page.items:
            raise RetriableError(
                f"{self.start.where}: more than {self.config.reread} records before offset {self.offset} "
                "changed while the source was paged, so no record read before was found again: this "
                "page cannot be joined to the previous one safely. Nothing is lost (the cursor does not "
                "move); raise the paginator's overlap, or use keyset paging")
        return [index for index in range(joined + 1, len(page.items)) if page.keys[index] not in read]

    def next(self, page: Page) -> Request | None:
        if not page.items or len(page.items) < self.config.page_size:
            return None
        self.previous = page.keys
        self.offset += self.config.page_size - self.config.reread
        return self._request()


class _Linked(Paging):
    def __init__(self, start: PagingStart, config: NextLinkPaginator) -> None:
        super().__init__(start)
        self.config = config

    def first(self) -> Request:
        return Request(self.start.url, {**self.start.params, **self.config.size()}, self.start.cursor)

    def next(self, page: Page) -> Request | None:
        link = _link_header(page.headers) if self.config.header else dig(page.body, self.config.path or "")
        url = self.start.follow(link)
        if url is None:
            return None
        self._once("next link", url)
        return Request(url, None, self.start.cursor)


class _Tokens(Paging):
    def __init__(self, start: PagingStart, config: CursorTokenPaginator) -> None:
        super().__init__(start)
        self.config = config

    def first(self) -> Request:
        return Request(self.start.url, {**self.start.params, **self.config.size()}, self.start.cursor)

    def next(self, page: Page) -> Request | None:
        token = dig(page.body, self.config.token_path)
        if token is MISSING or token is None or token == "":
            return None
        if not isinstance(token, str | int) or isinstance(token, bool):
            raise FatalError(f"{self.start.where}: the next-page token at {self.config.token_path!r} is "
                             f"not text: {_shown(token)}")
        self._once("next-page token", str(token))
        params = {**self.start.params, **self.config.size(), self.config.token_param: token}
        return Request(self.start.url, params, self.start.cursor)


_LINK = re.compile(r'<([^>]*)>\s*((?:;\s*[^;,]+)*)')


def _link_header(headers: Mapping[str, str]) -> str | None:
    """The ``rel="next"`` target of an RFC 8288 ``Link`` header."""
    for target, attributes in _LINK.findall(headers.get("Link", "")):
        rels = re.findall(r'rel\s*=\s*"?([^";]+)"?', attributes)
        if any("next" in rel.lower().split() for rel in rels):
            return str(target)
    return None


def _count(value: Any) -> int | None:
    return value if isinstance(value, int) and not isinstance(value, bool) else None


def _shown(value: Any) -> str:
    text = str(value)
    return text if len(text) <= 120 else text[:120] + "…"
