"""What the command line's exit code says, and which failure gives which code.

=====  ==========================================================================================
code   meaning, and what the operator (or the scheduler calling ``creditsync``) does
=====  ==========================================================================================
0      done: everything read was delivered (or there was nothing to do)
1      done, but records need the department: some were invalid, quarantined or rejected by the
       platform, a run passed its bad-record threshold, a source stream failed, ``audit verify``
       found the trail broken, ``reconcile`` found differences. Running again changes nothing until
       the data (or the source) is fixed
2      usage or configuration: a wrong option, an unknown department or category, a missing or
       malformed setting or Connection, a platform appKey that was refused. Fix it, then run again
3      incomplete, run again: the platform was unreachable or answered something unusable (an HTML
       page, garbage, 413), the store could not be written (disk full, read-only) or anything
       unexpected stopped the run. What was not delivered stays pending; the next run continues.
       (A source that fails inside a sync is reported by the run itself: its stream failed, exit 1.)
=====  ==========================================================================================

Every failure prints one line on stderr (secrets and ID numbers masked); ``--verbose`` adds the
traceback. The classes come from :mod:`creditsync.exceptions`; the store's and the file system's own
errors are recognised here too.
"""

from __future__ import annotations

import errno
import sys
from dataclasses import dataclass

from creditsync.exceptions import ConfigurationError, CreditSyncError, FatalError, RetriableError

EXIT_OK, EXIT_INVALID, EXIT_USAGE, EXIT_INCOMPLETE = 0, 1, 2, 3
INCOMPLETE = "incomplete, run again to continue"
_DISK_FULL = ("database or disk is full", "no space left on device", "disk full", "disk quota exceeded")
_READ_ONLY = ("readonly database", "read-only", "read only file system", "readonly file system")
_FILE_SYSTEM = {errno.ENOSPC: "disk full", errno.EDQUOT: "disk quota exceeded",
                errno.EROFS: "read-only file system"}


@dataclass(frozen=True)
class Outcome:
    """The exit code for a failure and the line that explains it (before masking)."""

    code: int
    label: str
    reason: str

    @property
    def line(self) -> str:
        return f"{self.label}: {self.reason}"


def classify(exc: BaseException) -> Outcome:
    """The exit code and one-line reason for an exception that ended a command."""
    if isinstance(exc, ConfigurationError):
        return Outcome(EXIT_USAGE, "configuration error", str(exc))
    platform = _platform_outcome(exc)
    if platform is not None:
        return platform
    if isinstance(exc, RetriableError):
        return Outcome(EXIT_INCOMPLETE, INCOMPLETE, str(exc))
    if isinstance(exc, FatalError):
        return Outcome(EXIT_INVALID, "failed", str(exc))
    if isinstance(exc, CreditSyncError):
        return Outcome(EXIT_INVALID, "error", str(exc))
    store = _store_outcome(exc)
    if store is not None:
        return store
    if isinstance(exc, OSError):
        where = f" ({exc.filename})" if exc.filename else ""
        problem = _FILE_SYSTEM.get(exc.errno or 0) or exc.strerror or type(exc).__name__
        return Outcome(EXIT_INCOMPLETE, INCOMPLETE, f"cannot write or read a file: {problem}{where}")
    return Outcome(EXIT_INCOMPLETE, INCOMPLETE,
                   f"unexpected {type(exc).__name__}: {_first_line(str(exc))} (--verbose shows where)")


def _platform_outcome(exc: BaseException) -> Outcome | None:
    """The platform refused the appKey: configuration. It answered something unusable (HTML, garbage,
    413, another refusal of the request): nothing was delivered from that batch, it stays pending."""
    if "creditsync.delivery.errors" not in sys.modules:
        return None  # no platform call was made, so no platform error can be in hand
    from creditsync.delivery.errors import PlatformAuthError, PlatformProtocolError, PlatformRefusedError

    if isinstance(exc, PlatformAuthError):
        return Outcome(EXIT_USAGE, "configuration error: the platform refused the appKey", str(exc))
    if isinstance(exc, PlatformProtocolError | PlatformRefusedError):
        return Outcome(EXIT_INCOMPLETE, f"{INCOMPLETE} (the platform's answer could not be used)", str(exc))
    return None


def _store_outcome(exc: BaseException) -> Outcome | None:
    """The store's driver errors (SQLAlchemy wraps them): said in one line, never with the SQL or its
    parameters (they may hold record data)."""
    if "sqlalchemy.exc" not in sys.modules:
        return None
    from sqlalchemy.exc import DBAPIError, OperationalError

    if not isinstance(exc, DBAPIError):
        return None
    driver = _first_line(str(exc.orig))
    text = driver.lower()
    if any(words in text for words in _DISK_FULL):
        return Outcome(EXIT_INCOMPLETE, INCOMPLETE, f"the store cannot be written, disk full: {driver}")
    if any(words in text for words in _READ_ONLY):
        return Outcome(EXIT_INCOMPLETE, INCOMPLETE, f"the store is read-only: {driver}")
    if isinstance(exc, OperationalError):
        return Outcome(EXIT_INCOMPLETE, INCOMPLETE, f"the store is unavailable: {driver}")
    return None


def _first_line(text: str) -> str:
    lines = [line.strip() for line in text.strip().splitlines() if line.strip()]
    return lines[0] if lines else ""
