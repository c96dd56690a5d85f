"""The 措施清单 (``$CREDITSYNC_HOME/credit/measures.yaml``): the measures each matter applies, as data.

A check applies, of the measures a subject's list entries name, those in its matter's list. The file also
names who may call the check (``credit/access.yaml``). Both are read once per change of the file."""

from __future__ import annotations

import threading
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path
from typing import Any, TypeVar, cast

import yaml

from creditsync.exceptions import ConfigurationError, InvalidRequest

CREDIT_DIR = "credit"
MEASURES_FILE = "measures.yaml"
ACCESS_FILE = "access.yaml"
CHECK_ROLE = "credit_check"
T = TypeVar("T")


@dataclass(frozen=True)
class Measure:
    code: str
    name: str
    basis: str


@dataclass(frozen=True)
class Matter:
    code: str
    name: str
    department: str | None
    measures: tuple[str, ...]


@dataclass(frozen=True)
class Catalogue:
    measures: dict[str, Measure]
    matters: dict[str, Matter]

    def matter(self, code: str) -> Matter:
        found = self.matters.get(code)
        if found is None:
            raise InvalidRequest(f"unknown matter {code!r} 未知的事项编码（措施清单中没有）")
        return found

    def measure(self, code: str) -> Measure:
        return self.measures.get(code) or Measure(code, code, "")


_cache: dict[tuple[Path, str], tuple[float, Any]] = {}
_lock = threading.Lock()


def read_yaml(path: Path) -> Any:
    try:
        stamp = path.stat().st_mtime
    except OSError as exc:
        raise ConfigurationError(f"{path} is missing", path=str(path)) from exc
    with _lock:
        cached = _cache.get((path, "raw"))
        if cached and cached[0] == stamp:
            return cached[1]
    try:
        data = yaml.safe_load(path.read_text(encoding="utf-8")) or {}
    except yaml.YAMLError as exc:
        raise ConfigurationError(f"{path}: not valid YAML: {exc}") from exc
    with _lock:
        _cache[(path, "raw")] = (stamp, data)
    return data


_built: dict[tuple[Path, str], tuple[Any, Any]] = {}  # what was built from each file's data as read


def _built_from(path: Path, kind: str, data: Any, build: Callable[[Any], T]) -> T:
    """``build(data)``, once per version of the file (the api-server asks on every check)."""
    with _lock:
        known = _built.get((path, kind))
    if known is not None and known[0] is data:
        return cast(T, known[1])
    value = build(data)
    with _lock:
        _built[(path, kind)] = (data, value)
    return value


def load_catalogue(home: Path) -> Catalogue:
    path = home / CREDIT_DIR / MEASURES_FILE
    return _built_from(path, "catalogue", read_yaml(path), _catalogue)


def _catalogue(data: Any) -> Catalogue:
    try:
        measures = {str(code): Measure(str(code), str(m["name"]), str(m.get("basis", "")))
                    for code, m in (data.get("measures") or {}).items()}
        matters = {str(code): Matter(str(code), str(m["name"]), m.get("department"),
                                     tuple(str(x) for x in m.get("measures") or ()))
                   for code, m in (data.get("matters") or {}).items()}
    except (AttributeError, KeyError, TypeError) as exc:
        raise ConfigurationError(f"credit/measures.yaml: every measure and matter needs a name ({exc})") \
            from exc
    unknown = {code for matter in matters.values() for code in matter.measures} - set(measures)
    if unknown:
        raise ConfigurationError(f"credit/measures.yaml: matters name unknown measures {sorted(unknown)}")
    return Catalogue(measures, matters)


def check_users(home: Path) -> dict[str, str]:
    """Service users in the check role under the SimpleAuthManager: user name → department."""
    path = home / CREDIT_DIR / ACCESS_FILE
    if not path.exists():
        return {}
    return dict(_built_from(path, "users", read_yaml(path), _check_users))


def _check_users(data: Any) -> dict[str, str]:
    users = data.get("check_users") or {}
    if not isinstance(users, dict):
        raise ConfigurationError("credit/access.yaml: check_users must map user names to departments")
    return {str(k): str(v) for k, v in users.items()}
