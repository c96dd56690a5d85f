"""The platform's repair feed: credit repairs the platform (or the credit authority through it) has
granted, pulled by ``creditsync repair --pull`` and the daily expiry DAG.

``GET {path}?since=T`` (docs/platform-protocol.md, "Credit repair feed") answers, in the usual envelope,
the repairs granted after ``T`` (oldest first). The path differs between real platforms: it is
``CREDITSYNC_PLATFORM_REPAIRS_PATH`` (default ``/api/v1/repairs``). The gateway keeps the time of the
newest repair it applied as a cursor, so each pull asks only for what is new.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import date, datetime

from pydantic import BaseModel, ConfigDict, ValidationError
from sqlalchemy import or_, select
from sqlalchemy.orm import Session

from creditsync.audit import AuditTrail
from creditsync.audit.events import AuditEvent
from creditsync.delivery import PlatformClient
from creditsync.delivery.errors import PlatformProtocolError
from creditsync.exceptions import ConfigurationError
from creditsync.lifecycle import ChangeSet, RunScope, now
from creditsync.lifecycle.cursors import read_cursor, set_cursor
from creditsync.lifecycle.stored import raise_tamper_alarm
from creditsync.lifecycle.withdrawals import TamperedRecord
from creditsync.publication.repair import RepairDecision, RepairOutcome, RepairSource, record_repair
from creditsync.settings import PLATFORM_REPAIRS_PATH
from creditsync.store import Store
from creditsync.store.models import Record

DEFAULT_REPAIRS_PATH = "/api/v1/repairs"
REPAIRS_PATH_ENV = "CREDITSYNC_PLATFORM_REPAIRS_PATH"
# The feed's cursor, in the cursors table under a name no department can have (ids are identifiers).
CURSOR_DEPARTMENT, CURSOR_CATEGORY = "(platform)", "repairs"


class RepairNotice(BaseModel):
    """One repair the platform granted."""

    model_config = ConfigDict(extra="ignore", frozen=True)
    platform_id: str | None = None
    business_key: str | None = None
    category: str | None = None
    decision_no: str
    reason: str
    decided_on: date | None = None
    repaired_at: datetime


@dataclass
class PullReport:
    since: str | None
    received: int = 0
    applied: list[RepairOutcome] = field(default_factory=list)
    unmatched: list[RepairNotice] = field(default_factory=list)  # records the gateway does not know
    cursor: str | None = None


def repairs_path() -> str:
    path = PLATFORM_REPAIRS_PATH.read() or DEFAULT_REPAIRS_PATH
    if not path.startswith("/"):
        raise ConfigurationError(f"{REPAIRS_PATH_ENV} must be a path starting with '/'", value=path)
    return path


class RepairFeedClient(PlatformClient):
    """The platform client (same appKey, retries, timeouts and envelope) plus the repair feed."""

    @classmethod
    def like(cls, client: PlatformClient) -> RepairFeedClient:
        """The feed client of a configured platform client, sharing its session, policy and key."""
        feed = cls.__new__(cls)
        feed.__dict__.update(vars(client))
        return feed

    def repairs(self, since: str | None, path: str | None = None) -> list[RepairNotice]:
        rows = self._call("GET", path or repairs_path(), params={"since": since} if since else None)
        try:
            return [RepairNotice.model_validate(row) for row in rows]
        except ValidationError as exc:
            raise PlatformProtocolError(f"malformed repair notice: {exc.error_count()} problem(s): "
                                        f"{exc.errors()[0]['loc']}") from exc


def pull_repairs(store: Store, client: RepairFeedClient, *, audit: AuditTrail | None = None,
                 path: str | None = None) -> PullReport:
    """Apply every repair granted since the last pull; the cursor moves with the repairs it covers."""
    audit = audit or AuditTrail()
    scope = RunScope(CURSOR_DEPARTMENT, f"repairs__{now().strftime('%Y%m%dT%H%M%S%f')}", audit)
    with store.reader() as session:
        since = read_cursor(session, scope.sealer, CURSOR_DEPARTMENT, CURSOR_CATEGORY)
    notices = sorted(client.repairs(since, path), key=lambda n: n.repaired_at)
    report = PullReport(since=since, received=len(notices))
    with store.transaction() as session:
        changes = ChangeSet(scope)
        for notice in notices:
            key = _match(session, notice)
            if key is None:
                report.unmatched.append(notice)
                changes.event(AuditEvent.CREDIT_REPAIR_UNMATCHED, category=notice.category,
                              business_key=notice.business_key, platform_id=notice.platform_id,
                              decision_no=notice.decision_no)
                continue
            try:
                decision = RepairDecision(notice.decision_no, notice.reason, notice.decided_on,
                                          RepairSource.PLATFORM)
                report.applied.append(record_repair(session, changes, key, decision))
            except TamperedRecord as exc:  # altered in the store: alarmed, left for a person
                raise_tamper_alarm(session, changes, [exc.row], where="repair feed")
        if notices:
            report.cursor = notices[-1].repaired_at.isoformat()
            set_cursor(changes, CURSOR_CATEGORY, report.cursor[:64], event=None)
        changes.apply(session)
    return report


def _match(session: Session, notice: RepairNotice) -> str | None:
    conditions = []
    if notice.platform_id:
        conditions.append(Record.platform_id == notice.platform_id)
    if notice.business_key:
        conditions.append(Record.business_key == notice.business_key)
    if not conditions:
        return None
    return session.scalars(select(Record.business_key).where(or_(*conditions)).limit(1)).first()
