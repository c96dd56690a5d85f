"""The set-based writers on both stores: what COPY and UPDATE … FROM (VALUES …) write is exactly what
the rows say, whatever the text holds, and a value every row shares is written to every row."""

from __future__ import annotations

from datetime import UTC, datetime
from typing import Any

import msgspec
import pytest
from sqlalchemy import insert, select, update

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


def test_sqlites_executemany_stores_what_sqlalchemy_would(store: Store) -> None:
    """On SQLite the writers hand the DBAPI tuples; the text stored (dates, times, JSON, a JSON null) must
    be what SQLAlchemy's own executemany stores, or rows written before and after would differ."""
    if store.engine.dialect.name != "sqlite":
        pytest.skip("the DBAPI path is SQLite's (PostgreSQL: COPY, tested above)")
    fast = [dict(row, id=f"fast-{i}", finished_at=T0 if i % 2 else None,
                 counts=None if i == 3 else row["counts"]) for i, row in enumerate(_rows(5))]
    plain = [dict(row, id=row["id"].replace("fast", "plain")) for row in fast]
    with store.transaction() as session:
        insert_rows(session, SyncRun, fast)
        session.execute(insert(SyncRun.__table__), plain)
    changes = [{"id": row["id"], "status": "done", "finished_at": T0, "counts": {"n": i}}
               for i, row in enumerate(fast[:3])]
    with store.transaction() as session:
        update_rows(session, SyncRun, changes)
        for change in changes:
            session.execute(update(SyncRun.__table__).where(SyncRun.__table__.c.id == change["id"].replace(
                "fast", "plain")).values({k: v for k, v in change.items() if k != "id"}))
    with store.engine.connect() as connection:  # the stored text itself, no type processing
        raw = {row[0]: row[1:] for row in connection.exec_driver_sql(
            "SELECT id, department, \"trigger\", status, started_at, finished_at, counts FROM sync_runs")}
    for row in fast:
        assert raw[row["id"]] == raw[row["id"].replace("fast", "plain")], row["id"]
    assert raw["fast-3"][-1] == "null" and raw["fast-1"][3] == raw["fast-1"][4]  # started, finished: T0


def test_a_chunk_is_written_a_column_at_a_time_exactly_as_each_row_says(store: Store) -> None:
    """Columns of plain text, of text needing escapes in some rows only, of a few shared values (ints,
    dates, one instant spelt in two zones) and of None beside values: each row reads back as given."""
    from datetime import date, timedelta, timezone

    from creditsync.store.guard import lifecycle_writes
    from creditsync.store.models import Record

    # SQLite keeps timestamps naive as given (the gateway writes UTC); PostgreSQL keeps the instant
    beijing = timezone(timedelta(hours=8)) if store.engine.dialect.name == "postgresql" else UTC
    rows = [{"business_key": f"penalty:k{i}", "department": "market_supervision", "category": "penalty",
             "document_no": AWKWARD[i % len(AWKWARD)] + str(i), "subject_name": f"济南{i}公司",
             "source_key": None if i % 3 else f"S{i}", "decision_date": date(2026, 1, 1 + i % 3),
             "version": 1 + i % 2, "mapped_hash": "h" * 64, "state": "pending",
             "platform_id": None if i % 2 else f"P{i}",
             "first_seen_at": T0 if i % 2 else T0.astimezone(beijing),
             "updated_at": T0 + timedelta(seconds=i), "published_at": None, "run_id": "run",
             "severity": None, "display_until": None, "withdraw_reason": None, "repair_decision_no": None,
             "published_within_days": i if i % 4 else None, "withdrawn_within_days": None, "seal": "s"}
            for i in range(12)]
    with store.transaction() as session, lifecycle_writes():
        insert_rows(session, Record, rows)
    with store.reader() as session:
        stored = {row.business_key: row for row in session.scalars(select(Record))}
    for row in rows:
        got = stored[row["business_key"]]
        for name, value in row.items():
            found = getattr(got, name)
            if isinstance(value, datetime):
                assert found.replace(tzinfo=found.tzinfo or UTC) == value, name
            else:
                assert found == value, (name, found, value)
