"""Forgiving search (the console's record search and ``audit trace``) and a record's versions as the
fields published, on hand-made rows in SQLite and PostgreSQL."""

from __future__ import annotations

import fabricate
import pytest

from creditsync.audit.history import trace
from creditsync.orchestration.ui import record_queries
from creditsync.orchestration.ui.record_queries import with_changes
from creditsync.schema import field_titles
from creditsync.store import Store

STORED = "长市监处罚〔2026〕101号"


def _fill(store: Store) -> None:
    fabricate.write(store, records=[
        fabricate.record_row(f"penalty:X:{STORED}", subject_name="济南某_商贸有限公司", source_key="P1"),
        fabricate.record_row("penalty:X:长市监处罚〔2026〕1101号", subject_name="济南某A商贸有限公司"),
        fabricate.record_row("penalty:X:长市监处罚〔2025〕7号", subject_name="历城100%食品店"),
    ])


def _found(store: Store, text: str) -> set[str]:
    return {r["document_no"] for r in record_queries.search(store, text)}


@pytest.mark.parametrize("typed", [STORED, "长市监处罚[2026]101号", "长市监处罚(2026)101号",
                                   "长市监处罚（2026）101号", "长市监处罚【2026】101号",
                                   " 长市监处罚〔２０２６〕１０１号 ", "长市监处罚 [2026] 第101号"])
def test_every_written_variant_of_a_document_number_finds_the_record(store: Store, typed: str) -> None:
    _fill(store)
    assert STORED in _found(store, typed)
    assert trace_of(store, typed) == [f"penalty:X:{STORED}"]  # creditsync audit trace


def trace_of(store: Store, typed: str) -> list[str]:
    with store.reader() as session:
        return [r.business_key for r in trace(session, typed).records]


def test_parts_of_a_document_number_or_a_name_match_and_wildcards_are_characters(store: Store) -> None:
    _fill(store)
    assert _found(store, "(2026)") == {STORED, "长市监处罚〔2026〕1101号"}
    assert _found(store, "101号") == {STORED, "长市监处罚〔2026〕1101号"}
    assert _found(store, "〔2025〕") == {"长市监处罚〔2025〕7号"}
    assert _found(store, "某_商贸") == {STORED}  # not 某A商贸: _ is an underscore
    assert _found(store, "100%") == {"长市监处罚〔2025〕7号"}
    assert _found(store, "%") == {"长市监处罚〔2025〕7号"}  # only the name with a % in it
    assert _found(store, "_") == {STORED}


def test_versions_show_standard_names_and_mark_what_changed() -> None:
    first = {"CF_WSH": STORED, "CF_SY": "经查", "CF_FR_ZJHM": "370123********4845"}
    second = dict(first, CF_SY="经查（更正）")
    versions = with_changes([{"version": 1, "payload": first}, {"version": 2, "payload": second}],
                            field_titles("penalty"))
    assert versions[0]["changed"] == [] and versions[1]["changed"] == ["CF_SY"]
    rows = {f["code"]: f for f in versions[1]["fields"]}
    assert rows["CF_SY"]["title"] == field_titles("penalty")["CF_SY"] and rows["CF_SY"]["changed"]
    assert rows["CF_WSH"]["value"] == STORED and not rows["CF_WSH"]["changed"]
    assert "payload" not in versions[1]


def test_the_timeline_of_a_record_never_stored_is_found_by_its_source_id(store: Store) -> None:
    from creditsync.audit import AuditTrail

    with store.transaction() as s:
        AuditTrail("scheduler").append(s, "record_quarantined", department="market_supervision",
                                       category="penalty", document_no=STORED, source_key="P000044")
    story = record_queries.timeline(store, "P000044")
    assert story["found"] and story["versions"] == [] and story["document_no"] == STORED


def test_record_search_pages_both_ways_with_the_total(store: Store) -> None:
    fabricate.write(store, records=[fabricate.record_row(f"penalty:X:长市监处罚〔2026〕{n}号")
                                    for n in range(5)])
    first = record_queries.search_page(store, "〔2026〕", size=2)
    second = record_queries.search_page(store, "〔2026〕", after=first.older, size=2)
    third = record_queries.search_page(store, "〔2026〕", after=second.older, size=2)
    assert (first.total, first.newer, len(third.rows), third.older) == (5, None, 1, None)
    keys = [r["business_key"] for page in (first, second, third) for r in page.rows]
    assert len(set(keys)) == 5
    back = record_queries.search_page(store, "〔2026〕", before=second.newer, size=2)
    assert [r["business_key"] for r in back.rows] == [r["business_key"] for r in first.rows]
    assert back.newer is None
