"""A handed-over file through the whole pipeline (validate, store, outbox, push, receipts, audit) with
CREDITSYNC_SINK=exchange_db against the exchange simulator's pick-up job on real MariaDB/PostgreSQL: the
answers stored through the lifecycle, a rejection quarantined with the platform's message, an
operator's withdrawal delivered as its own row, and one whose record was never taken deleting it."""

from __future__ import annotations

import json
from collections.abc import Iterator
from pathlib import Path

import pytest
import yaml
from sinks_support import penalty
from sqlalchemy import func, select

from creditsync.audit import AuditTrail
from creditsync.lifecycle import RunScope, operations
from creditsync.pipeline.daily import deliver_withdrawals
from creditsync.pipeline.push import AwaitingPlatformError
from creditsync.pipeline.runner import Gateway, push_file
from creditsync.simulators.exchange import ExchangeSimulator
from creditsync.simulators.platform import FaultConfig, PlatformSimulator
from creditsync.simulators.platform_faults import REJECTION_MESSAGES
from creditsync.sinks.exchange_db import load_layout
from creditsync.store.models import AuditEntry, QuarantineItem, Record

pytestmark = pytest.mark.integration
DEPARTMENT = "handover_office"


@pytest.fixture
def gateway(tmp_path: Path, exchange_url: str, sqlite_url: str,
            monkeypatch: pytest.MonkeyPatch) -> Iterator[Gateway]:
    adapters = tmp_path / "adapters"
    adapters.mkdir()
    (adapters / f"{DEPARTMENT}.yaml").write_text(yaml.safe_dump(
        {"department": DEPARTMENT, "name": "长清区某局", "batch_size": 20,
         "source": {"kind": "file", "options": {"inbox": str(tmp_path)}},
         "streams": [{"category": "penalty", "options": {"patterns": ["*.csv"]}}]}, allow_unicode=True),
        "utf-8")
    config = tmp_path / "sinks.yaml"
    config.write_text(yaml.safe_dump({"exchange_db": {"answer_wait_s": 0}}))
    for name, value in {"CREDITSYNC_DB_URL": sqlite_url, "CREDITSYNC_ADAPTERS_DIR": str(adapters),
                        "CREDITSYNC_SINK": "exchange_db", "CREDITSYNC_EXCHANGE_DB_URL": exchange_url,
                        "CREDITSYNC_SINK_CONFIG": str(config)}.items():
        monkeypatch.setenv(name, value)
    opened = Gateway.open()
    yield opened
    opened.store.dispose()


def simulator(url: str, reject_rate: float = 0.0) -> ExchangeSimulator:
    sim = ExchangeSimulator(url, load_layout({}), ["penalty"],
                            PlatformSimulator(faults=FaultConfig(reject_rate=reject_rate, seed=3)))
    sim.create_tables()
    return sim


def write(path: Path, rows: list[dict[str, str]]) -> Path:
    path.write_text("".join(json.dumps(row, ensure_ascii=False) + "\n" for row in rows), "utf-8")
    return path


def test_answers_come_on_the_next_run_and_go_through_the_lifecycle(gateway: Gateway, exchange_url: str,
                                                                   tmp_path: Path) -> None:
    sim = simulator(exchange_url, reject_rate=0.1)
    source = write(tmp_path / "in.jsonl", [penalty(n) for n in range(1, 41)])
    with pytest.raises(AwaitingPlatformError):  # delivered; the pick-up job has not run yet
        push_file(gateway, source, "penalty", DEPARTMENT)
    assert sim.run_once() == 40
    result = push_file(gateway, source, "penalty", DEPARTMENT)
    stats = sim.platform.stats()
    rejected = stats["rejected"]
    assert rejected > 0 and result["pushed"] == {"batches": 2, "acked": 40 - rejected, "rejected": rejected}
    with gateway.store.reader() as session:
        states = list(session.scalars(select(Record.state)))
        reasons = [e.errors for e in session.scalars(select(QuarantineItem))]
    assert states.count("published") == stats["records"] == 40 - rejected
    assert len(reasons) == rejected
    assert all(any(m in json.dumps(r, ensure_ascii=False) for m in REJECTION_MESSAGES) for r in reasons)

    scope = RunScope("(operator)", "withdraw__test", AuditTrail())
    published = [penalty(n)["CF_WSH"] for n in range(1, 41)]
    with gateway.store.reader() as session:
        document = session.scalar(select(Record.document_no).where(Record.state == "published").limit(1))
    assert document in published
    operations.withdraw(gateway.store, scope, document, "错误公示")
    with pytest.raises(AwaitingPlatformError):
        deliver_withdrawals(gateway, [DEPARTMENT])
    sim.run_once()
    deliver_withdrawals(gateway, [DEPARTMENT])
    assert sim.platform.stats()["withdrawn"] == 1
    with gateway.store.reader() as session:
        assert session.scalar(select(Record.state).where(Record.document_no == document)) \
            == "operator_withdrawn"


def test_a_withdrawal_of_a_record_the_platform_never_took_deletes_its_row(gateway: Gateway,
                                                                          exchange_url: str,
                                                                          tmp_path: Path) -> None:
    sim = simulator(exchange_url)
    source = write(tmp_path / "in.jsonl", [penalty(n) for n in range(1, 4)])
    with pytest.raises(AwaitingPlatformError):
        push_file(gateway, source, "penalty", DEPARTMENT)
    scope = RunScope("(operator)", "withdraw__test", AuditTrail())
    done = operations.withdraw(gateway.store, scope, "长市监罚〔2026〕2号", "错误公示")
    assert done.queued
    with pytest.raises(AwaitingPlatformError):  # the other two still wait for the pick-up job
        deliver_withdrawals(gateway, [DEPARTMENT])
    assert sim.run_once() == 2  # the withdrawn record's row was deleted before the job took it
    push_file(gateway, source, "penalty", DEPARTMENT)
    stats = sim.platform.stats()
    assert (stats["records"], stats["withdrawn"], stats["idempotency_keys"]) == (2, 0, 2)
    with gateway.store.reader() as session:
        state = session.scalar(select(Record.state).where(Record.document_no == "长市监罚〔2026〕2号"))
        retracted = session.scalar(select(func.count()).select_from(AuditEntry).where(
            AuditEntry.event == "delivery_retracted"))
    assert (state, retracted) == ("operator_withdrawn", 1)
