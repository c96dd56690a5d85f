"""List and grade changes delivered back to the departments that want them, so that a department's own
approval system can check offline (``credit/deliveries.yaml``).

Each subscriber names its sink and the feeds it wants. A delivery sends the versions stored after the
last one the department acknowledged, oldest first, at most ``BATCH`` at a time; the position moves
(and the audit trail records it) only after the sink took the batch, so a failed delivery is sent again
whole next time: a receiver must treat ``version`` as its idempotency key.

Sinks: ``webhook`` (POST JSON, HMAC-SHA256 signature under the key in the Connection the subscriber
names, retried with backoff on transport failures and 5xx; tenacity). ``exchange_db`` (a table in the
department's own database) is the extension point for the exchange-database sink: :data:`SINKS` is where
it plugs in; until then a subscriber asking for it is a configuration error.
"""

from __future__ import annotations

import hashlib
import hmac
import json
from collections.abc import Callable
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any

import requests
from sqlalchemy import select
from tenacity import Retrying, retry_if_exception_type, stop_after_attempt, wait_exponential

from creditsync.audit import AuditTrail
from creditsync.audit.events import AuditEvent
from creditsync.credit.check import LIST_NAMES
from creditsync.credit.measures import CREDIT_DIR, read_yaml
from creditsync.exceptions import ConfigurationError, FatalError, RetriableError
from creditsync.lifecycle import now
from creditsync.store import Store
from creditsync.store.credit_models import CreditDelivery, CreditGradeVersion, CreditListVersion

if TYPE_CHECKING:
    from creditsync.pipeline.runner import Gateway

DELIVERIES_FILE = "deliveries.yaml"
BATCH = 500
FEEDS = ("lists", "grades")


@dataclass(frozen=True)
class Subscriber:
    department: str
    sink: str
    feeds: tuple[str, ...]
    url: str | None = None
    secret: str | None = None  # the HMAC key, from the Connection the file names (never the file itself)


Sink = Callable[[Subscriber, str, list[dict[str, Any]]], None]


def subscribers(gateway: Gateway) -> list[Subscriber]:
    from creditsync.secrets import get_connection

    path = gateway.settings.home / CREDIT_DIR / DELIVERIES_FILE
    if not path.exists():
        return []
    found = []
    for department, options in (read_yaml(path).get("subscribers") or {}).items():
        sink, feeds = str(options.get("sink", "webhook")), tuple(options.get("feeds") or FEEDS)
        if sink not in SINKS:
            raise ConfigurationError(f"credit/deliveries.yaml: {department}: sink {sink!r} is not available "
                                     f"here (known: {sorted(SINKS)})")
        if set(feeds) - set(FEEDS):
            raise ConfigurationError(f"credit/deliveries.yaml: {department}: feeds are {FEEDS}")
        conn_id = options.get("secret_conn_id")
        secret = get_connection(str(conn_id)).password if conn_id else None
        found.append(Subscriber(str(department), sink, feeds, options.get("url"), secret))
    return found


def deliver_all(gateway: Gateway, audit: AuditTrail) -> dict[str, dict[str, int]]:
    return {s.department: {feed: deliver(gateway.store, s, feed, audit) for feed in s.feeds}
            for s in subscribers(gateway)}


def deliver(store: Store, subscriber: Subscriber, feed: str, audit: AuditTrail,
            sink: Sink | None = None) -> int:
    """Send everything new of ``feed`` to ``subscriber``; the number of changes delivered."""
    sink = sink or SINKS[subscriber.sink]
    sent = 0
    while True:
        with store.reader() as session:
            position = session.get(CreditDelivery, (subscriber.department, feed))
            after = position.last_version if position else 0
            changes = _changes(session, feed, after)
        if not changes:
            return sent
        sink(subscriber, feed, changes)
        with store.transaction() as session:
            row = session.get(CreditDelivery, (subscriber.department, feed))
            if row is None:
                row = CreditDelivery(department=subscriber.department, feed=feed, last_version=0,
                                     updated_at=now())
                session.add(row)
            row.last_version, row.updated_at = changes[-1]["version"], now()
            audit.append(session, AuditEvent.CREDIT_DELIVERED, department=subscriber.department,
                         category=feed, sink=subscriber.sink, first_version=changes[0]["version"],
                         last_version=changes[-1]["version"], changes=len(changes))
        sent += len(changes)


def _changes(session: Any, feed: str, after: int) -> list[dict[str, Any]]:
    if feed == "lists":
        rows = session.scalars(select(CreditListVersion).where(CreditListVersion.id > after)
                               .order_by(CreditListVersion.id).limit(BATCH)).all()
        return [{"version": v.id, "entry_id": v.entry_id, "event": v.event, "status": v.status,
                 "list_type": v.list_type, "list_name": LIST_NAMES.get(v.list_type, v.list_type),
                 "subject": v.subject_masked, "subject_name": v.subject_name, "cause": v.cause,
                 "authority": v.authority, "decision_no": v.decision_no,
                 "start_date": v.start_date and v.start_date.isoformat(),
                 "end_date": v.end_date and v.end_date.isoformat(), "measures": v.measures,
                 "changed_at": v.changed_at.isoformat()} for v in rows]
    rows = session.scalars(select(CreditGradeVersion).where(CreditGradeVersion.id > after)
                           .order_by(CreditGradeVersion.id).limit(BATCH)).all()
    return [{"version": g.id, "subject": g.subject_masked, "subject_name": g.subject_name, "grade": g.grade,
             "graded_on": g.graded_on and g.graded_on.isoformat(), "changed_at": g.changed_at.isoformat()}
            for g in rows]


def webhook_sink(attempts: int = 5, max_wait: float = 30) -> Sink:
    retrying = Retrying(stop=stop_after_attempt(attempts),
                        wait=wait_exponential(multiplier=0.5, max=max_wait),
                        retry=retry_if_exception_type(RetriableError), reraise=True)

    def send(subscriber: Subscriber, feed: str, changes: list[dict[str, Any]]) -> None:
        if not subscriber.url:
            raise ConfigurationError(f"credit/deliveries.yaml: {subscriber.department}: no webhook url")
        body = json.dumps({"department": subscriber.department, "feed": feed, "changes": changes},
                          ensure_ascii=False).encode()
        headers = {"Content-Type": "application/json; charset=utf-8"}
        if subscriber.secret:
            digest = hmac.new(subscriber.secret.encode(), body, hashlib.sha256).hexdigest()
            headers["X-CreditSync-Signature"] = f"sha256={digest}"
        retrying(lambda: _post(subscriber, body, headers))

    return send


def _post(subscriber: Subscriber, body: bytes, headers: dict[str, str]) -> None:
    try:
        answer = requests.post(str(subscriber.url), data=body, headers=headers, timeout=(5, 30))
    except requests.RequestException as exc:
        raise RetriableError(f"webhook of {subscriber.department} unreachable: {type(exc).__name__}") from exc
    if answer.status_code >= 500 or answer.status_code in (408, 429):
        raise RetriableError(f"webhook of {subscriber.department} answered {answer.status_code}")
    if answer.status_code >= 300:
        raise FatalError(f"webhook of {subscriber.department} refused the changes: {answer.status_code}")


def exchange_db_sink(subscriber: Subscriber, feed: str, changes: list[dict[str, Any]]) -> None:
    """Extension point: the exchange-database sink writes these rows into a table of the department's
    database. It is not part of this gateway yet; plug it in here (and in :data:`SINKS`)."""
    raise ConfigurationError(f"{subscriber.department}: the exchange-database sink is not available yet; "
                             "use sink: webhook")


SINKS: dict[str, Sink] = {"webhook": webhook_sink(), "exchange_db": exchange_db_sink}
