"""Which adapter class serves which ``kind``: an explicit registry plus an entry-point group.

Built-in adapters register themselves with :func:`register_adapter` when their module is imported;
the modules are listed in ``_BUILTIN_MODULES`` (explicit beats scanning). Adapters packaged separately
declare an entry point in the ``creditsync.adapters`` group, e.g. in their ``pyproject.toml``::

    [project.entry-points."creditsync.adapters"]
    soap = "acme_creditsync_soap:SoapSourceAdapter"

An entry point that fails to load does not break the other kinds: the failure is remembered and
reported only when that kind is asked for.
"""

from __future__ import annotations

import importlib
import logging
from collections.abc import Callable, Iterable, Mapping
from importlib.metadata import entry_points
from typing import TYPE_CHECKING, Any, Protocol, TypeVar

from creditsync.exceptions import ConfigurationError
from creditsync.secrets import Connection, get_connection
from creditsync.sources.base import SourceAdapter, validate_options
from creditsync.sources.limits import SourceLimits

if TYPE_CHECKING:
    from creditsync.departments import DepartmentConfig

log = logging.getLogger(__name__)

ENTRY_POINT_GROUP = "creditsync.adapters"
_BUILTIN_MODULES = ("creditsync.sources.rest", "creditsync.sources.sql", "creditsync.sources.xml",
                    "creditsync.sources.files")
# A built-in kind needs only its own module (its HTTP or database client, not every adapter's)
_BUILTIN_KINDS = {"rest": "creditsync.sources.rest", "sql": "creditsync.sources.sql",
                  "xml": "creditsync.sources.xml", "file": "creditsync.sources.files"}

_ADAPTERS: dict[str, type[SourceAdapter]] = {}
_BROKEN: dict[str, str] = {}  # entry-point name -> why it did not load
_loaded = False

A = TypeVar("A", bound=type[SourceAdapter])


class EntryPointLike(Protocol):
    name: str

    def load(self) -> Any: ...


def register_adapter(cls: A) -> A:
    """Class decorator: make ``cls`` the adapter for ``cls.kind``. Re-registering the same class is a
    no-op; a second class claiming a taken kind is a ConfigurationError (silent override hides bugs)."""
    if not (isinstance(cls, type) and issubclass(cls, SourceAdapter)):
        raise ConfigurationError(f"{cls!r} is not a SourceAdapter subclass")
    kind = getattr(cls, "kind", None)
    if not isinstance(kind, str) or not kind:
        raise ConfigurationError(f"adapter {cls.__qualname__} must set a non-empty class attribute 'kind'")
    existing = _ADAPTERS.get(kind)
    if existing is not None and existing is not cls:
        raise ConfigurationError(
            f"adapter kind {kind!r} is already registered by {_qualified(existing)}; "
            f"{_qualified(cls)} cannot take it"
        )
    _ADAPTERS[kind] = cls
    return cls


def get_adapter_class(kind: str) -> type[SourceAdapter]:
    if kind not in _ADAPTERS and kind in _BUILTIN_KINDS:
        importlib.import_module(_BUILTIN_KINDS[kind])
    if kind in _ADAPTERS:
        return _ADAPTERS[kind]
    _ensure_loaded()
    try:
        return _ADAPTERS[kind]
    except KeyError:
        pass
    if kind in _BROKEN:
        raise ConfigurationError(f"source kind {kind!r} is installed but failed to load: {_BROKEN[kind]}")
    known = ", ".join(available_kinds()) or "none"
    raise ConfigurationError(f"unknown source kind {kind!r} (known kinds: {known})")


def available_kinds() -> list[str]:
    _ensure_loaded()
    return sorted(_ADAPTERS)


def create_adapter(
    kind: str,
    department: str,
    options: Mapping[str, Any] | None,
    connection: Connection | None,
    *,
    rate_limit_per_s: float | None = None,
    limits: SourceLimits | None = None,
) -> SourceAdapter:
    """Convenience: look the class up and instantiate it (validation only, no I/O)."""
    adapter_class = get_adapter_class(kind)
    return adapter_class(department, options, connection, rate_limit_per_s=rate_limit_per_s, limits=limits)


def open_source(department: DepartmentConfig) -> SourceAdapter:
    """The live adapter of a department's configured source, with its Connection (no I/O yet)."""
    source = department.source
    adapter_class = get_adapter_class(source.kind)
    connection = get_connection(source.connection_id) if source.connection_id else None
    return adapter_class(department.department, source.options, connection,
                         rate_limit_per_s=department.rate_limit_per_s, limits=source.limits)


def check_source_options(department: DepartmentConfig) -> None:
    """The department's source and stream options checked against its adapter's options models
    (ConfigurationError naming the option), without a Connection or any I/O."""
    adapter_class = get_adapter_class(department.source.kind)
    streams = {stream.category: stream.options for stream in department.streams}
    adapter_class.check_configuration(department.department, department.source.options, streams)


def sample_values(department: DepartmentConfig, category: str) -> Callable[[dict[str, Any]], Any]:
    """How the department's source turns a record it read into record data (``normalise``), for a
    sample file of that stream: ``creditsync map`` reads a value through the same code as a sync
    (a MariaDB ``0000-00-00`` is empty in both). No Connection, no I/O."""
    adapter_class = get_adapter_class(department.source.kind)
    where = f"department {department.department!r}, {adapter_class.kind} source, stream {category!r}"
    source = validate_options(adapter_class.options_model, department.source.options, where)
    options = adapter_class._merge_stream_options(source, department.stream(category).options, where)
    return lambda data: adapter_class.normalise(data, options)


def load_entry_points(points: Iterable[EntryPointLike] | None = None) -> list[str]:
    """Register the adapters of the entry-point group (or of ``points``); returns the kinds added."""
    added = []
    for point in entry_points(group=ENTRY_POINT_GROUP) if points is None else points:
        kind = _load_entry_point(point)
        if kind:
            added.append(kind)
    return added


def _load_entry_point(point: EntryPointLike) -> str | None:
    try:
        cls = point.load()
        register_adapter(cls)
    except Exception as exc:  # a broken plugin must not take the built-in kinds down with it
        _BROKEN[point.name] = f"{type(exc).__name__}: {exc}"
        log.warning("source adapter entry point %r failed to load: %s", point.name, exc)
        return None
    if cls.kind != point.name:
        log.warning("entry point %r registers adapter kind %r", point.name, cls.kind)
    _BROKEN.pop(cls.kind, None)
    return str(cls.kind)


def _ensure_loaded() -> None:
    global _loaded
    if _loaded:
        return
    _loaded = True  # set first: a plugin importing this module must not recurse
    for module in _BUILTIN_MODULES:
        importlib.import_module(module)
    load_entry_points()


def _qualified(cls: type) -> str:
    return f"{cls.__module__}.{cls.__qualname__}"
