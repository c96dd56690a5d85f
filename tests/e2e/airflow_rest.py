"""Airflow's REST API as the e2e suite uses it: as a signed-in FAB user, with a Bearer token."""

from __future__ import annotations

import time
from dataclasses import dataclass
from typing import Any

import requests
from topology import Topology, wait_until

DONE = {"success", "failed"}


@dataclass
class Client:
    topology: Topology
    user: str
    token: str = ""

    def __post_init__(self) -> None:
        self.token = self.topology.token(self.user)

    @property
    def headers(self) -> dict[str, str]:
        return {"Authorization": f"Bearer {self.token}"}

    def get(self, path: str, **params: Any) -> requests.Response:
        return requests.get(self.topology.base + path, headers=self.headers, params=params, timeout=60)

    def post(self, path: str, json: Any = None, data: Any = None) -> requests.Response:
        return requests.post(self.topology.base + path, headers=self.headers, json=json, data=data,
                             timeout=60, allow_redirects=False)

    def trigger(self, dag_id: str) -> requests.Response:
        return self.post(f"/api/v2/dags/{dag_id}/dagRuns", json={"logical_date": None, "conf": {}})

    def run(self, dag_id: str, run_id: str) -> dict[str, Any]:
        answer = self.get(f"/api/v2/dags/{dag_id}/dagRuns/{run_id}")
        answer.raise_for_status()
        return dict(answer.json())

    def tasks(self, dag_id: str, run_id: str) -> dict[str, dict[str, Any]]:
        answer = self.get(f"/api/v2/dags/{dag_id}/dagRuns/{run_id}/taskInstances")
        answer.raise_for_status()
        return {ti["task_id"]: ti for ti in answer.json()["task_instances"]}

    def wait_done(self, runs: dict[str, str], seconds: float = 300) -> dict[str, dict[str, Any]]:
        def finished() -> dict[str, dict[str, Any]] | None:
            states = {dag: self.run(dag, run) for dag, run in runs.items()}
            return states if all(s["state"] in DONE for s in states.values()) else None

        return dict(wait_until(finished, seconds, f"runs {runs} finished"))

    def wait_dags(self, dag_ids: set[str], seconds: float = 180) -> None:
        def parsed() -> bool:  # listed, and serialized (what a trigger needs)
            return all(self.get(f"/api/v2/dags/{dag_id}/details").ok for dag_id in dag_ids)

        wait_until(parsed, seconds, f"DAGs {sorted(dag_ids)} parsed")


def poll(seconds: float = 0.5) -> None:
    time.sleep(seconds)  # watching live processes, not a retry
