"""Checks answered by the api-server reach the audit trail in batches, a moment after their answer.

One daemon thread per process: each check hands it its id and wakes it; it appends the entries of the
checks handed over since (creditsync.credit.check.bind_checks: one lock of the chain's head per batch,
the checks found by their key) and sleeps again. The check rows are committed before the answer leaves,
so nothing is lost if the process dies first: the ``feed__platform`` DAG appends what is left. After a
batch that failed, and on a kick without an id, the next batch binds every check not bound yet.
"""

from __future__ import annotations

import logging
import threading
import time
from collections.abc import Callable

from creditsync.audit import AuditTrail
from creditsync.credit.check import bind_checks
from creditsync.store import Store

log = logging.getLogger(__name__)
# How long checks gather before one batch binds them. A batch's cost is mostly fixed (the chain head's
# lock and update, the lookup of the checks, a commit), so the binder must not wake per check: when the
# next check's kick ended the pause early, it bound a check or two per batch and took as much of the
# api-server's CPU as the checks themselves (200 checks/s).
PAUSE_S = 0.5


class CheckBinder:
    def __init__(self, store: Callable[[], Store]) -> None:
        self._store = store
        self._wake = threading.Event()
        self._lock = threading.Lock()
        self._thread: threading.Thread | None = None
        self._pending: set[str] = set()
        self._sweep = False

    def kick(self, check_id: str | None = None) -> None:
        """Bind ``check_id`` in a moment; without one, every check not bound yet."""
        with self._lock:
            if check_id is None:
                self._sweep = True
            else:
                self._pending.add(check_id)
            if self._thread is None or not self._thread.is_alive():
                self._thread = threading.Thread(target=self._run, name="credit-check-binder", daemon=True)
                self._thread.start()
        self._wake.set()

    def _run(self) -> None:
        while True:
            self._wake.wait()
            self._wake.clear()
            time.sleep(PAUSE_S)  # let the checks of the next moment gather (their kicks only set the event)
            with self._lock:
                ids, self._pending = self._pending, set()
                sweep, self._sweep = self._sweep, False
            try:
                bind_checks(self._store(), AuditTrail("credit-check-binder"), ids=None if sweep else ids)
            except Exception:  # the rows are stored: the next batch looks for every unbound one
                log.exception("binding credit checks into the audit trail failed")
                with self._lock:
                    self._sweep = True
