"""One distributed deployment for the whole ``e2e`` suite (started once: it takes a minute), stopped
with every process it started and its databases dropped, whatever the tests did."""

from __future__ import annotations

import os
from collections.abc import Iterator

import pytest
from topology import Topology

# market_supervision pushes in small batches to a platform that answers slowly, so that a push lasts
# long enough to lose its worker in the middle; its deadline passes while it recovers.
DEPARTMENTS = {
    "market_supervision": {"schedule": None, "batch_size": 5, "push_concurrency": 1, "retry_delay_s": 2,
                           "pool_slots": 3, "deadline_minutes": 0.5},
    "ecology_environment": {"schedule": None, "retry_delay_s": 2},
}
PLATFORM_SLOW_MS = 1200


def _services_available() -> bool:
    try:
        import psycopg2
        import redis

        psycopg2.connect(host="127.0.0.1", dbname="postgres", user="postgres", connect_timeout=3).close()
        redis.Redis(host="127.0.0.1", port=6379, socket_connect_timeout=3).ping()
    except Exception:
        return False
    return True


@pytest.fixture(scope="session")
def deployment(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Topology]:
    if not _services_available():
        if os.environ.get("CI"):
            pytest.fail("PostgreSQL and Redis at 127.0.0.1 are required in CI")
        pytest.skip("PostgreSQL or Redis is not running here")
    topology = Topology(tmp_path_factory.mktemp("deployment"), DEPARTMENTS, platform_slow_ms=PLATFORM_SLOW_MS)
    try:
        topology.prepare()
        topology.start_simulators()
        topology.init()
        topology.start_airflow()
        yield topology
    finally:
        topology.stop()
