"""``creditsync quarantine resolve``: closing an entry by hand says who did it and why, once."""

from __future__ import annotations

import pytest
from cli_support import invoke, json_document
from pipeline_harness import Harness

from creditsync.store.models import AuditEntry, QuarantineItem

pytestmark = pytest.mark.integration


def first_open_entry() -> int:
    rows = json_document(invoke("quarantine", "list", "--format", "json").stdout)
    return int(rows[0]["id"])


def test_closing_an_entry_is_audited_with_who_and_why(harness: Harness,
                                                     monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("CREDITSYNC_ACTOR", "auditor-li")
    harness.sync()
    entry_id = first_open_entry()

    result = invoke("quarantine", "resolve", str(entry_id), "--reason", "已由部门书面报送")

    assert result.exit_code == 0, result.output
    assert "closed by auditor-li: 已由部门书面报送" in result.output
    [item] = harness.rows(QuarantineItem, QuarantineItem.id == entry_id)
    assert item.resolved_at is not None
    [entry] = harness.rows(AuditEntry, AuditEntry.event == "quarantine_resolved")
    assert (entry.actor, entry.details["quarantine_id"], entry.details["reason"]) == (
        "auditor-li", entry_id, "已由部门书面报送")
    assert entry.details["source_key"] == item.source_key and harness.chain_ok()

    again = invoke("quarantine", "resolve", str(entry_id), "--reason", "again")
    assert again.exit_code == 1 and "already closed" in again.output
    assert harness.count(AuditEntry, AuditEntry.event == "quarantine_resolved") == 1


@pytest.mark.parametrize(("args", "code"), [
    (("999999", "--reason", "x"), 2),  # no such entry
    (("1",), 2),  # --reason is required
    (("1", "--reason", "  "), 2),  # and must say something
])
def test_what_resolve_refuses(harness: Harness, args: tuple[str, ...], code: int) -> None:
    harness.sync()
    assert invoke("quarantine", "resolve", *args).exit_code == code
    assert harness.count(AuditEntry, AuditEntry.event == "quarantine_resolved") == 0
