"""The 长清区市场监督管理局 simulator: its API, its data (realistic, deterministic, a few documented
defects) and its runtime edits, over real HTTP on 127.0.0.1."""

from __future__ import annotations

import math
import os
import re
import signal
import subprocess
import sys
from collections.abc import Callable, Iterator
from datetime import date, datetime, timedelta
from decimal import Decimal, InvalidOperation
from typing import Any

import pytest
import requests
from stdnum.cn import ric, uscc

from creditsync.simulators.departments import market_supervision_data as data
from creditsync.simulators.departments.market_supervision import RunningMarketSupervision, start_in_thread
from creditsync.simulators.departments.market_supervision_store import DecisionStore, QueryError, parse_since

TODAY = date(2026, 5, 10)
SUBJECT = {"party_name", "party_type", "credit_code", "reg_no", "legal_rep", "legal_rep_id_type",
           "legal_rep_id_no", "id_type", "id_no", "address"}
COMMON = {"id", "decision_no", "decided_at", "status", "created_at", "updated_at"} | SUBJECT
PENALTY_FIELDS = COMMON | {"illegal_type", "facts", "basis", "penalty_types", "content", "fine_yuan",
                           "confiscated_yuan", "license_no", "severity", "valid_until"}
LICENSE_FIELDS = COMMON | {"permit_name", "permit_category", "certificate_name", "permit_no", "content",
                           "valid_from", "valid_to"}


@pytest.fixture(scope="module")
def sim() -> Iterator[RunningMarketSupervision]:
    with start_in_thread(token="sim-token", seed=3, today=TODAY) as running:
        yield running


def get(sim: RunningMarketSupervision, path: str = "/api/v1/decisions", token: str | None = "sim-token",
        **params: Any) -> requests.Response:
    headers = {"Authorization": f"Bearer {token}"} if token else {}
    return requests.get(sim.url + path, params=params, headers=headers, timeout=5)


def all_items(sim: RunningMarketSupervision, kind: str) -> list[dict[str, Any]]:
    return get(sim, type=kind, page_size=100).json()["items"]


@pytest.mark.parametrize("token", [None, "wrong", "sim-token "])
def test_every_route_needs_the_bearer_token(sim: RunningMarketSupervision, token: str | None) -> None:
    for path in ("/", "/api/v1", "/api/v1/decisions", "/api/v1/decisions/P000001"):
        response = get(sim, path, token=token)
        assert response.status_code == 401
        assert response.headers["WWW-Authenticate"] == "Bearer"


def test_list_shape_paging_and_order(sim: RunningMarketSupervision) -> None:
    body = get(sim, type="penalty", page=2, page_size=25).json()
    assert {k: body[k] for k in ("page", "page_size", "total_pages", "total")} == {
        "page": 2, "page_size": 25, "total_pages": 3, "total": 60}
    assert len(body["items"]) == 25 and body["next"].startswith("/api/v1/decisions?")
    last = get(sim, type="penalty", page=3, page_size=25).json()
    assert len(last["items"]) == 10 and last["next"] is None
    items = all_items(sim, "penalty")
    order = [(i["updated_at"], i["id"] or "") for i in items]
    assert order == sorted(order)
    assert len(get(sim, type="license").json()["items"]) == 20  # default page size


def test_items_use_the_departments_own_field_names(sim: RunningMarketSupervision) -> None:
    assert all(set(i) == PENALTY_FIELDS for i in all_items(sim, "penalty"))
    assert all(set(i) == LICENSE_FIELDS for i in all_items(sim, "license"))


def test_updated_since_is_inclusive_and_accepts_common_spellings(sim: RunningMarketSupervision) -> None:
    items = all_items(sim, "penalty")
    pivot = items[30]["updated_at"]
    expected = len([i for i in items if i["updated_at"] >= pivot])
    naive = pivot.replace("+08:00", "")
    for spelling in (pivot, naive, pivot.replace("+", " ")):  # a '+' decoded to a space still works
        body = get(sim, type="penalty", updated_since=spelling, page_size=100).json()
        assert body["total"] == expected and body["items"][0]["updated_at"] == pivot


@pytest.mark.parametrize(
    "params",
    [{"type": "inspection"}, {"page": 0}, {"page": "x"}, {"page_size": 101}, {"updated_since": "yesterday"}],
)
def test_bad_parameters_are_400(sim: RunningMarketSupervision, params: dict[str, Any]) -> None:
    response = get(sim, **params)
    assert response.status_code == 400 and response.json()["error"] == "bad_request"


def test_one_record_and_unknown_routes(sim: RunningMarketSupervision) -> None:
    assert get(sim, "/api/v1/decisions/L000005").json()["id"] == "L000005"
    assert get(sim, "/api/v1/decisions/P999999").status_code == 404
    assert get(sim, "/api/v1/other").status_code == 404
    assert get(sim, "/api/v1").json()["department"] == "market_supervision"


def test_subjects_mix_and_identifiers_are_valid_except_the_broken_ones(sim: RunningMarketSupervision) -> None:
    broken = set(sim.broken_ids)
    for kind in ("penalty", "license"):
        items = [i for i in all_items(sim, kind) if i["id"] not in broken and i["id"]]
        assert {i["party_type"] for i in items} == {"01", "02", "04"}
        for item in items:
            if item["party_type"] == "01":
                assert ric.is_valid(item["id_no"]) and item["id_type"] == "01" and not item["credit_code"]
            elif item["credit_code"] == "00000000000000000X":
                assert item["party_type"] == "04" and item["reg_no"]
            else:
                assert uscc.is_valid(item["credit_code"])
                assert item["credit_code"][:2] == {"02": "91", "04": "92"}[item["party_type"]]
                assert item["legal_rep"] and ric.is_valid(item["legal_rep_id_no"])


def test_dates_are_recent_past_and_money_is_in_yuan(sim: RunningMarketSupervision) -> None:
    for item in all_items(sim, "penalty") + all_items(sim, "license"):
        decided = date.fromisoformat(item["decided_at"])
        assert TODAY - timedelta(days=90) <= decided < TODAY
        assert datetime.fromisoformat(item["updated_at"]).date() >= decided
    penalties = {i["id"]: i for i in all_items(sim, "penalty") if i["id"]}
    for record_id, item in penalties.items():
        assert item["decision_no"].startswith("长市监处罚〔2026〕") and item["facts"] and item["basis"]
        if record_id != "P000032" and "罚款" in item["penalty_types"]:
            assert re.fullmatch(r"[1-9]\d*\.\d{2}", item["fine_yuan"])


BROKEN_CHECKS: list[tuple[str, Callable[[dict[str, Any]], bool]]] = [
    ("P000008", lambda i: not uscc.is_valid(i["credit_code"]) and i["party_type"] == "02"),
    ("P000020", lambda i: i["party_name"] == ""),
    ("P000032", lambda i: i["fine_yuan"] == "两千元" and "罚款" in i["penalty_types"]),
    ("L000012", lambda i: i["valid_to"] < i["valid_from"]),
    ("L000024", lambda i: i["party_type"] == "01" and not ric.is_valid(i["id_no"])),
]


@pytest.mark.parametrize(("record_id", "is_broken_as_documented"), BROKEN_CHECKS)
def test_broken_records_are_broken_as_documented(
    sim: RunningMarketSupervision, record_id: str, is_broken_as_documented: Callable[[dict[str, Any]], bool]
) -> None:
    assert record_id in sim.broken_ids
    assert is_broken_as_documented(sim.store.get(record_id) or {})


def test_null_id_record_is_served_without_its_id(sim: RunningMarketSupervision) -> None:
    assert "P000044" in sim.broken_ids
    served = [i for i in all_items(sim, "penalty") if i["id"] is None]
    internal = sim.store.get("P000044") or {}
    assert len(served) == 1 and served[0]["decision_no"] == internal["decision_no"]


def test_broken_ids_are_about_five_percent_and_only_those_present() -> None:
    assert len(DecisionStore(1, 60, 40, TODAY).broken_ids) == 6
    assert set(DecisionStore(1, 10, 10, TODAY).broken_ids) == {"P000008"}


def test_non_numeric_fine_is_the_only_unparsable_fine(sim: RunningMarketSupervision) -> None:
    unparsable = []
    for item in all_items(sim, "penalty"):
        try:
            Decimal(item["fine_yuan"] or "0")
        except InvalidOperation:
            unparsable.append(item["id"])
    assert unparsable == ["P000032"]


def test_same_seed_same_data() -> None:
    first, again, other = (DecisionStore(s, 20, 20, TODAY) for s in (5, 5, 6))
    assert first.records("penalty") == again.records("penalty")
    assert first.records("license") == again.records("license")
    assert first.records("penalty") != other.records("penalty")


def test_count_splits_penalties_and_licences() -> None:
    with start_in_thread(count=50, today=TODAY) as running:
        assert len(running.store.records("penalty")) == 30 and len(running.store.records("license")) == 20
        assert len(running.token) > 10  # a random token when none is given


class SteppingClock:
    def __init__(self, *moments: datetime) -> None:
        self.moments = list(moments)

    def __call__(self) -> datetime:
        return self.moments.pop(0) if len(self.moments) > 1 else self.moments[0]


def test_updates_move_updated_at_forward_even_if_the_clock_steps_back() -> None:
    noon = datetime(2026, 5, 10, 12, 0, tzinfo=data.CST)
    store = DecisionStore(1, 5, 5, TODAY, clock=SteppingClock(noon, noon, noon - timedelta(hours=1)))
    first = store.update("P000001", status="撤销")["updated_at"]
    second = store.update("P000002", fine_yuan="100.00")["updated_at"]
    third = store.add_decision("license")["updated_at"]
    assert first == "2026-05-10T12:00:00+08:00" < second < third
    assert store.records("penalty")[-1]["id"] == "P000002"  # the latest change sorts last


def test_edits_and_faults_over_http() -> None:
    with start_in_thread(token="t", seed=2, today=TODAY) as running:
        headers = {"Authorization": "Bearer t"}
        added = requests.post(running.url + "/_sim/records", headers=headers, timeout=5,
                              json={"type": "license", "fields": {"status": "有效"}}).json()
        assert added["id"] == "L000041" and added["decision_no"].startswith("长市监许〔")
        changed = requests.post(running.url + "/_sim/records", headers=headers, timeout=5,
                                json={"id": "P000004", "fields": {"status": "撤销"}}).json()
        assert changed["status"] == "撤销" and changed["updated_at"] > added["updated_at"]
        missing = requests.post(running.url + "/_sim/records", headers=headers, timeout=5,
                                json={"id": "P999999", "fields": {}})
        assert missing.status_code == 404
        requests.post(running.url + "/_sim/faults", headers=headers, json={"kind": "503"}, timeout=5)
        failed = requests.get(running.url + "/api/v1/decisions", headers=headers, timeout=5)
        assert failed.status_code == 503 and failed.headers["Retry-After"] == "1"
        assert requests.get(running.url + "/api/v1/decisions", headers=headers, timeout=5).status_code == 200
        bad = requests.post(running.url + "/_sim/faults", headers=headers, json={"kind": "teapot"}, timeout=5)
        assert bad.status_code == 400


def test_blocking_runner_stops_cleanly_on_sigterm() -> None:
    code = ("from creditsync.simulators.departments.market_supervision import "
            "run_market_supervision_simulator as run; run('127.0.0.1', 0, 'tok', 1)")
    process = subprocess.Popen([sys.executable, "-c", code], stdout=subprocess.PIPE, text=True,
                               env={**os.environ, "PYTHONUNBUFFERED": "1"})
    try:
        assert process.stdout is not None
        line = process.stdout.readline()
        assert "market_supervision simulator listening on http://127.0.0.1:" in line
        url = line.rsplit(" ", 1)[-1].strip()
        assert requests.get(url + "/api/v1", headers={"Authorization": "Bearer tok"}, timeout=5).ok
        process.send_signal(signal.SIGTERM)
        assert process.wait(timeout=10) == 0
    finally:
        if process.poll() is None:
            process.kill()


def test_invalid_share_breaks_that_share_the_same_way_for_the_same_seed() -> None:
    first, again = (DecisionStore(4, 1000, 500, TODAY, invalid_share=0.1) for _ in range(2))
    assert first.broken_ids == again.broken_ids
    assert first.records("penalty") == again.records("penalty")
    documented = set(DecisionStore(4, 1000, 500, TODAY).broken_ids)
    assert len(first.broken_ids) == len(documented) + 100 + 50
    assert DecisionStore(4, 1000, 500, TODAY).records("penalty")[0]["id"] == first.records("penalty")[0]["id"]


def test_records_broken_by_the_share_are_broken_as_documented() -> None:
    store = DecisionStore(9, 400, 400, TODAY, invalid_share=0.25)
    checks: dict[str, Callable[[dict[str, Any]], bool]] = {
        data.BROKEN["P000008"]: lambda i: not uscc.is_valid(i["credit_code"]),
        data.BROKEN["P000020"]: lambda i: i["party_name"] == "",
        data.BROKEN["L000012"]: lambda i: i["valid_to"] < i["valid_from"],
    }
    drawn = {rid: why for rid, why in store.broken_ids.items() if rid not in data.BROKEN}
    assert set(drawn.values()) == set(checks)
    for record_id, why in drawn.items():
        assert checks[why](store.get(record_id) or {}), record_id


def test_refused_counts_broken_and_revoked_records() -> None:
    store = DecisionStore(2, 3000, 0, TODAY, invalid_share=0.02)
    items = store.records("penalty")
    expected = sum(1 for i in items if (i["id"] or "P000044") in store.broken_ids or i["status"] == "撤销")
    assert store.refused("penalty") == expected and expected > 60


def test_keyset_pages_over_many_records_match_a_plain_filter() -> None:
    store = DecisionStore(5, 5000, 0, TODAY, max_page_size=1000)
    items = store.records("penalty")
    pivot = parse_since(items[1234]["updated_at"])
    expected = [i for i in items if parse_since(i["updated_at"]) >= pivot]
    first = store.page("penalty", pivot, 1, 1000)
    second = store.page("penalty", pivot, 2, 1000)
    assert first["total"] == len(expected) and first["total_pages"] == math.ceil(len(expected) / 1000)
    assert first["items"] + second["items"] == expected[:2000]


def test_page_size_is_capped_by_the_configured_maximum() -> None:
    store = DecisionStore(5, 10, 0, TODAY, max_page_size=500)
    assert len(store.page("penalty", None, 1, 500)["items"]) == 10
    with pytest.raises(QueryError):
        store.page("penalty", None, 1, 501)


def test_an_edit_moves_the_record_to_the_end_of_the_order() -> None:
    store = DecisionStore(5, 300, 0, TODAY)
    store.update("P000001", status="撤销")
    latest = parse_since(store.records("penalty")[-1]["updated_at"])
    page = store.page("penalty", latest, 1, 100)
    assert [i["id"] for i in page["items"]] == ["P000001"] and page["total"] == 1
