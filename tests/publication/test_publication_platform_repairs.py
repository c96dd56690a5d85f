"""The platform simulator's repair feed over HTTP: ``GET /api/v1/repairs?since=``."""

from __future__ import annotations

from collections.abc import Iterator
from datetime import date

import pytest
import requests

from creditsync.simulators.platform import PlatformSimulator, RunningSimulator
from creditsync.simulators.platform_store import IncomingRecord, Problem

APP_KEY = "feed-test-key"


@pytest.fixture
def platform() -> Iterator[RunningSimulator]:
    simulator = PlatformSimulator(app_key=APP_KEY, validator=lambda _category, _data: [])
    with simulator.start_in_thread() as running:
        yield running
    simulator.close()


def _publish(running: RunningSimulator, key: str) -> str:
    with running.simulator.store.batch() as store:
        return store.create("penalty", IncomingRecord(key * 64, f"penalty:X:{key}", "upsert", None, {}))


def _feed(running: RunningSimulator, since: str | None = None) -> requests.Response:
    params = {"since": since} if since else None
    return requests.get(f"{running.url}/api/v1/repairs", params=params, headers={"appKey": APP_KEY},
                        timeout=10)


def test_a_granted_repair_stops_display_and_is_listed_after_since(platform: RunningSimulator) -> None:
    first, second = _publish(platform, "a"), _publish(platform, "b")
    repairs = platform.simulator.repairs
    one = repairs.grant(first, "济信修〔2026〕1号", "整改完成", date(2026, 11, 20))
    two = repairs.grant(second, "济信修〔2026〕2号", "整改完成")

    everything = _feed(platform).json()["data"]["data"]
    after_one = _feed(platform, one["repaired_at"]).json()["data"]["data"]

    assert [n["decision_no"] for n in everything] == ["济信修〔2026〕1号", "济信修〔2026〕2号"]
    assert everything[0] | {} == one and one["decided_on"] == "2026-11-20"
    assert one["business_key"] == "penalty:X:a" and one["category"] == "penalty"
    assert after_one == [two]
    assert _feed(platform, two["repaired_at"]).json()["data"]["data"] == []
    assert platform.simulator.store.find(first)["status"] == "withdrawn"  # type: ignore[index]


def test_the_feed_needs_the_app_key_and_a_valid_since(platform: RunningSimulator) -> None:
    unauthorised = requests.get(f"{platform.url}/api/v1/repairs", timeout=10)
    assert unauthorised.status_code == 401
    bad = _feed(platform, "yesterday")
    assert bad.status_code == 400 and "since" in bad.json()["data"]["msg"]


def test_repairing_an_unknown_record_is_refused(platform: RunningSimulator) -> None:
    with pytest.raises(Problem) as refused:
        platform.simulator.repairs.grant("f" * 32, "济信修〔2026〕3号", "x")
    assert refused.value.status == 404
