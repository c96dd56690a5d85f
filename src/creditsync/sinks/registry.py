"""Which sink delivers a department's outbox, built from configuration.

The deployment's sink is ``CREDITSYNC_SINK`` (default ``api``); a department file may override it
(``sink: {kind: exchange_db, options: {...}, conn_id: ...}``). Options come from the YAML file named by
``CREDITSYNC_SINK_CONFIG`` (a mapping per sink kind), overlaid by the department's own. Credentials and
addresses only through Airflow Connections or the environment, never from these files:

    api           CREDITSYNC_PLATFORM_URL / _APP_KEY, else the Connection creditsync_platform
    exchange_db   CREDITSYNC_EXCHANGE_DB_URL, else the Connection creditsync_exchange_db
    xml_envelope  options.folder, or options.url (+ the Connection creditsync_xml_envelope's password)
    template_file options.folder
"""

from __future__ import annotations

from collections.abc import Callable
from pathlib import Path
from typing import TYPE_CHECKING, Any

import yaml

from creditsync.exceptions import ConfigurationError
from creditsync.settings import EXCHANGE_DB_URL, SINK, SINK_CONFIG, Settings
from creditsync.sinks.base import Sink

if TYPE_CHECKING:
    from creditsync.departments import DepartmentConfig

KINDS = ("api", "exchange_db", "xml_envelope", "template_file")
DEFAULT_CONN_IDS = {"exchange_db": "creditsync_exchange_db", "xml_envelope": "creditsync_xml_envelope"}
DIALECTS = {"mysql": "mysql+pymysql", "mariadb": "mysql+pymysql", "postgres": "postgresql+psycopg2",
            "postgresql": "postgresql+psycopg2", "oracle": "oracle+oracledb", "dm": "dm+dmPython"}


def sink_kind(settings: Settings, department: DepartmentConfig | None = None) -> str:
    if department is not None and department.sink is not None:
        return department.sink.kind
    kind = SINK.read() or "api"
    if kind not in KINDS:
        raise ConfigurationError(f"CREDITSYNC_SINK={kind!r}: one of {', '.join(KINDS)}")
    return kind


def sink_options(settings: Settings, kind: str, department: DepartmentConfig | None = None) -> dict[str, Any]:
    options: dict[str, Any] = {}
    if path := SINK_CONFIG.read():
        try:
            loaded = yaml.safe_load(Path(path).read_text("utf-8")) or {}
        except (OSError, yaml.YAMLError) as exc:
            raise ConfigurationError(f"CREDITSYNC_SINK_CONFIG {path}: {exc}") from exc
        if not isinstance(loaded, dict):
            raise ConfigurationError(f"CREDITSYNC_SINK_CONFIG {path}: a mapping per sink kind")
        options.update(loaded.get(kind) or {})
    if department is not None and department.sink is not None:
        options.update(department.sink.options)
    return options


def sink_for(settings: Settings, department: DepartmentConfig | None = None) -> Sink:
    """The department's sink (or the deployment's, without a department)."""
    kind = sink_kind(settings, department)
    options = sink_options(settings, kind, department)
    conn_id = department.sink.conn_id if department is not None and department.sink is not None else None
    return BUILDERS[kind](settings, options, conn_id)


def _api(settings: Settings, options: dict[str, Any], conn_id: str | None) -> Sink:
    from creditsync.pipeline.runner import platform_client

    return platform_client(settings)


def _exchange_db(settings: Settings, options: dict[str, Any], conn_id: str | None) -> Sink:
    from creditsync.sinks.exchange_db import ExchangeDbSink, load_layout

    return ExchangeDbSink(exchange_db_url(conn_id), load_layout(options))


def exchange_db_url(conn_id: str | None = None) -> str:
    """CREDITSYNC_EXCHANGE_DB_URL, else the Connection (its type names the dialect)."""
    from creditsync.secrets import get_connection, register_secret

    if url := EXCHANGE_DB_URL.read():
        from sqlalchemy.engine import make_url

        register_secret(make_url(url).password)
        return url
    conn = get_connection(conn_id or DEFAULT_CONN_IDS["exchange_db"])
    dialect = DIALECTS.get(conn.conn_type, conn.conn_type)
    from sqlalchemy.engine import URL

    return URL.create(dialect, conn.login, conn.password, conn.host, conn.port, conn.schema).render_as_string(
        hide_password=False)


def _xml_envelope(settings: Settings, options: dict[str, Any], conn_id: str | None) -> Sink:
    from creditsync.sinks.xml_envelope import build_xml_sink

    return build_xml_sink(options, conn_id or DEFAULT_CONN_IDS["xml_envelope"])


def _template_file(settings: Settings, options: dict[str, Any], conn_id: str | None) -> Sink:
    from creditsync.sinks.template_file import TemplateFileSink

    if not options.get("folder"):
        raise ConfigurationError("template_file sink: options.folder (where the workbooks go) is required")
    return TemplateFileSink(Path(options["folder"]))


BUILDERS: dict[str, Callable[[Settings, dict[str, Any], str | None], Sink]] = {
    "api": _api, "exchange_db": _exchange_db, "xml_envelope": _xml_envelope, "template_file": _template_file}
