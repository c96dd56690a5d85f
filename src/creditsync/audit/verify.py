"""Checking the trail: the chain itself (streaming, naming the first entry that does not fit), and with
:func:`verify_trail` everything outside it that pins it down: the retention anchors and their archive
files, the signed checkpoints of the head, and the records, acknowledgements and quarantine rows the
trail describes. What each check catches, and what none can, is in docs/audit.md."""

from __future__ import annotations

from collections import Counter
from collections.abc import Callable, Iterable
from dataclasses import dataclass, field
from datetime import timedelta

from sqlalchemy import select
from sqlalchemy.orm import Session

from creditsync.audit.checkpoints import Checkpoint, CheckpointLog, store_identity
from creditsync.audit.crosscheck import cross_check
from creditsync.audit.keys import KEYED_PREFIX, UNKEYED, AuditConfig, AuditKeyring, load_keyring
from creditsync.audit.retention import chain_start, file_sha256
from creditsync.audit.trail import entry_hash
from creditsync.store.models import AuditAnchor, AuditEntry, AuditHead

CHECKPOINT_CHUNK = 1000


@dataclass
class VerifyResult:
    ok: bool
    checked: int
    problem: str | None = None
    entry_id: int | None = None
    schemes: Counter[str] = field(default_factory=Counter)  # entries per hashing scheme


def verify_chain(
    session: Session, *, chunk: int = 5000, progress: Callable[[int], None] | None = None,
    keyring: AuditKeyring | None = None,
) -> VerifyResult:
    keyring = keyring or load_keyring()
    start = chain_start(session)  # GENESIS and entry 1, or where the last retention prune anchored it
    if start.problem:
        return VerifyResult(False, 0, start.problem, start.first_id)
    prev_hash, expected_id, checked, schemes = start.prev_hash, start.first_id, 0, Counter[str]()
    query = (select(AuditEntry).where(AuditEntry.id >= start.first_id).order_by(AuditEntry.id)
             .execution_options(yield_per=chunk))
    for entry in session.scalars(query):
        problem = _check(entry, expected_id, prev_hash, keyring, keyed_seen=_keyed(schemes))
        if problem:
            return VerifyResult(False, checked, problem, entry.id, schemes)
        prev_hash, expected_id, checked = entry.hash, entry.id + 1, checked + 1
        schemes[entry.scheme or UNKEYED] += 1
        if progress and checked % chunk == 0:
            progress(checked)
    result = _check_head(session, checked, expected_id - 1, prev_hash)
    result.schemes = schemes
    return result


def _keyed(schemes: Counter[str]) -> bool:
    return any(scheme.startswith(KEYED_PREFIX) for scheme in schemes)


def _check(entry: AuditEntry, expected_id: int, prev_hash: str, keyring: AuditKeyring | None = None,
           *, keyed_seen: bool = False) -> str | None:
    if entry.id != expected_id:
        missing = f"{expected_id}" if entry.id == expected_id + 1 else f"{expected_id}..{entry.id - 1}"
        return f"entry {missing} is missing before entry {entry.id} (removed)"
    if entry.prev_hash != prev_hash:
        return f"entry {entry.id} does not follow entry {entry.id - 1} (reordered or predecessor altered)"
    scheme = entry.scheme or UNKEYED
    if scheme == UNKEYED and keyed_seen:
        return f"entry {entry.id} is unkeyed after keyed entries (rewritten without the key)"
    try:
        expected = entry_hash(prev_hash, entry, keyring)
    except KeyError:
        return (f"entry {entry.id} is signed with audit key {scheme.removeprefix(KEYED_PREFIX)}, which is "
                "not configured (set it as CREDITSYNC_AUDIT_KEY or in CREDITSYNC_AUDIT_RETIRED_KEYS)")
    if expected != entry.hash:
        return f"entry {entry.id} ({entry.event}) was altered: its content does not match its hash"
    return None


def _check_head(session: Session, checked: int, last_id: int, last_hash: str) -> VerifyResult:
    head = session.get(AuditHead, 1)
    if head is None:
        if checked:
            return VerifyResult(False, checked, "the chain head is missing", None)
        return VerifyResult(True, 0)
    if head.last_id != last_id or head.last_hash != last_hash:
        return VerifyResult(
            False, checked, f"entries after {last_id} were removed (the head names entry {head.last_id})",
            last_id + 1,
        )
    return VerifyResult(True, checked)


@dataclass
class TrailReport:
    """``audit verify``: the chain's result, every problem found anywhere, and what the checks rest on."""

    chain: VerifyResult
    problems: list[str] = field(default_factory=list)
    notes: list[str] = field(default_factory=list)
    checkpoints: int = 0

    @property
    def ok(self) -> bool:
        return self.chain.ok and not self.problems

    @property
    def status(self) -> str:
        return "intact" if self.ok else "not_intact" if self.chain.ok else "broken"

    def headline(self) -> str:
        """What ``audit verify`` says first; the console says the same words (then problems, notes)."""
        result = self.chain
        if self.ok:
            return f"audit trail intact: {result.checked} entries verified"
        if result.ok:
            return (f"audit trail not intact: its {result.checked} entries chain up, but it does not match "
                    "what lies outside it")
        return (f"audit trail broken at entry {result.entry_id}: {result.problem} "
                f"({result.checked} entries verified before it)")

    @property
    def warnings(self) -> list[str]:
        """Notes that weaken what "intact" means (no key: anyone who can write the store can rewrite it)."""
        return [note for note in self.notes if "unkeyed" in note]


def verify_trail(session: Session, config: AuditConfig, *, chunk: int = 5000,
                 progress: Callable[[int], None] | None = None) -> TrailReport:
    report = TrailReport(verify_chain(session, chunk=chunk, progress=progress, keyring=config.keyring))
    report.notes.append(_key_note(config, report.chain))
    anchors = list(session.scalars(select(AuditAnchor).order_by(AuditAnchor.last_id)))
    report.problems += _anchor_problems(anchors, config)
    report.checkpoints = _check_checkpoints(session, config, anchors, report)
    since = anchors[-1].cutoff + timedelta(days=1) if anchors else None
    report.problems += cross_check(session, since=since)
    return report


def _key_note(config: AuditConfig, chain: VerifyResult) -> str:
    keyed = sum(n for scheme, n in chain.schemes.items() if scheme != UNKEYED)
    unkeyed = chain.schemes.get(UNKEYED, 0)
    if not config.keyring.keyed:
        return ("unkeyed (development): no audit key is configured, so anyone who can write the store "
                "can rewrite the chain unnoticed; set CREDITSYNC_AUDIT_KEY (docs/audit.md)")
    note = f"{config.keyring.describe()}: {keyed} keyed entries"
    return note + (f", {unkeyed} unkeyed entries written before the key was configured" if unkeyed else "")


def _anchor_problems(anchors: Iterable[AuditAnchor], config: AuditConfig) -> list[str]:
    problems = []
    for anchor in anchors:
        span = f"audit anchor {anchor.id} (entries {anchor.first_id}..{anchor.last_id})"
        if anchor.keep_days < config.min_keep_days:
            problems.append(f"{span} was pruned with a {anchor.keep_days}-day window, shorter than the "
                            f"minimum {config.min_keep_days} days")
        archive = config.archive_dir / anchor.archive_name
        if not archive.is_file():
            problems.append(f"{span}: its archive {archive} is missing")
        elif file_sha256(archive) != anchor.archive_sha256:
            problems.append(f"{span}: its archive {archive} does not match the anchor's sha256 (altered)")
    return problems


def _check_checkpoints(session: Session, config: AuditConfig, anchors: list[AuditAnchor],
                       report: TrailReport) -> int:
    log = CheckpointLog(config.checkpoints, config.keyring)
    read = log.check()
    report.problems += read.problems
    store = store_identity(session)
    mine = [point for point in read.checkpoints if point.store == store]
    head = session.get(AuditHead, 1)
    if not mine:
        if config.keyring.keyed and head is not None and head.last_id:
            report.problems.append(f"no checkpoint of this store in {config.checkpoints}: the head is not "
                                   "anchored outside the store (run `creditsync audit checkpoint`)")
        else:
            report.notes.append(f"no checkpoints of this store yet in {config.checkpoints}")
        return 0
    report.problems += _missing_checkpoints(session, mine, anchors)
    latest = max(mine, key=lambda point: point.entry_id)
    if head is None or head.last_id < latest.entry_id:
        named = f"entry {head.last_id}" if head else "nothing (the head is missing)"
        report.problems.append(f"the head names {named}, behind checkpoint {latest.seq} (entry "
                               f"{latest.entry_id}): entries were cut off the end")
    report.notes.append(f"{len(mine)} checkpoints of this store, the latest at entry {latest.entry_id}")
    return len(mine)


def _missing_checkpoints(session: Session, points: list[Checkpoint], anchors: list[AuditAnchor]) -> list[str]:
    """Every checkpointed (id, hash) must be in the trail, or inside an anchor's span when pruned since
    (at the anchor's end, with the anchor's hash)."""
    problems: list[str] = []
    live: dict[int, Checkpoint] = {}
    for point in points:
        anchor = next((a for a in anchors if a.first_id <= point.entry_id <= a.last_id), None)
        if anchor is None:
            live[point.entry_id] = point
        elif point.entry_id == anchor.last_id and point.entry_hash != anchor.last_hash:
            problems.append(_rewritten(point))
    ids = sorted(live)
    for low in range(0, len(ids), CHECKPOINT_CHUNK):
        part = ids[low:low + CHECKPOINT_CHUNK]
        query = select(AuditEntry.id, AuditEntry.hash).where(AuditEntry.id.in_(part))
        found = {entry_id: digest for entry_id, digest in session.execute(query)}
        for entry_id in part:
            point = live[entry_id]
            if entry_id not in found:
                problems.append(f"checkpoint {point.seq} names entry {entry_id}, which is not in the trail "
                                "(removed)")
            elif found[entry_id] != point.entry_hash:
                problems.append(_rewritten(point))
    return problems[:5]


def _rewritten(point: Checkpoint) -> str:
    return f"entry {point.entry_id} is not the one checkpoint {point.seq} recorded (rewritten)"
