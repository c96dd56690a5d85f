"""Retention of the audit trail: the oldest entries go to an archive file, never a middle one.

``prune`` removes only a whole prefix of the chain (from its first entry up to, not including, the first
entry inside the window), only entries older than ``keep_days`` (at least the configured minimum,
CREDITSYNC_AUDIT_MIN_KEEP_DAYS, 180 days by default: no argument lowers it), and only after checking every
one of them against its hash. ``audit verify`` fails on an anchor pruned with a shorter window than the
minimum in force and on an anchor whose archive file is missing or differs. An entry older than the
cutoff that follows a newer one (a skewed clock) is kept.

What stays verifiable:

- the archive, a gzip JSON-lines file (a header, every pruned entry with all its hashed fields, a trailer),
  written and fsynced before anything is deleted;
- an ``audit_anchors`` row per prune: the ids and hashes the archive starts and ends with, and the
  archive's sha256. ``verify_chain`` starts from the newest anchor instead of GENESIS (:func:`chain_start`),
  anchors must link up back to GENESIS, and the newest must be the one named by the last
  ``audit_pruned`` entry of the chain, so a forged anchor does not pass. ``creditsync audit verify
  --archive FILE`` checks an archive against its anchor (:func:`verify_archive`).

The anchor and the ``audit_pruned`` entry commit together; the archived entries are then deleted in
chunks outside that transaction (appends are not held up). An interrupted deletion leaves entries below
the anchor, which the chain ignores and the next prune removes.
"""

from __future__ import annotations

import gzip
import hashlib
import json
import os
from collections.abc import Iterator
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import TYPE_CHECKING, Any

from sqlalchemy import delete, select
from sqlalchemy.orm import Session

from creditsync.audit.events import AuditEvent
from creditsync.audit.keys import UNKEYED, AuditKeyring, load_audit_config
from creditsync.audit.trail import GENESIS, AuditTrail, canonical_ts, entry_hash
from creditsync.exceptions import ConfigurationError, CreditSyncError
from creditsync.store import Store
from creditsync.store.models import AuditAnchor, AuditEntry, AuditHead

if TYPE_CHECKING:
    from creditsync.audit.verify import VerifyResult

ARCHIVE_FORMAT = "creditsync-audit-archive"
HASHED = ("id", "ts", "event", "actor", "department", "category", "business_key", "run_id", "details")
DELETE_CHUNK = 50_000


class PruneError(CreditSyncError):
    """The trail cannot be pruned as asked (broken chain, a concurrent prune); nothing was deleted."""


@dataclass
class ChainStart:
    first_id: int = 1
    prev_hash: str = GENESIS
    problem: str | None = None


@dataclass
class PruneOutcome:
    cutoff: datetime
    dry_run: bool
    entries: int = 0
    first_id: int | None = None
    last_id: int | None = None
    last_hash: str | None = None
    archive: Path | None = None
    sha256: str | None = None
    oldest_kept: datetime | None = None


def chain_start(session: Session) -> ChainStart:
    """Where ``verify_chain`` begins: after the newest anchor, once the anchors check out."""
    anchors = list(session.scalars(select(AuditAnchor).order_by(AuditAnchor.last_id)))
    expected = ChainStart()
    for anchor in anchors:
        if anchor.first_id != expected.first_id or anchor.prev_hash != expected.prev_hash:
            return ChainStart(expected.first_id, expected.prev_hash,
                              f"audit anchor {anchor.id} does not follow the one before it (anchors altered)")
        expected = ChainStart(anchor.last_id + 1, anchor.last_hash)
    if anchors and (problem := _unrecorded(session, anchors[-1])):
        return ChainStart(expected.first_id, expected.prev_hash, problem)
    return expected


def _unrecorded(session: Session, anchor: AuditAnchor) -> str | None:
    """The newest anchor must be the one the last ``audit_pruned`` entry of the chain describes."""
    entry = session.scalars(select(AuditEntry).where(
        AuditEntry.event == "audit_pruned", AuditEntry.id > anchor.last_id)
        .order_by(AuditEntry.id.desc()).limit(1)).first()
    recorded = entry.details if entry is not None else {}
    if (recorded.get("last_id"), recorded.get("last_hash"), recorded.get("archive_sha256")) != (
            anchor.last_id, anchor.last_hash, anchor.archive_sha256):
        return f"audit anchor {anchor.id} (entries up to {anchor.last_id}) is not recorded in the trail"
    return None


def prune(store: Store, *, keep_days: int, archive_dir: Path | None = None, dry_run: bool = False,
          actor: str | None = None, now: datetime | None = None) -> PruneOutcome:
    """``archive_dir`` defaults to the configured one, where ``audit verify`` looks for archives."""
    config = load_audit_config()
    if keep_days < 0:
        raise ConfigurationError("--keep-days must not be negative")
    if keep_days < config.min_keep_days:
        raise ConfigurationError(f"--keep-days {keep_days} is shorter than the minimum "
                                 f"{config.min_keep_days} days (CREDITSYNC_AUDIT_MIN_KEEP_DAYS)")
    archive_dir = archive_dir or config.archive_dir
    outcome = PruneOutcome(cutoff=(now or datetime.now(UTC)) - timedelta(days=keep_days), dry_run=dry_run)
    with store.reader() as session:
        start = chain_start(session)
        if start.problem:
            raise PruneError(f"the trail does not verify, nothing pruned: {start.problem}")
        writer = _ArchiveWriter(archive_dir, start) if not dry_run else None
        try:
            _walk_prefix(session, start, outcome, writer, config.keyring)
        except BaseException:
            if writer:
                writer.discard()
            raise
    if dry_run or not outcome.entries:
        if writer:
            writer.discard()
            _delete_archived(store, start.first_id - 1)  # leftovers of an interrupted prune, if any
        return outcome
    assert writer is not None
    outcome.archive, outcome.sha256 = writer.finish(outcome)
    _anchor(store, start, outcome, keep_days, AuditTrail(actor, config=config))
    _delete_archived(store, outcome.last_id or 0)
    return outcome


def _walk_prefix(session: Session, start: ChainStart, outcome: PruneOutcome,
                 writer: _ArchiveWriter | None, keyring: AuditKeyring) -> None:
    """Check and archive entries in chain order until the first one inside the window."""
    expected_id, prev_hash = start.first_id, start.prev_hash
    query = (select(AuditEntry).where(AuditEntry.id >= start.first_id).order_by(AuditEntry.id)
             .execution_options(yield_per=5000))
    for entry in session.scalars(query):
        if _utc(entry.ts) >= outcome.cutoff:
            outcome.oldest_kept = _utc(entry.ts)
            return
        linked = entry.id == expected_id and entry.prev_hash == prev_hash
        if not linked or _hash_or_none(prev_hash, entry, keyring) != entry.hash:
            raise PruneError(f"entry {entry.id} does not verify (see `audit verify`); nothing pruned")
        if writer:
            writer.add(entry)
        outcome.first_id = outcome.first_id or entry.id
        outcome.last_id, outcome.last_hash, outcome.entries = entry.id, entry.hash, outcome.entries + 1
        expected_id, prev_hash = entry.id + 1, entry.hash


def _hash_or_none(prev_hash: str, entry: AuditEntry, keyring: AuditKeyring) -> str | None:
    try:
        return entry_hash(prev_hash, entry, keyring)
    except KeyError:  # signed with a key that is not configured: cannot be checked, so not pruned
        return None


def _anchor(store: Store, start: ChainStart, outcome: PruneOutcome, keep_days: int,
            trail: AuditTrail) -> None:
    assert outcome.archive is not None and outcome.sha256 is not None and outcome.last_hash is not None
    with store.transaction() as session:
        session.scalars(select(AuditHead).where(AuditHead.id == 1).with_for_update()).first()
        if chain_start(session).first_id != start.first_id:
            raise PruneError("another prune ran meanwhile; nothing pruned (the archive file is left over)")
        anchor = AuditAnchor(
            first_id=start.first_id, last_id=outcome.last_id, prev_hash=start.prev_hash,
            last_hash=outcome.last_hash, entries=outcome.entries, archive_name=outcome.archive.name,
            archive_sha256=outcome.sha256, keep_days=keep_days, cutoff=outcome.cutoff, actor=trail.actor,
            created_at=datetime.now(UTC))
        session.add(anchor)
        trail.append(session, AuditEvent.AUDIT_PRUNED, keep_days=keep_days, cutoff=outcome.cutoff.isoformat(),
                     first_id=start.first_id, last_id=outcome.last_id, prev_hash=start.prev_hash,
                     last_hash=outcome.last_hash, entries=outcome.entries,
                     archive_name=outcome.archive.name, archive_sha256=outcome.sha256)


def _delete_archived(store: Store, last_id: int) -> None:
    """Everything at or below the anchor, in chunks (including leftovers of an interrupted prune)."""
    with store.reader() as session:
        low = session.scalar(select(AuditEntry.id).order_by(AuditEntry.id).limit(1)) or last_id + 1
    while low <= last_id:
        high = min(low + DELETE_CHUNK - 1, last_id)
        with store.transaction() as session:
            session.execute(delete(AuditEntry).where(AuditEntry.id >= low, AuditEntry.id <= high))
        low = high + 1


def _utc(ts: datetime) -> datetime:
    return ts.replace(tzinfo=UTC) if ts.tzinfo is None else ts  # SQLite hands back naive UTC


@dataclass
class _ArchiveWriter:
    """``audit-<first>-<last>.jsonl.gz``: written under a temporary name, fsynced, then renamed."""

    folder: Path
    start: ChainStart
    partial: Path = field(init=False)
    handle: Any = field(init=False)

    def __post_init__(self) -> None:
        self.folder.mkdir(parents=True, exist_ok=True)
        self.partial = self.folder / f".audit-{self.start.first_id:012d}.partial"
        self.handle = gzip.open(self.partial, "wt", encoding="utf-8")  # noqa: SIM115 (closed in finish/discard)
        self._line({"format": ARCHIVE_FORMAT, "version": 1, "first_id": self.start.first_id,
                    "prev_hash": self.start.prev_hash})

    def add(self, entry: AuditEntry) -> None:
        row = {name: getattr(entry, name) for name in HASHED}
        self._line(dict(row, ts=canonical_ts(entry.ts), scheme=entry.scheme or UNKEYED,
                        prev_hash=entry.prev_hash, hash=entry.hash))

    def finish(self, outcome: PruneOutcome) -> tuple[Path, str]:
        self._line({"trailer": True, "last_id": outcome.last_id, "last_hash": outcome.last_hash,
                    "entries": outcome.entries})
        self.handle.close()
        with self.partial.open("rb+") as raw:
            os.fsync(raw.fileno())
        final = self.folder / f"audit-{self.start.first_id:012d}-{outcome.last_id:012d}.jsonl.gz"
        self.partial.replace(final)
        return final, file_sha256(final)

    def discard(self) -> None:
        self.handle.close()
        self.partial.unlink(missing_ok=True)

    def _line(self, data: dict[str, Any]) -> None:
        self.handle.write(json.dumps(data, ensure_ascii=False, sort_keys=True, default=str) + "\n")


def file_sha256(path: Path) -> str:
    digest = hashlib.sha256()
    with path.open("rb") as handle:
        while chunk := handle.read(1 << 20):
            digest.update(chunk)
    return digest.hexdigest()


def read_archive(path: Path) -> Iterator[dict[str, Any]]:
    with gzip.open(path, "rt", encoding="utf-8") as handle:
        for line in handle:
            yield json.loads(line)


def verify_archive(session: Session, path: Path, keyring: AuditKeyring | None = None) -> VerifyResult:
    """An archive is genuine when its sha256 is an anchor's and its entries chain from the anchor's
    ``prev_hash`` to its ``last_hash`` (which the live chain, or the next anchor, continues from)."""
    from creditsync.audit.verify import VerifyResult, _check  # verify imports this module: import late

    digest = file_sha256(path)
    anchor = session.scalars(select(AuditAnchor).where(AuditAnchor.archive_sha256 == digest)).first()
    if anchor is None:
        return VerifyResult(False, 0, f"{path.name} is not the archive of any audit anchor "
                                      "(altered, truncated, or from another trail)")
    expected_id, prev_hash, checked = anchor.first_id, anchor.prev_hash, 0
    try:
        for row in read_archive(path):
            if "format" in row or "trailer" in row:
                continue
            fields = {name: row[name] for name in HASHED if name != "ts"}
            entry = AuditEntry(**fields, ts=datetime.fromisoformat(row["ts"]), prev_hash=row["prev_hash"],
                               hash=row["hash"], scheme=row.get("scheme", UNKEYED))
            if problem := _check(entry, expected_id, prev_hash, keyring):
                return VerifyResult(False, checked, problem, entry.id)
            expected_id, prev_hash, checked = entry.id + 1, entry.hash, checked + 1
    except (OSError, EOFError, ValueError, KeyError) as exc:
        return VerifyResult(False, checked, f"{path.name} cannot be read: {exc}")
    if (expected_id - 1, prev_hash, checked) != (anchor.last_id, anchor.last_hash, anchor.entries):
        return VerifyResult(False, checked, f"{path.name} ends at entry {expected_id - 1}, "
                                            f"its anchor at entry {anchor.last_id}", expected_id)
    return VerifyResult(True, checked)
