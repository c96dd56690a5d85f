"""NUL bytes and other control characters from a department never crash a run (PostgreSQL refuses NUL
in text): the record is quarantined with a reason naming the field, kept readable, and the valid records
beside it are delivered."""

from __future__ import annotations

import pytest
from pipeline_harness import Harness

from creditsync.pipeline import pull, push, report
from creditsync.sources.base import RawRecord
from creditsync.store.models import AuditEntry, QuarantineItem
from creditsync.strict_text import NUL_SHOWN

BOTH_STORES = pytest.mark.parametrize("harness_db", ["sqlite", "postgresql"], indirect=True)


@BOTH_STORES
def test_a_nul_byte_quarantines_its_record_and_spares_the_rest(harness: Harness) -> None:
    valid = harness.valid_penalty(0)
    broken = dict(harness.valid_penalty(1), party_name="济南\x00长清商贸有限公司", id="P\x00BROKEN")
    rows = [RawRecord("penalty", "P\x00BROKEN", broken, broken["updated_at"]),
            RawRecord("penalty", valid["id"], valid, valid["updated_at"])]
    ctx = harness.context()

    counts = pull(ctx, records=rows, categories=["penalty"])
    push(ctx, harness.client)
    report(ctx)

    assert counts["penalty"]["new"] == 1 and counts["penalty"]["quarantined"] == 1
    [entry] = harness.rows(QuarantineItem)
    assert entry.source_key == f"P{NUL_SHOWN}BROKEN"
    assert "\x00" not in str(entry.raw_masked) and NUL_SHOWN in entry.raw_masked["party_name"]
    assert any(error["field"] == "CF_XDR_MC" for error in entry.errors)
    assert harness.published_documents() == {valid["decision_no"]}
    quarantined = harness.rows(AuditEntry, AuditEntry.event == "record_quarantined")
    assert quarantined and quarantined[0].details["source_key"] == f"P{NUL_SHOWN}BROKEN"
    assert harness.chain_ok()
