"""The credit loop in the console: ``POST /creditsync/api/v1/check`` for service users in the
``credit_check`` role (subject in the body, answer recorded under the caller's name), and the 信用核查
pages for viewers (a subject's number POSTed with the CSRF token, never in the URL)."""

from __future__ import annotations

import asyncio
import shutil
import time
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import jwt
import pytest
import requests
from airflow.api_fastapi.app import create_auth_manager
from airflow.api_fastapi.auth.managers.simple.user import SimpleAuthManagerUser
from airflow.api_fastapi.core_api.security import get_user
from fastapi.security import HTTPAuthorizationCredentials
from fastapi.testclient import TestClient
from sqlalchemy import select
from starlette.exceptions import HTTPException

from creditsync.audit import AuditTrail
from creditsync.audit.events import AuditEvent
from creditsync.credit.check import bind_checks
from creditsync.credit.feed import CreditFeedClient, pull_all
from creditsync.orchestration.ui import credit_access
from creditsync.orchestration.ui.app import create_app
from creditsync.orchestration.ui.credit_access import token_user
from creditsync.orchestration.ui.security import csrf_token
from creditsync.orchestration.ui.store import close_stores
from creditsync.simulators.platform import PlatformSimulator
from creditsync.store import Store
from creditsync.store.credit_models import CreditCheck
from creditsync.store.models import AuditEntry

REPO = Path(__file__).resolve().parents[2]
USCC = "91370112MA3C00001X"
PERSON = "370102199001011231"
KEY = "ui-credit-key"


def _fill(store: Store) -> None:
    simulator = PlatformSimulator(app_key=KEY, validator=lambda _c, _d: [])
    with simulator.start_in_thread() as running:
        for subject, name in ((USCC, "济南某某商贸有限公司"), (PERSON, "张三")):
            requests.post(f"{running.url}/_sim/credit/lists", timeout=10, json={
                "subject_id": subject, "subject_name": name, "cause": "拒不履行", "authority": "济南中院",
                "start_date": "2026-01-01", "measures": ["CJ01", "CJ06"]}).raise_for_status()
        requests.post(f"{running.url}/_sim/credit/grades", timeout=10,
                      json={"subject_id": USCC, "grade": "C"}).raise_for_status()
        pull_all(store, CreditFeedClient(running.url, KEY), AuditTrail("scheduler"))
    simulator.close()


@pytest.fixture
def client(store: Store, store_url: str, tmp_path: Path,
           monkeypatch: pytest.MonkeyPatch) -> Iterator[TestClient]:
    shutil.copytree(REPO / "credit", tmp_path / "credit")
    shutil.copytree(REPO / "adapters", tmp_path / "adapters")
    monkeypatch.setenv("CREDITSYNC_HOME", str(tmp_path))
    monkeypatch.setenv("CREDITSYNC_DB_URL", store_url)
    monkeypatch.delenv("CREDITSYNC_ADAPTERS_DIR", raising=False)
    _fill(store)
    create_auth_manager()
    yield TestClient(create_app(), root_path="/creditsync")
    close_stores()


def _as(client: TestClient, name: str, role: str | None) -> SimpleAuthManagerUser:
    """The user Airflow would give from a token of this role: the pages ask ``get_user``, the check
    ``token_user`` (the same, with a verified token remembered for a few seconds)."""
    user = SimpleAuthManagerUser(username=name, role=role)  # type: ignore[arg-type]
    client.app.dependency_overrides[get_user] = lambda: user  # type: ignore[attr-defined]
    client.app.dependency_overrides[token_user] = lambda: user  # type: ignore[attr-defined]
    return user


def _check(client: TestClient, **body: Any) -> Any:
    return client.post("/api/v1/check", json={"subject": USCC, "matter": "SC-XK-001", **body})


def test_only_the_check_role_may_check_and_each_check_is_recorded(client: TestClient, store: Store) -> None:
    assert _check(client).status_code == 401
    _as(client, "auditor", "viewer")
    assert _check(client).status_code == 403  # reading the console is not the check role
    _as(client, "svc_market", None)  # listed in credit/access.yaml, no Airflow role
    answer = _check(client, department="ignored")
    assert answer.status_code == 200, answer.text
    body = answer.json()
    assert body["listed"] is True and [m["code"] for m in body["measures"]] == ["CJ06"]
    assert body["grade"]["grade"] == "C" and len(body["check_id"]) == 32
    assert client.post("/api/v1/check", json={"subject": USCC, "matter": "NONE"}).status_code == 422
    assert client.post("/api/v1/check", json={"matter": "SC-XK-001"}).status_code == 422
    assert client.post("/api/v1/check", content=f"subject={USCC}&matter=SC-XK-001",
                       headers={"Content-Type": "application/x-www-form-urlencoded"}).status_code == 422
    bind_checks(store, AuditTrail("test"))  # or the binder thread already did: either way, once
    with store.reader() as session:
        stored = session.get(CreditCheck, body["check_id"])
        entry = session.scalars(select(AuditEntry).where(
            AuditEntry.event == str(AuditEvent.CREDIT_CHECKED))).one()
    assert stored is not None and stored.actor == "svc_market" and stored.department == "market_supervision"
    assert entry.actor == "svc_market" and entry.details["check_id"] == body["check_id"]
    assert stored.audit_entry_id == entry.id


def test_a_fab_user_in_the_credit_check_role_may_check(client: TestClient) -> None:
    _as(client, "approval-system", "credit_check")
    assert _check(client, department="ecology_environment").json()["listed"] is True


def test_the_credit_page_finds_a_subject_by_a_posted_number_and_masks_a_persons(client: TestClient) -> None:
    _as(client, "svc_market", None)
    _check(client, subject=PERSON)
    user = _as(client, "auditor", "viewer")
    assert client.get("/credit").status_code == 200
    refused = client.post("/credit", data={"subject": PERSON, "csrf_token": "forged"})
    assert refused.status_code == 403
    page = client.post("/credit", data={"subject": PERSON, "csrf_token": csrf_token(user)})
    assert page.status_code == 200
    assert "370102********1231" in page.text and PERSON not in page.text and "张三" in page.text
    assert "svc_market" in page.text  # the check made on this subject
    department = client.get("/credit/department", params={"department": "market_supervision"})
    assert department.status_code == 200 and "370102********1231" in department.text
    story = client.post("/api/credit/subject", json=PERSON).json()
    assert story["entries"][0]["status"] == "listed" and len(story["checks"]) == 1


def _token(seconds: float) -> str:
    return jwt.encode({"sub": "svc_market", "exp": int(time.time() + seconds)}, "k" * 32, algorithm="HS256")


def test_a_verified_token_is_believed_for_a_few_seconds_and_never_past_its_expiry(
        monkeypatch: pytest.MonkeyPatch) -> None:
    """Airflow verifies each token once (signature, then its revoked-token query), not per check."""
    asked: list[str] = []
    refused: set[str] = set()

    async def airflow_verifies(token: str) -> SimpleAuthManagerUser:
        asked.append(token)
        if token in refused:
            raise HTTPException(403, "Invalid JWT token")
        return SimpleAuthManagerUser(username="svc_market", role=None)  # type: ignore[arg-type]

    monkeypatch.setattr(credit_access, "resolve_user_from_token", airflow_verifies)
    credit_access.forget_tokens()

    def user(token: str) -> Any:
        bearer = HTTPAuthorizationCredentials(scheme="Bearer", credentials=token)
        return asyncio.run(token_user(None, bearer))  # type: ignore[arg-type]

    token, expiring = _token(3600), _token(-1)
    assert user(token).get_name() == user(token).get_name() == "svc_market"
    assert asked == [token]  # the second check believed the first one's verification
    user(expiring)
    user(expiring)
    assert asked == [token, expiring, expiring]  # past its expiry: never believed without Airflow
    refused.add(token)
    assert user(token).get_name() == "svc_market"  # revoked a moment ago: believed a few seconds more
    monkeypatch.setattr(credit_access, "TOKEN_TRUST_S", 0.0)
    credit_access.forget_tokens()
    for _ in range(2):  # refusals are not remembered either: Airflow is asked each time
        with pytest.raises(HTTPException) as refusal:
            user(token)
        assert refusal.value.status_code == 403
    assert asked == [token, expiring, expiring, token, token]


@pytest.mark.integration
def test_a_service_user_without_an_airflow_role_checks_through_a_real_api_server(
        tmp_path: Path, sqlite_url: str) -> None:
    """SimpleAuthManager as in the demo: ``svc_market:`` (no role) signs in with its password, may call
    the check and nothing of Airflow's own API; a viewer may not check."""
    import json
    import subprocess
    import sys

    from airflow_api_server import airflow_env, free_port, stop_group, wait_healthy

    from creditsync.store import open_store

    store = open_store(sqlite_url)
    _fill(store)
    store.dispose()
    passwords = {"svc_market": "svc-pw-1", "auditor": "auditor-pw-1"}
    (tmp_path / "passwords.json").write_text(json.dumps(passwords), encoding="utf-8")
    env = airflow_env(tmp_path, sqlite_url, "svc_market:,auditor:viewer")
    airflow = str(Path(sys.executable).with_name("airflow"))
    subprocess.run([airflow, "db", "migrate"], env=env, check=True, capture_output=True, timeout=300)
    base, log = f"http://127.0.0.1:{(port := free_port())}", tmp_path / "api-server.log"
    with log.open("wb") as out:
        server = subprocess.Popen([airflow, "api-server", "--host", "127.0.0.1", "--port", str(port),
                                   "--workers", "1"], env=env, stdout=out, stderr=subprocess.STDOUT,
                                  start_new_session=True)
    try:
        wait_healthy(server, base, log)
        tokens = {user: requests.post(f"{base}/auth/token", json={"username": user, "password": pw},
                                      timeout=10).json()["access_token"] for user, pw in passwords.items()}
        as_service = {"Authorization": f"Bearer {tokens['svc_market']}"}
        answer = requests.post(f"{base}/creditsync/api/v1/check", headers=as_service, timeout=30,
                               json={"subject": USCC, "matter": "SC-XK-001"})
        assert answer.status_code == 200, answer.text
        assert answer.json()["listed"] is True
        assert requests.get(f"{base}/api/v2/dags", headers=as_service, timeout=10).status_code == 403
        console = requests.get(f"{base}/creditsync/api/status", headers=as_service, timeout=10)
        assert console.status_code == 403
        viewer = requests.post(f"{base}/creditsync/api/v1/check", timeout=30, json={
            "subject": USCC, "matter": "SC-XK-001"}, headers={"Authorization": f"Bearer {tokens['auditor']}"})
        assert viewer.status_code == 403
    finally:
        stop_group(server)
