"""The real platform simulator on loopback, driven by the real client with a policy that never sleeps."""

from __future__ import annotations

import re
import socket
import subprocess
import sys
import time
from collections.abc import Iterator, Mapping
from datetime import date, timedelta
from pathlib import Path
from typing import Any

import pytest
import requests

from creditsync.delivery import (
    BatchTooLargeError,
    PlatformAuthError,
    PlatformClient,
    PlatformRefusedError,
    PlatformServerError,
    PlatformTransportError,
    PushItem,
    default_retry_policy,
)
from creditsync.exceptions import ConfigurationError, RateLimitedError, RetriableError
from creditsync.simulators.platform import FaultConfig, PlatformSimulator, RunningSimulator
from creditsync.simulators.platform_faults import REJECTION_MESSAGES
from creditsync.simulators.platform_store import WITHDRAWN_ZH, IncomingRecord, Problem

APP_KEY = "demo-app-key"
PLATFORM_ID = re.compile(r"^[0-9a-f]{32}$")
ALL_KINDS = ("500", "502", "503", "429", "slow", "drop", "lost_ack_drop", "lost_ack_502")


def fake_validator(category: str, data: Mapping[str, Any]) -> list[str]:
    """Two of the provincial validators' real messages, enough to tell valid from invalid."""
    errors = []
    if not data.get("CF_XDR_LB"):
        errors.append("行政相对人类别不能为空")
    if str(data.get("CF_JDRQ", "")) > date.today().isoformat():
        errors.append("处罚决定日期不能大于当前日期！")
    return errors


def item(n: int, key: str | None = None, platform_id: str | None = None, **data: Any) -> PushItem:
    payload = {"CF_XDR_LB": "法人及非法人组织", "CF_WSH": f"济历市监罚〔2026〕{n}号", **data}
    return PushItem(key or f"key-{n}", f"penalty:11370102004136503J:{n}", "upsert", payload, platform_id)


def no_sleep_client(url: str, attempts: int = 1, timeout: tuple[float, float] = (2, 5)) -> PlatformClient:
    policy = default_retry_policy(attempts, sleep=lambda _: None)
    return PlatformClient(url, APP_KEY, retrying=policy, timeout=timeout)


@pytest.fixture
def sim() -> Iterator[PlatformSimulator]:
    simulator = PlatformSimulator(validator=fake_validator, max_batch=5)
    yield simulator
    simulator.close()


@pytest.fixture
def running(sim: PlatformSimulator) -> Iterator[RunningSimulator]:
    with sim.start_in_thread() as server:
        yield server


@pytest.fixture
def client(running: RunningSimulator) -> PlatformClient:
    return no_sleep_client(running.url)


def rows(running: RunningSimulator) -> tuple[int, int, int]:
    stats = running.stats()
    return stats["records"], stats["business_keys"], stats["idempotency_keys"]


def test_valid_records_are_accepted_with_a_platform_id(
    client: PlatformClient, running: RunningSimulator
) -> None:
    [receipt] = client.push("penalty", [item(1)], "b1")
    assert receipt.status == "accepted" and PLATFORM_ID.match(receipt.platform_id or "")
    assert client.stats()["records"] == running.stats()["records"] == 1


def test_invalid_records_are_rejected_with_chinese_messages(
    client: PlatformClient, running: RunningSimulator
) -> None:
    future = (date.today() + timedelta(days=3)).isoformat()
    ok, bad = client.push("penalty", [item(1), item(2, CF_XDR_LB="", CF_JDRQ=future)], "b1")
    assert ok.status == "accepted"
    assert (bad.status, bad.platform_id) == ("rejected", None)
    assert bad.errors == ["行政相对人类别不能为空", "处罚决定日期不能大于当前日期！"]
    assert running.stats()["records"] == 1 and running.stats()["rejected"] == 1


def test_resending_a_key_creates_nothing(
    client: PlatformClient, running: RunningSimulator
) -> None:
    [first] = client.push("penalty", [item(1)], "b1")
    before = rows(running)
    [again] = client.push("penalty", [item(1)], "b2")
    assert (again.status, again.platform_id) == ("duplicate", first.platform_id)
    assert rows(running) == before == (1, 1, 1)


def test_a_fresh_key_without_platform_id_duplicates_the_business_key(
    client: PlatformClient, running: RunningSimulator
) -> None:
    [first] = client.push("penalty", [item(1)], "b1")
    [second] = client.push("penalty", [item(1, key="key-1-v2", CF_NR="改")], "b2")
    assert second.status == "accepted" and second.platform_id != first.platform_id
    stats = running.stats()
    assert stats["records"] == 2 > stats["business_keys"] == 1


def test_a_correction_with_platform_id_updates_in_place(
    client: PlatformClient, running: RunningSimulator
) -> None:
    [first] = client.push("penalty", [item(1, CF_NR="罚款2000元")], "b1")
    correction = item(1, key="key-1-v2", platform_id=first.platform_id, CF_NR="警告")
    [fixed] = client.push("penalty", [correction], "b2")
    assert (fixed.status, fixed.platform_id) == ("accepted", first.platform_id)
    shown = client.record(first.platform_id or "")
    assert shown is not None and shown["data"]["CF_NR"] == "警告" and shown["version"] == 2
    assert rows(running)[:2] == (1, 1)


def test_withdraw_stops_display_and_blocks_later_corrections(
    client: PlatformClient, running: RunningSimulator
) -> None:
    [first] = client.push("penalty", [item(1)], "b1")
    pid = first.platform_id
    withdraw = PushItem("key-1-w", item(1).business_key, "withdraw", {}, platform_id=pid)
    [gone] = client.push("penalty", [withdraw], "b2")
    assert (gone.status, gone.platform_id) == ("accepted", pid)
    assert (client.record(pid or "") or {})["status"] == "withdrawn"
    assert running.stats()["withdrawn"] == 1
    [late] = client.push("penalty", [item(1, key="key-1-v2", platform_id=pid)], "b3")
    assert late.status == "rejected" and "终止公示" in late.errors[0]


def test_corrections_and_withdrawals_need_a_known_platform_id(client: PlatformClient) -> None:
    unknown = "0" * 32
    withdraw = PushItem("w", "penalty:x:1", "withdraw", {}, platform_id=unknown)
    receipts = client.push("penalty", [item(1, platform_id=unknown), withdraw], "b1")
    assert [r.status for r in receipts] == ["rejected", "rejected"]
    assert client.record(unknown) is None


def test_query_back_returns_the_original_results(client: PlatformClient) -> None:
    ok, bad = client.push("penalty", [item(1), item(2, CF_XDR_LB="")], "b1")
    found = client.query("penalty", ["key-1", "key-2", "never-sent"])
    assert set(found) == {"key-1", "key-2"}
    assert (found["key-1"].status, found["key-1"].platform_id) == ("accepted", ok.platform_id)
    assert found["key-2"].errors == bad.errors
    assert client.query("license", ["key-1"]) == {}  # results are per category


def test_a_bad_app_key_is_fatal_and_not_retried(running: RunningSimulator) -> None:
    client = PlatformClient(running.url, "wrong", retrying=default_retry_policy(5, sleep=lambda _: None))
    with pytest.raises(PlatformAuthError) as raised:
        client.push("penalty", [item(1)], "b1")
    assert raised.value.status_code == 401
    assert running.stats()["requests"] == 1 and running.stats()["records"] == 0


@pytest.mark.parametrize(
    ("body", "status"),
    [(b"{not json", 400), (b'{"batch_id": "b", "records": [{"action": "upsert"}]}', 400), (b"[]", 400)],
)
def test_malformed_bodies_are_refused_whole(running: RunningSimulator, body: bytes, status: int) -> None:
    answer = requests.post(running.url + "/api/v1/penalty/records", data=body, headers={"appKey": APP_KEY})
    assert answer.status_code == status
    assert answer.json()["code"] == status and answer.json()["data"]["code"] == str(status)


def test_a_batch_over_the_limit_is_413(
    client: PlatformClient, running: RunningSimulator
) -> None:
    with pytest.raises(BatchTooLargeError):
        client.push("penalty", [item(n) for n in range(6)], "b1")
    assert running.stats()["records"] == 0


def test_unknown_routes_are_404(
    client: PlatformClient, running: RunningSimulator
) -> None:
    answer = requests.get(running.url + "/api/v2/whatever", headers={"appKey": APP_KEY})
    assert answer.status_code == 404


@pytest.mark.parametrize(
    ("kind", "error"),
    [("500", PlatformServerError), ("502", PlatformServerError), ("503", RateLimitedError),
     ("429", RateLimitedError), ("drop", PlatformTransportError), ("slow", PlatformTransportError)],
)
def test_each_transient_fault_is_classified_retriable(
    sim: PlatformSimulator, running: RunningSimulator, kind: str, error: type[Exception]
) -> None:
    sim.set_faults(FaultConfig(fault_rate=1.0, kinds=(kind,), slow_ms=400, seed=1))
    client = no_sleep_client(running.url, timeout=(2, 0.15))
    with pytest.raises(error) as raised:
        client.push("penalty", [item(1)], "b1")
    assert isinstance(raised.value, RetriableError)
    if isinstance(raised.value, RateLimitedError):
        assert raised.value.retry_after is not None and 0 <= raised.value.retry_after <= 3
    # Only the slow answer was processed: the client timed out, yet the record is committed.
    assert running.stats()["records"] == (1 if kind == "slow" else 0)
    assert running.stats()["faults"] == {kind: 1}


def test_seeded_faults_produce_every_kind_and_the_client_still_delivers_once(
    sim: PlatformSimulator, running: RunningSimulator
) -> None:
    sim.set_faults(FaultConfig(fault_rate=0.5, lost_ack_rate=0.25, slow_ms=400, seed=20261126))
    client = no_sleep_client(running.url, attempts=100, timeout=(2, 0.25))
    for n in range(0, 60, 2):
        receipts = client.push("penalty", [item(n), item(n + 1)], f"b{n}")
        assert [r.status in ("accepted", "duplicate") for r in receipts] == [True, True]
    stats = running.stats()
    assert stats["records"] == stats["business_keys"] == 60  # every lost ack resent, none duplicated
    assert set(stats["faults"]) == set(ALL_KINDS)


def test_the_same_seed_gives_the_same_faults() -> None:
    def run() -> dict[str, int]:
        config = FaultConfig(0.5, 0.2, 0.1, seed=3, kinds=("500", "429", "drop"))
        simulator = PlatformSimulator(validator=fake_validator, faults=config)
        with simulator.start_in_thread() as server:
            client = no_sleep_client(server.url, attempts=100)
            for n in range(20):
                client.push("penalty", [item(n)], f"b{n}")
            faults: dict[str, int] = server.stats()["faults"]
        simulator.close()
        return faults

    assert run() == run()


def test_a_lost_ack_is_committed_and_the_resent_key_returns_the_original_id(
    sim: PlatformSimulator, running: RunningSimulator
) -> None:
    sim.set_faults(FaultConfig(lost_ack_rate=1.0, seed=5))
    client = no_sleep_client(running.url)
    with pytest.raises(RetriableError):
        client.push("penalty", [item(1)], "b1")
    assert running.stats()["records"] == 1
    committed = client.query("penalty", ["key-1"])["key-1"].platform_id
    sim.set_faults(FaultConfig())
    [resent] = client.push("penalty", [item(1)], "b1")
    assert (resent.status, resent.platform_id) == ("duplicate", committed)
    assert rows(running)[:2] == (1, 1)


def test_reject_rate_rejects_valid_records_with_realistic_messages(
    sim: PlatformSimulator, client: PlatformClient
) -> None:
    sim.set_faults(FaultConfig(reject_rate=1.0, seed=2))
    [receipt] = client.push("penalty", [item(1)], "b1")
    assert receipt.status == "rejected" and receipt.errors[0] in REJECTION_MESSAGES


def test_a_file_store_survives_a_restart(tmp_path: Path) -> None:
    store = str(tmp_path / "platform.sqlite")
    for expected in ("accepted", "duplicate"):
        simulator = PlatformSimulator(store, validator=fake_validator)
        with simulator.start_in_thread() as server:
            [receipt] = no_sleep_client(server.url).push("penalty", [item(1)], "b1")
        simulator.close()
        assert receipt.status == expected


@pytest.mark.parametrize("config", [{"fault_rate": 1.5}, {"reject_rate": -0.1}, {"kinds": ("404",)}])
def test_fault_config_is_checked(config: dict[str, Any]) -> None:
    with pytest.raises(ConfigurationError):
        FaultConfig(**config)


def test_the_real_schema_validates_pushed_records() -> None:
    authority = "11370102004136503J"
    record = {
        "CF_XDR_MC": "山东新中天信息技术股份有限公司", "CF_XDR_LB": "法人及非法人组织",
        "CF_XDR_SHXYM": "91370102798677204A", "CF_FRDB": "张三", "CF_WSH": "济历市监罚〔2026〕12号",
        "CF_WFXW": "虚假宣传", "CF_SY": "在网站发布虚假广告", "CF_YJ": "《中华人民共和国广告法》第五十五条",
        "CF_CFLB": "警告", "CF_NR": "警告", "CF_JDRQ": "2026-01-05", "CF_YXQ": "2099-12-31",
        "CF_CFJG": "济南市历下区市场监督管理局", "CF_CFJGDM": authority,
        "CF_SJLY": "济南市历下区市场监督管理局", "CF_SJLYDM": authority,
    }
    invalid = {k: v for k, v in record.items() if k != "CF_XDR_LB"}
    simulator = PlatformSimulator()  # the default validator: creditsync.schema
    with simulator.start_in_thread() as server:
        client = no_sleep_client(server.url)
        ok, bad = client.push("penalty", [PushItem("a", "k", "upsert", record),
                                          PushItem("b", "k", "upsert", invalid)], "b1")
        with pytest.raises(PlatformRefusedError) as raised:
            client.push("no_such_category", [PushItem("c", "k", "upsert", record)], "b2")
    simulator.close()
    assert ok.status == "accepted", ok.errors
    assert bad.status == "rejected" and "行政相对人类别不能为空" in bad.errors
    assert raised.value.status_code == 404


def test_run_platform_simulator_serves_until_sigterm() -> None:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        port = probe.getsockname()[1]
    code = (
        "from creditsync.simulators.platform import FaultConfig, run_platform_simulator\n"
        f"run_platform_simulator('127.0.0.1', {port}, None, FaultConfig(), 'k', validator=lambda c, d: [])\n"
    )
    process = subprocess.Popen([sys.executable, "-c", code])
    try:
        stats = _wait_for_stats(f"http://127.0.0.1:{port}")
        assert stats["records"] == 0
        process.terminate()
        assert process.wait(timeout=10) == 0
    finally:
        if process.poll() is None:
            process.kill()
            process.wait()


def _wait_for_stats(url: str) -> dict[str, Any]:
    deadline = time.monotonic() + 15
    while True:
        try:
            stats: dict[str, Any] = requests.get(url + "/_sim/stats", timeout=1).json()
            return stats
        except requests.ConnectionError:
            if time.monotonic() > deadline:
                raise
            time.sleep(0.05)  # waiting for a child process to bind, not for a retry


def test_a_withdrawal_then_a_correction_in_one_batch_leaves_the_row_withdrawn(
    client: PlatformClient, running: RunningSimulator
) -> None:
    [first] = client.push("penalty", [item(1)], "b1")
    pid = first.platform_id
    withdraw = PushItem("key-1-w", item(1).business_key, "withdraw", {}, platform_id=pid)
    gone, late = client.push("penalty", [withdraw, item(1, key="key-1-v2", platform_id=pid)], "b2")
    assert gone.status == "accepted"
    assert late.status == "rejected" and late.errors == [WITHDRAWN_ZH]
    assert (client.record(pid or "") or {})["status"] == "withdrawn"


def test_a_key_repeated_inside_one_batch_answers_duplicate_and_creates_one_row(
    sim: PlatformSimulator,
) -> None:
    record = IncomingRecord("k", "penalty:x:1", "upsert", None, {"CF_XDR_LB": "法人及非法人组织"})
    first, again = sim.push("penalty", [record, record])
    assert (first["status"], again["status"]) == ("accepted", "duplicate")
    assert again["platform_id"] == first["platform_id"] and sim.stats()["records"] == 1


def test_a_batch_larger_than_one_sql_lookup_remembers_every_key() -> None:
    simulator = PlatformSimulator(validator=fake_validator, max_batch=2000)
    records = [IncomingRecord(f"k{n}", f"penalty:x:{n}", "upsert", None, {"CF_XDR_LB": "法人"})
               for n in range(2000)]
    assert {r["status"] for r in simulator.push("penalty", records)} == {"accepted"}
    assert {r["status"] for r in simulator.push("penalty", records)} == {"duplicate"}
    assert simulator.stats()["records"] == 2000
    simulator.close()


def test_a_batch_that_fails_midway_writes_nothing() -> None:
    def failing(category: str, data: Mapping[str, Any]) -> list[str]:
        if data.get("CF_WSH") == "boom":
            raise ConfigurationError("unknown category")
        return []

    simulator = PlatformSimulator(validator=failing)
    records = [IncomingRecord("a", "penalty:x:1", "upsert", None, {"CF_WSH": "ok"}),
               IncomingRecord("b", "penalty:x:2", "upsert", None, {"CF_WSH": "boom"})]
    with pytest.raises(Problem):
        simulator.push("penalty", records)
    assert simulator.stats()["records"] == simulator.stats()["idempotency_keys"] == 0
    simulator.close()
