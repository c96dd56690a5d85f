"""The source contract: what a department's system must give, and what the framework does around it.

A source is a subclass of :class:`SourceAdapter` with declarative class attributes (``kind``,
``options_model``, ``stream_options_model``) and one method, :meth:`SourceAdapter.records`: *yield the
stream's records at or after a cursor*, as plain dicts (or :class:`ItemError` for an item that cannot
be read). Everything else is the framework's (:mod:`creditsync.sources.reading`), around every source:

* options validated and merged (source defaults, then the stream's own) before ``records`` sees them;
* the record's key and typed cursor read from each dict (:class:`RecordShape`: ``key_field``,
  ``cursor_field``, ``cursor_format``, ``timezone``);
* ascending-order check and de-duplication at the cursor boundary (``ordered`` sources), or keeping
  only records at or after the cursor (feeds in document order);
* malformed items quarantined while the read goes on; oversized or too deeply nested values refused;
* the limits (:mod:`creditsync.sources.limits`): deadlines for the read and each page;
* rate limiting (``StreamRead.start_page``) and, for sources that do not retry their own requests,
  re-reading from the last good cursor after a transient failure.

Error contract (see ``creditsync.exceptions``): bad options or a missing connection are a
``ConfigurationError`` (raised before any I/O); a transient failure a ``RetriableError``; refused
credentials, a broken protocol or a breached limit a ``FatalError``.
"""

from __future__ import annotations

import threading
import time
from abc import ABC, abstractmethod
from collections.abc import Callable, Iterable, Iterator, Mapping
from dataclasses import dataclass, field
from datetime import tzinfo
from types import TracebackType
from typing import TYPE_CHECKING, Any, ClassVar, Self

from pydantic import BaseModel, ConfigDict, Field, ValidationError, field_validator

from creditsync.exceptions import ConfigurationError
from creditsync.secrets import Connection
from creditsync.sources.cursor import Cursor
from creditsync.sources.cursor_formats import CursorFormat, zone_of
from creditsync.sources.limits import SourceLimits

if TYPE_CHECKING:
    from creditsync.sources.reading import StreamRead


@dataclass(frozen=True)
class RawRecord:
    """One record as the department's system holds it, before any mapping.

    ``key`` is the source's own record id; ``cursor`` is the record's typed watermark (text is parsed,
    its kind guessed). ``error`` is set when the item itself is malformed (not an object, no id, no
    cursor): such records carry ``cursor=None`` so a bad value can never move the watermark, unless the
    source gives one on purpose (a rejected file keeps the file's position).
    """

    stream: str
    key: str
    data: dict[str, Any]
    cursor: Cursor | None = None
    error: str | None = None

    def __post_init__(self) -> None:
        if self.cursor is not None and not isinstance(self.cursor, Cursor):
            object.__setattr__(self, "cursor", Cursor.coerce(self.cursor))

    @property
    def is_bad(self) -> bool:
        return self.error is not None


def place_key(file_name: str, row: int) -> str:
    """The key of a row of a file: a place in it, not the department's id of a decision."""
    return f"{file_name}#{row}"


def is_place_key(key: str) -> bool:
    """A key :func:`place_key` made: a file's name (with its extension) and a row number."""
    name, sep, row = key.rpartition("#")
    return bool(sep and "." in name.strip(".") and row.isdigit())


@dataclass(frozen=True)
class ItemError:
    """What a source yields for an item it cannot read: quarantined with ``reason``, the read goes on.
    ``data`` is what there is of the item (kept, masked, in the quarantine); ``key`` its id if known."""

    reason: str
    data: Mapping[str, Any] | None = None
    key: str | None = None


Item = Mapping[str, Any] | RawRecord | ItemError


class AdapterOptions(BaseModel):
    """Base of every options model: unknown keys are errors (a typo must not be silently ignored)."""

    model_config = ConfigDict(extra="forbid", frozen=True)


class StreamOptions(AdapterOptions):
    """Where a record's id and cursor are, for sources that yield plain dicts."""

    key_field: str = Field(default="id", description="dotted path of the record's own id")
    cursor_field: str | None = Field(default="updated_at", description="dotted path of its cursor; "
                                     "null: no cursor, every read is a full read")
    cursor_format: CursorFormat = Field(default_factory=CursorFormat,
                                        description="iso8601, epoch_s, epoch_ms, row_version, text, "
                                                    "or {type: date, pattern: '%Y%m%d%H%M%S'}")
    timezone: str | None = Field(default=None, description="IANA zone of cursor values without an "
                                 "offset, and of the cursor sent back; e.g. Asia/Shanghai")

    @field_validator("timezone")
    @classmethod
    def _known_zone(cls, value: str | None) -> str | None:
        zone_of(value)
        return value


@dataclass(frozen=True)
class RecordShape:
    """Where the framework finds a dict's key and cursor, and how the cursor is written."""

    key_field: str = "id"
    cursor_field: str | None = "updated_at"
    cursor_format: CursorFormat = field(default_factory=CursorFormat)
    zone: tzinfo | None = None

    @classmethod
    def of(cls, options: Any) -> RecordShape:
        return cls(getattr(options, "key_field", "id"), getattr(options, "cursor_field", None),
                   getattr(options, "cursor_format", None) or CursorFormat(),
                   zone_of(getattr(options, "timezone", None)))

    def parse_stored(self, cursor: Cursor | str | None) -> Cursor | None:
        if cursor is None or isinstance(cursor, Cursor):
            return cursor
        return self.cursor_format.parse_stored(cursor, self.zone)

    def render(self, cursor: Cursor, fmt: CursorFormat | None = None) -> str:
        return (fmt or self.cursor_format).render(cursor, self.zone)


class SourceAdapter(ABC):
    """Reads a department's system incrementally, one stream (category) at a time.

    ``__init__`` only validates: no network I/O happens until a read or a check."""

    kind: ClassVar[str]
    options_model: ClassVar[type[BaseModel]] = AdapterOptions
    stream_options_model: ClassVar[type[BaseModel]] = AdapterOptions
    requires_connection: ClassVar[bool] = True
    # Dict options a stream merges key by key into the source's (query params, namespaces); tagged ones
    # (a paginator) only when the stream names the same ``type`` or none.
    merge_dicts: ClassVar[tuple[str, ...]] = ()
    merge_tagged: ClassVar[tuple[str, ...]] = ()
    # True: records come in ascending cursor order (checked). False: in any order (a feed in document
    # order); the framework keeps those at or after the cursor and the pipeline commits the highest.
    ordered: ClassVar[bool] = True
    # True: after a transient failure the framework reads again from the last cursor it yielded.
    # Sources that retry each request themselves (HTTP, the database) set False.
    retry_reads: ClassVar[bool] = True
    # True: the source calls ``self.rate_limiter`` for each request itself (HTTP sources); otherwise
    # the framework does, once per page a source starts (``StreamRead.start_page``).
    rate_limits_requests: ClassVar[bool] = False
    # True: a record's key is the department's own id of a decision (a key field): a later record under
    # the same key is that decision again, even under another 文书号. False: the key is a place (a file's
    # name and row); next week's file of the same name holds other decisions in the same rows.
    keys_identify: ClassVar[bool] = True

    def __init__(
        self,
        department: str,
        options: Mapping[str, Any] | None,
        connection: Connection | None,
        *,
        rate_limit_per_s: float | None = None,
        limits: SourceLimits | None = None,
    ) -> None:
        self.department = department
        self.options = validate_options(self.options_model, options, self._where())
        if connection is None and self.requires_connection:
            raise ConfigurationError(
                f"department {department!r}: the {self.kind} source needs a connection "
                "(set source.connection_id)",
                department=department,
            )
        self.connection = connection
        self.rate_limiter = RateLimiter(rate_limit_per_s)
        self.limits = limits or SourceLimits()

    # -- what a source implements ------------------------------------------------------------------

    @abstractmethod
    def records(self, read: StreamRead) -> Iterable[Item]:
        """Yield the stream's records whose cursor is ``>= read.cursor`` (ascending when ``ordered``).

        Must be a generator (never materialise the source). Records *equal* to the cursor are included
        on purpose: the framework drops the exact re-reads, while an exclusive bound would lose records
        sharing the last cursor value."""

    def check(self) -> None:  # noqa: B027 - optional hook, deliberately not abstract
        """Prove the source is reachable and accepts our credentials; raise otherwise. The default
        does nothing: ``creditsync check`` reads a page of every stream anyway."""

    @classmethod
    def normalise(cls, data: dict[str, Any], options: Any) -> dict[str, Any] | ItemError:
        """A dict as the records of this source look (the SQL source turns database values into
        text, zero dates into nothing); applied to what ``records`` yields and to sample files given
        to ``creditsync map``, so a preview reads a value as a sync does. No I/O."""
        return data

    def record_shape(self, options: Any) -> RecordShape:
        return RecordShape.of(options)

    def on_cursor_committed(  # noqa: B027 - optional hook, deliberately not abstract
        self, stream: str, stream_options: Mapping[str, Any], cursor: Cursor
    ) -> None:
        """Called by the pipeline after ``cursor`` of ``stream`` is durably committed: every record read
        up to it has been answered by the platform or quarantined. For sources that must act on
        delivery (the file adapter moves delivered files to processed/). Must be idempotent; may run
        in another process than the read (another Airflow task). The default does nothing."""

    def close(self) -> None:  # noqa: B027 - optional hook, deliberately not abstract
        """Release connections; the default has nothing to release."""

    # -- what the framework offers -----------------------------------------------------------------

    def read(self, stream: str, stream_options: Mapping[str, Any] | None, cursor: Cursor | str | None,
             *, preview: bool = False, max_pages: int | None = None) -> Iterator[RawRecord]:
        """The stream's records after ``cursor``, with every obligation of the contract enforced.
        ``preview``: write nothing (no ledgers, no moved files); ``max_pages``: stop after that many."""
        from creditsync.sources.reading import read_stream

        return read_stream(self, stream, stream_options, cursor, preview=preview, max_pages=max_pages)

    @classmethod
    def check_configuration(cls, department: str, options: Mapping[str, Any] | None,
                            streams: Mapping[str, Mapping[str, Any]]) -> None:
        """Validate the source's options and each stream's (merged with the source's) against the
        options models, with no Connection and no I/O: a misspelt option (``items_feild``) fails when
        the department file loads, so its DAG shows the configuration error before any task runs."""
        where = f"department {department!r}, {cls.kind} source"
        source = validate_options(cls.options_model, options, where)
        for stream, stream_options in streams.items():
            cls._merge_stream_options(source, stream_options, f"{where}, stream {stream!r}")

    @classmethod
    def _merge_stream_options(cls, source: BaseModel, stream_options: Mapping[str, Any] | None,
                              where: str) -> Any:
        fields = set(cls.stream_options_model.model_fields)
        defaults = source.model_dump(include=fields, exclude_unset=True)
        overrides = dict(stream_options or {})
        merged = {**defaults, **overrides}
        for name in (*cls.merge_dicts, *cls.merge_tagged):
            given, default = overrides.get(name), defaults.get(name)
            if not (isinstance(given, Mapping) and isinstance(default, Mapping)):
                continue
            if name in cls.merge_dicts or given.get("type", default.get("type")) == default.get("type"):
                merged[name] = {**default, **given}
        return validate_options(cls.stream_options_model, merged, where)

    def stream_options(self, stream: str, stream_options: Mapping[str, Any] | None) -> Any:
        """The stream's options: what the source sets as defaults, overridden by the stream's own;
        the ``merge_dicts`` options are merged key by key. Adapters add their own requirements."""
        return self._merge_stream_options(self.options, stream_options, self._where(stream))

    merged_stream_options = stream_options

    def __enter__(self) -> Self:
        return self

    def __exit__(
        self, exc_type: type[BaseException] | None, exc: BaseException | None, tb: TracebackType | None
    ) -> None:
        self.close()

    def _where(self, stream: str | None = None) -> str:
        where = f"department {self.department!r}, {self.kind} source"
        return f"{where}, stream {stream!r}" if stream else where


def type_of(default: str, tags: tuple[str, ...] = ()) -> Callable[[Any], str | None]:
    """A tagged union's discriminator whose ``type:`` may be left out (then ``default``); an unknown
    type is reported as such, naming the known ones (pydantic's ``union_tag_invalid``)."""
    UNION_TAGS.update(tags)

    def tag(value: Any) -> str | None:
        if isinstance(value, Mapping):
            given = value.get("type", default)
            return given if isinstance(given, str) else None
        return getattr(value, "type", None)

    return tag


def validate_options(model: type[BaseModel], options: Mapping[str, Any] | None, where: str) -> Any:
    """``model(**options)`` with errors that name where the bad key is and what is wrong with it."""
    try:
        return model.model_validate(dict(options or {}))
    except ValidationError as exc:
        problems = "; ".join(_describe(error) for error in exc.errors())
        raise ConfigurationError(f"{where}: {problems}") from None


def _describe(error: Mapping[str, Any]) -> str:
    key = ".".join(str(part) for part in error["loc"] if not _is_union_tag(part)) or "(options)"
    if error["type"] == "extra_forbidden":
        return f"unknown option {key!r}"
    return f"option {key!r}: {error['msg']}"


# Tags of the options' tagged unions (paginator and auth types): pydantic puts the chosen member's tag
# in an error's location (``paginator.page_number.page_sise``); people wrote ``paginator.page_sise``.
UNION_TAGS: set[str] = set()


def _is_union_tag(part: Any) -> bool:
    return isinstance(part, str) and part in UNION_TAGS


class RateLimiter:
    """A token bucket: at most ``rate_per_s`` calls a second on average, bursts of ``burst``.

    Airflow pools bound concurrency, not request rate, hence this. ``clock`` and ``sleep`` are seams so
    tests never wait. ``rate_per_s=None`` disables limiting. Thread-safe.
    """

    def __init__(
        self,
        rate_per_s: float | None,
        burst: int = 1,
        *,
        clock: Callable[[], float] = time.monotonic,
        sleep: Callable[[float], None] = time.sleep,
    ) -> None:
        if rate_per_s is not None and rate_per_s <= 0:
            raise ConfigurationError(f"rate limit must be positive, got {rate_per_s}")
        self.rate_per_s = rate_per_s
        self.burst = max(1, burst)
        self._clock, self._sleep = clock, sleep
        self._tokens = float(self.burst)
        self._last = clock()
        self._lock = threading.Lock()

    def acquire(self) -> float:
        """Take one token, sleeping until one is available; returns the seconds waited."""
        if self.rate_per_s is None:
            return 0.0
        with self._lock:
            wait = self._reserve(self.rate_per_s)
        if wait > 0:
            self._sleep(wait)
        return wait

    def _reserve(self, rate: float) -> float:
        now = self._clock()
        self._tokens = min(float(self.burst), self._tokens + (now - self._last) * rate)
        self._last = now
        self._tokens -= 1.0  # may go negative: the debt is what the caller sleeps off
        return 0.0 if self._tokens >= 0 else -self._tokens / rate
