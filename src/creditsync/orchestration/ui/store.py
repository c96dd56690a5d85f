"""The gateway store and department files as the api-server process sees them.

The store URL comes from CREDITSYNC_DB_URL / CREDITSYNC_HOME like everywhere else, read per request so
a changed environment needs no code change; one engine per URL is kept for the life of the process.
A page view never creates or migrates the store: that is ``creditsync db-upgrade``'s job.
"""

from __future__ import annotations

import threading
from pathlib import Path

from sqlalchemy.engine import make_url

from creditsync.departments import DepartmentConfig, load_department_file, load_departments
from creditsync.exceptions import ConfigurationError, CreditSyncError
from creditsync.settings import load_settings
from creditsync.store import Store, open_store

_stores: dict[str, Store] = {}
_lock = threading.Lock()


class StoreUnavailable(CreditSyncError):
    """The gateway store does not exist yet (or its URL is unusable)."""


def gateway_store() -> Store:
    url = load_settings().db_url
    with _lock:
        if url not in _stores:
            _check_exists(url)
            _stores[url] = open_store(url, migrate=False)
        return _stores[url]


def _check_exists(url: str) -> None:
    """On SQLite, opening a missing file would create an empty database: refuse instead."""
    try:
        parsed = make_url(url)
    except Exception:  # its message would quote the URL, password and all
        raise StoreUnavailable("CREDITSYNC_DB_URL is not a database URL") from None
    on_disk = parsed.get_backend_name() == "sqlite" and parsed.database not in (None, "", ":memory:")
    if on_disk and not Path(str(parsed.database)).exists():
        raise StoreUnavailable("the gateway store has not been created")


def configured_departments() -> tuple[list[DepartmentConfig], list[str]]:
    """The department files, and a message per file that does not load (the others still show)."""
    adapters_dir = load_settings().adapters_dir
    try:
        return load_departments(adapters_dir), []
    except ConfigurationError:
        pass
    configs: list[DepartmentConfig] = []
    problems: list[str] = []
    for path in sorted(adapters_dir.glob("*.yaml")):
        try:
            configs.append(load_department_file(path))
        except ConfigurationError as exc:
            problems.append(str(exc))
    return configs, problems


def close_stores() -> None:
    with _lock:
        for store in _stores.values():
            store.dispose()
        _stores.clear()
