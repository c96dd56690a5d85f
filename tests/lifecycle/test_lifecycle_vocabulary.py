"""Names the trail, the CLI and the console share: every audit event has its label, every state its
column, and the store's schema is what the code needs (or a run says which command fixes it)."""

from __future__ import annotations

import re

import pytest
from alembic.script import ScriptDirectory

from creditsync.audit.events import LABELS, AuditEvent, label
from creditsync.exceptions import ConfigurationError
from creditsync.orchestration.ui.labels import RECORD_STATES
from creditsync.store import open_store
from creditsync.store.db import MIGRATIONS, SCHEMA_REVISION, alembic_config
from creditsync.store.states import RecordState, WithdrawCause


def test_every_audit_event_has_a_label_in_both_languages() -> None:
    missing = [event for event in AuditEvent if not all(LABELS.get(event, ("", "")))]
    assert missing == []
    assert label("a_newer_gateways_event") == ("a_newer_gateways_event", "a_newer_gateways_event")


def test_every_record_state_has_a_label_and_every_cause_a_state() -> None:
    assert set(RecordState) <= set(RECORD_STATES)
    assert {cause.final_state for cause in WithdrawCause} <= set(RecordState)


def test_the_code_needs_the_newest_migration() -> None:
    assert ScriptDirectory.from_config(alembic_config("sqlite://")).get_current_head() == SCHEMA_REVISION


def test_migration_files_sort_in_the_order_they_apply() -> None:
    script = ScriptDirectory.from_config(alembic_config("sqlite://"))
    applied = [rev.revision for rev in reversed(list(script.walk_revisions()))]
    files = sorted((MIGRATIONS / "versions").glob("[0-9]*.py"))
    by_file = [found.group(1) for f in files
               if (found := re.search(r"^revision = '([^']+)'", f.read_text(encoding="utf-8"), re.M))]
    assert by_file == applied


@pytest.mark.parametrize("state", ["empty", "behind"])
def test_a_store_not_upgraded_stops_naming_the_command(empty_pg_url: str, state: str) -> None:
    url = empty_pg_url
    if state == "behind":
        from alembic import command

        command.upgrade(alembic_config(url), "0003_core")
    with pytest.raises(ConfigurationError, match="creditsync db-upgrade"):
        open_store(url)
