"""Who an Airflow run acts for, as the gateway's audit trail names them.

A run triggered from the UI, the REST API or ``airflow dags trigger`` carries the user's name
(``DagRun.triggering_user_name``); a scheduled run carries none and acts as ``scheduler``. Clearing a
task instance keeps the run's trigger: the Task SDK's context does not expose who cleared it (Airflow
keeps that in its own audit log, which tasks cannot read), so a cleared task acts for the user who
triggered the run. CLI commands keep the OS user (creditsync.audit.trail.default_actor).
"""

from __future__ import annotations

import os
from collections.abc import Iterator
from contextlib import contextmanager
from typing import Any

from creditsync.settings import actor as settings_actor

SCHEDULER = "scheduler"
ACTOR_ENV = "CREDITSYNC_ACTOR"  # read by creditsync.audit.trail.default_actor


def run_actor(dag_run: Any) -> str:
    """The Airflow user who triggered ``dag_run``, else ``scheduler``."""
    name = getattr(dag_run, "triggering_user_name", None)
    return name.strip() if isinstance(name, str) and name.strip() else SCHEDULER


@contextmanager
def acting_as(actor: str) -> Iterator[None]:
    """For library calls that build their own AuditTrail (the daily publication run): every entry they
    write inside the block names ``actor``. The variable is restored afterwards, since ``dag.test()``
    runs tasks in the calling process."""
    before = settings_actor()
    os.environ[ACTOR_ENV] = actor
    try:
        yield
    finally:
        if before is None:
            os.environ.pop(ACTOR_ENV, None)
        else:
            os.environ[ACTOR_ENV] = before
