"""The adapter contract: what every source (REST, XML, SQL, file) promises the pipeline.

An adapter is a subclass of :class:`SourceAdapter` with two declarative class attributes (``kind`` and
``options_model``; optionally ``stream_options_model``) and two override points (:meth:`read`,
:meth:`check`; optionally :meth:`on_cursor_committed`), in the spirit of singer-sdk streams. Register
it with ``creditsync.sources.registry.register_adapter`` or the ``creditsync.adapters`` entry-point group.

Error contract (see ``creditsync.exceptions``):

* bad options, missing connection → ``ConfigurationError`` (raised by ``__init__``, before any I/O);
* transport failure, 5xx, 429, a truncated/unparseable page → ``RetriableError`` (the adapter has
  already retried with its policy; the stream fails and the cursor is not advanced);
* credentials refused (401/403), a response that breaks the protocol → ``FatalError``;
* one malformed *item* is not an exception: it is yielded as a :class:`RawRecord` whose ``error`` is
  set, so the pipeline quarantines it and the run carries on.
"""

from __future__ import annotations

import threading
import time
from abc import ABC, abstractmethod
from collections.abc import Callable, Iterator, Mapping
from dataclasses import dataclass
from types import TracebackType
from typing import Any, ClassVar, Self

from pydantic import BaseModel, ConfigDict, ValidationError

from creditsync.exceptions import ConfigurationError
from creditsync.secrets import Connection


@dataclass(frozen=True)
class RawRecord:
    """One record as the department's system holds it, before any mapping.

    ``key`` is the source's own record id; ``cursor`` is the record's watermark value (e.g. its
    ``updated_at``). ``error`` is set when the item itself is malformed (not an object, no id, no
    cursor): such records carry ``cursor=None`` so a bad value can never move the watermark.
    """

    stream: str
    key: str
    data: dict[str, Any]
    cursor: str | None = None
    error: str | None = None

    @property
    def is_bad(self) -> bool:
        return self.error is not None


class AdapterOptions(BaseModel):
    """Base of every options model: unknown keys are errors (a typo must not be silently ignored)."""

    model_config = ConfigDict(extra="forbid", frozen=True)


class SourceAdapter(ABC):
    """Reads a department's system incrementally, one stream (category) at a time.

    Subclasses set ``kind`` and ``options_model`` and implement :meth:`read` and :meth:`check`.
    ``__init__`` only validates: no network I/O happens until ``read``/``check`` is called.
    """

    kind: ClassVar[str]
    options_model: ClassVar[type[BaseModel]] = AdapterOptions
    stream_options_model: ClassVar[type[BaseModel]] = AdapterOptions
    requires_connection: ClassVar[bool] = True
    # Dict options a stream merges key by key into the source's (query params, namespaces).
    merge_dicts: ClassVar[tuple[str, ...]] = ()

    def __init__(
        self,
        department: str,
        options: Mapping[str, Any] | None,
        connection: Connection | None,
        *,
        rate_limit_per_s: float | None = None,
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
        for name in cls.merge_dicts:
            if isinstance(overrides.get(name), Mapping) and name in defaults:
                merged[name] = {**defaults[name], **overrides[name]}
        return validate_options(cls.stream_options_model, merged, where)

    def stream_options(self, stream: str, stream_options: Mapping[str, Any] | None) -> BaseModel:
        """Validated options of one stream; adapters may merge adapter-level defaults first."""
        return validate_options(self.stream_options_model, stream_options, self._where(stream))

    @abstractmethod
    def read(self, stream: str, stream_options: Mapping[str, Any], cursor: str | None) -> Iterator[RawRecord]:
        """Yield the stream's records whose cursor is ``>= cursor``, in ascending cursor order.

        Must be a generator (never materialise the source). Records *equal* to ``cursor`` are
        included on purpose: the pipeline dedupes by content hash, so re-reading the boundary is safe,
        while an exclusive bound would lose records sharing the last cursor value.
        """

    @abstractmethod
    def check(self) -> None:
        """Prove the source is reachable and accepts our credentials; raise otherwise."""

    def on_cursor_committed(  # noqa: B027 - optional hook, deliberately not abstract
        self, stream: str, stream_options: Mapping[str, Any], cursor: str
    ) -> None:
        """Called by the pipeline after ``cursor`` of ``stream`` is durably committed: every record read
        up to it has been answered by the platform or quarantined. For sources that must act on
        delivery (the file adapter moves delivered files to processed/). Must be idempotent; may run
        in another process than ``read`` (another Airflow task). The default does nothing."""

    def close(self) -> None:  # noqa: B027 - optional hook, deliberately not abstract
        """Release connections; the default has nothing to release."""

    def __enter__(self) -> Self:
        return self

    def __exit__(
        self, exc_type: type[BaseException] | None, exc: BaseException | None, tb: TracebackType | None
    ) -> None:
        self.close()

    def merged_stream_options(self, stream: str, stream_options: Mapping[str, Any] | None) -> Any:
        """The stream's options: what the source sets as defaults, overridden by the stream's own;
        the ``merge_dicts`` options (query params, namespaces) are merged key by key, not replaced."""
        return self._merge_stream_options(self.options, stream_options, self._where(stream))

    def _where(self, stream: str | None = None) -> str:
        where = f"department {self.department!r}, {self.kind} source"
        return f"{where}, stream {stream!r}" if stream else where


def validate_options(model: type[BaseModel], options: Mapping[str, Any] | None, where: str) -> Any:
    """``model(**options)`` with errors that name where the bad key is and what is wrong with it."""
    try:
        return model.model_validate(dict(options or {}))
    except ValidationError as exc:
        problems = "; ".join(_describe(error) for error in exc.errors())
        raise ConfigurationError(f"{where}: {problems}") from None


def _describe(error: Mapping[str, Any]) -> str:
    key = ".".join(str(part) for part in error["loc"]) or "(options)"
    if error["type"] == "extra_forbidden":
        return f"unknown option {key!r}"
    return f"option {key!r}: {error['msg']}"


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
