"""The harness of the pipeline and CLI tests: both simulators in-thread on 127.0.0.1, the gateway's
environment set through monkeypatch, and retry policies that never sleep.

Imported by tests/pipeline/conftest.py and tests/cli/conftest.py (which puts this folder on sys.path).
"""

from __future__ import annotations

import json
from collections.abc import Iterator, Mapping, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import pytest
from sqlalchemy import func, select, text
from tenacity import Retrying

from creditsync import secrets
from creditsync.audit import verify_chain
from creditsync.delivery import PlatformClient, default_retry_policy
from creditsync.pipeline import SyncContext, pull, push, report
from creditsync.pipeline.runner import Gateway
from creditsync.simulators.departments.market_supervision import RunningMarketSupervision, start_in_thread
from creditsync.simulators.platform import PlatformSimulator, RunningSimulator, schema_validator
from creditsync.sources import rest
from creditsync.store.models import Cursor, OutboxItem, QuarantineItem, Record

REPO = Path(__file__).resolve().parents[2]
DEPARTMENT = "market_supervision"
APP_KEY = "demo-app-key"
SOURCE_TOKEN = "source-test-token"
SEED = 7  # its broken records are never also revoked, and it revokes two valid penalties
CONN_ENV = "AIRFLOW_CONN_MARKET_SUPERVISION_SOURCE"
KINDS = ("penalty", "license")
# Tables an auditor may read: no full ID number may ever be stored in them.
READABLE_TABLES = ("quarantine", "record_versions", "audit_log", "records", "sync_runs", "run_streams",
                   "cursors")


def opened(item: OutboxItem) -> dict[str, Any]:
    """An outbox item's payload, decrypted as the push step does (lifecycle.seal)."""
    from creditsync.lifecycle.rows import outbox_identity
    from creditsync.lifecycle.seal import sealer

    identity = {name: getattr(item, name) for name in
                ("idempotency_key", "business_key", "department", "category", "action", "version")}
    return sealer().decrypt(item.sealed, outbox_identity(identity))


def no_sleep() -> Retrying:
    """The platform client's production policy, with the sleeping taken out."""
    return default_retry_policy(sleep=lambda _seconds: None)


def no_sleep_source_retrying() -> Retrying:
    """The REST adapter's production policy (same attempts), with the sleeping taken out."""
    return _REAL_SOURCE_RETRYING().copy(sleep=lambda _seconds: None)


_REAL_SOURCE_RETRYING = rest.default_retrying


class PlatformValidator:
    """The platform's schema check, plus rejections a test asks for by 文书号 (with the message)."""

    def __init__(self) -> None:
        self.rejections: dict[str, str] = {}

    def __call__(self, category: str, data: Mapping[str, Any]) -> list[str]:
        document = data.get("CF_WSH") or data.get("XK_WSH")
        if document in self.rejections:
            return [self.rejections[str(document)]]
        return schema_validator(category, data)


@dataclass
class Harness:
    source: RunningMarketSupervision
    simulator: PlatformSimulator
    platform: RunningSimulator
    validator: PlatformValidator
    db_url: str
    monkeypatch: pytest.MonkeyPatch
    gateways: list[Gateway] = field(default_factory=list)

    # -- the gateway ---------------------------------------------------------------------------

    @property
    def gateway(self) -> Gateway:
        if not self.gateways:
            self.gateways.append(Gateway.open())
        return self.gateways[0]

    @property
    def client(self) -> PlatformClient:
        return PlatformClient(self.platform.url, APP_KEY, retrying=no_sleep())

    def context(self, run_id: str | None = None) -> SyncContext:
        return self.gateway.context(self.gateway.department(DEPARTMENT), run_id)

    def sync(self, ctx: SyncContext | None = None) -> dict[str, Any]:
        """pull → push → report, exactly the DAG's steps, with a no-sleep client."""
        ctx = ctx or self.context()
        result: dict[str, Any] = {"run_id": ctx.run_id, "pulled": pull(ctx)}
        result["pushed"] = push(ctx, self.client)
        result["report"] = report(ctx)
        return result

    def use_department_file(self, tmp_path: Path, **overrides: Any) -> None:
        """A copy of adapters/market_supervision.yaml with top-level keys replaced."""
        import yaml

        config = yaml.safe_load((REPO / "adapters" / f"{DEPARTMENT}.yaml").read_text(encoding="utf-8"))
        config.update(overrides)
        folder = tmp_path / "adapters"
        folder.mkdir(exist_ok=True)
        (folder / f"{DEPARTMENT}.yaml").write_text(yaml.safe_dump(config, allow_unicode=True), "utf-8")
        self.monkeypatch.setenv("CREDITSYNC_ADAPTERS_DIR", str(folder))

    # -- the platform --------------------------------------------------------------------------

    def stats(self) -> dict[str, Any]:
        return self.simulator.stats()

    def stop_platform(self) -> None:
        self.platform.stop()

    def restart_platform(self) -> None:
        """The same platform (its memory intact) back on a new port."""
        self.platform = self.simulator.start_in_thread()
        self.monkeypatch.setenv("CREDITSYNC_PLATFORM_URL", self.platform.url)

    # -- the source ----------------------------------------------------------------------------

    def records(self, kind: str) -> list[dict[str, Any]]:
        return self.source.store.records(kind)

    def document(self, record_id: str) -> str:
        record = self.source.store.get(record_id)
        assert record is not None, record_id
        return str(record["decision_no"])

    def broken_documents(self) -> dict[str, str]:
        """文书号 → source id of each deliberately broken record."""
        return {self.document(rid): rid for rid in self.source.broken_ids}

    def expected_published(self) -> set[str]:
        """文书号 of every valid record the platform should show (revoked penalties never go)."""
        broken = self.broken_documents()
        return {r["decision_no"] for kind in KINDS for r in self.records(kind)
                if r["decision_no"] not in broken and not (kind == "penalty" and r["status"] == "撤销")}

    def valid_penalty(self, index: int = 0, party_type: str | None = None) -> dict[str, Any]:
        """A valid, not revoked penalty of the source (by position among those)."""
        broken = set(self.source.broken_ids)
        found = [r for r in self.records("penalty") if r["id"] not in broken and r["status"] == "正常"
                 and (party_type is None or r["party_type"] == party_type)]
        return found[index]

    def last_cursor(self, kind: str) -> str:
        return max(r["updated_at"] for r in self.records(kind) if r["id"] is not None)

    def id_numbers(self) -> set[str]:
        """Every personal ID number the source holds (subjects and legal representatives)."""
        return {str(r[name]) for kind in KINDS for r in self.records(kind)
                for name in ("id_no", "legal_rep_id_no") if r.get(name)}

    # -- the store -----------------------------------------------------------------------------

    def rows(self, model: Any, *where: Any) -> list[Any]:
        with self.gateway.store.reader() as session:
            return list(session.scalars(select(model).where(*where)))

    def count(self, model: Any, *where: Any) -> int:
        with self.gateway.store.reader() as session:
            return int(session.scalar(select(func.count()).select_from(model).where(*where)) or 0)

    def record(self, document: str) -> Record:
        found = self.rows(Record, Record.document_no == document)
        assert len(found) == 1, f"{document}: {len(found)} records"
        return found[0]

    def cursors(self) -> dict[str, str | None]:
        return {c.category: c.value for c in self.rows(Cursor, Cursor.department == DEPARTMENT)}

    def quarantine_by_document(self) -> dict[str, QuarantineItem]:
        return {str(q.raw_masked.get("decision_no")): q for q in self.rows(QuarantineItem)}

    def revoked_unpublished(self) -> int:
        """Records revoked before they were ever published: kept (state revoked), never sent."""
        return self.count(Record, Record.state == "revoked")

    def published_documents(self) -> set[str]:
        return {r.document_no for r in self.rows(Record, Record.state == "published")}

    def pending(self) -> list[OutboxItem]:
        return self.rows(OutboxItem, OutboxItem.status == "pending")

    def pending_payloads(self) -> list[dict[str, Any]]:
        """The pending items' payloads, opened from their seals (at rest they are encrypted)."""
        return [opened(item) for item in self.pending()]

    def delivered_once(self) -> None:
        """Every valid record on the platform exactly once, published in the store, nothing pending."""
        expected = self.expected_published()
        stats = self.stats()
        assert stats["records"] == stats["business_keys"] == len(expected)
        assert self.published_documents() == expected
        assert self.pending() == []

    def chain_ok(self) -> bool:
        with self.gateway.store.reader() as session:
            return verify_chain(session).ok

    def table_text(self, table: str) -> str:
        with self.gateway.store.reader() as session:
            return "\n".join(repr(tuple(row)) for row in session.execute(text(f"SELECT * FROM {table}")))

    def close(self) -> None:
        for gateway in self.gateways:
            gateway.store.dispose()


def leaked(id_numbers: Sequence[str] | set[str], output: str) -> list[str]:
    """The full ID numbers that appear in ``output``."""
    return sorted(number for number in id_numbers if number in output)


def connection_json(source: RunningMarketSupervision, token: str = SOURCE_TOKEN) -> str:
    return json.dumps({"conn_type": "http", "host": source.host, "port": source.port, "password": token})


@pytest.fixture
def harness_db(request: pytest.FixtureRequest) -> str:
    """SQLite unless a test parametrizes it (indirectly) with "postgresql"."""
    name = getattr(request, "param", "sqlite")
    return str(request.getfixturevalue("pg_url" if name == "postgresql" else "sqlite_url"))


@pytest.fixture
def harness(harness_db: str, monkeypatch: pytest.MonkeyPatch) -> Iterator[Harness]:
    validator = PlatformValidator()
    simulator = PlatformSimulator(app_key=APP_KEY, validator=validator)
    with start_in_thread(token=SOURCE_TOKEN, seed=SEED) as source:
        platform = simulator.start_in_thread()
        for name, value in {
            "CREDITSYNC_HOME": str(REPO), "CREDITSYNC_DB_URL": harness_db,
            "CREDITSYNC_PLATFORM_URL": platform.url, "CREDITSYNC_PLATFORM_APP_KEY": APP_KEY,
            CONN_ENV: connection_json(source), "COLUMNS": "400",
        }.items():
            monkeypatch.setenv(name, value)
        for name in ("CREDITSYNC_ADAPTERS_DIR", "CREDITSYNC_MAPPINGS_DIR", "CREDITSYNC_PLATFORM_CONN_ID"):
            monkeypatch.delenv(name, raising=False)
        # Source retries keep their attempts but never sleep; connections come from the environment.
        monkeypatch.setattr(rest, "default_retrying", no_sleep_source_retrying)
        monkeypatch.setattr(secrets, "_resolver", None)
        running = Harness(source, simulator, platform, validator, harness_db, monkeypatch)
        try:
            yield running
        finally:
            running.close()
            running.platform.stop()
            simulator.close()
