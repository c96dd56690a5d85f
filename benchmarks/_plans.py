"""EXPLAIN every statement a block of code runs (PostgreSQL), and say which scans the planner chose.
A helper of ``audit_scale.py``."""

from __future__ import annotations

import contextlib
from collections.abc import Iterator
from typing import Any

from sqlalchemy import Engine, event


class PlanRecorder:
    def __init__(self, engine: Engine, big_tables: tuple[str, ...]) -> None:
        self.engine, self.big_tables = engine, big_tables

    @contextlib.contextmanager
    def recording(self) -> Iterator[list[tuple[str, Any]]]:
        """The statements executed inside the block, with their parameters (duplicates dropped)."""
        seen: list[tuple[str, Any]] = []

        def _capture(_conn: Any, _cursor: Any, statement: str, parameters: Any, *_rest: Any) -> None:
            if statement.lstrip().upper().startswith("SELECT") and (statement, parameters) not in seen:
                seen.append((statement, parameters))

        event.listen(self.engine, "before_cursor_execute", _capture)
        try:
            yield seen
        finally:
            event.remove(self.engine, "before_cursor_execute", _capture)

    def summary(self, statements: list[tuple[str, Any]]) -> str:
        """Distinct scans over all statements, e.g. ``Index Scan ix_audit_dept_ts``; a sequential scan
        of a big table is flagged ``SEQ SCAN <table> (!)``."""
        scans: list[str] = []
        for statement, parameters in statements:
            for scan in self._scans(statement, parameters):
                if scan not in scans:
                    scans.append(scan)
        return "; ".join(scans)

    def _scans(self, statement: str, parameters: Any) -> list[str]:
        with self.engine.connect() as conn:
            plan = conn.exec_driver_sql("EXPLAIN (FORMAT JSON) " + statement, parameters).scalar_one()
        found: list[str] = []
        _walk(plan[0]["Plan"], found, self.big_tables)
        return found


def _walk(node: dict[str, Any], found: list[str], big_tables: tuple[str, ...]) -> None:
    kind = node.get("Node Type", "")
    relation = node.get("Relation Name")
    if kind == "Seq Scan" and relation in big_tables:
        found.append(f"SEQ SCAN {relation} (!)")
    elif "Index" in kind and node.get("Index Name"):
        found.append(f"{kind} {node['Index Name']}")
    for child in node.get("Plans", []):
        _walk(child, found, big_tables)
