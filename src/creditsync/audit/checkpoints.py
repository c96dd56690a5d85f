"""Signed checkpoints of the chain head, kept outside the store.

Whoever can write the gateway's database can delete the whole trail, cut its tail and move the head
back, or (without the key) rewrite it. A checkpoint log that the database user cannot rewrite remembers
what the head was: ``audit verify`` then requires every checkpointed (entry id, hash) to still be in
the trail and the head not to be behind the last checkpoint.

The log is a JSON-lines file opened ``O_APPEND`` under an exclusive ``flock`` (several workers share
it). Each line names the store it belongs to (backend, host, port, database: never credentials), the
entry id and hash, and the signature of the line before it, and is signed itself: HMAC-SHA256 under the
audit key, or plain sha256 in unkeyed development mode. Removing or editing a line in the middle breaks
the line chain; only truncating the end of the file is not visible from the file itself, which is why
it belongs on storage that refuses it (``chattr +a``, a WORM share, a log host), see docs/audit.md.
"""

from __future__ import annotations

import fcntl
import hashlib
import hmac
import json
import os
from collections.abc import Iterator
from dataclasses import asdict, dataclass
from datetime import UTC, datetime
from pathlib import Path

from sqlalchemy.engine import URL
from sqlalchemy.orm import Session

from creditsync.audit.keys import KEYED_PREFIX, UNKEYED, AuditKeyring

FORMAT = "creditsync-audit-checkpoint/1"
GENESIS_SIGNATURE = "0" * 64


@dataclass(frozen=True)
class Checkpoint:
    seq: int
    ts: str
    store: str
    entry_id: int
    entry_hash: str
    actor: str
    scheme: str
    prev: str  # the signature of the line before
    sig: str = ""

    def body(self) -> bytes:
        fields = {name: value for name, value in asdict(self).items() if name != "sig"}
        return json.dumps(dict(fields, format=FORMAT), sort_keys=True, ensure_ascii=False,
                          separators=(",", ":")).encode("utf-8")


@dataclass
class LogCheck:
    """What reading the whole log found: its checkpoints (of every store) and anything wrong with it."""

    checkpoints: list[Checkpoint]
    problems: list[str]


def store_identity(session: Session) -> str:
    """Which store a checkpoint is about: the same database reached the same way, without credentials."""
    return identity_of(session.get_bind().engine.url)


def identity_of(url: URL) -> str:
    backend = url.get_backend_name()
    if backend == "sqlite":
        return f"sqlite:{Path(url.database or '').resolve() if url.database else ':memory:'}"
    return f"{backend}://{url.host or ''}:{url.port or ''}/{url.database or ''}"


class CheckpointLog:
    def __init__(self, path: Path, keyring: AuditKeyring) -> None:
        self.path, self.keyring = Path(path), keyring

    def append(self, store: str, entry_id: int, entry_hash: str, actor: str) -> Checkpoint:
        """Sign and append one checkpoint, chained to the last line, under an exclusive lock."""
        self.path.parent.mkdir(parents=True, exist_ok=True)
        fd = os.open(self.path, os.O_WRONLY | os.O_APPEND | os.O_CREAT, 0o640)
        try:
            fcntl.flock(fd, fcntl.LOCK_EX)
            last = _last_checkpoint(self.path)
            unsigned = Checkpoint(
                seq=(last.seq + 1) if last else 1, ts=datetime.now(UTC).isoformat(timespec="seconds"),
                store=store, entry_id=entry_id, entry_hash=entry_hash, actor=actor,
                scheme=self.keyring.scheme, prev=last.sig if last else GENESIS_SIGNATURE)
            signed = Checkpoint(**dict(asdict(unsigned), sig=self._sign(unsigned, self.keyring.current)))
            line = json.dumps(dict(asdict(signed), format=FORMAT), sort_keys=True, ensure_ascii=False)
            os.write(fd, (line + "\n").encode("utf-8"))
            os.fsync(fd)
        finally:
            os.close(fd)  # closing releases the lock
        return signed

    def check(self) -> LogCheck:
        """Every line parsed, in order, its signature and its link to the line before checked."""
        try:
            return self._check()
        except OSError as exc:
            return LogCheck([], [f"checkpoint log {self.path} cannot be read: {exc.strerror or exc}"])

    def _check(self) -> LogCheck:
        found, problems = LogCheck([], []), []
        prev_sig, keyed_seen = GENESIS_SIGNATURE, False
        for number, line in _lines(self.path):
            where = f"checkpoint log {self.path.name} line {number}"
            try:
                data = json.loads(line)
                data.pop("format", None)
                point = Checkpoint(**data)
            except (ValueError, TypeError) as exc:
                problems.append(f"{where} cannot be read ({type(exc).__name__}): the log was edited")
                break
            if point.prev != prev_sig or point.seq != len(found.checkpoints) + 1:
                problems.append(f"{where} does not follow the line before it (lines removed or reordered)")
            if (problem := self._signature_problem(point, keyed_seen)) is not None:
                problems.append(f"{where}: {problem}")
            keyed_seen = keyed_seen or point.scheme.startswith(KEYED_PREFIX)
            prev_sig = point.sig
            found.checkpoints.append(point)
        found.problems = problems[:5]
        return found

    def _signature_problem(self, point: Checkpoint, keyed_seen: bool) -> str | None:
        if point.scheme == UNKEYED and keyed_seen:
            return "an unsigned line after signed ones (forged)"
        try:
            key = self.keyring.key_for(point.scheme)
        except KeyError:
            return f"signed with key {point.scheme.removeprefix(KEYED_PREFIX)}, which is not configured"
        if not hmac.compare_digest(self._sign(point, key), point.sig):
            return "its signature does not match (forged or edited)"
        return None

    @staticmethod
    def _sign(point: Checkpoint, key: bytes | None) -> str:
        if key is None:
            return hashlib.sha256(point.body()).hexdigest()
        return hmac.new(key, point.body(), hashlib.sha256).hexdigest()


def _lines(path: Path) -> Iterator[tuple[int, str]]:
    if not path.exists():
        return
    with path.open(encoding="utf-8", errors="replace") as handle:
        for number, line in enumerate(handle, start=1):
            if line.strip():
                yield number, line


def _last_checkpoint(path: Path) -> Checkpoint | None:
    """The last line, read backwards from the end (the log grows for years)."""
    with path.open("rb") as handle:
        handle.seek(0, os.SEEK_END)
        end = position = handle.tell()
        tail = b""
        while position > 0 and tail.strip().count(b"\n") < 1:
            step = min(4096, position)
            position -= step
            handle.seek(position)
            tail = handle.read(step) + tail
        if end == 0 or not tail.strip():
            return None
    try:
        data = json.loads(tail.strip().rsplit(b"\n", 1)[-1])
        data.pop("format", None)
        return Checkpoint(**data)
    except (ValueError, TypeError):
        return None  # a damaged last line: the next one starts afresh, and `audit verify` reports it
