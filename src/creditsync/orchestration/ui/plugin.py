"""What ``plugins/creditsync_plugin.py`` registers with Airflow: the console's app and its menu entries
under Browse that frame it inside the Airflow UI (external views with a ``url_route``). The entries are
named 信用同步·… so that they never collide with Airflow's own (its audit log is 审计日志 too); and the
listener that gives a department's run that was not clean a note in the grid."""

from __future__ import annotations

import sys
from collections.abc import Awaitable, Callable, MutableMapping
from typing import Any
from urllib.parse import urlsplit

from airflow.configuration import conf
from airflow.plugins_manager import AirflowPlugin

from creditsync.orchestration import listeners
from creditsync.orchestration.ui import URL_PREFIX

Scope = MutableMapping[str, Any]
Receive = Callable[[], Awaitable[MutableMapping[str, Any]]]
Send = Callable[[MutableMapping[str, Any]], Awaitable[None]]


SWITCH_INTERVAL_S = 0.001  # sys.setswitchinterval in the api-server (Python's default: 0.005)


class LazyApp:
    """The FastAPI app (creditsync.orchestration.ui.app), built on its first request.

    Every task loads every plugin (Airflow looks for macros there): importing the app, FastAPI and
    Airflow's API security module would cost each task about a second, for pages only the api-server
    serves. The app has no lifespan to run, so the api-server needs nothing more than an ASGI callable.
    Once built, the process's heap is frozen (creditsync.heap): a full collection would otherwise stall
    every request in flight, credit checks inside approval forms included, for a fifth of a second. And
    the interpreter hands the GIL over every millisecond instead of every five: while the check binder's
    batch runs (pure Python, tens of milliseconds), a request waiting for its database answer waited up
    to 5 ms to run again after each of its round trips, which made the check's p99 13-24 ms at 200/s
    instead of 9 (benchmarks/RESULTS.md, credit check).
    """

    def __init__(self) -> None:
        self._app: Callable[[Scope, Receive, Send], Awaitable[None]] | None = None

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if self._app is None:
            from creditsync.heap import freeze_startup_heap
            from creditsync.orchestration.ui.app import create_app

            self._app = create_app()
            freeze_startup_heap()
            sys.setswitchinterval(SWITCH_INTERVAL_S)
        await self._app(scope, receive, send)


def _href(path: str) -> str:
    """The page's URL under Airflow's ``[api] base_url`` path, as the UI's iframe needs it."""
    root = urlsplit(conf.get("api", "base_url", fallback="") or "/").path.rstrip("/")
    return f"{root}{URL_PREFIX}{path}"


MENU = (("信用同步·概览", "/", "creditsync-status"),
        ("信用同步·隔离记录", "/quarantine", "creditsync-quarantine"),
        ("信用同步·记录", "/record", "creditsync-records"),
        ("信用同步·审计", "/audit", "creditsync-audit"),
        ("信用同步·质量", "/quality", "creditsync-quality"),
        ("信用同步·信用核查", "/credit", "creditsync-credit"))


def external_views() -> list[dict[str, Any]]:
    return [{"name": name, "href": _href(path), "destination": "nav", "category": "browse",
             "url_route": route} for name, path, route in MENU]


class CreditSyncPlugin(AirflowPlugin):
    name = "creditsync"
    fastapi_apps = [{"app": LazyApp(), "url_prefix": URL_PREFIX, "name": "CreditSync"}]  # noqa: RUF012
    external_views = external_views()
    listeners = [listeners]  # noqa: RUF012 - notes on runs that were not clean (orchestration.listeners)
