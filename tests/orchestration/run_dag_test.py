"""Run one generated DAG with ``dag.test()`` in a fresh process and print its final state as JSON.

A separate process because Airflow reads AIRFLOW_HOME and its configuration once per process."""

from __future__ import annotations

import json
import sys
from pathlib import Path


def main(dag_id: str) -> int:
    from airflow.dag_processing.dagbag import DagBag

    dags_folder = Path(__file__).resolve().parents[2] / "dags"
    bag = DagBag(dag_folder=str(dags_folder))
    if bag.import_errors:
        print(json.dumps({"import_errors": {k: str(v) for k, v in bag.import_errors.items()}}))
        return 2
    dag = bag.get_dag(dag_id)
    if dag is None:
        print(json.dumps({"error": f"{dag_id} not found", "dags": sorted(bag.dag_ids)}))
        return 2
    run = dag.test()
    tasks = {ti.task_id: str(ti.state) for ti in run.get_task_instances()}
    print(json.dumps({"run_id": run.run_id, "state": str(run.state), "tasks": tasks}))
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv[1]))
