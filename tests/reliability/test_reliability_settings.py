"""The operator settings the reliability suite leans on: CREDITSYNC_RETRY_MAX_WAIT_S caps every retry
wait (a platform's Retry-After included) and CREDITSYNC_PLATFORM_TIMEOUT_S bounds the wait for an
answer. Both reach every client the gateway builds (``runner.platform_client``: CLI and DAG alike)."""

from __future__ import annotations

import time
from collections.abc import Iterator

import pytest

from creditsync.delivery import PlatformTransportError, PushItem
from creditsync.exceptions import ConfigurationError, RateLimitedError
from creditsync.pipeline.runner import platform_client
from creditsync.settings import load_settings
from creditsync.simulators.platform import FaultConfig, PlatformSimulator, RunningSimulator

pytestmark = [pytest.mark.reliability, pytest.mark.integration]
ITEM = PushItem("k1", "penalty:X:1", "upsert", {})


@pytest.fixture
def platform(monkeypatch: pytest.MonkeyPatch) -> Iterator[RunningSimulator]:
    simulator = PlatformSimulator(validator=lambda _category, _data: [])
    with simulator.start_in_thread() as running:
        monkeypatch.setenv("CREDITSYNC_PLATFORM_URL", running.url)
        monkeypatch.setenv("CREDITSYNC_PLATFORM_APP_KEY", simulator.app_key)
        yield running
    simulator.close()


@pytest.mark.parametrize(("kind", "setting", "error"), [
    ("429", "CREDITSYNC_RETRY_MAX_WAIT_S", RateLimitedError),  # Retry-After: 1 to 3 s, six tries
    ("slow", "CREDITSYNC_PLATFORM_TIMEOUT_S", PlatformTransportError),  # each answer 1.5 s late
])
def test_the_settings_bound_how_long_a_failing_call_takes(
    platform: RunningSimulator, monkeypatch: pytest.MonkeyPatch, kind: str, setting: str,
    error: type[Exception],
) -> None:
    platform.simulator.set_faults(FaultConfig(fault_rate=1.0, kinds=(kind,), slow_ms=1500))
    monkeypatch.setenv("CREDITSYNC_RETRY_MAX_WAIT_S", "0.01")
    monkeypatch.setenv(setting, "0.01" if setting.endswith("WAIT_S") else "0.1")
    started = time.monotonic()

    with pytest.raises(error):
        platform_client(load_settings()).push("penalty", [ITEM], batch_id="b1")

    assert time.monotonic() - started < 1.5  # untouched: 5 waits of 1-3 s, or 6 answers of 1.5 s
    assert platform.stats()["requests"] == 6


@pytest.mark.parametrize("value", ["soon", "-1", "inf"])
def test_a_setting_that_is_not_a_number_of_seconds_is_a_configuration_error(
    platform: RunningSimulator, monkeypatch: pytest.MonkeyPatch, value: str
) -> None:
    monkeypatch.setenv("CREDITSYNC_RETRY_MAX_WAIT_S", value)
    with pytest.raises(ConfigurationError, match="CREDITSYNC_RETRY_MAX_WAIT_S"):
        platform_client(load_settings())
