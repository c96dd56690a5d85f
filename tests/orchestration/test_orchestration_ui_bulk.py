"""Bulk actions on the selected quarantine entries: each entry done and audited on its own, after the
same checks as one action (a viewer gets 403 whatever the ids, a form without its token 403)."""

from __future__ import annotations

from typing import Any

import pytest
from fastapi.testclient import TestClient
from lxml import html
from sqlalchemy import select
from test_orchestration_ui import _get, _post, _signed_in, airflow_ui, client  # noqa: F401 (fixtures)

from creditsync.store import Store, open_store
from creditsync.store.models import AuditEntry, QuarantineItem

BULK = "/actions/quarantine/bulk"


def test_bulk_refusals_come_before_any_lookup(client: TestClient, store: Store) -> None:  # noqa: F811
    viewer = _signed_in(client, "viewer")
    refused = viewer.post(BULK, data={"entry_ids": [999998, 999999], "action": "resolve", "reason": "x",
                                      "csrf_token": "x"})
    assert refused.status_code == 403 and "text/html" in refused.headers["content-type"]
    operator = _signed_in(client, "op")
    with store.reader() as s:
        open_ids = list(s.scalars(select(QuarantineItem.id).where(QuarantineItem.resolved_at.is_(None))))
    no_token = operator.post(BULK, data={"entry_ids": open_ids, "action": "resolve", "reason": "x"})
    forged = operator.post(BULK, data={"entry_ids": open_ids, "action": "resolve", "reason": "x",
                                       "csrf_token": "forged"})
    too_many = operator.post(BULK, data={"entry_ids": list(range(1, 202)), "action": "resolve",
                                         "reason": "x", "csrf_token": "forged"})
    assert (no_token.status_code, forged.status_code, too_many.status_code) == (403, 403, 422)
    with store.reader() as s:
        assert s.scalar(select(AuditEntry).where(AuditEntry.event == "quarantine_resolved")) is None


@pytest.mark.integration
def test_selected_entries_are_resolved_each_with_its_own_audit_entry(
        airflow_ui: dict[str, Any]) -> None:  # noqa: F811
    store = open_store(airflow_ui["gateway_url"], migrate=False)
    with store.reader() as s:
        chosen = list(s.scalars(select(QuarantineItem.id).where(QuarantineItem.resolved_at.is_(None))
                                .order_by(QuarantineItem.id.desc()).limit(2)))
    assert len(chosen) == 2
    page = html.fromstring(_get(airflow_ui, "/creditsync/quarantine", user="operator").text)
    token = str(page.xpath("//form[@id='bulk']/input[@name='csrf_token']/@value")[0])
    assert {int(v) for v in page.xpath("//input[@name='entry_ids'][@form='bulk']/@value")} >= set(chosen)
    done = _post(airflow_ui, "/creditsync/actions/quarantine/bulk", "operator", entry_ids=chosen,
                 action="resolve", reason="纸质报送 handed over on paper", csrf_token=token)
    assert done.status_code == 303, done.text
    with store.reader() as s:
        closed = list(s.scalars(select(QuarantineItem).where(QuarantineItem.id.in_(chosen))))
        entries = list(s.scalars(select(AuditEntry).where(AuditEntry.event == "quarantine_resolved",
                                                          AuditEntry.actor == "operator")))
    store.dispose()
    assert all(item.resolved_at for item in closed)
    mine = [e for e in entries if e.details.get("quarantine_id") in chosen]
    assert sorted(e.details["quarantine_id"] for e in mine) == sorted(chosen)
    assert {e.details["reason"] for e in mine} == {"纸质报送 handed over on paper"}
