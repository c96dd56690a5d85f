"""Run one generated DAG with ``dag.test()`` in a fresh process and print its final state as JSON.

A separate process because Airflow reads AIRFLOW_HOME and its configuration once per process.

``--logical-date``: the same date twice is the same run id, so the second call re-runs a finished run
as clearing it in the UI does. ``--user``: the run is triggered by this Airflow user, as the api-server
records a trigger from the UI (``dag.test()`` itself always names ``dag_test``)."""

from __future__ import annotations

import argparse
import json
import sys
from datetime import datetime
from pathlib import Path
from typing import Any
from unittest.mock import patch


def main(argv: list[str]) -> int:
    from airflow.dag_processing.dagbag import DagBag
    from airflow.models import dagrun

    parser = argparse.ArgumentParser()
    parser.add_argument("dag_id")
    parser.add_argument("--logical-date", type=datetime.fromisoformat)
    parser.add_argument("--user")
    parser.add_argument("--reannotate", action="store_true",
                        help="afterwards, note the run again as the scheduler does (in its session)")
    args = parser.parse_args(argv)

    dags_folder = Path(__file__).resolve().parents[2] / "dags"
    bag = DagBag(dag_folder=str(dags_folder))
    if bag.import_errors:
        print(json.dumps({"import_errors": {k: str(v) for k, v in bag.import_errors.items()}}))
        return 2
    dag = bag.get_dag(args.dag_id)
    if dag is None:
        print(json.dumps({"error": f"{args.dag_id} not found", "dags": sorted(bag.dag_ids)}))
        return 2
    # Airflow 3.3.2's dag.test() looks a finished run's deadline alerts up by id in the metadata
    # database, but hands over the DAG's own alert objects (StatementError): the alert is tested under
    # the real scheduler (tests/e2e), dag.test() runs the DAG without it.
    dag.deadline = None
    options: dict[str, Any] = (  # run_after too: it makes the run id
        {"logical_date": args.logical_date, "run_after": args.logical_date} if args.logical_date else {})
    if args.user is not None:  # "" stands for a scheduled run, which names no user
        create = dagrun.get_or_create_dagrun
        with patch.object(dagrun, "get_or_create_dagrun",
                          lambda **kw: create(**{**kw, "triggering_user_name": args.user or None})):
            run = dag.test(**options)
    else:
        run = dag.test(**options)
    instances = run.get_task_instances()
    tasks = {ti.task_id: str(ti.state) for ti in instances}
    tries = {ti.task_id: ti.try_number for ti in instances}
    print(json.dumps({"run_id": run.run_id, "state": str(run.state), "tasks": tasks, "tries": tries,
                      "note": _note(run), "reannotated": _reannotate(run) if args.reannotate else None,
                      "triggering_user_name": run.triggering_user_name}, ensure_ascii=False))
    return 0


def _note(run: Any) -> str | None:
    from airflow.models.dagrun import DagRun
    from airflow.utils.session import create_session

    with create_session() as session:
        stored = session.get(DagRun, run.id)
        return stored.note if stored is not None else None


def _reannotate(run: Any) -> str | None:
    """The listener's other path: the scheduler hands over a run attached to its session and commits
    the note with the run's state (``dag.test()`` hands over a detached one)."""
    from airflow.models.dagrun import DagRun
    from airflow.utils.session import create_session

    from creditsync.orchestration.listeners import on_dag_run_success

    with create_session() as session:
        stored = session.get(DagRun, run.id)
        assert stored is not None
        stored.note = None
        session.flush()
        on_dag_run_success(dag_run=stored, msg="success")
    return _note(run)


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
