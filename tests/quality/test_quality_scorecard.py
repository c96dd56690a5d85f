"""Scorecards against figures counted by hand (quality_support.py's table), on SQLite and PostgreSQL."""

from __future__ import annotations

from datetime import date
from pathlib import Path
from typing import Any

import pytest
from pipeline_harness import Harness
from quality_support import AS_OF, DEPARTMENT, OTHER, REFUSAL, document, write_autumn
from test_pipeline_hostile import twin

from creditsync.quality import Scorecard, parse_period, scorecards
from creditsync.schema.values import shanghai_today

BOTH = pytest.mark.parametrize("harness_db", ["sqlite", "postgresql"], indirect=True)

# period, as of, department → per department: counts and rates (None: nothing to rate)
CASES: list[tuple[str, date, str | None, dict[str, dict[str, Any]]]] = [
    ("2026-09", AS_OF, DEPARTMENT, {DEPARTMENT: dict(
        records=4, due=4, on_time=2, late=2, waiting=0, refused=1, never_stored=0, complete=4,
        missing_required=0, withdrawals=0, timeliness=0.5, compliance=0.75, completeness=1.0,
        withdrawal_timeliness=None)}),
    ("2026-10", AS_OF, DEPARTMENT, {DEPARTMENT: dict(
        records=6, due=5, on_time=3, late=2, waiting=1, refused=2, never_stored=1, complete=5,
        missing_required=1, withdrawals=1, withdrawn_on_time=1, timeliness=0.6, compliance=0.5714,
        completeness=0.7143, withdrawal_timeliness=1.0)}),
    ("2026-Q4", AS_OF, OTHER, {OTHER: dict(
        records=1, due=1, on_time=1, refused=0, withdrawals=1, withdrawn_on_time=0, timeliness=1.0,
        compliance=1.0, completeness=1.0, withdrawal_timeliness=0.0)}),
    ("2026", AS_OF, DEPARTMENT, {DEPARTMENT: dict(
        records=10, due=9, on_time=5, late=4, waiting=1, refused=3, never_stored=1, complete=9,
        missing_required=1, timeliness=0.5556, compliance=0.6364, completeness=0.8182)}),
    # A week earlier: C and F were still within their deadline (10/15 is the 7th working day after 9/30),
    # and the platform had not refused F yet.
    ("2026-09", date(2026, 10, 15), DEPARTMENT, {DEPARTMENT: dict(
        records=4, due=2, on_time=2, late=0, waiting=2, refused=0, timeliness=1.0, compliance=1.0)}),
    ("2026-Q3", AS_OF, None, {
        DEPARTMENT: dict(records=4, due=4, on_time=2, timeliness=0.5),
        OTHER: dict(records=1, due=1, on_time=1, timeliness=1.0, withdrawals=0)}),
]

# (period, department) → the records behind the timeliness figure: 文书号 key, status, working days, days late
OVERDUE = {
    ("2026-09", DEPARTMENT): [("C", "late", 8, 1), ("F", "missing", 13, 6)],
    ("2026-10", DEPARTMENT): [("E", "late", 8, 1), ("D", "late", 8, 1), ("G", "waiting", 3, 0)],
}


@pytest.fixture
def autumn(harness: Harness, tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Harness:
    write_autumn(harness, tmp_path, monkeypatch)
    return harness


def card(harness: Harness, period: str, as_of: date = AS_OF,
         department: str | None = DEPARTMENT) -> Scorecard:
    with harness.gateway.store.engine.connect() as conn:
        return scorecards(conn, parse_period(period), as_of=as_of, department=department)


def figures(scorecard: Scorecard, department: str, names: list[str]) -> dict[str, Any]:
    totals = scorecard.departments[department].totals
    found = {**vars(totals), "late": totals.late, **totals.rates()}
    return {name: found[name] for name in names}


@BOTH
def test_scorecards_match_the_hand_counted_figures(autumn: Harness) -> None:
    for period, as_of, department, expected in CASES:
        scorecard = card(autumn, period, as_of, department)
        assert set(scorecard.departments) == set(expected), (period, as_of)
        for name, wanted in expected.items():
            assert figures(scorecard, name, list(wanted)) == wanted, (period, as_of, name)

    for (period, department), rows in OVERDUE.items():
        found = card(autumn, period, department=department).departments[department].overdue
        assert [(r.document_no, r.status, r.working_days, r.days_late) for r in found] == [
            (document(key), status, days, late) for key, status, days, late in rows], period


@BOTH
def test_the_deadline_counts_the_holiday_and_the_make_up_day(autumn: Harness) -> None:
    late = {r.document_no: r for r in card(autumn, "2026").departments[DEPARTMENT].overdue}
    # decided 9/30: National Day off, Saturday 10/10 a working day → the 7th working day is Thu 10/15
    assert late[document("F")].deadline == date(2026, 10, 15)
    assert late[document("F")].reason == REFUSAL
    # decided on the make-up Saturday 10/10: its deadline is the 7th working day after it, Tue 10/20
    assert late[document("D")].deadline == date(2026, 10, 20)
    assert late[document("D")].acknowledged_on == date(2026, 10, 21)


@BOTH
def test_the_weekly_trend_and_the_reasons(autumn: Harness) -> None:
    score = card(autumn, "2026-10").departments[DEPARTMENT]
    weeks = {week.isoformat(): (c.records, c.due, c.on_time, c.never_stored)
             for week, c in score.weeks.items()}
    assert weeks == {"2026-09-28": (0, 0, 0, 0), "2026-10-05": (2, 2, 0, 0), "2026-10-12": (3, 3, 3, 1),
                     "2026-10-19": (1, 0, 0, 0), "2026-10-26": (0, 0, 0, 0)}
    reasons = {(r.field, r.count) for r in score.reasons}
    assert ("XK_NR", 1) in reasons and ("XK_XKJGDM", 1) in reasons
    assert sum(r.count for r in score.reasons) == 4  # F's and G's refusals, H's code, I's missing content


@BOTH
def test_a_short_late_list_is_the_head_of_the_full_one(autumn: Harness) -> None:
    # the short list reads only the records decided up to the day its last entry needs (daily counts)
    with autumn.gateway.store.engine.connect() as conn:
        full = scorecards(conn, parse_period("2026"), as_of=AS_OF)
        for limit in (1, 2, 3, 50):
            short = scorecards(conn, parse_period("2026"), as_of=AS_OF, overdue_limit=limit)
            assert {d: s.totals for d, s in short.departments.items()} == {
                d: s.totals for d, s in full.departments.items()}
            for name, score in full.departments.items():
                assert short.departments[name].overdue == score.overdue[:limit], (name, limit)
    assert len(full.departments[DEPARTMENT].overdue) > 3  # so that the limits cut it


@BOTH
def test_a_twin_held_on_a_published_decisions_number_does_not_count_against_that_decision(
        harness: Harness) -> None:
    """A second department record claiming a published decision's 文书号 is held, and counts as the
    department's refused row (never stored); the published decision itself stays compliant."""
    earlier = harness.valid_penalty(2)
    harness.sync()
    year = harness.record(earlier["decision_no"]).decision_date.year

    def totals() -> Any:
        with harness.gateway.store.engine.connect() as conn:
            card = scorecards(conn, parse_period(str(year)), as_of=shanghai_today(),
                              department="market_supervision")
        return card.departments["market_supervision"].totals

    before = totals()
    twin(harness, earlier)
    harness.sync()
    after = totals()

    assert harness.record(earlier["decision_no"]).state == "published"
    assert (after.records, after.refused) == (before.records, before.refused)
    assert after.never_stored == before.never_stored + 1
