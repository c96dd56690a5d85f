"""Files dropped into a folder by department staff, shared by the file and XML sources: a file's
version (mtime, size), the ledger of files a read took, and moving a delivered file out of the way.

A read writes a ledger (``<processed>/.creditsync-read-<stream>.json``) naming each file and version
it read and the highest cursor that came from it. When the pipeline has committed the stream's
cursor, the source moves exactly the ledger's files that are unchanged and at or below that cursor
to ``processed/``: a file dropped or replaced during the run is never moved unread."""

from __future__ import annotations

import json
import logging
import os
import shutil
from dataclasses import dataclass
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

from creditsync.sources.cursor import Cursor

log = logging.getLogger(__name__)


@dataclass(frozen=True)
class DroppedFile:
    """One version of a dropped file: a file replaced after it was read is another version."""

    path: Path
    mtime_ns: int
    size: int

    @classmethod
    def of(cls, path: Path) -> DroppedFile:
        stat = path.stat()
        return cls(path, stat.st_mtime_ns, stat.st_size)

    @property
    def cursor(self) -> Cursor:
        """The file's position: its modification time (to the microsecond, UTC), then its name."""
        return Cursor.of_epoch_ns(self.mtime_ns // 1000 * 1000, 0, self.path.name)

    def unchanged(self) -> bool:
        try:
            stat = self.path.stat()
        except FileNotFoundError:
            return False
        return (stat.st_mtime_ns, stat.st_size) == (self.mtime_ns, self.size)


def move_into(path: Path, folder: Path) -> Path:
    """Move ``path`` into ``folder`` without overwriting an earlier file of the same name."""
    folder.mkdir(parents=True, exist_ok=True)
    target, number = folder / path.name, 1
    while target.exists() or target.with_name(target.name + ".error.txt").exists():
        number += 1
        target = folder / f"{path.stem}__{number}{path.suffix}"
    return Path(shutil.move(str(path), str(target)))


def load_ledger(path: Path) -> dict[str, dict[str, Any]]:
    try:
        files: dict[str, dict[str, Any]] = json.loads(path.read_text(encoding="utf-8"))["files"]
    except FileNotFoundError:
        return {}
    except (ValueError, KeyError, TypeError) as exc:
        log.warning("ignoring unreadable ledger %s: %s", path, exc)  # files stay in the inbox: safe
        return {}
    return files


def save_ledger(path: Path, stream: str, entries: dict[str, dict[str, Any]]) -> None:
    path.parent.mkdir(parents=True, exist_ok=True)
    temp = path.with_name(path.name + ".tmp")
    body = {"stream": stream, "written_at": datetime.now(UTC).isoformat(), "files": entries}
    temp.write_text(json.dumps(body, ensure_ascii=False, indent=1), encoding="utf-8")
    os.replace(temp, path)  # atomic: a crash leaves the old ledger or the new one, never half of one
