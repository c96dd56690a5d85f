"""Roles under the FAB auth manager, as ``creditsync deploy-init`` creates them: the auditor reads every
page of Airflow and of the gateway's console and changes nothing; the operator triggers, clears and
re-drives but administers nothing. (tests/orchestration/test_orchestration_ui.py checks the same
console permissions under SimpleAuthManager.)"""

from __future__ import annotations

import re
from typing import Any

import pytest
from airflow_rest import Client
from sqlalchemy import create_engine, select
from sqlalchemy.orm import Session
from topology import Topology

from creditsync.store.models import AuditEntry, QuarantineItem, Record

pytestmark = pytest.mark.e2e
MARKET = "sync__market_supervision"
CONSOLE = ["/creditsync/", "/creditsync/quarantine", "/creditsync/record", "/creditsync/audit",
           "/creditsync/audit/export.csv", "/creditsync/api/status", "/creditsync/api/quarantine",
           "/creditsync/api/audit", "/creditsync/api/audit/verify"]
AIRFLOW_READS = ["/api/v2/dags", f"/api/v2/dags/{MARKET}/dagRuns", "/api/v2/pools", "/api/v2/assets",
                 "/api/v2/importErrors", "/api/v2/eventLogs",
                 f"/api/v2/dags/{MARKET}/dagRuns/~/taskInstances"]


@pytest.fixture(scope="module")
def users(deployment: Topology) -> dict[str, Client]:
    return {name: Client(deployment, name) for name in ("admin", "operator", "auditor")}


@pytest.fixture(scope="module")
def quarantined(deployment: Topology, users: dict[str, Client]) -> QuarantineItem:
    """An open quarantine entry of market_supervision (a run first, if no test has synced it yet)."""
    if (entry := _open_entry(deployment)) is None:
        operator = users["operator"]
        operator.wait_dags({MARKET})
        run_id = operator.trigger(MARKET).json()["dag_run_id"]
        operator.wait_done({MARKET: run_id}, 300)
        entry = _open_entry(deployment)
    assert entry is not None
    return entry


def _open_entry(deployment: Topology) -> QuarantineItem | None:
    with Session(create_engine(deployment.settings()["CREDITSYNC_DB_URL"])) as session:
        return session.scalars(select(QuarantineItem).where(
            QuarantineItem.department == "market_supervision", QuarantineItem.resolved_at.is_(None),
            QuarantineItem.category == "penalty")).first()


def test_the_auditor_reads_every_page_of_airflow_and_the_console(users: dict[str, Client],
                                                                 quarantined: QuarantineItem) -> None:
    auditor = users["auditor"]
    for path in CONSOLE + AIRFLOW_READS:
        assert auditor.get(path).status_code == 200, path
    assert auditor.get("/creditsync/api/audit/verify").json()["ok"] is True


def test_the_auditor_changes_nothing(users: dict[str, Client], quarantined: QuarantineItem,
                                     deployment: Topology) -> None:
    auditor = users["auditor"]
    with Session(create_engine(deployment.settings()["CREDITSYNC_DB_URL"])) as session:
        published = session.scalars(select(Record.business_key).where(Record.state == "published")).first()
    token = _csrf(users["operator"])  # even a valid form token does not make an auditor an operator
    forms: dict[str, dict[str, Any]] = {
        "/creditsync/actions/quarantine/redrive": {"entry_id": quarantined.id},
        "/creditsync/actions/quarantine/resolve": {"entry_id": quarantined.id},
        "/creditsync/actions/record/withdraw": {"business_key": published}}
    for path, form in forms.items():
        assert auditor.post(path, data={**form, "reason": "x", "csrf_token": token}).status_code == 403
    assert auditor.trigger(MARKET).status_code == 403
    assert auditor.post(f"/api/v2/dags/{MARKET}/clearTaskInstances",
                        json={"dry_run": True}).status_code == 403
    assert auditor.post("/api/v2/pools", json={"name": "x", "slots": 1}).status_code == 403
    assert auditor.get("/api/v2/connections").status_code == 403
    assert _open_entry(deployment) is not None
    with Session(create_engine(deployment.settings()["CREDITSYNC_DB_URL"])) as session:
        assert session.get(Record, published).state == "published"


def test_the_operator_clears_and_re_drives_but_administers_nothing(users: dict[str, Client],
                                                                   quarantined: QuarantineItem,
                                                                   deployment: Topology) -> None:
    operator = users["operator"]
    cleared = operator.post(f"/api/v2/dags/{MARKET}/clearTaskInstances", json={"dry_run": True})
    assert cleared.status_code == 200, cleared.text
    assert operator.get("/api/v2/connections").status_code == 403
    assert operator.post("/api/v2/pools", json={"name": "x", "slots": 1}).status_code == 403
    redriven = operator.post("/creditsync/actions/quarantine/redrive",
                             data={"entry_id": quarantined.id, "reason": "来源已更正 fixed at the source",
                                   "csrf_token": _csrf(operator)})
    assert redriven.status_code == 303, redriven.text
    with Session(create_engine(deployment.settings()["CREDITSYNC_DB_URL"])) as session:
        entry = session.scalars(select(AuditEntry).where(AuditEntry.event == "manual_redrive")
                                .order_by(AuditEntry.id.desc())).first()
    assert entry is not None and (entry.actor, entry.department) == ("operator", "market_supervision")
    assert users["admin"].get("/api/v2/connections").status_code == 200


def _csrf(client: Client) -> str:
    page = client.get("/creditsync/quarantine").text
    found = re.search(r'name="csrf_token" value="([0-9a-f]+)"', page)
    assert found is not None, "no action form on the quarantine page"
    return found.group(1)
