"""Checks answered by the api-server reach the audit trail in batches, a moment after their answer.

One daemon thread per process: each check wakes it, it appends the entries of every check not yet in the
trail (creditsync.credit.check.bind_checks: one lock of the chain's head per batch) and sleeps again. The
check rows are committed before the answer leaves, so nothing is lost if the process dies first: the
next binder, or the ``feed__platform`` DAG, appends what is left.
"""

from __future__ import annotations

import logging
import threading
from collections.abc import Callable

from creditsync.audit import AuditTrail
from creditsync.credit.check import bind_checks
from creditsync.store import Store

log = logging.getLogger(__name__)
PAUSE_S = 0.2  # how long checks gather before one batch binds them


class CheckBinder:
    def __init__(self, store: Callable[[], Store]) -> None:
        self._store = store
        self._wake = threading.Event()
        self._lock = threading.Lock()
        self._thread: threading.Thread | None = None

    def kick(self) -> None:
        with self._lock:
            if self._thread is None or not self._thread.is_alive():
                self._thread = threading.Thread(target=self._run, name="credit-check-binder", daemon=True)
                self._thread.start()
        self._wake.set()

    def _run(self) -> None:
        while True:
            self._wake.wait()
            self._wake.clear()
            self._wake.wait(PAUSE_S)  # let a burst of checks gather
            try:
                bind_checks(self._store(), AuditTrail("credit-check-binder"))
            except Exception:  # the next check wakes it again; the DAG binds leftovers
                log.exception("binding credit checks into the audit trail failed")
