"""Who may claim a 文书号 (lifecycle.source.mark_conflicts), case by case: a row whose business key the
store already holds for another department record, with other content, is held, except where it is the
same decision under another written form, a file row (a place, which corrects), or a person let it through."""

from __future__ import annotations

from typing import Any

import pytest

from creditsync.lifecycle.source import EarlierClaims, SourceItem, conflict_error, mark_conflicts
from creditsync.lifecycle.stored import StoredRecords

KEY = "penalty:11370113004325179R:长市监处罚〔2026〕7号"
RUN, EARLIER_RUN = "run-2", "run-1"


def item(source_key: str, content: str = "new", *, identifies: bool = True) -> SourceItem:
    return SourceItem(source_key=source_key, source_hash=f"{source_key}/{content}", data={}, key=KEY,
                      mapped_hash=content, identifies=identifies)


def stored(source_key: str | None, *, run: str = EARLIER_RUN, state: str = "published",
           reason: str | None = None, content: str = "old") -> StoredRecords:
    row: dict[str, Any] = {"business_key": KEY, "source_key": source_key, "run_id": run,
                           "mapped_hash": content, "state": state, "withdraw_reason": reason}
    return StoredRecords(rows={KEY: row})


@pytest.mark.parametrize(("store", "claim", "held"), [
    (stored("P1"), item("P1"), False),  # the decision's own id: a correction
    (stored("P1"), item("P2", "old"), False),  # the same content under another id
    (stored("P1"), item("P2"), True),  # another id, other content: a twin
    (stored("P1", run=RUN), item("P2"), True),  # … read earlier in this run
    (stored("penalties.csv#3"), item("P2"), False),  # the department moved from files to ids
    (stored("P1"), item("penalties.csv#3", identifies=False), False),  # a file row corrects by 文书号
    (stored(None), item("P2"), False),
    (stored("P1", state="replaced"), item("P2"), False),  # P1 went to another number
    (stored("P1", state="operator_withdrawn", reason="replaced"), item("P2"), False),
    (stored("P1", state="withdrawing", reason="operator:replaced"), item("P2"), False),
    (stored("P1", state="withdrawn", reason="revoked"), item("P2"), False),  # P1 was revoked
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


@pytest.mark.parametrize("order", ["through first", "through last"])
def test_a_row_a_person_let_through_claims_the_number_over_the_others(order: str) -> None:
    through, old = item("P2"), item("P1", "old")
    chunk = [through, old] if order == "through first" else [old, through]
    mark_conflicts(chunk, stored("P1"), RUN, EarlierClaims(let_through={through.source_hash}))
    assert through.conflict is None
    assert old.conflict is not None and "P2" in old.conflict.message_en


def test_a_row_held_earlier_stays_held_without_a_new_reason() -> None:
    claim = item("P2")
    reason = conflict_error(KEY, "P1")
    mark_conflicts([claim], StoredRecords(), RUN, EarlierClaims(held={claim.source_hash: reason}))
    assert claim.conflict is reason
