"""Retention: only a whole prefix older than the window is archived and removed, the rest of the chain
still verifies from the anchor, the archive verifies against it, and forging either is caught."""

from __future__ import annotations

import gzip
from collections.abc import Iterator
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any, ClassVar

import pytest
from sqlalchemy import delete, select, update
from typer.testing import CliRunner

from creditsync.audit import AuditTrail, trail, verify_chain
from creditsync.audit import retention as retention_module
from creditsync.audit.retention import PruneError, prune, verify_archive
from creditsync.cli.main import app
from creditsync.exceptions import ConfigurationError
from creditsync.store import Store
from creditsync.store.models import AuditAnchor, AuditEntry

NOW = datetime(2026, 11, 1, 12, 0, tzinfo=UTC)


class Clock(datetime):
    """``creditsync.audit.trail`` reads the time through this class: ``now()`` is ``Clock.moment``."""

    moment: ClassVar[datetime] = NOW

    @classmethod
    def now(cls, tz: Any = None) -> datetime:  # type: ignore[override]
        return cls.moment


@pytest.fixture(autouse=True)
def clock(monkeypatch: pytest.MonkeyPatch) -> Iterator[type[Clock]]:
    monkeypatch.setattr(trail, "datetime", Clock)
    yield Clock


def append_at(store: Store, monkeypatch: pytest.MonkeyPatch, days_ago: list[float],
              base: datetime = NOW) -> None:
    """One entry per item, stamped that many days before ``base``, in the order given."""
    writer = AuditTrail(actor="tester")
    for n, days in enumerate(days_ago):
        monkeypatch.setattr(Clock, "moment", base - timedelta(days=days))
        with store.transaction() as session:
            writer.append(session, "record_version", department="health", category="penalty",
                          business_key=f"penalty:X:{n}", run_id="r1", n=n)
    monkeypatch.setattr(Clock, "moment", NOW)


def ids(store: Store) -> list[int]:
    with store.reader() as session:
        return list(session.scalars(select(AuditEntry.id).order_by(AuditEntry.id)))


def verify(store: Store) -> Any:
    with store.reader() as session:
        return verify_chain(session)


def run_prune(store: Store, folder: Path, keep_days: int = 365, **options: Any) -> Any:
    return prune(store, keep_days=keep_days, archive_dir=folder, now=NOW, actor="auditor-1", **options)


def test_only_the_prefix_older_than_the_window_goes(store: Store, tmp_path: Path,
                                                    monkeypatch: pytest.MonkeyPatch) -> None:
    append_at(store, monkeypatch, [500, 450, 400, 366, 300, 100, 1])

    done = run_prune(store, tmp_path)

    assert (done.entries, done.first_id, done.last_id) == (4, 1, 4)
    assert ids(store) == [5, 6, 7, 8]  # 8: the audit_pruned entry itself
    result = verify(store)
    assert result.ok and result.checked == 4, result
    with store.reader() as session:
        pruned = session.get(AuditEntry, 8)
        assert pruned is not None and pruned.event == "audit_pruned" and pruned.actor == "auditor-1"
        assert pruned.details["archive_sha256"] == done.sha256
        assert verify_archive(session, done.archive).ok
    assert done.archive.name == "audit-000000000001-000000000004.jsonl.gz"


def test_an_old_entry_after_a_newer_one_is_never_removed(store: Store, tmp_path: Path,
                                                         monkeypatch: pytest.MonkeyPatch) -> None:
    """A skewed clock stamped entry 4 long ago; removing it would cut the chain in the middle."""
    append_at(store, monkeypatch, [500, 400, 10, 900, 1])

    done = run_prune(store, tmp_path)

    assert (done.entries, done.last_id) == (2, 2)
    assert ids(store) == [3, 4, 5, 6]
    assert verify(store).ok


@pytest.mark.parametrize(("keep_days", "minimum"), [(179, None), (30, None), (-1, "0"), (29, "30")])
def test_windows_under_the_configured_minimum_are_refused(
        store: Store, tmp_path: Path, monkeypatch: pytest.MonkeyPatch, keep_days: int,
        minimum: str | None) -> None:
    if minimum is not None:
        monkeypatch.setenv("CREDITSYNC_AUDIT_MIN_KEEP_DAYS", minimum)
    append_at(store, monkeypatch, [900, 800])
    with pytest.raises(ConfigurationError, match="keep-days"):
        run_prune(store, tmp_path, keep_days)
    assert ids(store) == [1, 2]


def test_a_short_window_is_allowed_only_when_configured(store: Store, tmp_path: Path,
                                                        monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("CREDITSYNC_AUDIT_MIN_KEEP_DAYS", "7")
    append_at(store, monkeypatch, [40, 20, 5])
    assert run_prune(store, tmp_path, 10).entries == 2
    assert ids(store) == [3, 4]


def test_dry_run_changes_nothing(store: Store, tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    append_at(store, monkeypatch, [500, 400, 10])
    done = run_prune(store, tmp_path / "archive", dry_run=True)
    assert (done.entries, done.archive) == (2, None)
    assert ids(store) == [1, 2, 3]
    assert not list((tmp_path / "archive").glob("*"))


def test_a_tampered_entry_is_never_archived(store: Store, tmp_path: Path,
                                            monkeypatch: pytest.MonkeyPatch) -> None:
    append_at(store, monkeypatch, [500, 400, 10])
    with store.transaction() as session:
        session.execute(update(AuditEntry).where(AuditEntry.id == 2).values(actor="intruder"))
    with pytest.raises(PruneError, match="entry 2"):
        run_prune(store, tmp_path / "archive")
    assert ids(store) == [1, 2, 3]
    assert not list((tmp_path / "archive").glob("*"))


def test_successive_prunes_chain_their_anchors(store: Store, tmp_path: Path,
                                               monkeypatch: pytest.MonkeyPatch) -> None:
    append_at(store, monkeypatch, [700, 650, 600, 300, 250])
    first = run_prune(store, tmp_path)  # 1..3
    monkeypatch.setattr(Clock, "moment", NOW + timedelta(days=200))
    second = prune(store, keep_days=365, archive_dir=tmp_path, now=NOW + timedelta(days=200))  # 4..5
    assert (first.first_id, first.last_id, second.first_id, second.last_id) == (1, 3, 4, 5)
    assert ids(store) == [6, 7]  # 6: the first prune's record, younger than the second cutoff
    assert verify(store).ok
    with store.reader() as session:
        for done in (first, second):
            assert done.archive is not None and verify_archive(session, done.archive).ok


def test_an_interrupted_deletion_is_harmless_and_finished_next_time(store: Store, tmp_path: Path,
                                                                    monkeypatch: pytest.MonkeyPatch) -> None:
    append_at(store, monkeypatch, [700, 650, 300, 10])
    monkeypatch.setattr(retention_module, "_delete_archived", lambda *_args: None)
    run_prune(store, tmp_path)
    assert ids(store) == [1, 2, 3, 4, 5]
    assert verify(store).checked == 3  # the chain starts after the anchor
    monkeypatch.undo()
    monkeypatch.setattr(trail, "datetime", Clock)
    run_prune(store, tmp_path, 400)  # nothing new to archive...
    assert ids(store) == [3, 4, 5]  # ...but the leftovers below the anchor are gone
    assert verify(store).ok


def _drop_anchor(session: Any) -> None:
    session.execute(delete(AuditAnchor))


def _move_anchor(session: Any) -> None:
    session.execute(update(AuditAnchor).values(last_id=AuditAnchor.last_id + 1))


def _forge_prefix_removal(session: Any) -> None:
    """An intruder deletes entry 4 as well and writes an anchor that covers it."""
    entry = session.get(AuditEntry, 4)
    session.execute(update(AuditAnchor).values(last_id=4, last_hash=entry.hash))
    session.delete(entry)


def _remove_pruned_record(session: Any) -> None:
    session.execute(delete(AuditEntry).where(AuditEntry.event == "audit_pruned"))


@pytest.mark.parametrize(("tamper", "words"), [
    (_drop_anchor, "missing"),
    (_move_anchor, "not recorded"),
    (_forge_prefix_removal, "not recorded"),
    (_remove_pruned_record, "not recorded"),
])
def test_forging_the_anchor_is_caught(store: Store, tmp_path: Path, monkeypatch: pytest.MonkeyPatch,
                                      tamper: Any, words: str) -> None:
    append_at(store, monkeypatch, [700, 650, 600, 300, 10])
    run_prune(store, tmp_path)
    with store.transaction() as session:
        tamper(session)
    result = verify(store)
    assert not result.ok and words in (result.problem or ""), result


def test_an_altered_archive_is_caught(store: Store, tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    append_at(store, monkeypatch, [700, 650, 10])
    done = run_prune(store, tmp_path)
    lines = gzip.decompress(done.archive.read_bytes()).decode().splitlines()
    forged = tmp_path / "forged.jsonl.gz"
    forged.write_bytes(gzip.compress("\n".join([lines[0], lines[1].replace("tester", "someone"),
                                                *lines[2:]]).encode() + b"\n"))
    with store.reader() as session:
        result = verify_archive(session, forged)
    assert not result.ok and "not the archive of any audit anchor" in (result.problem or "")


def test_the_commands(store: Store, store_url: str, tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    append_at(store, monkeypatch, [700, 650, 10], base=datetime.now(UTC))  # the command uses the real time
    monkeypatch.setenv("CREDITSYNC_DB_URL", store_url)
    monkeypatch.setenv("CREDITSYNC_HOME", str(tmp_path))
    monkeypatch.setattr(Clock, "moment", datetime.now(UTC))
    runner = CliRunner()

    refused = runner.invoke(app, ["audit", "prune", "--keep-days", "30"])
    dry = runner.invoke(app, ["audit", "prune", "--keep-days", "365", "--dry-run"])
    done = runner.invoke(app, ["audit", "prune", "--keep-days", "365"])

    assert refused.exit_code == 2 and "minimum 180" in refused.output
    assert dry.exit_code == 0 and "would archive 2 entries" in dry.output, dry.output
    assert done.exit_code == 0 and "archived and removed 2 entries" in done.output, done.output
    archive = next((tmp_path / "audit-archive").glob("audit-*.jsonl.gz"))
    good = runner.invoke(app, ["audit", "verify", "--archive", str(archive)])
    assert good.exit_code == 0 and "2 entries match its anchor" in good.output, good.output
    assert runner.invoke(app, ["audit", "verify"]).exit_code == 0
    archive.write_bytes(archive.read_bytes()[:-8])
    assert runner.invoke(app, ["audit", "verify", "--archive", str(archive)]).exit_code == 1
    broken = runner.invoke(app, ["audit", "verify"])
    assert broken.exit_code == 1 and "does not match the anchor's sha256" in broken.output, broken.output
