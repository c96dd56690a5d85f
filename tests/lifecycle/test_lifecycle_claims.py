"""Who may claim a 文书号 (lifecycle.claims.mark_conflicts), case by case: a row is held when another
department record claims its number, in the same chunk, as the stored record of the number, or as a
row held earlier and not read now; a file row (a place), a written variant of the number used as the
key, or a record that no longer claims it is no rival; a revocation never acts on another's decision."""

from __future__ import annotations

from dataclasses import replace
from typing import Any

import pytest

from creditsync.exceptions import FieldError
from creditsync.lifecycle.claims import EarlierClaims, conflict_error, mark_conflicts
from creditsync.lifecycle.deliveries import ReadThisRun
from creditsync.lifecycle.source import SourceItem
from creditsync.lifecycle.stored import StoredRecords

KEY = "penalty:11370113004325179R:长市监处罚〔2026〕7号"
RUN, EARLIER_RUN = "run-2", "run-1"


def item(source_key: str, content: str = "new", *, identifies: bool = True, revoked: bool = False,
         key: str = KEY) -> SourceItem:
    return SourceItem(source_key=source_key, source_hash=f"{source_key}/{content}/{revoked}", data={},
                      key=key, mapped_hash=content, identifies=identifies, revoked=revoked)


def stored(source_key: str | None, *, run: str = EARLIER_RUN, state: str = "published",
           reason: str | None = None, content: str = "old") -> StoredRecords:
    row: dict[str, Any] = {"business_key": KEY, "source_key": source_key, "run_id": run, "version": 1,
                           "mapped_hash": content, "state": state, "withdraw_reason": reason}
    return StoredRecords(rows={KEY: row})


@pytest.mark.parametrize(("store", "claim", "held"), [
    (stored("P1"), item("P1"), False),  # the decision's own id: a correction
    (stored("P1"), item("P1", revoked=True), False),  # … or its revocation
    (stored("P1"), item("P2", "old"), False),  # the same content under another id
    (stored("P1"), item("P2"), True),  # another id, other content: a twin
    (stored("P1"), item("P2", "old", revoked=True), True),  # another id's revocation: not of P1's decision
    (stored("P1", run=RUN), item("P2"), True),  # … read earlier in this run
    (stored("penalties.csv#3"), item("P2"), False),  # the department moved from files to ids
    (stored("P1"), item("penalties.csv#3", identifies=False), False),  # a file row corrects by 文书号
    (stored(None), item("P2"), False),
    (stored("P1", state="replaced"), item("P2"), False),  # P1 went to another number
    (stored("P1", state="operator_withdrawn", reason="replaced"), item("P2"), False),
    (stored("P1", state="withdrawing", reason="operator:replaced"), item("P2"), False),
    (stored("P1", state="operator_withdrawn", reason="revoked"), item("P2"), False),
    (stored("P1", state="withdrawn", reason="revoked"), item("P2"), False),  # P1 was revoked
    (stored("P1", state="revoked", run=RUN), item("P2"), False),  # … read earlier in this run
    (stored("P1", state="withdrawn"), item("P2"), True),  # released by an operator: still P1's
    (stored("P1", state="operator_withdrawn", reason="operator"), item("P2"), True),  # held, still P1's
    (stored("P1", state="repaired", reason="repaired"), item("P2"), True),  # still P1's number
    (stored("长市监处罚〔２０２６〕第7号"), item("长市监处罚〔2026〕7号"), False),  # keyed by 文书号 itself
    (stored("长市监处罚〔2026〕8号"), item("长市监处罚〔2026〕7号"), True),
])
def test_a_claim_on_a_stored_number(store: StoredRecords, claim: SourceItem, held: bool) -> None:
    mark_conflicts([claim], store, RUN)
    assert (claim.conflict is not None) is held


def test_two_ids_read_together_with_other_content_are_both_held() -> None:
    first, second = item("P1", "a"), item("P2", "b")
    mark_conflicts([first, second], StoredRecords(), RUN)
    assert first.conflict is not None and second.conflict is not None
    assert "P2" in first.conflict.message_en and "P1" in second.conflict.message_en


@pytest.mark.parametrize("order", ["revocation first", "revocation last"])
def test_a_revocation_read_with_another_ids_decision_claims_nothing(order: str) -> None:
    live, revoked = item("P1", "a"), item("P2", "b", revoked=True)
    mark_conflicts([revoked, live] if order == "revocation first" else [live, revoked], StoredRecords(), RUN)
    assert live.conflict is None  # published
    assert revoked.conflict is not None  # and the revocation does not take it down


@pytest.mark.parametrize(("read", "held"), [
    ([item("P1")], True),  # P2 is still held as claiming the number, and not read now
    ([item("P1"), item("P2", "other")], True),  # read again, still clashing
    ([item("P1"), item("P2", "other", key="penalty:x:长市监处罚〔2026〕8号")], False),  # renumbered
    ([item("P1"), item("P2", "other", revoked=True)], False),  # revoked
])
def test_a_row_held_earlier_claims_its_number_while_it_is_not_read_again_otherwise(
        read: list[SourceItem], held: bool) -> None:
    earlier = EarlierClaims(open_claims={KEY: {"P1", "P2"}})
    mark_conflicts(read, StoredRecords(), RUN, earlier)
    assert (read[0].conflict is not None) is held


def test_a_row_held_earlier_keeps_its_reason_and_goes_through_once_nothing_claims_its_number() -> None:
    reason = conflict_error(KEY, "P2")
    claim = item("P1")
    mark_conflicts([claim], StoredRecords(), RUN,
                   EarlierClaims(held={claim.source_hash: (reason, True)}, open_claims={KEY: {"P1", "P2"}}))
    assert claim.conflict is reason
    again = item("P1")
    mark_conflicts([again], StoredRecords(), RUN,
                   EarlierClaims(held={again.source_hash: (reason, True)}, open_claims={KEY: {"P1"}}))
    assert again.conflict is None


def test_a_row_held_before_entries_named_their_number_stays_held() -> None:
    claim, reason = item("P1"), conflict_error(KEY, "P2")
    mark_conflicts([claim], StoredRecords(), RUN, EarlierClaims(held={claim.source_hash: (reason, False)}))
    assert claim.conflict is reason


def test_the_owners_correction_or_revocation_goes_past_a_rival_read_with_it() -> None:
    for owner in (item("P1"), item("P1", revoked=True)):
        rival = item("P2", "other")
        mark_conflicts([rival, owner], stored("P1"), RUN)
        assert owner.conflict is None and rival.conflict is not None


def test_two_updates_of_one_decision_read_together_with_other_content_are_both_held() -> None:
    by_id, by_file = item("P1", "a"), item("penalties.csv#3", "b", identifies=False)
    mark_conflicts([by_id, by_file], stored("P1"), RUN)
    assert by_id.conflict is not None and by_file.conflict is not None


@pytest.mark.parametrize(("other", "held"), [
    ("P2", True),
    ("penalties.csv#2", False),  # a file row: its file, delivered again, says what its rows hold now
    ("长市监处罚〔２０２６〕7号", False),  # the same 文书号 written otherwise, as a legacy export's key
])
def test_a_row_held_earlier_and_not_read_now(other: str, held: bool) -> None:
    claim = item("长市监处罚〔2026〕7号")
    mark_conflicts([claim], StoredRecords(), RUN, EarlierClaims(open_claims={KEY: {other}}))
    assert (claim.conflict is not None) is held


def test_ids_that_differ_only_in_case_are_two_records() -> None:
    claim = item("p1")
    mark_conflicts([claim], StoredRecords(), RUN, EarlierClaims(open_claims={KEY: {"P1"}}))
    assert claim.conflict is not None


def test_a_correction_read_with_the_decisions_own_revocation_is_held_and_the_revocation_applies() -> None:
    revocation, correction = item("r.csv#1", "a", identifies=False, revoked=True), item("r.csv#2", "b",
                                                                                      identifies=False)
    mark_conflicts([revocation, correction], stored("r.csv#1"), RUN)
    assert revocation.conflict is None and correction.conflict is not None


def file_row(row: int, content: str = "new", *, revoked: bool = False, key: str = KEY,
             file: str = "penalties.csv", held_back: bool = False) -> SourceItem:
    found = item(f"{file}#{row}", content, identifies=False, revoked=revoked, key=key)
    found.held_back = FieldError("BZ", "涉密", "secret", kind="held_back") if held_back else None
    return found


@pytest.mark.parametrize(("first", "then", "held"), [
    (file_row(2, revoked=True), file_row(3, "other"), True),  # revoked earlier: other content is held
    (file_row(2, held_back=True), file_row(3, "other"), True),  # … held back (a minor, secrecy)
    (file_row(2, revoked=True), file_row(3, "old"), True),  # … and the decision repeated unrevoked
    (file_row(2, "other"), file_row(3, revoked=True), False),  # a revocation applies after a correction
    (file_row(2, "other"), file_row(3, held_back=True), False),  # … and so does a hold
    (file_row(2, revoked=True), file_row(3, revoked=True), False),
    (file_row(2, revoked=True, file="monday.csv"), file_row(3, "other", file="tuesday.csv"), False),
])
def test_a_file_row_taking_its_decision_down_holds_the_files_other_rows_in_later_chunks(
        first: SourceItem, then: SourceItem, held: bool) -> None:
    first, then, this_run = replace(first), replace(then), ReadThisRun()
    mark_conflicts([first], stored("P1"), RUN, this_run=this_run)
    after = (stored("P1", state="withdrawn", reason="revoked") if first.revoked  # no version written
             else stored("P1", run=RUN, content=first.mapped_hash or ""))
    after.writers[KEY] = first.source_key  # the version this run wrote, by the first row
    mark_conflicts([then], after, RUN, this_run=this_run)
    assert first.conflict is None
    assert (then.conflict is not None) is held


@pytest.mark.parametrize(("rows", "held"), [
    ([file_row(2, revoked=True), file_row(3, "other")], [False, True]),
    ([file_row(2, "other"), file_row(3, revoked=True)], [True, False]),  # in either order
    ([file_row(2, "other"), file_row(3, held_back=True)], [True, False]),
    ([file_row(2, "old"), file_row(3, revoked=True)], [True, False]),
    ([file_row(2, revoked=True, file="mon.csv"), file_row(3, "other", file="tue.csv")], [False, False]),
    ([file_row(2, "old", file="monday.csv"), file_row(3, "other", file="tuesday.csv")], [False, False]),
])
def test_a_file_row_taking_its_decision_down_holds_the_files_other_rows_read_with_it(
        rows: list[SourceItem], held: list[bool]) -> None:
    rows = [replace(row) for row in rows]
    mark_conflicts(rows, stored("P1"), RUN)
    assert [row.conflict is not None for row in rows] == held


def test_a_retried_pull_holds_content_for_a_decision_its_earlier_try_saw_taken_down() -> None:
    earlier_try = ReadThisRun()
    mark_conflicts([file_row(2, "other"), file_row(3, revoked=True)], stored("P1"), RUN, this_run=earlier_try)
    again = file_row(2, "other")  # the retry reads the file again from its start
    mark_conflicts([again], stored("P1", state="withdrawn", reason="revoked"), RUN,
                   this_run=ReadThisRun.restored(earlier_try.rows()))
    assert again.conflict is not None and "penalties.csv#3" in again.conflict.message_en


@pytest.mark.parametrize(("writer", "applies"), [
    ("penalties.csv#2", True), ("older.csv#2", False), (None, False)])
def test_a_files_revocation_of_what_this_run_wrote_applies_only_over_its_own_files_rows(
        writer: str | None, applies: bool) -> None:
    revocation, record = file_row(3, revoked=True), stored("P1", run=RUN, content="other")
    if writer is not None:
        record.writers[KEY] = writer
    mark_conflicts([revocation], record, RUN)
    assert (revocation.conflict is None) is applies


def test_a_file_row_is_not_held_for_what_another_file_of_the_run_took_down() -> None:
    newer = file_row(2, "other", file="tue.csv")
    mark_conflicts([newer], stored("P1", run=RUN, state="revoked"), RUN,
                   this_run=ReadThisRun.restored([["mon.csv", KEY, "mon.csv#2"]]))
    assert newer.conflict is None


def test_a_run_remembers_only_file_rows_taking_a_decision_down() -> None:
    this_run = ReadThisRun()
    mark_conflicts([item("P1", revoked=True), file_row(2), file_row(3, revoked=True, key="penalty:x:8号")],
                   stored("P1"), RUN, this_run=this_run)
    assert this_run.taken_down == {("penalties.csv", "penalty:x:8号"): "penalties.csv#3"}


@pytest.mark.parametrize(("store", "read", "held"), [
    (stored("P1", state="withdrawn", reason="revoked"), [item("P2", "old")], True),  # repeats a revoked one
    (stored("P1", state="revoked"), [item("P2", "old")], True),
    (stored("P1", state="withdrawing", reason="revoked"), [item("P2", "old")], True),
    (stored("P1", state="operator_withdrawn", reason="revoked"), [item("P2", "old")], True),
    (stored("P1", state="withdrawn", reason="revoked"), [item("P2", "other")], False),  # another decision
    (stored("P1", state="withdrawn", reason="revoked"), [item("P2", "old", revoked=True)], False),
    (stored("P1", state="withdrawn", reason="replaced"), [item("P2", "old")], False),  # P1 renumbered
    (stored("P1"), [item("P2", "old"), item("P1", "old", revoked=True)], True),  # revoked with it
    (stored("P1"), [item("P2", "old"), item("P1", "old")], False),  # the same decision twice
    (stored("P1", state="withdrawn", reason="revoked"), [item("P2", "old"), item("P1", "old")], False),
    (StoredRecords(), [item("P2", "new"), item("P1", "new", revoked=True)], True),  # both new, one revoked
    (StoredRecords(), [item("P2", "new"), item("P1", "other", revoked=True)], False),  # another decision
])
def test_a_repeat_of_a_decision_its_own_id_revoked_is_held(store: StoredRecords, read: list[SourceItem],
                                                           held: bool) -> None:
    mark_conflicts(read, store, RUN)
    assert (read[0].conflict is not None) is held
    if held:
        assert read[0].conflict is not None and "P1 revoked" in read[0].conflict.message_en


@pytest.mark.parametrize(("store", "claim", "adopts"), [
    (stored("P1", run=RUN), item("P2", "old", revoked=True), True),  # the case entered twice, stored now
    (stored("P1"), item("P2", "old", revoked=True), False),  # stored before this run: another id's
    (stored("P1", run=RUN), item("P2", "new", revoked=True), False),  # another decision
    (stored("P1", run=RUN), item("P2", "old"), False),  # not a revocation
    (stored("penalties.csv#2", run=RUN), item("P2", "old", revoked=True), False),  # a file row stored it
])
def test_a_revocation_of_the_same_case_stored_by_this_run_under_another_id_takes_it_over(
        store: StoredRecords, claim: SourceItem, adopts: bool) -> None:
    mark_conflicts([claim], store, RUN)
    assert claim.adopts is adopts
    assert (claim.conflict is None) is (adopts or not claim.revoked)
