"""The three steps of a department sync, shared by the Airflow DAG and the CLI.

pull    read each stream after its cursor; map, validate and decide a chunk at a time: valid records
        become versions and outbox items, invalid ones go to quarantine with their reasons
push    deliver the outbox in batches; receipts and rejections per batch, then the cursors
        (the sync command also pushes beside the pull: what each stored chunk queued goes while the
        next is read; the DAG keeps them as two tasks)
report  close the run, summarise it in the audit trail, fail it loudly past the bad-record threshold
"""

from creditsync.pipeline.beside import push_beside
from creditsync.pipeline.context import SyncContext
from creditsync.pipeline.pull import pull
from creditsync.pipeline.push import push
from creditsync.pipeline.report import report

__all__ = ["SyncContext", "pull", "push", "push_beside", "report"]
