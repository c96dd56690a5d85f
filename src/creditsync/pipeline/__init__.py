"""The four steps of a department sync, shared by the Airflow DAG and the CLI.

extract   pull from the department's system into staging (streams; the cursor does not move yet)
transform map + validate staged rows; valid ones become record versions and outbox items,
          invalid ones go to quarantine with their reasons
push      deliver the outbox in batches; receipts, rejections, and the cursor in one transaction
report    close the run, summarise it in the audit trail
"""

from creditsync.pipeline.context import SyncContext
from creditsync.pipeline.extract import extract
from creditsync.pipeline.push import push
from creditsync.pipeline.report import report
from creditsync.pipeline.transform import transform

__all__ = ["SyncContext", "extract", "push", "report", "transform"]
