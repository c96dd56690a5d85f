"""The CreditSync pages in the Airflow UI: the store queries on hand-made rows, the app's access check
and escaping in-process, and the whole plugin in a real ``airflow api-server`` (integration)."""

from __future__ import annotations

import json
import os
import signal
import socket
import subprocess
import sys
import time
from collections.abc import Iterator
from datetime import UTC, date, datetime, timedelta
from pathlib import Path
from typing import Any

import pytest
import requests
from fastapi.testclient import TestClient
from lxml import html
from sqlalchemy import func, select, update

from creditsync.audit import AuditTrail
from creditsync.departments import DepartmentConfig
from creditsync.orchestration.ui import queries
from creditsync.orchestration.ui.app import READ_ACCESS, create_app
from creditsync.orchestration.ui.store import close_stores
from creditsync.store import Store
from creditsync.store.models import AuditEntry, Cursor, OutboxItem, QuarantineItem, Record, SyncRun

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
    with store.transaction() as s:
        n = 0
        for state, count in STATES.items():
            for _ in range(count):
                n += 1
                s.add(Record(business_key=f"penalty:X:{n}", department="market_supervision",
                             category="penalty", document_no=f"D{n}", subject_name="某公司",
                             mapped_hash="h", state=state, first_seen_at=NOW, updated_at=NOW))
        for i, age in enumerate((timedelta(hours=2, minutes=5), timedelta(minutes=3))):
            s.add(OutboxItem(idempotency_key=f"k{i}", business_key=f"penalty:X:{i}",
                             department="market_supervision", category="penalty", action="upsert",
                             version=1, payload={}, run_id="r2", status="pending", created_at=NOW - age))
        s.add(OutboxItem(idempotency_key="k9", business_key="b", department="market_supervision",
                         category="penalty", action="upsert", version=1, payload={}, run_id="r1",
                         status="acked", created_at=NOW - timedelta(days=9)))
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
    assert market["records"] == STATES and market["records_total"] == sum(STATES.values())
    assert (market["outbox_pending"], market["outbox_oldest_pending_age_s"]) == (2, 2 * 3600 + 300)
    assert market["quarantine_open"] == 2
    assert market["last_run"] is not None and (market["last_run"]["id"], market["last_run"]["status"]) == (
        "r2", "partial")
    assert market["cursors"]["penalty"]["value"] == "2026-03-01T08:00:00"
    assert market["cursors"]["license"] == {"value": None, "updated_at": None}  # configured, never run
    health = rows["health"]
    assert health["records"] == dict.fromkeys(queries.RECORD_STATES, 0) and health["last_run"] is None
    assert rows["handover"]["configured"] is False and rows["handover"]["last_run"]["status"] == "success"


def _trail(store: Store) -> None:
    trail = AuditTrail("tester")
    with store.transaction() as s:
        trail.append(s, "run_started", department="health", run_id="h1")
        trail.append(s, "push_receipt", department="market_supervision", business_key="penalty:X:1",
                     run_id="r1", note="<b>bold</b>")
        trail.append(s, "record_quarantined", department="market_supervision")
    with store.transaction() as s:  # an entry written before masking existed: the page masks it again
        s.execute(update(AuditEntry).where(AuditEntry.id == 3).values(details={"ZJHM": ID_NUMBER}))


@pytest.mark.parametrize(("filters", "expected_ids"), [
    (queries.AuditFilter(), [3, 2, 1]),
    (queries.AuditFilter(department="market_supervision"), [3, 2]),
    (queries.AuditFilter(event="run_started"), [1]),
    (queries.AuditFilter(since=date(2999, 1, 1)), []),
])
def test_audit_entries_newest_first_and_filtered(store: Store, filters: queries.AuditFilter,
                                                  expected_ids: list[int]) -> None:
    _trail(store)
    assert [e["id"] for e in queries.audit_entries(store, filters)] == expected_ids


def test_audit_entries_mask_id_numbers_and_the_chain_check_sees_the_change(store: Store) -> None:
    _trail(store)
    entries = queries.audit_entries(store, queries.AuditFilter(), limit=1)
    assert ID_NUMBER not in json.dumps(entries) and "370102********1234" in json.dumps(entries)
    status = queries.chain_status(store)
    assert (status["ok"], status["entry_id"]) == (False, 3)  # the rewrite above is exactly tampering


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
    yield TestClient(create_app(), root_path="/creditsync")
    close_stores()


ROUTES = ["/", "/audit", "/audit?verify=1", "/api/status", "/api/audit", "/api/audit/verify"]


@pytest.mark.parametrize("path", ROUTES)
def test_every_route_refuses_an_anonymous_request(client: TestClient, path: str) -> None:
    assert client.get(path).status_code == 401


def test_pages_escape_store_and_config_text_and_never_show_an_id_number(client: TestClient) -> None:
    client.app.dependency_overrides[READ_ACCESS.dependency] = lambda: None  # type: ignore[attr-defined]
    status = client.get("/")
    audit = client.get("/audit", params={"verify": "1", "since": ""})  # the form sends empty fields
    assert status.status_code == audit.status_code == 200
    for page in (status.text, audit.text):
        assert "<script>alert(1)</script>" not in page and "&lt;script&gt;" in page
        assert ID_NUMBER not in page
    assert "<b>bold</b>" not in audit.text and "&lt;b&gt;bold&lt;/b&gt;" in audit.text
    assert "已损坏" in audit.text  # entry 3 was rewritten
    assert 'href="/dags/sync__market_supervision"' in status.text
    assert client.get("/api/audit", params={"since": "yesterday"}).status_code == 422


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
PASSWORDS = {"admin": "admin-pw-ui", "auditor": "auditor-pw-ui"}
PAGES = ["/creditsync/", "/creditsync/audit", "/creditsync/api/status", "/creditsync/api/audit",
         "/creditsync/api/audit/verify"]


def _free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


def _airflow_env(home: Path, gateway_url: str) -> dict[str, str]:
    env = {k: v for k, v in os.environ.items() if not k.startswith(("AIRFLOW", "CREDITSYNC_"))}
    env.update({
        "PATH": f"{Path(sys.executable).parent}{os.pathsep}{env.get('PATH', '')}",
        "AIRFLOW_HOME": str(home), "AIRFLOW__CORE__LOAD_EXAMPLES": "False",
        "AIRFLOW__CORE__PLUGINS_FOLDER": str(REPO / "plugins"),
        "AIRFLOW__CORE__SIMPLE_AUTH_MANAGER_USERS": "admin:admin,auditor:viewer",
        "AIRFLOW__CORE__SIMPLE_AUTH_MANAGER_PASSWORDS_FILE": str(home / "passwords.json"),
        "AIRFLOW__API_AUTH__JWT_SECRET": os.urandom(16).hex(),
        "CREDITSYNC_HOME": str(REPO), "CREDITSYNC_DB_URL": gateway_url,
    })
    return env


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


def _wait_healthy(server: subprocess.Popen[bytes], base: str, log: Path) -> None:
    deadline = time.monotonic() + 120
    while time.monotonic() < deadline:
        if server.poll() is not None:
            pytest.fail(f"airflow api-server exited {server.returncode}:\n{log.read_text()[-4000:]}")
        try:
            if requests.get(f"{base}/api/v2/monitor/health", timeout=2).ok:
                return
        except requests.ConnectionError:
            pass
        time.sleep(0.2)  # waiting for a server to start, not a retry
    pytest.fail(f"airflow api-server not healthy after 120 s:\n{log.read_text()[-4000:]}")


def _stop_group(server: subprocess.Popen[bytes]) -> None:
    """The api-server and every worker it started: its whole process group."""
    for sig, wait in ((signal.SIGTERM, 20), (signal.SIGKILL, 10)):
        try:
            os.killpg(server.pid, sig)
        except ProcessLookupError:
            return
        try:
            server.wait(timeout=wait)
        except subprocess.TimeoutExpired:
            continue


@pytest.fixture(scope="module")
def airflow_ui(tmp_path_factory: pytest.TempPathFactory) -> Iterator[dict[str, Any]]:
    home = tmp_path_factory.mktemp("airflow-ui")
    gateway_url = f"sqlite:///{home / 'gateway.db'}"
    (home / "passwords.json").write_text(json.dumps(PASSWORDS), encoding="utf-8")
    env = _airflow_env(home, gateway_url)
    airflow = str(Path(sys.executable).with_name("airflow"))
    subprocess.run([airflow, "db", "migrate"], env=env, check=True, capture_output=True, timeout=300)
    base, log = f"http://127.0.0.1:{(port := _free_port())}", home / "api-server.log"
    with log.open("wb") as out:
        server = subprocess.Popen([airflow, "api-server", "--host", "127.0.0.1", "--port", str(port),
                                   "--workers", "1"], env=env, stdout=out, stderr=subprocess.STDOUT,
                                  start_new_session=True)
    try:
        with pytest.MonkeyPatch.context() as monkeypatch:  # while the api-server starts
            id_numbers = _sync_once(gateway_url, monkeypatch)
        _wait_healthy(server, base, log)
        yield {"base": base, "gateway_url": gateway_url, "id_numbers": id_numbers,
               "tokens": {user: _token(base, user) for user in PASSWORDS}}
    finally:
        _stop_group(server)


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


def _row(page: str, department: str) -> dict[str, str]:
    """The department's row of the first table, by the English header of each column."""
    table = html.fromstring(page).xpath("//table")[0]
    keys = [th.findtext("small") or "" for th in table.xpath(".//tr[th]")[0].xpath("th")]
    row = next(tr for tr in table.xpath(".//tr[td]") if department in tr.xpath("td")[0].text_content())
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
    row = _row(page, DEPARTMENT)
    assert {state: int(row[state]) for state in queries.RECORD_STATES} == {
        state: facts["records"].get(state, 0) for state in queries.RECORD_STATES}
    assert int(row["outbox pending"]) == facts["pending"]
    assert int(row["open quarantine"]) == facts["quarantine"]
    assert facts["run"].id in row["last run"] and facts["run"].status in row["last run"]
    shown = next(d for d in api.json()["departments"] if d["department"] == DEPARTMENT)
    assert {s: n for s, n in shown["records"].items() if n} == facts["records"]
    assert (shown["outbox_pending"], shown["quarantine_open"]) == (facts["pending"], facts["quarantine"])
    assert (shown["last_run"]["id"], shown["last_run"]["status"]) == (facts["run"].id, facts["run"].status)
    assert {c: v["value"] for c, v in shown["cursors"].items()} == facts["cursors"]
    assert not {n for n in airflow_ui["id_numbers"] if n in page or n in api.text}


@pytest.mark.integration
def test_audit_page_lists_the_latest_entries_and_checks_the_chain_on_request(
        airflow_ui: dict[str, Any]) -> None:
    total, last_id = _store_facts(airflow_ui["gateway_url"])["audit"]
    entries = _get(airflow_ui, "/creditsync/api/audit").json()["entries"]
    assert [e["id"] for e in entries] == list(range(last_id, last_id - min(total, 200), -1))
    receipts = _get(airflow_ui, "/creditsync/api/audit", event="push_receipt", department=DEPARTMENT).json()
    assert receipts["entries"] and {(e["event"], e["department"]) for e in receipts["entries"]} == {
        ("push_receipt", DEPARTMENT)}
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
    assert views == {("数据同步状态", "/creditsync/", "nav", "browse", "creditsync-status"),
                     ("审计日志", "/creditsync/audit", "nav", "browse", "creditsync-audit")}
