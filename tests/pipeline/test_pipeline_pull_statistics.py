"""A first load into PostgreSQL keeps the planner's statistics up with the tables it grows: each chunk's
lookup of the records its source ids name stays an index lookup by source id, instead of a scan of the
department's whole range that costs more with every chunk (a 100,000-record load took twice the
database CPU before)."""

from __future__ import annotations

from typing import Any

import pytest
from pipeline_harness import Harness
from sqlalchemy import event, text

from creditsync.lifecycle.stored import load_linked
from creditsync.pipeline import pull
from creditsync.sources.base import RawRecord

LOAD = 2500


@pytest.mark.parametrize("harness_db", ["postgresql"], indirect=True)
def test_a_first_load_leaves_the_source_id_lookup_an_index_lookup(harness: Harness) -> None:
    template = harness.valid_penalty(0)
    rows = [RawRecord("penalty", f"P9{n:05d}", dict(template, id=f"P9{n:05d}",
                                                     decision_no=f"长市监处罚〔2026〕{7000 + n}号"),
                      template["updated_at"]) for n in range(LOAD)]
    ctx = harness.context()

    counts = pull(ctx, records=rows, categories=["penalty"])

    assert counts["penalty"]["new"] == LOAD
    store = harness.gateway.store
    with store.engine.connect() as connection:
        planned = connection.scalar(text("SELECT reltuples FROM pg_class WHERE oid = 'records'::regclass"))
    assert planned >= 2000  # analysed during the load, not left at -1 (never)
    plan = _plan_of_lookup(harness, [f"P9{n:05d}" for n in range(0, LOAD, 7)])
    assert "source_key" in plan.split("Index Cond:", 1)[-1].split("\n", 1)[0], plan


def _plan_of_lookup(harness: Harness, source_keys: list[str]) -> str:
    """EXPLAIN of the statement the lifecycle runs to find the records that source ids name."""
    store = harness.gateway.store
    seen: list[tuple[str, Any]] = []

    def capture(_conn: Any, _cursor: Any, statement: str, parameters: Any, *_rest: Any) -> None:
        if statement.lstrip().upper().startswith("SELECT") and "source_key" in statement:
            seen.append((statement, parameters))

    event.listen(store.engine, "before_cursor_execute", capture)
    try:
        with store.reader() as session:
            load_linked(session, harness.context().scope.sealer, "market_supervision", "penalty", source_keys)
    finally:
        event.remove(store.engine, "before_cursor_execute", capture)
    statement, parameters = seen[-1]
    raw = store.engine.raw_connection()
    try:
        cursor = raw.cursor()
        cursor.execute("EXPLAIN " + statement, parameters)
        return "\n".join(line for (line,) in cursor.fetchall())
    finally:
        raw.close()
