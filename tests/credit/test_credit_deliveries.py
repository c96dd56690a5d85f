"""List and grade changes delivered to a department's webhook: retried through transient failures,
signed, each version once the webhook took it, the position audited; the exchange-database sink is an
extension point that says so."""

from __future__ import annotations

import hashlib
import hmac
import json
import threading
from collections.abc import Iterator
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path
from typing import Any

import pytest
from credit_support import USCC, admin, feed_client, place
from sqlalchemy import select

from creditsync.audit import AuditTrail
from creditsync.audit.events import AuditEvent
from creditsync.credit.deliveries import Subscriber, deliver, exchange_db_sink, webhook_sink
from creditsync.credit.feed import pull_all
from creditsync.exceptions import ConfigurationError
from creditsync.simulators.platform import RunningSimulator
from creditsync.store import Store
from creditsync.store.models import AuditEntry

SECRET = "webhook-secret"


class Receiver(ThreadingHTTPServer):
    def __init__(self, failures: int) -> None:
        super().__init__(("127.0.0.1", 0), _Handler)
        self.failures, self.bodies, self.signatures = failures, [], []  # type: ignore[var-annotated]


class _Handler(BaseHTTPRequestHandler):
    def do_POST(self) -> None:  # the name http.server dispatches to
        server = self.server
        assert isinstance(server, Receiver)
        body = self.rfile.read(int(self.headers["Content-Length"]))
        if server.failures > 0:
            server.failures -= 1
            self.send_response(503)
        else:
            server.bodies.append(json.loads(body))
            server.signatures.append((self.headers.get("X-CreditSync-Signature"), body))
            self.send_response(200)
        self.send_header("Content-Length", "0")
        self.end_headers()

    def log_message(self, format: str, *args: Any) -> None:
        pass


@pytest.fixture
def receiver() -> Iterator[Receiver]:
    server = Receiver(failures=2)
    thread = threading.Thread(target=server.serve_forever, args=(0.05,), daemon=True)
    thread.start()
    yield server
    server.shutdown()
    server.server_close()


def test_changes_reach_the_webhook_once_through_transient_failures(store: Store, platform: RunningSimulator,
                                                                   receiver: Receiver) -> None:
    entry = place(platform, USCC, ["CJ06"])
    admin(platform, "grades", {"subject_id": USCC, "grade": "B"})
    pull_all(store, feed_client(platform))
    url = f"http://127.0.0.1:{receiver.server_address[1]}/credit"
    subscriber = Subscriber("market_supervision", "webhook", ("lists", "grades"), url, SECRET)
    sink = webhook_sink(attempts=4, max_wait=0.05)

    assert deliver(store, subscriber, "lists", AuditTrail("scheduler"), sink) == 1  # after two 503s
    assert deliver(store, subscriber, "grades", AuditTrail("scheduler"), sink) == 1
    assert deliver(store, subscriber, "lists", AuditTrail("scheduler"), sink) == 0  # nothing new
    admin(platform, f"lists/{entry['entry_id']}/repair", {"decision_no": "济信修〔2026〕1号"})
    pull_all(store, feed_client(platform))
    assert deliver(store, subscriber, "lists", AuditTrail("scheduler"), sink) == 1

    lists = [b for b in receiver.bodies if b["feed"] == "lists"]
    assert [c["status"] for b in lists for c in b["changes"]] == ["listed", "repaired"]
    assert [c["grade"] for b in receiver.bodies if b["feed"] == "grades" for c in b["changes"]] == ["B"]
    for signature, body in receiver.signatures:
        assert signature == "sha256=" + hmac.new(SECRET.encode(), body, hashlib.sha256).hexdigest()
    with store.reader() as session:
        delivered = session.scalars(select(AuditEntry).where(
            AuditEntry.event == str(AuditEvent.CREDIT_DELIVERED))).all()
    assert [(e.category, e.details["changes"]) for e in delivered] == [
        ("lists", 1), ("grades", 1), ("lists", 1)]


def test_a_webhook_that_stays_down_moves_nothing(store: Store, platform: RunningSimulator,
                                                 receiver: Receiver) -> None:
    place(platform, USCC, ["CJ06"])
    pull_all(store, feed_client(platform))
    receiver.failures = 10
    url = f"http://127.0.0.1:{receiver.server_address[1]}/credit"
    subscriber = Subscriber("market_supervision", "webhook", ("lists",), url)
    with pytest.raises(Exception, match="503"):
        deliver(store, subscriber, "lists", AuditTrail("scheduler"), webhook_sink(attempts=3, max_wait=0.01))
    receiver.failures = 0
    assert deliver(store, subscriber, "lists", AuditTrail("scheduler"), webhook_sink(attempts=1)) == 1


def test_the_exchange_database_sink_is_an_extension_point(store: Store, platform: RunningSimulator) -> None:
    place(platform, USCC, ["CJ06"])
    pull_all(store, feed_client(platform))
    subscriber = Subscriber("market_supervision", "exchange_db", ("lists",))
    with pytest.raises(ConfigurationError, match="exchange-database sink"):
        deliver(store, subscriber, "lists", AuditTrail("scheduler"), exchange_db_sink)


def test_subscribers_come_from_the_file_with_their_secret_from_a_connection(
        tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    from creditsync.credit.deliveries import subscribers
    from creditsync.pipeline.runner import Gateway
    from creditsync.settings import load_settings

    (tmp_path / "credit").mkdir()
    (tmp_path / "credit" / "deliveries.yaml").write_text(
        "subscribers:\n  market_supervision:\n    url: http://127.0.0.1:9/x\n"
        "    secret_conn_id: creditsync_webhook_market\n    feeds: [lists]\n", encoding="utf-8")
    monkeypatch.setenv("CREDITSYNC_HOME", str(tmp_path))
    monkeypatch.setenv("AIRFLOW_CONN_CREDITSYNC_WEBHOOK_MARKET", "http://:hook-secret-1@example")
    gateway = Gateway(load_settings(), None)  # type: ignore[arg-type]
    [found] = subscribers(gateway)
    assert (found.department, found.sink, found.feeds, found.secret) == (
        "market_supervision", "webhook", ("lists",), "hook-secret-1")
    (tmp_path / "credit" / "deliveries.yaml").write_text(
        "subscribers:\n  health:\n    sink: ftp\n", encoding="utf-8")
    with pytest.raises(ConfigurationError, match="sink 'ftp' is not available"):
        subscribers(gateway)
