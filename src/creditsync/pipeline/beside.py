"""A push beside the pull: what the sync command does while it reads.

Read alone, a sync spends its push waiting for the platform, chunk after chunk, after the whole source
was read and stored. Beside the pull, a thread pushes what each stored chunk queued while the next is
read, so the waiting overlaps the reading. It runs the push step itself (rounds, seals, answers,
cursors); the department lock orders its transactions with the pull's, and an item a later chunk
supersedes after a round read it is not sent (:func:`creditsync.lifecycle.receipts.mark_attempts`).
The sync command pushes beside only where that overlaps waits (:func:`worth_pushing_beside`).

A failure beside the pull (the platform down, an appKey refused) stops this thread and is kept; the pull
goes on, and the push after it tries again and reports as it would have. The DAG keeps its pull and push
as two tasks: a push retried by Airflow never re-reads the source.
"""

from __future__ import annotations

import contextvars
import logging
import threading
from collections import Counter
from collections.abc import Iterator
from contextlib import contextmanager

from creditsync.pipeline.context import SyncContext
from creditsync.pipeline.push import push
from creditsync.sinks.base import Sink

log = logging.getLogger(__name__)
POLL_S = 0.2  # how long the thread waits for the next chunk when the outbox is empty


class PushBeside:
    """The pushing thread and what it did: its counts, and the error that stopped it, if any."""

    def __init__(self, ctx: SyncContext, sink: Sink) -> None:
        self._ctx, self._sink = ctx, sink
        self.counts: Counter[str] = Counter()
        self.error: Exception | None = None
        self._stop = threading.Event()
        self._rounds = threading.Condition()
        self._begun = self._idle_since = 0  # push calls begun; the latest begun call that sent nothing
        self._thread = threading.Thread(target=contextvars.copy_context().run, args=(self._run,),
                                        name=f"push-beside-{ctx.name}", daemon=True)

    def start(self) -> None:
        self._thread.start()

    def stop(self) -> None:
        """Ask the thread to stop after the round it is sending (the push after the pull takes the
        rest), and wait for it."""
        self._stop.set()
        self._thread.join()

    def wait_until_idle(self, timeout: float) -> bool:
        """Until a push that began after this call found nothing left to send (or the thread stopped)."""
        with self._rounds:
            after = self._begun
            return self._rounds.wait_for(lambda: self._idle_since > after or not self._thread.is_alive(),
                                         timeout)

    def _run(self) -> None:
        while not self._stop.is_set():
            with self._rounds:
                self._begun += 1
                call = self._begun
            try:
                pushed = push(self._ctx, self._sink, until=self._stop)  # stopped: ends after its round
            except Exception as exc:  # kept and said; the push after the pull reports it
                self.error = exc
                log.warning("%s: the push beside the pull stopped (%s); the push after the pull goes on",
                            self._ctx.name, exc)
                break
            finally:
                with self._rounds:
                    self._rounds.notify_all()
            self.counts.update(pushed)
            if not pushed.get("batches"):
                with self._rounds:
                    self._idle_since = call
                    self._rounds.notify_all()
                self._stop.wait(POLL_S)
        with self._rounds:
            self._rounds.notify_all()


def worth_pushing_beside(ctx: SyncContext, sink: Sink) -> bool:
    """Only where it overlaps waits: a platform that answers at once (not one that reads the outbox on
    its own schedule), and a store served by its own process. SQLite writes inside this process, one
    writer at a time, its waiting writer polling: the pull and the push would only take turns (30,000
    records: no faster, 8 % more CPU)."""
    return not sink.asynchronous and ctx.store.engine.dialect.name != "sqlite"


@contextmanager
def push_beside(ctx: SyncContext, sink: Sink, *, enabled: bool = True) -> Iterator[PushBeside]:
    """Push the outbox on a thread while the block (the pull) runs; stopped and joined on leaving it.
    Through an interface the platform reads on its own schedule, nothing is pushed beside."""
    beside = PushBeside(ctx, sink)
    running = enabled and not sink.asynchronous
    if running:
        ctx.ensure_run()  # made once, before two threads would both find it missing
        beside.start()
    try:
        yield beside
    finally:
        if running:
            beside.stop()
