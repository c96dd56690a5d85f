"""The CreditSync pages in the Airflow UI: the store queries on hand-made rows, the app's access check
and escaping in-process, and the whole plugin in a real ``airflow api-server`` (integration)."""

from __future__ import annotations

import csv
import io
import json
import os
import re
import subprocess
import sys
import tracemalloc
from collections.abc import Iterator
from datetime import UTC, date, datetime, timedelta
from pathlib import Path
from typing import Any

import fabricate
import pytest
import requests
from airflow.api_fastapi.app import create_auth_manager
from airflow.api_fastapi.auth.managers.simple.user import SimpleAuthManagerUser
from airflow.api_fastapi.core_api.security import get_user
from airflow_api_server import airflow_env, free_port, stop_group, wait_healthy
from fastapi.testclient import TestClient
from lxml import html
from openpyxl import load_workbook
from sqlalchemy import func, insert, select, update

from creditsync.audit import AuditTrail
from creditsync.departments import DepartmentConfig
from creditsync.exceptions import ConfigurationError
from creditsync.orchestration.ui import (
    actions,
    audit_queries,
    export,
    quarantine_queries,
    queries,
    record_queries,
)
from creditsync.orchestration.ui import app as ui_app
from creditsync.orchestration.ui.app import READ_ACCESS, create_app
from creditsync.orchestration.ui.store import close_stores
from creditsync.store import Store, open_store
from creditsync.store.db import upgrade
from creditsync.store.guard import lifecycle_writes
from creditsync.store.models import AuditEntry, Cursor, OutboxItem, QuarantineItem, Record, SyncRun
from creditsync.store.states import RecordState

REPO = Path(__file__).resolve().parents[2]
NOW = datetime(2026, 3, 2, 12, 0, tzinfo=UTC)
ID_NUMBER = "370102199001011234"
STATES = {"published": 3, "pending": 2, "rejected": 1, "withdrawn": 1, "revoked": 1, "repaired": 1}


def _config(name: str, title: str, *categories: str) -> DepartmentConfig:
    return DepartmentConfig.model_validate({"department": name, "name": title, "source": {"kind": "rest"},
                                            "streams": [{"category": c} for c in categories]})


def _fill(store: Store) -> None:
    """market_supervision with one record per state count above, two pending pushes, quarantine,
    runs and a cursor; ``handover`` only in the store (a file pushed by hand)."""
    records, n = [], 0
    for state, count in STATES.items():
        for _ in range(count):
            n += 1
            platform_id = "p" if state == "published" else None
            records.append(fabricate.record_row(f"penalty:X:{n}", document_no=f"D{n}", subject_name="某公司",
                                                state=state, platform_id=platform_id,
                                                first_seen_at=NOW, updated_at=NOW))
    outbox = [fabricate.outbox_row(f"penalty:X:{i}", idempotency_key=f"k{i}", run_id="r2",
                                   created_at=NOW - age)
              for i, age in enumerate((timedelta(hours=2, minutes=5), timedelta(minutes=3)))]
    outbox.append(fabricate.outbox_row("b", idempotency_key="k9", run_id="r1", status="acked",
                                       created_at=NOW - timedelta(days=9)))
    fabricate.write(store, records=records, outbox=outbox)
    with lifecycle_writes(), store.transaction() as s:
        for resolved in (None, None, NOW):
            s.add(QuarantineItem(run_id="r2", department="market_supervision", category="license",
                                 stage="validation", errors=[], raw_masked={}, created_at=NOW,
                                 resolved_at=resolved))
        for run_id, started, status in (("r1", NOW - timedelta(days=1), "success"), ("r2", NOW, "partial")):
            s.add(SyncRun(id=run_id, department="market_supervision", trigger="airflow", status=status,
                          started_at=started, finished_at=started + timedelta(minutes=1), counts={}))
        s.add(SyncRun(id="h1", department="handover", trigger="cli", status="success", started_at=NOW,
                      finished_at=None, counts={}))
        s.add(Cursor(department="market_supervision", category="penalty", value="2026-03-01T08:00:00",
                     updated_at=NOW, run_id="r2"))


def test_department_status_counts_every_state_and_the_oldest_pending_push(store: Store) -> None:
    _fill(store)
    configs = [_config("market_supervision", "长清区市场监督管理局", "penalty", "license"),
               _config("health", "长清区卫生健康局", "license")]

    rows = {r["department"]: r for r in queries.department_status(store, configs, now=NOW)}

    assert list(rows) == ["market_supervision", "health", "handover"]  # configured first, then the store's
    market = rows["market_supervision"]
    assert {s: n for s, n in market["records"].items() if n} == STATES
    assert market["records_total"] == sum(STATES.values())
    assert (market["outbox_pending"], market["outbox_oldest_pending_age_s"]) == (2, 2 * 3600 + 300)
    assert market["quarantine_open"] == 2
    by_category = {c["category"]: c for c in market["categories"]}
    assert list(by_category) == ["penalty", "license"]  # the department's streams, in file order
    assert by_category["penalty"]["records_total"] == sum(STATES.values())
    assert (by_category["license"]["quarantine_open"], by_category["penalty"]["quarantine_open"]) == (2, 0)
    assert market["last_run"] is not None and (market["last_run"]["id"], market["last_run"]["status"]) == (
        "r2", "partial")
    assert [r["id"] for r in market["runs"]] == ["r2", "r1"]
    assert market["cursors"]["penalty"]["value"] == "2026-03-01T08:00:00"
    assert market["cursors"]["license"] == {"value": None, "updated_at": None}  # configured, never run
    health = rows["health"]
    assert set(health["records"].values()) == {0} and health["last_run"] is None
    assert rows["handover"]["configured"] is False and rows["handover"]["last_run"]["status"] == "success"


def test_revoked_before_publication_counts_records_only_the_audit_trail_knows(store: Store) -> None:
    """A record revoked at the source before the gateway ever stored it has no row in ``records``:
    the 已撤销 figure used to show 0 although the trail held its ``revoked_unpublished`` entry."""
    _fill(store)
    trail = AuditTrail("tester")
    with store.transaction() as s:
        for key in ("penalty:X:never-stored", "penalty:X:never-stored", "penalty:X:1"):
            trail.append(s, "revoked_unpublished", department="market_supervision", category="penalty",
                         business_key=key)
    market = queries.department_status(store, [_config("market_supervision", "局", "penalty")], now=NOW)[0]
    assert market["revoked_unpublished"] == 1  # penalty:X:1 is a stored record: counted by its state
    assert market["records"]["revoked"] == STATES["revoked"]


def test_run_history_reads_the_report_totals_and_links_the_airflow_run(store: Store) -> None:
    counts = {"records": {"read": 22, "new": 5, "changed": 2, "unchanged": 10, "quarantined": 3, "revoked": 1,
                          "withdrawal_queued": 1}, "outbox": {"acked": 7, "rejected": 1}, "quarantined": 3}
    with store.transaction() as s:
        s.add(SyncRun(id="sync__health/scheduled__2026-03-02T00:00:00+00:00", department="health",
                      trigger="airflow", status="partial", started_at=NOW,
                      finished_at=NOW + timedelta(seconds=95), counts=counts))
    with store.reader() as s:
        (run,) = queries.run_history(s, "health")
    assert run == run | {"read": 22, "published": 7, "corrected": 2, "withdrawn": 1, "quarantined": 3,
                         "revoked": 1, "duration_s": 95,
                         "airflow_run_id": "scheduled__2026-03-02T00:00:00+00:00"}


def test_daily_trend_counts_acknowledged_and_quarantined_records_per_beijing_day(store: Store) -> None:
    # 2026-03-01 17:00 UTC is already 2026-03-02 01:00 in Beijing
    late = datetime(2026, 3, 1, 17, 0, tzinfo=UTC)
    with lifecycle_writes(), store.transaction() as s:
        for i, acked in enumerate((late, late, datetime(2026, 3, 1, 8, 0, tzinfo=UTC))):
            s.add(OutboxItem(idempotency_key=f"t{i}", business_key=f"b{i}", department="health",
                             category="license", action="upsert", version=1, run_id="r",
                             status="acked", created_at=acked, acked_at=acked))
        s.add(QuarantineItem(run_id="r", department="health", category="license", stage="validation",
                             errors=[], raw_masked={}, created_at=late))
    trend = queries.daily_trend(store, days=3, today=date(2026, 3, 2))
    assert trend == {"days": ["2026-02-28", "2026-03-01", "2026-03-02"], "published": [0, 1, 2],
                     "quarantined": [0, 0, 1]}


def _trail(store: Store) -> None:
    trail = AuditTrail("tester")
    with store.transaction() as s:
        trail.append(s, "run_started", department="health", run_id="h1")
        trail.append(s, "push_receipt", department="market_supervision", category="penalty",
                     business_key="penalty:X:长市监处罚〔2026〕102号", run_id="r1", note="<b>bold</b>")
        trail.append(s, "record_quarantined", department="market_supervision", actor="operator",
                     document_no="长市监处罚〔2026〕120号", source_key="P000020")
    with store.transaction() as s:  # an entry written before masking existed: the page masks it again
        s.execute(update(AuditEntry).where(AuditEntry.id == 3).values(details={"ZJHM": ID_NUMBER}))


@pytest.mark.parametrize(("filters", "expected_ids"), [
    (audit_queries.AuditFilter(), [3, 2, 1]),
    (audit_queries.AuditFilter(department="market_supervision"), [3, 2]),
    (audit_queries.AuditFilter(event="run_started"), [1]),
    (audit_queries.AuditFilter(category="penalty"), [2]),
    (audit_queries.AuditFilter(actor="operator"), [3]),
    (audit_queries.AuditFilter(document_no="长市监处罚〔2026〕102号"), [2]),
    (audit_queries.AuditFilter(business_key="penalty:X:长市监处罚〔2026〕102号"), [2]),
    (audit_queries.AuditFilter(since=date(2999, 1, 1)), []),
    (audit_queries.AuditFilter(until=date(2000, 1, 1)), []),
])
def test_audit_page_newest_first_and_filtered(store: Store, filters: audit_queries.AuditFilter,
                                              expected_ids: list[int]) -> None:
    _trail(store)
    entries, after = audit_queries.audit_page(store, filters)
    assert [e["id"] for e in entries] == expected_ids and after is None


def test_audit_keyset_pages_visit_every_entry_once_even_when_timestamps_tie(store: Store) -> None:
    tied = datetime(2026, 3, 2, 8, 0, tzinfo=UTC)
    with store.transaction() as s:
        s.execute(insert(AuditEntry), [
            {"id": n, "ts": tied if n % 3 else tied + timedelta(seconds=n), "event": "push_receipt",
             "actor": "t", "details": {}, "prev_hash": "0", "hash": "0"} for n in range(1, 24)])
    seen: list[int] = []
    after = None
    for _ in range(10):
        entries, after = audit_queries.audit_page(store, audit_queries.AuditFilter(), after, size=5)
        seen += [e["id"] for e in entries]
        if after is None:
            break
        after = audit_queries.Position.parse(after.token())  # as the next-page link carries it
    assert sorted(seen) == list(range(1, 24)) and len(seen) == len(set(seen))


def test_audit_entries_mask_id_numbers_and_the_chain_check_sees_the_change(store: Store) -> None:
    _trail(store)
    entries, _ = audit_queries.audit_page(store, audit_queries.AuditFilter(), size=1)
    assert ID_NUMBER not in json.dumps(entries) and "370102********1234" in json.dumps(entries)
    status = audit_queries.chain_status(store)
    assert (status["ok"], status["entry_id"]) == (False, 3)  # the rewrite above is exactly tampering


def _export_peak(store: Store, filters: audit_queries.AuditFilter) -> tuple[int, int, bytes]:
    """(peak traced bytes, bytes written, first chunk) of one CSV export."""
    tracemalloc.start()
    size, first = 0, b""
    for chunk in export.csv_chunks(audit_queries.export_rows(store, filters)):
        first, size = first or chunk, size + len(chunk)
    peak = tracemalloc.get_traced_memory()[1]
    tracemalloc.stop()
    return peak, size, first


def test_audit_csv_export_of_10000_entries_streams_in_flat_memory(sqlite_url: str) -> None:
    """The export reads and writes chunk by chunk: five times the entries, about the same peak memory."""
    store = open_store(sqlite_url)
    detail = {"reason": "统一社会信用代码校验位错误 " * 8, "source_key": "P000008"}
    with store.transaction() as s:
        s.execute(insert(AuditEntry), [
            {"id": n, "ts": NOW + timedelta(seconds=n),
             "event": "push_rejected" if n <= 2000 else "push_receipt", "actor": "测试员",
             "department": "market_supervision", "details": detail, "prev_hash": "0", "hash": "0"}
            for n in range(1, 10_001)])
    some = audit_queries.AuditFilter(event="push_rejected")
    _export_peak(store, some)  # warm SQLAlchemy's statement caches
    small_peak, small_size, _ = _export_peak(store, some)
    peak, size, first = _export_peak(store, audit_queries.AuditFilter())
    store.dispose()
    assert size > 4.5 * small_size and size > 3_000_000
    assert peak < 1.5 * small_peak, f"{peak} bytes at 10,000 entries, {small_peak} at 2,000"
    assert first.startswith("\ufeff".encode()) and "测试员".encode() in first


def test_audit_xlsx_export_opens_with_chinese_headers_and_local_times(store: Store) -> None:
    _trail(store)
    path = export.write_xlsx(audit_queries.export_rows(store, audit_queries.AuditFilter()))
    try:
        sheet = load_workbook(path, read_only=True)["审计日志"]
        rows = list(sheet.iter_rows(values_only=True))
    finally:
        path.unlink()
    assert rows[0][:2] == ("序号 id", "时间 time, 北京时间 (Asia/Shanghai)")
    assert [r[0] for r in rows[1:]] == [1, 2, 3] and rows[2][4] == "推送回执"
    assert ID_NUMBER not in json.dumps(rows, default=str)


def test_record_search_finds_by_document_number_key_source_id_and_subject(store: Store) -> None:
    _fill(store)
    with store.transaction() as s:
        AuditTrail("scheduler").append(s, "record_quarantined", department="market_supervision",
                                       category="penalty", document_no="长市监处罚〔2026〕120号",
                                       source_key="P000020")
    for query in ("D1", "penalty:X:1", "某公司"):
        assert "penalty:X:1" in {r["business_key"] for r in record_queries.search(store, query)}, query
    (quarantined,) = record_queries.search(store, "长市监处罚〔2026〕120号")  # never stored
    assert (quarantined["business_key"], quarantined["stored"]) == ("P000020", False)
    assert [r["state"] for r in record_queries.search(store, "", state="withdrawn")] == ["withdrawn"]


def test_record_timeline_tells_the_story_of_a_record_revoked_before_publication(store: Store) -> None:
    trail = AuditTrail("scheduler")
    with store.transaction() as s:
        trail.append(s, "revoked_unpublished", department="market_supervision", category="penalty",
                     business_key="penalty:X:gone", source_key="P000099")
    (found,) = record_queries.search(store, "gone")  # by its 文书号, the business key's last part
    assert (found["business_key"], found["state"], found["stored"]) == ("penalty:X:gone", "revoked", False)
    story = record_queries.timeline(store, "penalty:X:gone")
    assert story["found"] and story["record"] is None
    assert [(e["event"], e["actor"]) for e in story["entries"]] == [("revoked_unpublished", "scheduler")]


def test_withdraw_queues_the_withdrawal_and_names_the_operator(store: Store) -> None:
    _fill(store)
    key = "penalty:X:1"  # published
    done = actions.withdraw(store, key, "法院判决撤销处罚决定", AuditTrail("operator"), "console__m__1")
    with store.reader() as s:
        record = s.get(Record, key)
        item = s.scalars(select(OutboxItem).where(OutboxItem.business_key == key,
                                                  OutboxItem.action == "withdraw")).one()
        entry = s.scalars(select(AuditEntry).where(AuditEntry.business_key == key)).one()
    assert done.queued and record is not None and (record.state, record.withdraw_reason) == (
        "withdrawing", "operator")
    assert item.status == "pending" and item.run_id == "console__m__1"
    assert (entry.event, entry.actor, entry.details["reason"], entry.details["mode"]) == (
        "withdrawal_queued", "operator", "法院判决撤销处罚决定", "console")
    with pytest.raises(ConfigurationError, match="already off display"):
        actions.withdraw(store, key, "again", AuditTrail("operator"), "console__m__2")
    with pytest.raises(ConfigurationError, match="reason"):
        actions.withdraw(store, "penalty:X:2", "  ", AuditTrail("operator"), "console__m__3")


def test_quarantine_rows_give_reasons_in_chinese_and_english(store: Store) -> None:
    with lifecycle_writes(), store.transaction() as s:
        s.add(QuarantineItem(run_id="r", department="market_supervision", category="penalty",
                             stage="validation", source_key="P000020", created_at=NOW,
                             errors=[{"field": "CF_XDR_MC", "message": "行政相对人名称不能为空 (subject name "
                                                                     "must not be empty)"}],
                             raw_masked={"CF_WSH": "长市监处罚〔2026〕120号"}))
    query = quarantine_queries.QuarantineQuery
    (row,) = quarantine_queries.quarantine_rows(store, query(field="CF_XDR_MC"))
    assert row["problems"] == [{"field": "CF_XDR_MC", "kind": "invalid", "title": row["problems"][0]["title"],
                                "message_zh": "行政相对人名称不能为空",
                                "message_en": "subject name must not be empty"}]
    assert row["first_seen"] == row["last_seen"] == row["created_at"]
    assert quarantine_queries.quarantine_rows(store, query(field="XK_XDR_MC")) == []


@pytest.fixture
def client(store: Store, store_url: str, tmp_path: Path,
           monkeypatch: pytest.MonkeyPatch) -> Iterator[TestClient]:
    (tmp_path / "adapters").mkdir()
    (tmp_path / "adapters" / "market_supervision.yaml").write_text(
        "department: market_supervision\nname: 市场<script>alert(1)</script>局\nsource: {kind: rest}\n"
        "streams: [{category: penalty}]\n", encoding="utf-8")
    monkeypatch.setenv("CREDITSYNC_HOME", str(tmp_path))
    monkeypatch.setenv("CREDITSYNC_DB_URL", store_url)
    monkeypatch.delenv("CREDITSYNC_ADAPTERS_DIR", raising=False)
    _fill(store)
    _trail(store)
    create_auth_manager()  # SimpleAuthManager: decides by role alone, no metadata database needed
    yield TestClient(create_app(), root_path="/creditsync")
    close_stores()


def _signed_in(client: TestClient, role: str) -> TestClient:
    """The pages' user, as Airflow's ``get_user`` would give it from a token of this role."""
    user = SimpleAuthManagerUser(username=f"{role}-user", role=role)
    client.app.dependency_overrides[get_user] = lambda: user  # type: ignore[attr-defined]
    return client


ROUTES = ["/", "/?department=market_supervision", "/quarantine", "/record", "/record?q=D1",
          "/record/view?key=penalty:X:1", "/audit", "/audit?verify=1", "/audit/export.csv",
          "/audit/export.xlsx",
          "/quarantine/report.xlsx?department=market_supervision", "/static/echarts.min.js", "/api/status",
          "/api/quarantine", "/api/records?q=D1", "/api/record?key=penalty:X:1", "/api/audit",
          "/api/audit/verify",
          "/quality", "/quality?period=2026&department=market_supervision",
          "/quality/records?department=market_supervision&status=waiting", "/api/quality?period=2026-Q1"]
ACTIONS = ["/actions/quarantine/redrive", "/actions/quarantine/resolve", "/actions/record/withdraw"]


def test_every_route_and_action_refuses_an_anonymous_request(client: TestClient) -> None:
    for path in ROUTES:
        assert client.get(path).status_code == 401, path
    for path in ACTIONS:
        answer = client.post(path, data={"entry_id": "1", "reason": "x", "csrf_token": "x"})
        assert answer.status_code == 401, path


def test_every_route_answers_a_viewer(client: TestClient) -> None:
    viewer = _signed_in(client, "viewer")
    chart_installed = (Path(ui_app.__file__).parent / "static" / "echarts.min.js").exists()
    for path in ROUTES:
        if path.startswith("/static") and not chart_installed and not os.environ.get("CI"):
            continue  # fetched by make install
        answer = viewer.get(path, follow_redirects=False)
        assert answer.status_code in (200, 303), f"{path}: {answer.text[:300]}"


def test_every_answer_stays_out_of_shared_caches_and_frames(client: TestClient) -> None:
    refused = client.get("/api/status")  # refusals too
    viewer = _signed_in(client, "viewer")
    for answer in (refused, viewer.get("/"), viewer.get("/api/audit"), viewer.get("/static/echarts.min.js")):
        assert answer.headers.get_list("cache-control") == ["no-store"], answer.url  # replaces a file's own
        assert answer.headers["content-security-policy"] == "frame-ancestors 'self'"
        assert answer.headers["x-content-type-options"] == "nosniff"


def test_pages_escape_store_and_config_text_and_never_show_an_id_number(client: TestClient) -> None:
    viewer = _signed_in(client, "viewer")
    status = viewer.get("/")
    audit = viewer.get("/audit", params={"verify": "1", "since": "", "until": ""})  # empty form fields
    assert status.status_code == audit.status_code == 200
    for page in (status.text, audit.text):
        assert "<script>alert(1)</script>" not in page and "&lt;script&gt;" in page
        assert ID_NUMBER not in page
    assert "<b>bold</b>" not in audit.text and "&lt;b&gt;bold&lt;/b&gt;" in audit.text
    assert "已损坏" in audit.text  # entry 3 was rewritten
    assert 'href="/dags/sync__market_supervision"' in status.text
    assert "北京时间" in status.text
    assert viewer.get("/api/audit", params={"since": "yesterday"}).status_code == 422
    assert viewer.get("/api/audit", params={"after": "nonsense"}).status_code == 422


def test_a_viewer_sees_no_action_buttons_and_an_operator_does(client: TestClient) -> None:
    viewer_page = _signed_in(client, "viewer").get("/record/view", params={"key": "penalty:X:1"}).text
    operator_page = _signed_in(client, "op").get("/record/view", params={"key": "penalty:X:1"}).text
    assert "csrf_token" not in viewer_page and "终止公示" not in viewer_page
    assert 'name="csrf_token"' in operator_page and "/actions/record/withdraw" in operator_page


def test_the_audit_csv_download_has_a_bom_and_every_filtered_entry(client: TestClient) -> None:
    viewer = _signed_in(client, "viewer")
    answer = viewer.get("/audit/export.csv", params={"department": "market_supervision"})
    assert answer.headers["content-type"].startswith("text/csv")
    assert answer.content.startswith(b"\xef\xbb\xbf")
    rows = list(csv.reader(io.StringIO(answer.content.decode("utf-8-sig"))))
    assert [r[0] for r in rows[1:]] == ["2", "3"] and "attachment" in answer.headers["content-disposition"]


def test_a_missing_sqlite_store_is_reported_not_created(tmp_path: Path,
                                                        monkeypatch: pytest.MonkeyPatch) -> None:
    missing = tmp_path / "var" / "nothing.db"
    monkeypatch.setenv("CREDITSYNC_DB_URL", f"sqlite:///{missing}")
    monkeypatch.setenv("CREDITSYNC_HOME", str(REPO))
    app = create_app()
    app.dependency_overrides[READ_ACCESS.dependency] = lambda: None
    answer = TestClient(app).get("/api/status")
    assert answer.status_code == 503 and "db-upgrade" in answer.json()["detail"] and not missing.exists()


# -- the plugin in a real `airflow api-server` -----------------------------------------------------

DEPARTMENT = "market_supervision"
PASSWORDS = {"admin": "admin-pw-ui", "auditor": "auditor-pw-ui", "operator": "operator-pw-ui"}
PAGES = ["/creditsync/", "/creditsync/quarantine", "/creditsync/record", "/creditsync/audit",
         "/creditsync/audit/export.csv", "/creditsync/api/status", "/creditsync/api/quarantine",
         "/creditsync/api/audit", "/creditsync/api/audit/verify"]




def _sync_once(gateway_url: str, monkeypatch: pytest.MonkeyPatch) -> set[str]:
    """The real pipeline, once, for market_supervision against the simulators (no retry ever sleeps);
    returns the personal ID numbers the department's system holds."""
    from creditsync import secrets
    from creditsync.delivery import PlatformClient, default_retry_policy
    from creditsync.pipeline import pull, push, report
    from creditsync.pipeline.runner import Gateway
    from creditsync.simulators.departments import market_supervision as source_sim
    from creditsync.simulators.platform import PlatformSimulator
    from creditsync.sources import rest

    no_sleep = rest.default_retrying
    monkeypatch.setattr(rest, "default_retrying", lambda: no_sleep().copy(sleep=lambda _s: None))
    monkeypatch.setattr(secrets, "_resolver", None)
    simulator = PlatformSimulator(app_key="k-ui")
    platform = simulator.start_in_thread()
    with source_sim.start_in_thread(token="t-ui", seed=7) as source:
        for name, value in {"CREDITSYNC_HOME": str(REPO), "CREDITSYNC_DB_URL": gateway_url,
                            "AIRFLOW_CONN_MARKET_SUPERVISION_SOURCE": source.url.replace("://", "://:t-ui@")
                            }.items():
            monkeypatch.setenv(name, value)
        gateway = Gateway.open()
        try:
            ctx = gateway.context(gateway.department(DEPARTMENT))
            pull(ctx)
            no_wait = default_retry_policy(sleep=lambda _s: None)
            push(ctx, PlatformClient(platform.url, "k-ui", retrying=no_wait))
            report(ctx)
        finally:
            gateway.store.dispose()
            platform.stop()
            simulator.close()
        return {str(r[n]) for kind in ("penalty", "license") for r in source.store.records(kind)
                for n in ("id_no", "legal_rep_id_no") if r.get(n)}






@pytest.fixture(scope="module")
def airflow_ui(tmp_path_factory: pytest.TempPathFactory) -> Iterator[dict[str, Any]]:
    home = tmp_path_factory.mktemp("airflow-ui")
    gateway_url = f"sqlite:///{home / 'gateway.db'}"
    upgrade(gateway_url)  # what make demo and the deployment's init step do
    (home / "passwords.json").write_text(json.dumps(PASSWORDS), encoding="utf-8")
    env = airflow_env(home, gateway_url, "admin:admin,auditor:viewer,operator:op")
    airflow = str(Path(sys.executable).with_name("airflow"))
    subprocess.run([airflow, "db", "migrate"], env=env, check=True, capture_output=True, timeout=300)
    base, log = f"http://127.0.0.1:{(port := free_port())}", home / "api-server.log"
    with log.open("wb") as out:
        server = subprocess.Popen([airflow, "api-server", "--host", "127.0.0.1", "--port", str(port),
                                   "--workers", "1"], env=env, stdout=out, stderr=subprocess.STDOUT,
                                  start_new_session=True)
    try:
        with pytest.MonkeyPatch.context() as monkeypatch:  # while the api-server starts
            id_numbers = _sync_once(gateway_url, monkeypatch)
        wait_healthy(server, base, log)
        yield {"base": base, "gateway_url": gateway_url, "id_numbers": id_numbers,
               "tokens": {user: _token(base, user) for user in PASSWORDS}}
    finally:
        stop_group(server)


def _token(base: str, user: str) -> str:
    answer = requests.post(f"{base}/auth/token", json={"username": user, "password": PASSWORDS[user]},
                           timeout=10)
    assert answer.status_code in (200, 201), answer.text
    return str(answer.json()["access_token"])


def _get(ui: dict[str, Any], path: str, user: str = "auditor", **params: str) -> requests.Response:
    headers = {"Authorization": f"Bearer {ui['tokens'][user]}"}
    return requests.get(ui["base"] + path, headers=headers, params=params, timeout=30)


def _store_facts(url: str) -> dict[str, Any]:
    """What the page must show, read straight from the tables."""
    from creditsync.store import open_store

    store = open_store(url, migrate=False)
    count = select(func.count())
    with store.reader() as s:
        facts = {
            "records": dict(s.execute(select(Record.state, func.count()).where(
                Record.department == DEPARTMENT).group_by(Record.state)).all()),
            "pending": s.scalar(count.select_from(OutboxItem).where(
                OutboxItem.department == DEPARTMENT, OutboxItem.status == "pending")),
            "quarantine": s.scalar(count.select_from(QuarantineItem).where(
                QuarantineItem.department == DEPARTMENT, QuarantineItem.resolved_at.is_(None))),
            "run": s.scalars(select(SyncRun).where(SyncRun.department == DEPARTMENT)).one(),
            "cursors": {c.category: c.value
                        for c in s.scalars(select(Cursor).where(Cursor.department == DEPARTMENT))},
            "audit": (s.scalar(count.select_from(AuditEntry)), s.scalar(select(func.max(AuditEntry.id)))),
        }
    store.dispose()
    return facts


def _total_row(page: str, department: str) -> dict[str, str]:
    """The department's total row in the overview, by the English header of each column."""
    table = html.fromstring(page).xpath(f"//h2[@id='dept-{department}']/following-sibling::table[1]")[0]
    keys = [th.findtext("small") or "" for th in table.xpath(".//tr[th]")[0].xpath("th")]
    row = table.xpath(".//tr[@class='total']")[0]
    return {key: td.text_content().strip() for key, td in zip(keys, row.xpath("td"), strict=True)}


@pytest.mark.integration
def test_a_viewer_gets_the_pages_an_anonymous_caller_does_not(airflow_ui: dict[str, Any]) -> None:
    base, auditor = airflow_ui["base"], airflow_ui["tokens"]["auditor"]
    for path in PAGES:
        assert requests.get(base + path, timeout=10).status_code in (401, 403), path
        forged = {"Authorization": "Bearer not-a-token"}
        assert requests.get(base + path, headers=forged, timeout=10).status_code in (401, 403), path
        assert _get(airflow_ui, path).status_code == 200, path
    # the UI's session cookie, which the page framed by the Airflow UI carries
    assert requests.get(base + "/creditsync/", cookies={"_token": auditor}, timeout=10).status_code == 200


@pytest.mark.integration
def test_status_page_and_api_show_what_the_store_holds(airflow_ui: dict[str, Any]) -> None:
    from creditsync.departments import load_departments

    facts = _store_facts(airflow_ui["gateway_url"])
    page, api = _get(airflow_ui, "/creditsync/").text, _get(airflow_ui, "/creditsync/api/status")
    assert facts["records"]["published"] > 80  # the pipeline really ran
    assert all(config.name in page for config in load_departments(REPO / "adapters"))
    total = _total_row(page, DEPARTMENT)
    assert int(total["published"]) == facts["records"]["published"]
    assert int(total["open quarantine"]) == facts["quarantine"]
    shown = next(d for d in api.json()["departments"] if d["department"] == DEPARTMENT)
    assert {s: n for s, n in shown["records"].items() if n} == facts["records"]
    assert (shown["outbox_pending"], shown["quarantine_open"]) == (facts["pending"], facts["quarantine"])
    assert (shown["last_run"]["id"], shown["last_run"]["status"]) == (facts["run"].id, facts["run"].status)
    assert {c: v["value"] for c, v in shown["cursors"].items()} == facts["cursors"]
    assert sum(api.json()["trend"]["published"]) == facts["records"]["published"]
    quarantine = "".join(_get(airflow_ui, path).text
                         for path in ("/creditsync/quarantine", "/creditsync/api/quarantine"))
    assert not {n for n in airflow_ui["id_numbers"] if n in page or n in api.text or n in quarantine}


@pytest.mark.integration
def test_audit_page_lists_the_latest_entries_and_checks_the_chain_on_request(
        airflow_ui: dict[str, Any]) -> None:
    total, last_id = _store_facts(airflow_ui["gateway_url"])["audit"]
    entries = _get(airflow_ui, "/creditsync/api/audit").json()["entries"]
    newest = list(range(last_id, last_id - min(total, audit_queries.PAGE_SIZE), -1))
    assert [e["id"] for e in entries] == newest
    receipts = _get(airflow_ui, "/creditsync/api/audit", event="receipts_stored",
                    department=DEPARTMENT).json()
    assert receipts["entries"] and {(e["event"], e["department"]) for e in receipts["entries"]} == {
        ("receipts_stored", DEPARTMENT)}
    chain = _get(airflow_ui, "/creditsync/api/audit/verify").json()
    assert (chain["ok"], chain["checked"]) == (True, total)
    page = _get(airflow_ui, "/creditsync/audit", verify="1", since="", event="").text
    assert "完整" in page and f">{last_id}<" in page
    assert not {n for n in airflow_ui["id_numbers"] if n in page}


@pytest.mark.integration
def test_the_plugin_is_registered_with_its_app_and_menu_entries(airflow_ui: dict[str, Any]) -> None:
    plugins = _get(airflow_ui, "/api/v2/plugins", user="admin").json()["plugins"]
    plugin = next(p for p in plugins if p["name"] == "creditsync")
    assert [(a["url_prefix"], a["name"]) for a in plugin["fastapi_apps"]] == [("/creditsync", "CreditSync")]
    views = {(v["name"], v["href"], v["destination"], v["category"], v["url_route"])
             for v in plugin["external_views"]}
    assert views == {("信用同步·概览", "/creditsync/", "nav", "browse", "creditsync-status"),
                     ("信用同步·隔离记录", "/creditsync/quarantine", "nav", "browse",
                      "creditsync-quarantine"),
                     ("信用同步·记录", "/creditsync/record", "nav", "browse", "creditsync-records"),
                     ("信用同步·审计", "/creditsync/audit", "nav", "browse", "creditsync-audit"),
                     ("信用同步·质量", "/creditsync/quality", "nav", "browse", "creditsync-quality"),
                     ("信用同步·信用核查", "/creditsync/credit", "nav", "browse", "creditsync-credit")}
    assert not {name for name, *_ in views} & {"审计日志", "Audit Log"}  # Airflow's own entry


def _post(ui: dict[str, Any], path: str, user: str, **form: Any) -> requests.Response:
    headers = {"Authorization": f"Bearer {ui['tokens'][user]}"}
    return requests.post(ui["base"] + path, headers=headers, data=form, timeout=30, allow_redirects=False)


def _csrf(ui: dict[str, Any], user: str, key: str) -> str:
    page = html.fromstring(_get(ui, "/creditsync/record/view", user=user, key=key).text)
    return str(page.xpath("//input[@name='csrf_token']/@value")[0])


@pytest.mark.integration
def test_operator_actions_need_the_dag_edit_permission_and_a_csrf_token(airflow_ui: dict[str, Any]) -> None:
    from creditsync.store import open_store

    store = open_store(airflow_ui["gateway_url"], migrate=False)
    with store.reader() as s:
        entry = s.scalars(select(QuarantineItem).where(QuarantineItem.department == DEPARTMENT,
                                                       QuarantineItem.resolved_at.is_(None))).first()
        published = s.scalars(select(Record).where(Record.state == "published")).first()
    assert entry is not None and published is not None
    key = published.business_key
    forms = {"/creditsync/actions/quarantine/resolve": {"entry_id": entry.id},
             "/creditsync/actions/quarantine/redrive": {"entry_id": entry.id},
             "/creditsync/actions/record/withdraw": {"business_key": key}}
    missing = {"/creditsync/actions/quarantine/resolve": {"entry_id": 999999},
               "/creditsync/actions/quarantine/redrive": {"entry_id": 999999},
               "/creditsync/actions/record/withdraw": {"business_key": "penalty:X:no such key"}}
    for path, form in forms.items():  # an auditor, even with a valid token of their own, gets 403
        assert _post(airflow_ui, path, "auditor", reason="x", csrf_token="x", **form).status_code == 403
        # the same 403 for what does not exist: permission is checked before anything is looked up
        unknown = _post(airflow_ui, path, "auditor", reason="x", csrf_token="x", **missing[path])
        assert unknown.status_code == 403
        assert requests.post(airflow_ui["base"] + path, data=form, timeout=10).status_code in (401, 403)
        assert _post(airflow_ui, path, "operator", reason="x", csrf_token="forged", **form).status_code == 403
        no_token = _post(airflow_ui, path, "operator", reason="x", **form)  # the console's page, not JSON
        assert no_token.status_code == 403 and "text/html" in no_token.headers["content-type"], no_token.text
        too_long = _post(airflow_ui, path, "operator", reason="原" * 201 + "ECHO", csrf_token="x", **form)
        assert too_long.status_code == 422 and "text/html" in too_long.headers["content-type"]
        assert "ECHO" not in too_long.text and "过长" in too_long.text
    token = _csrf(airflow_ui, "operator", key)
    resolved = _post(airflow_ui, "/creditsync/actions/quarantine/resolve", "operator", entry_id=entry.id,
                     reason="纸质报送 handed over on paper", csrf_token=token)
    unconfirmed = _post(airflow_ui, "/creditsync/actions/record/withdraw", "operator", business_key=key,
                        reason="法院撤销 annulled by a court", csrf_token=token)
    mistyped = _post(airflow_ui, "/creditsync/actions/record/withdraw", "operator", business_key=key,
                     reason="法院撤销 annulled by a court", csrf_token=token,
                     confirm_document_no="长市监处罚")
    with store.reader() as s:
        still = s.get(Record, key)
        assert still is not None and still.state == "published"
    typed = published.document_no.replace("〔", "[").replace("〕", "]")  # any written variant confirms
    withdrawn = _post(airflow_ui, "/creditsync/actions/record/withdraw", "operator", business_key=key,
                      reason="法院撤销 annulled by a court", csrf_token=token, confirm_document_no=typed)
    again = _post(airflow_ui, "/creditsync/actions/record/withdraw", "operator", business_key=key,
                  reason="twice", csrf_token=token, confirm_document_no=published.document_no)
    assert (unconfirmed.status_code, mistyped.status_code) == (400, 400)
    assert (resolved.status_code, withdrawn.status_code, again.status_code) == (303, 303, 409)
    with store.reader() as s:
        record = s.get(Record, key)
        entries = s.scalars(select(AuditEntry).where(AuditEntry.event.in_(
            ["quarantine_resolved", "withdrawal_queued"]), AuditEntry.actor == "operator")).all()
    store.dispose()
    assert record is not None and record.state == "withdrawing"
    assert sorted(e.event for e in entries) == ["quarantine_resolved", "withdrawal_queued"]


def test_every_record_state_has_a_column_in_the_overview() -> None:
    assert set(queries.RECORD_STATES) == set(RecordState)


def test_the_readme_example_document_number_is_one_the_demo_publishes() -> None:
    """README's `creditsync audit trace 文书号` names a record of the demo's market-supervision system
    (default seed, on the day this was written): valid and not revoked, so it is published."""
    from creditsync.simulators.departments.market_supervision_data import BROKEN
    from creditsync.simulators.departments.market_supervision_store import DecisionStore

    example = re.search(r"audit trace (\S+号)", (REPO / "README.md").read_text(encoding="utf-8"))
    assert example is not None
    served = {r["decision_no"]: r for r in DecisionStore(today=date(2026, 11, 30)).records("penalty")}
    record = served[example.group(1)]
    assert record["id"] not in BROKEN and record["status"] == "正常"
