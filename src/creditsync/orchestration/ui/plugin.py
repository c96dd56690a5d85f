"""What ``plugins/creditsync_plugin.py`` registers with Airflow: the pages' app and two menu entries
under Browse that frame them inside the Airflow UI (external views with a ``url_route``)."""

from __future__ import annotations

from collections.abc import Awaitable, Callable, MutableMapping
from typing import Any
from urllib.parse import urlsplit

from airflow.configuration import conf
from airflow.plugins_manager import AirflowPlugin

from creditsync.orchestration.ui import URL_PREFIX

Scope = MutableMapping[str, Any]
Receive = Callable[[], Awaitable[MutableMapping[str, Any]]]
Send = Callable[[MutableMapping[str, Any]], Awaitable[None]]


class LazyApp:
    """The FastAPI app (creditsync.orchestration.ui.app), built on its first request.

    Every task loads every plugin (Airflow looks for macros there): importing the app, FastAPI and
    Airflow's API security module would cost each task about a second, for pages only the api-server
    serves. The app has no lifespan to run, so the api-server needs nothing more than an ASGI callable.
    """

    def __init__(self) -> None:
        self._app: Callable[[Scope, Receive, Send], Awaitable[None]] | None = None

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if self._app is None:
            from creditsync.orchestration.ui.app import create_app

            self._app = create_app()
        await self._app(scope, receive, send)


def _href(path: str) -> str:
    """The page's URL under Airflow's ``[api] base_url`` path, as the UI's iframe needs it."""
    root = urlsplit(conf.get("api", "base_url", fallback="") or "/").path.rstrip("/")
    return f"{root}{URL_PREFIX}{path}"


def external_views() -> list[dict[str, Any]]:
    return [
        {"name": "数据同步状态", "href": _href("/"), "destination": "nav", "category": "browse",
         "url_route": "creditsync-status"},
        {"name": "审计日志", "href": _href("/audit"), "destination": "nav", "category": "browse",
         "url_route": "creditsync-audit"},
    ]


class CreditSyncPlugin(AirflowPlugin):
    name = "creditsync"
    fastapi_apps = [{"app": LazyApp(), "url_prefix": URL_PREFIX, "name": "CreditSync"}]  # noqa: RUF012
    external_views = external_views()
