"""The set-based writers on both stores: what COPY and UPDATE … FROM (VALUES …) write is exactly what
the rows say, whatever the text holds, and a value every row shares is written to every row."""

from __future__ import annotations

from datetime import UTC, datetime
from typing import Any

import msgspec
import pytest
from sqlalchemy import select

from creditsync.store.bulk import insert_rows, update_rows
from creditsync.store.db import Store
from creditsync.store.models import SyncRun

T0 = datetime(2026, 12, 7, 1, 2, 3, 456789, tzinfo=UTC)
AWKWARD = ["plain", "tab\there", "new\nline", "back\\slash", "cr\rx", "中文〔2026〕", "\\N", ""]


def _rows(n: int) -> list[dict[str, Any]]:
    return [{"id": f"run-{i}", "department": "market_supervision", "trigger": "cli",
             "status": AWKWARD[i % len(AWKWARD)], "started_at": T0, "finished_at": None,
             "counts": {"read": i, "note": AWKWARD[i % len(AWKWARD)], "nested": [1, None, "\\"]}}
            for i in range(n)]


def _stored(store: Store) -> dict[str, dict[str, Any]]:
    with store.reader() as session:
        found = session.execute(select(SyncRun).order_by(SyncRun.id)).scalars().all()
        return {run.id: {"status": run.status, "counts": run.counts, "trigger": run.trigger,
                         "finished_at": run.finished_at} for run in found}


@pytest.mark.parametrize("count", [1, 2, 17])
def test_inserted_rows_read_back_exactly(store: Store, count: int) -> None:
    rows = _rows(count)
    with store.transaction() as session:
        insert_rows(session, SyncRun, rows)
    stored = _stored(store)
    assert {key: (value["status"], value["counts"]) for key, value in stored.items()} == \
        {row["id"]: (row["status"], row["counts"]) for row in rows}


def test_updates_write_shared_and_varying_values_to_every_row(store: Store) -> None:
    rows = _rows(9)
    with store.transaction() as session:
        insert_rows(session, SyncRun, rows)
    finished = datetime(2026, 12, 7, 2, 0, tzinfo=UTC)
    changes = [{"id": row["id"], "trigger": "airflow", "finished_at": finished,  # shared by every row
                "status": f"s{index}", "counts": {"done": True}}  # a varying text, a shared JSON value
               for index, row in enumerate(rows)]
    changes[4]["trigger"] = "cli"  # shared by all but one: varies
    with store.transaction() as session:
        update_rows(session, SyncRun, changes)
    stored = _stored(store)
    for index, row in enumerate(rows):
        got = stored[row["id"]]
        assert got["status"] == f"s{index}"
        assert got["counts"] == {"done": True}
        assert got["trigger"] == ("cli" if index == 4 else "airflow")
        assert got["finished_at"].replace(tzinfo=UTC) == finished


def test_shared_values_of_another_type_are_not_merged(store: Store) -> None:
    rows = _rows(2)
    with store.transaction() as session:
        insert_rows(session, SyncRun, rows)
    changes = [{"id": rows[0]["id"], "counts": {"n": 1}}, {"id": rows[1]["id"], "counts": {"n": True}}]
    with store.transaction() as session:
        update_rows(session, SyncRun, changes)
    stored = _stored(store)
    assert msgspec.json.encode(stored[rows[0]["id"]]["counts"]) == b'{"n":1}'
    assert msgspec.json.encode(stored[rows[1]["id"]]["counts"]) == b'{"n":true}'
