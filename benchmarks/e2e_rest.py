"""B2: end to end, a REST department source → ``creditsync sync`` → the platform simulator, on SQLite and
on PostgreSQL, beside a peer pipeline (dlt: REST → pydantic → merge into PostgreSQL).

    .venv/bin/python benchmarks/e2e_rest.py [--records N] [--runs R] [--store sqlite|postgresql ...]
                                            [--invalid-share F] [--no-peer]

The market-supervision simulator serves N synthetic penalty decisions (deterministic by seed; a share
broken on purpose, some revoked) in pages; the gateway runs as an operator runs it, ``creditsync sync
market_supervision`` with CREDITSYNC_HOME pointing at a temporary deployment folder (that department's
YAML, penalty stream only, and its mapping), a fresh store each run and a fresh platform simulator
validating with the real schema. Each simulator runs in its own process, so the CPU seconds of the
sync, the source and the platform are measured apart. The count check: the platform holds exactly the
records that are valid and not revoked, each business key once.

The peer (dlt, latest from PyPI) is installed on first use into ``benchmarks/.peer-venv`` only, never
into the project's environment, and reads the same simulator.
"""

from __future__ import annotations

import argparse
import json
import os
import subprocess
import sys
import tempfile
import time
from pathlib import Path
from typing import Any

import requests

sys.path.insert(0, str(Path(__file__).resolve().parent))
from _deploy import fresh_store, machine_note, median, run_sync, write_home
from _sims import Child, start

TITLE = "B2: end to end, REST source → creditsync sync → platform simulator (SQLite, PostgreSQL, peer)"
BENCH_ARGS = ["--records", "100000", "--runs", "3"]
QUICK_ARGS = ["--records", "300", "--runs", "1", "--store", "sqlite", "--no-peer"]
TARGET_RATE, TARGET_CPU_RATE, TARGET_RSS_MIB = 3000, 4000, 150  # issue 15, item 9 (PostgreSQL)
HERE = Path(__file__).resolve().parent
PEER_VENV = HERE / ".peer-venv"
DEPARTMENT = "market_supervision"

ADAPTER = """department: market_supervision
name: 长清区市场监督管理局
source:
  kind: rest
  connection_id: market_supervision_source
  options:
    path: /api/v1/decisions
    items_field: items
    key_field: id
    cursor_field: updated_at
    cursor_param: updated_since
    paginator: {{page_size: {page_size}}}
streams:
  - category: penalty
    options: {{params: {{type: penalty}}}}
    revoked_when: {{path: status, values: [撤销]}}
schedule: "@hourly"
batch_size: {batch_size}
bad_record_threshold: 0.5
"""


def parse(argv: list[str]) -> argparse.Namespace:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--records", type=int, default=100_000)
    parser.add_argument("--runs", type=int, default=3, help="runs per store; the median is reported")
    parser.add_argument("--store", action="append", choices=("sqlite", "postgresql"), default=[])
    parser.add_argument("--invalid-share", type=float, default=0.02)
    parser.add_argument("--page-size", type=int, default=500, help="records per source page")
    parser.add_argument("--batch-size", type=int, default=500, help="the department's batch_size")
    parser.add_argument("--seed", type=int, default=7)
    parser.add_argument("--no-peer", dest="peer", action="store_false")
    return parser.parse_args(argv)


def collect(argv: list[str]) -> list[dict[str, Any]]:
    options = parse(argv)
    stores = options.store or ["sqlite", "postgresql"]
    rows: list[dict[str, Any]] = []
    source_args = ["--records", str(options.records), "--seed", str(options.seed),
                   "--invalid-share", str(options.invalid_share), "--max-page-size", str(options.page_size)]
    with start("rest", *source_args) as source:
        for store in stores:
            runs = [one_run(options, store, source) for _ in range(options.runs)]
            rows.append(summary(f"creditsync sync ({store})", runs, source.info))
        if options.peer:
            peers = [peer_run(options, source) for _ in range(options.runs)]
            rows.append(summary("peer: dlt → PostgreSQL (merge)", peers, source.info))
            gateway_pg = next((r for r in rows if "postgresql" in r["pipeline"]), None)
            if gateway_pg:
                rows[-1]["note"] = ratio_note(rows[-1], gateway_pg)
    for row in rows:
        row.setdefault("note", "")
    rows.append({"pipeline": "note", "note": machine_note()})
    return rows


def ratio_note(peer: dict[str, Any], gateway: dict[str, Any]) -> str:
    """Both ratios: wall time depends on what else the machine was doing during each run, CPU less."""
    def number(row: dict[str, Any], column: str) -> float:
        return float(str(row[column]).replace(",", ""))

    wall = number(peer, "records/s (median)") / max(number(gateway, "records/s (median)"), 1e-9)
    cpu = number(gateway, "sync CPU s") / max(number(peer, "sync CPU s"), 1e-9)
    return (f"peer is {wall:.1f}× the gateway's PostgreSQL rate in wall time, "
            f"{cpu:.1f}× in CPU seconds of the pipeline process")


def one_run(options: argparse.Namespace, store: str, source: Child) -> dict[str, Any]:
    with tempfile.TemporaryDirectory(prefix="creditsync-b2-") as folder, start("platform") as platform:
        home = Path(folder)
        adapter = ADAPTER.format(page_size=options.page_size, batch_size=options.batch_size)
        write_home(home, DEPARTMENT, adapter, "penalty")
        with fresh_store(store, home) as url:
            source_cpu, platform_cpu = source.cpu_seconds(), platform.cpu_seconds()
            env = {"CREDITSYNC_DB_URL": url, "CREDITSYNC_PLATFORM_URL": platform.url,
                   "CREDITSYNC_PLATFORM_APP_KEY": platform.info["app_key"],
                   "CREDITSYNC_HASH_KEY": "bench-hash-key",
                   "AIRFLOW_CONN_MARKET_SUPERVISION_SOURCE": f"http://:{source.info['token']}@"
                                                             f"{source.url.removeprefix('http://')}"}
            sync = run_sync(home, DEPARTMENT, env)
            stats = requests.get(platform.url + "/_sim/stats", timeout=30).json()
            result = {"wall_s": sync.wall_s, "sync_cpu_s": sync.cpu_s, "rss": sync.peak_rss_mib,
                      "source_cpu_s": source.cpu_seconds() - source_cpu,
                      "platform_cpu_s": platform.cpu_seconds() - platform_cpu,
                      "published": stats["records"], "business_keys": stats["business_keys"],
                      "exit": sync.exit_code}
    if sync.exit_code not in (0, 1):  # 1: some records quarantined, as planned
        raise RuntimeError(f"sync exited {sync.exit_code}: {sync.stderr_tail}")
    print(f"{store}: {json.dumps(result)}", file=sys.stderr, flush=True)
    return result


def peer_run(options: argparse.Namespace, source: Child) -> dict[str, Any]:
    python = peer_python()
    with fresh_store("postgresql", Path(tempfile.gettempdir())) as url:
        pg = url.replace("postgresql+psycopg2://", "postgresql://")
        command = [str(python), str(HERE / "_peer_dlt.py"), "--url", source.url,
                   "--token", source.info["token"], "--page-size", str(options.page_size), "--postgres", pg]
        with tempfile.TemporaryDirectory(prefix="creditsync-peer-") as work:
            source_cpu = source.cpu_seconds()
            started = time.perf_counter()
            with open(Path(work) / "out", "w") as out, open(Path(work) / "err", "w") as err:
                process = subprocess.Popen(command, cwd=work, stdout=out, stderr=err,
                                           env={**os.environ, "DLT_DATA_DIR": work, "DLT_PIPELINE_DIR": work,
                                                "RUNTIME__LOG_LEVEL": "WARNING"})
                _, status, usage = os.wait4(process.pid, 0)
            wall = time.perf_counter() - started
            loaded = json.loads((Path(work) / "out").read_text().strip().splitlines()[-1] or "{}") \
                if os.waitstatus_to_exitcode(status) == 0 else {}
            if not loaded:
                raise RuntimeError(f"peer failed: {(Path(work) / 'err').read_text()[-2000:]}")
    result = {"wall_s": wall, "sync_cpu_s": usage.ru_utime + usage.ru_stime, "rss": usage.ru_maxrss / 1024,
              "source_cpu_s": source.cpu_seconds() - source_cpu, "platform_cpu_s": 0.0,
              "published": loaded["rows"], "business_keys": loaded["distinct_keys"], "exit": 0}
    print(f"peer: {json.dumps(result)}", file=sys.stderr, flush=True)
    return result


def peer_python() -> Path:
    """The peer's own venv (created on first use): dlt never enters the project's environment."""
    python = PEER_VENV / "bin" / "python"
    if not python.exists():
        subprocess.run([sys.executable, "-m", "venv", str(PEER_VENV)], check=True)
        subprocess.run([str(python), "-m", "pip", "install", "--quiet", "--disable-pip-version-check",
                        "dlt[postgres]", "pydantic"], check=True)
    return python


def summary(pipeline: str, runs: list[dict[str, Any]], source: dict[str, Any]) -> dict[str, Any]:
    records = int(source["records"])
    wall = median([r["wall_s"] for r in runs])
    rate = records / wall
    cpu_rate = records / median([r["sync_cpu_s"] for r in runs])
    rss = max(r["rss"] for r in runs)
    expected = int(source["expected_published"])
    counts_ok = all(r["published"] == expected and r["business_keys"] == r["published"] for r in runs)
    return {
        "pipeline": pipeline,
        "records": f"{records:,}",
        "runs": len(runs),
        "wall s (median)": f"{wall:.1f}",
        "records/s (median)": f"{rate:,.0f}",
        f"vs target {TARGET_RATE:,}/s": "met" if rate >= TARGET_RATE else "MISSED",
        "peak RSS MiB (max)": f"{rss:.0f}" + ("" if rss <= TARGET_RSS_MIB else f" (over {TARGET_RSS_MIB})"),
        "sync CPU s": f"{median([r['sync_cpu_s'] for r in runs]):.1f}",
        "records per sync CPU s": f"{cpu_rate:,.0f}",
        f"vs target {TARGET_CPU_RATE:,} per CPU s": "met" if cpu_rate >= TARGET_CPU_RATE else "MISSED",
        "source CPU s": f"{median([r['source_cpu_s'] for r in runs]):.1f}",
        "platform CPU s": f"{median([r['platform_cpu_s'] for r in runs]):.1f}",
        "count check": (f"ok: {expected:,} published, none duplicated" if counts_ok else
                        "FAILED: " + ", ".join(f"{r['published']}/{r['business_keys']}" for r in runs)
                        + f" (expected {expected})"),
    }


def main() -> int:
    from _deploy import REPO  # noqa: F401  (run from anywhere)

    rows = collect(sys.argv[1:])
    sys.path.insert(0, str(HERE))
    from run import markdown_table

    print(markdown_table(rows))
    return 0


if __name__ == "__main__":
    sys.exit(main())
