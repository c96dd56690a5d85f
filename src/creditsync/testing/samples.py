"""Live sources stood up from a department's sample fixtures, one way per source kind.

``tests/fixtures/<department>/`` holds ``<category>.jsonl`` (rest, sql; ``tables/<table>.jsonl`` for
``query`` streams), ``<category>.xml`` (xml) or the files a department drops (file). Each kind gets a
real source on loopback or on disk: an HTTP server speaking the department's declared API (rest,
:mod:`creditsync.testing.sample_rest`), a SQLite database (sql), a folder (file, xml files); a custom
kind starts its own fake through its adapter class's ``sample_source``."""

from __future__ import annotations

import json
import os
import shutil
import sqlite3
import time
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from creditsync.departments import DepartmentConfig
from creditsync.exceptions import ConfigurationError


@dataclass
class LiveSource:
    """What a test needs to reach the source: Connection env vars and option overrides."""

    env: dict[str, str] = field(default_factory=dict)
    options: dict[str, Any] = field(default_factory=dict)
    stream_options: dict[str, dict[str, Any]] = field(default_factory=dict)
    stop: Callable[[], None] = lambda: None


def sample_source(config: DepartmentConfig, samples: Path, workdir: Path) -> LiveSource:
    """A live source of the department's kind over its samples. A custom kind brings its own: the
    adapter class's ``sample_source(config, samples, workdir)`` (a small fake of the system)."""
    makers = {"rest": _rest, "xml": _xml, "sql": _sql, "file": _file}
    if not samples.is_dir():
        raise ConfigurationError(f"sample fixtures missing: {samples}")
    if config.source.kind in makers:
        return makers[config.source.kind](config, samples, workdir)
    from creditsync.sources.registry import get_adapter_class

    own = getattr(get_adapter_class(config.source.kind), "sample_source", None)
    if own is None:
        raise ConfigurationError(
            f"no sample source for kind {config.source.kind!r}: give the adapter class a "
            "sample_source(config, samples, workdir) classmethod that starts a fake of the system")
    live: LiveSource = own(config, samples, workdir)
    return live


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


def _rest(config: DepartmentConfig, samples: Path, workdir: Path) -> LiveSource:
    """The department's API as its YAML declares it (auth, paginator, cursor formats), over its samples."""
    from creditsync.testing.sample_rest import serve_rest

    rows = {s.category: read_jsonl(samples / f"{s.category}.jsonl") for s in config.streams}
    url, stop = serve_rest(config, rows)
    return LiveSource(env=_conn_env(config, url), stop=stop)


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
    """A SQLite database: ``tables/<table>.jsonl`` are loaded as they are (a ``query`` stream runs on
    them unchanged), then each ``table`` stream's ``<category>.jsonl``. A ``query`` stream without
    ``tables/`` reads its ``<category>.jsonl`` as the query's result (a table in its place)."""
    workdir.mkdir(parents=True, exist_ok=True)
    database = workdir / "source.db"
    live = LiveSource()
    tables = samples / "tables"
    with sqlite3.connect(database) as conn:
        for path in sorted(tables.glob("*.jsonl")) if tables.is_dir() else []:
            _load_table(conn, path.stem, read_jsonl(path))
        for stream in config.streams:
            table = _option(config, stream.category, "table")
            if not table and tables.is_dir():
                continue  # a query over the tables loaded above
            if not table:
                table = f"sample_{stream.category}"
                live.stream_options[stream.category] = {"table": table, "query": None}
            _load_table(conn, table, read_jsonl(samples / f"{stream.category}.jsonl"))
    conn.close()
    live.env = _conn_env(config, json.dumps({"conn_type": "sqlite", "host": str(database)}))
    return live


def _load_table(conn: sqlite3.Connection, table: str, rows: list[dict[str, Any]]) -> None:
    columns = list(dict.fromkeys(k for row in rows for k in row))
    quoted = ", ".join(f'"{c}"' for c in columns)
    conn.execute(f'CREATE TABLE IF NOT EXISTS "{table}" ({quoted})')
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
