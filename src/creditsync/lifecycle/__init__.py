"""A record's life in one place: the only code that writes ``records``, ``record_versions``,
``outbox``, ``quarantine`` and ``cursors`` (creditsync.store.guard refuses anything else).

- :mod:`~creditsync.lifecycle.transitions`: the rules, as tables (state × event → what happens);
- :mod:`~creditsync.lifecycle.changes`: the one change set, written with one statement per table;
- :mod:`~creditsync.lifecycle.source`: what the department's system says, a chunk at a time;
- :mod:`~creditsync.lifecycle.receipts`: delivery attempts and the platform's answers;
- :mod:`~creditsync.lifecycle.withdrawals`: taking records off display for a cause, and releasing them;
- :mod:`~creditsync.lifecycle.resend`: sending the current version again on purpose;
- :mod:`~creditsync.lifecycle.quarantine`, :mod:`~creditsync.lifecycle.cursors`: their rows;
- :mod:`~creditsync.lifecycle.seal`: row seals and sealed payloads (nothing acts on a row the gateway
  did not write); :mod:`~creditsync.lifecycle.adoption` seals a store written before them.

Every operation takes a :class:`RunScope` (department, run, audit trail) and many records at once.
"""

from creditsync.lifecycle.changes import ChangeSet, RunScope, now
from creditsync.lifecycle.deliveries import ReadThisRun
from creditsync.lifecycle.source import ChunkDecision, ChunkPlan, SourceItem, decide_chunk
from creditsync.lifecycle.transitions import Outcome

__all__ = ["ChangeSet", "ChunkDecision", "ChunkPlan", "Outcome", "ReadThisRun", "RunScope", "SourceItem",
           "decide_chunk", "now"]
