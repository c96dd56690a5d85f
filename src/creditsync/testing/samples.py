"""Live sources stood up from a department's sample fixtures, one way per source kind.

``tests/fixtures/<department>/`` holds ``<category>.jsonl`` (rest, sql), ``<category>.xml`` (xml) or the
files a department drops (file). Each kind gets a real source on loopback or on disk: an HTTP server
(rest, xml over HTTP), a SQLite database (sql), a folder (file, xml files)."""

from __future__ import annotations

import json
import os
import shutil
import sqlite3
import threading
import time
from collections.abc import Callable
from dataclasses import dataclass, field
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path
from typing import Any
from urllib.parse import parse_qs, urlparse

from creditsync.departments import DepartmentConfig
from creditsync.exceptions import ConfigurationError

TOKEN = "sample-token"


@dataclass
class LiveSource:
    """What a test needs to reach the source: Connection env vars and option overrides."""

    env: dict[str, str] = field(default_factory=dict)
    options: dict[str, Any] = field(default_factory=dict)
    stream_options: dict[str, dict[str, Any]] = field(default_factory=dict)
    stop: Callable[[], None] = lambda: None


def sample_source(config: DepartmentConfig, samples: Path, workdir: Path) -> LiveSource:
    makers = {"rest": _rest, "xml": _xml, "sql": _sql, "file": _file}
    if config.source.kind not in makers:
        raise ConfigurationError(
            f"no sample source for kind {config.source.kind!r}: override start_source() in the test class")
    if not samples.is_dir():
        raise ConfigurationError(f"sample fixtures missing: {samples}")
    return makers[config.source.kind](config, samples, workdir)


def read_jsonl(path: Path) -> list[dict[str, Any]]:
    with path.open(encoding="utf-8") as handle:
        return [json.loads(line) for line in handle if line.strip()]


def _option(config: DepartmentConfig, category: str, name: str, default: Any = None) -> Any:
    stream = config.stream(category).options
    return stream.get(name, config.source.options.get(name, default))


def _conn_env(config: DepartmentConfig, value: str) -> dict[str, str]:
    if not config.source.connection_id:
        return {}
    return {f"AIRFLOW_CONN_{config.source.connection_id.upper()}": value}


def _serve(handler: type[BaseHTTPRequestHandler]) -> tuple[str, Callable[[], None]]:
    server = ThreadingHTTPServer(("127.0.0.1", 0), handler)
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()

    def stop() -> None:
        server.shutdown()
        server.server_close()

    return f"http://:{TOKEN}@127.0.0.1:{server.server_address[1]}", stop


def _rest(config: DepartmentConfig, samples: Path, workdir: Path) -> LiveSource:
    """Page-number paging with the REST adapter's option names; one sample per stream, chosen by the
    stream's static ``params``."""
    feeds = [(s.category, {k: str(v) for k, v in _option(config, s.category, "params", {}).items()},
              read_jsonl(samples / f"{s.category}.jsonl")) for s in config.streams]

    class Handler(_QuietHandler):
        def do_GET(self) -> None:  # the name http.server dispatches to
            query = {k: v[-1] for k, v in parse_qs(urlparse(self.path).query).items()}
            for category, params, rows in feeds:
                if all(query.get(k) == v for k, v in params.items()):
                    self._json(_page(config, category, rows, query))
                    return
            self._json({"error": "no such feed"}, 404)

    url, stop = _serve(Handler)
    return LiveSource(env=_conn_env(config, url), stop=stop)


def _page(config: DepartmentConfig, category: str, rows: list[dict[str, Any]],
          query: dict[str, str]) -> dict[str, Any]:
    cursor_field = _option(config, category, "cursor_field", "updated_at")
    cursor = query.get(_option(config, category, "cursor_param", "updated_since") or "")
    key_field = _option(config, category, "key_field", "id")
    kept = sorted((r for r in rows if not cursor or str(r.get(cursor_field) or "") >= cursor),
                  key=lambda r: (str(r.get(cursor_field) or ""), str(r.get(key_field) or "")))
    size = int(query.get(_option(config, category, "page_size_param", "page_size") or "", 100) or 100)
    page = int(query.get(_option(config, category, "page_param", "page"), 1))
    pages = max(1, -(-len(kept) // size))
    items = kept[(page - 1) * size: page * size]
    return {_option(config, category, "items_field", "items"): items,
            _option(config, category, "total_pages_field", "total_pages") or "total_pages": pages,
            "page": page}


def _xml(config: DepartmentConfig, samples: Path, workdir: Path) -> LiveSource:
    """XML exports read as files: each stream's sample becomes its ``files`` option."""
    live = LiveSource()
    for stream in config.streams:
        target = workdir / "xml" / f"{stream.category}.xml"
        target.parent.mkdir(parents=True, exist_ok=True)
        shutil.copy(samples / f"{stream.category}.xml", target)
        live.stream_options[stream.category] = {"files": str(target), "path": None}
    live.options = {"path": None}
    return live


def _sql(config: DepartmentConfig, samples: Path, workdir: Path) -> LiveSource:
    workdir.mkdir(parents=True, exist_ok=True)
    database = workdir / "source.db"
    with sqlite3.connect(database) as conn:
        for stream in config.streams:
            table = _option(config, stream.category, "table")
            if not table:
                raise ConfigurationError(f"{stream.category}: sample sources need a `table` option")
            _load_table(conn, table, read_jsonl(samples / f"{stream.category}.jsonl"))
    conn.close()
    return LiveSource(env=_conn_env(config, json.dumps({"conn_type": "sqlite", "host": str(database)})))


def _load_table(conn: sqlite3.Connection, table: str, rows: list[dict[str, Any]]) -> None:
    columns = list(dict.fromkeys(k for row in rows for k in row))
    quoted = ", ".join(f'"{c}"' for c in columns)
    conn.execute(f'CREATE TABLE "{table}" ({quoted})')
    marks = ", ".join("?" for _ in columns)
    conn.executemany(f'INSERT INTO "{table}" ({quoted}) VALUES ({marks})',
                     [[_cell(row.get(c)) for c in columns] for row in rows])


def _cell(value: Any) -> Any:
    return json.dumps(value, ensure_ascii=False) if isinstance(value, (list, dict)) else value


def _file(config: DepartmentConfig, samples: Path, workdir: Path) -> LiveSource:
    """Dropped files: every sample file goes into a fresh inbox, aged past ``settle_seconds``."""
    inbox = workdir / "inbox"
    inbox.mkdir(parents=True, exist_ok=True)
    an_hour_ago = time.time() - 3600
    for sample in sorted(samples.iterdir()):
        if sample.is_file() and not sample.name.startswith("."):
            copied = Path(shutil.copy(sample, inbox / sample.name))
            os.utime(copied, (an_hour_ago, an_hour_ago))
    return LiveSource(options={"inbox": str(inbox), "processed": str(workdir / "processed"),
                               "failed": str(workdir / "failed")})


class _QuietHandler(BaseHTTPRequestHandler):
    def _json(self, payload: object, status: int = 200) -> None:
        body = json.dumps(payload, ensure_ascii=False).encode("utf-8")
        self.send_response(status)
        self.send_header("Content-Type", "application/json; charset=utf-8")
        self.send_header("Content-Length", str(len(body)))
        self.end_headers()
        self.wfile.write(body)

    def log_message(self, format: str, *args: Any) -> None:  # http.server's signature
        return
