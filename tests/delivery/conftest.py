"""Fixtures for the delivery tests: a client on a fake transport whose retry policy never sleeps."""

from __future__ import annotations

import pytest
import requests
from fake_platform_transport import APP_KEY, BASE_URL, FakeTransport

from creditsync.delivery import PlatformClient, default_retry_policy


@pytest.fixture
def transport() -> FakeTransport:
    return FakeTransport()


@pytest.fixture
def waits() -> list[float]:
    """The waits the retry policy computed, in order (instead of sleeping them)."""
    return []


@pytest.fixture
def client(transport: FakeTransport, waits: list[float]) -> PlatformClient:
    session = requests.Session()
    session.mount(BASE_URL, transport)
    policy = default_retry_policy(max_attempts=4, max_wait=30.0, sleep=waits.append)
    return PlatformClient(BASE_URL, APP_KEY, session=session, retrying=policy)
