"""The distributed deployment at city scale: N generated departments on 2 Celery workers, all triggered
at once.

    .venv/bin/python benchmarks/deploy_scale.py [--departments 50] [--concurrency 4]

The topology is the e2e suite's (tests/e2e/topology.py: PostgreSQL metadata DB and gateway store, Redis
database 9, api-server, two schedulers, dag-processor, triggerer, two Celery workers, FAB). Each
generated department is a copy of market_supervision (its REST source, the demo simulator) with its own
authority code in its mappings, so the N departments' records are N distinct sets on the platform
simulator. Reported: the time from triggering every DAG until every run is done, the dag-processor's
parse time of the DAG file (its own statistics), the CPU seconds of the workers (every process of their
groups, children included) and of the schedulers during the runs, and what the platform received.
"""

from __future__ import annotations

import argparse
import os
import re
import shutil
import sys
import tempfile
import time
from collections import Counter
from pathlib import Path
from typing import Any

import yaml

HERE = Path(__file__).resolve().parent
sys.path.insert(0, str(HERE))
sys.path.insert(0, str(HERE.parent / "tests" / "e2e"))
os.environ.setdefault("CREDITSYNC_E2E_REDIS", "redis://127.0.0.1:6379/9")
from _deploy import machine_note  # noqa: E402
from airflow_rest import Client  # noqa: E402
from topology import REPO, Ports, Topology, wait_until  # noqa: E402

from creditsync.simulators.synthetic import CHANGQING, fixed_uscc  # noqa: E402

TITLE = "Distributed deployment: N departments on 2 Celery workers (CeleryExecutor, PostgreSQL, Redis)"
BENCH_ARGS = ["--departments", "50"]
AUTHORITY = "11370113004325179R"  # market_supervision's, replaced in each copy


def generate(home: Path, count: int) -> dict[str, dict[str, Any]]:
    """``count`` department files (returned) and their mappings under ``home/mappings``."""
    demo = yaml.safe_load((REPO / "adapters" / "market_supervision.yaml").read_text("utf-8"))
    departments = {}
    for n in range(1, count + 1):
        name = f"district_{n:03d}"
        authority = fixed_uscc("1", "1", CHANGQING, f"9{n:07d}")
        folder = home / "mappings" / name
        folder.mkdir(parents=True)
        for mapping in (REPO / "mappings" / "market_supervision").glob("*.yaml"):
            text = mapping.read_text("utf-8").replace(AUTHORITY, authority)
            (folder / mapping.name).write_text(text, "utf-8")
        departments[name] = {**demo, "department": name, "name": f"模拟部门{n:03d}", "schedule": None}
    return departments


def group_cpu(topology: Topology, prefix: str) -> float:
    """CPU seconds of every process in the groups of ``prefix*`` (reaped children included)."""
    tick = os.sysconf("SC_CLK_TCK")
    groups = {p.pid for name, p in topology.processes.items() if name.startswith(prefix)}
    total = 0
    for entry in Path("/proc").iterdir():
        if not entry.name.isdigit():
            continue
        try:
            fields = (entry / "stat").read_text().rsplit(")", 1)[1].split()
        except OSError:
            continue
        if int(fields[2]) in groups:  # pgrp
            total += sum(int(v) for v in fields[11:15])  # utime stime cutime cstime
    return total / tick


def parse_time(log: Path) -> float | None:
    """The last duration the dag-processor reported for the DAG file (its stats table)."""
    found = re.findall(r"creditsync_departments\.py\s.*?\s(\d+\.\d+)s\s", log.read_text("utf-8", "replace"))
    return float(found[-1]) if found else None


def failure_reasons(home: Path, finished: dict[str, dict[str, Any]]) -> str:
    """Why runs failed: the last error line of each failed task's last attempt, counted."""
    reasons: Counter[str] = Counter()
    for dag_id, run in finished.items():
        if run["state"] == "success":
            continue
        folder = home / "airflow" / "logs" / f"dag_id={dag_id}" / f"run_id={run['dag_run_id']}"
        for task in folder.glob("task_id=*"):
            attempts = sorted(task.glob("attempt=*.log"))
            errors = [line for line in attempts[-1].read_text("utf-8", "replace").splitlines()
                      if '"level":"error"' in line or "[error" in line] if attempts else []
            if errors:
                reasons[f"{task.name}: {errors[-1][:160]}"] += 1
    return "; ".join(f"{n}× {reason}" for reason, n in reasons.most_common(3)) or "none"


def collect(argv: list[str]) -> list[dict[str, Any]]:
    parser = argparse.ArgumentParser()
    parser.add_argument("--departments", type=int, default=50)
    parser.add_argument("--concurrency", type=int, default=4, help="task slots per Celery worker")
    args = parser.parse_args(argv)
    home = Path(tempfile.mkdtemp(prefix="creditsync-scale-"))
    departments = generate(home, args.departments)
    topology = Topology(home, departments, ports=Ports(api=8450, platform=8460, market=8461, ecology=8462),
                        worker_concurrency=args.concurrency,
                        # every task is queued at once: Airflow's own queued timeout, not the e2e's minute
                        extra_env={"CREDITSYNC_MAPPINGS_DIR": str(home / "mappings"),
                                   "AIRFLOW__SCHEDULER__TASK_QUEUED_TIMEOUT": "600",
                                   "AIRFLOW__DAG_PROCESSOR__PRINT_STATS_INTERVAL": "10"})
    try:
        topology.prepare()
        topology.start_simulators()
        topology.init()
        topology.start_airflow()
        operator = Client(topology, "operator")
        dag_ids = {f"sync__{name}" for name in departments}
        operator.wait_dags(dag_ids, 900)
        cpu = {part: group_cpu(topology, part) for part in ("worker", "scheduler")}
        started = time.monotonic()
        runs = {dag: operator.trigger(dag).json()["dag_run_id"] for dag in sorted(dag_ids)}
        finished = operator.wait_done(runs, 3600)
        elapsed = time.monotonic() - started
        cpu = {part: group_cpu(topology, part) - before for part, before in cpu.items()}
        wait_until(lambda: parse_time(home / "dag-processor.log"), 60, "the dag-processor's stats")
        stats = __import__("requests").get(topology.platform_url + "/_sim/stats", timeout=10).json()
        states = [run["state"] for run in finished.values()]
        return [{"departments": args.departments, "workers × slots": f"2 × {args.concurrency}",
                 "runs succeeded": f"{states.count('success')}/{len(states)}",
                 "all done (s)": round(elapsed, 1),
                 "DAG file parse (s)": parse_time(home / "dag-processor.log"),
                 "worker CPU (s)": round(cpu["worker"], 1), "scheduler CPU (s)": round(cpu["scheduler"], 1),
                 "records on the platform": stats["records"], "distinct keys": stats["business_keys"],
                 "failures": failure_reasons(home, finished), "note": machine_note()}]
    finally:
        topology.stop()
        if os.environ.get("CREDITSYNC_BENCH_KEEP"):
            print(f"kept {home}", file=sys.stderr)
        else:
            shutil.rmtree(home, ignore_errors=True)


def main() -> None:
    for row in collect(sys.argv[1:]):
        print(row)


if __name__ == "__main__":
    main()
