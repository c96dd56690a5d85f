"""What every step needs to know about the run it belongs to."""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import UTC, datetime

from creditsync.audit import AuditEvent, AuditTrail
from creditsync.departments import DepartmentConfig
from creditsync.exceptions import ConfigurationError
from creditsync.lifecycle.changes import RunScope
from creditsync.settings import Settings
from creditsync.store import Store
from creditsync.store.models import SyncRun


@dataclass
class SyncContext:
    settings: Settings
    store: Store
    department: DepartmentConfig
    run_id: str
    trigger: str = "cli"  # airflow | cli
    try_number: int = 1
    audit: AuditTrail = field(default_factory=AuditTrail)

    @property
    def name(self) -> str:
        return self.department.department

    @property
    def scope(self) -> RunScope:
        """What the record lifecycle needs of this run."""
        return RunScope(self.name, self.run_id, self.audit, self.try_number)

    def ensure_run(self) -> None:
        """Create the run row once; retried or re-run steps find it and carry on. A finished run that
        runs again (cleared in Airflow) is running once more: its counts stay and the re-run's add up."""
        with self.store.transaction() as session:
            if (existing := session.get(SyncRun, self.run_id)) is not None:
                if existing.department != self.name:
                    raise ConfigurationError(f"run id {self.run_id!r} belongs to {existing.department}, "
                                             f"not {self.name}: run ids must be unique per department")
                if existing.finished_at is not None:
                    existing.status, existing.finished_at = "running", None
                    self.audit.append(session, AuditEvent.RUN_RESUMED, department=self.name,
                                      run_id=self.run_id,
                                      trigger=self.trigger, try_number=self.try_number)
                return
            session.add(
                SyncRun(id=self.run_id, department=self.name, trigger=self.trigger,
                        status="running", started_at=now(), counts={})
            )
            self.audit.append(session, AuditEvent.RUN_STARTED, department=self.name, run_id=self.run_id,
                              trigger=self.trigger, try_number=self.try_number)


def now() -> datetime:
    return datetime.now(UTC)


def new_cli_run_id(department: str) -> str:
    return f"cli__{department}__{now().strftime('%Y%m%dT%H%M%S%f')}"
