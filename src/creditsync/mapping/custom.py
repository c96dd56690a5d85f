"""The escape hatch: named Python functions that a mapping may call as ``{custom: name}``.

A mapping can never name a module or carry code; it can only name a function that Python code has
registered here, so what a mapping file can do is exactly what reviewed code allows. Two kinds:

* a *transform* ``func(value, **args) -> value``: used in a field's ``transforms`` list;
* a *source* ``func(record, **args) -> value``: used as a field's source, for values that depend on
  several source fields at once.

Register with the decorators (in a module imported before mappings load) or through the entry-point
groups ``creditsync.mapping_transforms`` / ``creditsync.mapping_sources`` (the entry point's name is the
transform name). Unknown names are a :class:`ConfigurationError` when the mapping loads, never later.
"""

from __future__ import annotations

import inspect
import re
from collections.abc import Callable, Mapping
from importlib.metadata import entry_points
from typing import Any, Literal, TypeVar

from creditsync.exceptions import ConfigurationError

Kind = Literal["transform", "source"]
F = TypeVar("F", bound=Callable[..., Any])

_NAME = re.compile(r"^[a-z][a-z0-9_]*$")
_ENTRY_POINT_GROUPS: dict[Kind, str] = {
    "transform": "creditsync.mapping_transforms",
    "source": "creditsync.mapping_sources",
}
_registries: dict[Kind, dict[str, Callable[..., Any]]] = {"transform": {}, "source": {}}
_entry_points_loaded: set[Kind] = set()


def custom_transform(name: str) -> Callable[[F], F]:
    """Register ``func(value, **args)`` as ``{custom: name}`` in a field's ``transforms``."""
    return lambda func: _register("transform", name, func)


def custom_source(name: str) -> Callable[[F], F]:
    """Register ``func(record, **args)`` as the source ``{custom: name}`` of a field."""
    return lambda func: _register("source", name, func)


def _register(kind: Kind, name: str, func: F) -> F:
    if not _NAME.match(name):
        raise ConfigurationError(f"custom {kind} name {name!r} must be lower_snake_case")
    existing = _registries[kind].get(name)
    # Re-registering the same function is harmless (module reloads); a different one would silently
    # change what every mapping using the name does.
    if existing is not None and existing is not func:
        raise ConfigurationError(f"custom {kind} {name!r} is already registered to {existing!r}")
    _registries[kind][name] = func
    return func


def unregister(kind: Kind, name: str) -> None:
    """Remove a registration (tests use it to keep the global registry clean)."""
    _registries[kind].pop(name, None)


def registered(kind: Kind) -> list[str]:
    _load_entry_points(kind)
    return sorted(_registries[kind])


def get(kind: Kind, name: str) -> Callable[..., Any]:
    """The registered function, or ConfigurationError naming the known ones."""
    if name not in _registries[kind]:
        _load_entry_points(kind)
    try:
        return _registries[kind][name]
    except KeyError:
        known = ", ".join(registered(kind)) or "none"
        raise ConfigurationError(f"unknown custom {kind} {name!r} (registered: {known})") from None


def check_arguments(kind: Kind, name: str, args: Mapping[str, Any]) -> None:
    """Fail at load time, not on the first record, when ``args`` do not fit the function."""
    func = get(kind, name)
    try:
        inspect.signature(func).bind(None, **args)
    except TypeError as exc:
        raise ConfigurationError(
            f"custom {kind} {name!r} does not accept args {dict(args)!r}: {exc}"
        ) from None


def _load_entry_points(kind: Kind) -> None:
    if kind in _entry_points_loaded:
        return
    _entry_points_loaded.add(kind)
    for point in entry_points(group=_ENTRY_POINT_GROUPS[kind]):
        _register(kind, point.name, point.load())
