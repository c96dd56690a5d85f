"""B2 per sink: N valid penalties handed over as one file, ``creditsync push`` through each interface the
platform may offer (api, exchange_db on MariaDB and on PostgreSQL, xml_envelope folder, template_file),
each against its simulator in its own process, run again while it exits 3 (an asynchronous platform
answers on a later run) until everything is answered.

    .venv/bin/python benchmarks/sinks_push.py [--records N] [--sink api ...]

Wall time from the first run to the last answer stored; the pusher's CPU seconds (all its runs) and
its peak RSS; the count check from the simulator's store (each business key once)."""

from __future__ import annotations

import argparse
import contextlib
import json
import os
import random
import sqlite3
import subprocess
import sys
import tempfile
import time
import uuid
from collections.abc import Iterator
from contextlib import contextmanager
from datetime import date, timedelta
from pathlib import Path
from typing import Any

import requests
import yaml
from sqlalchemy import create_engine, text

from creditsync.simulators import synthetic as syn

EXE = Path(sys.executable).parent / "creditsync"
SINKS = ("api", "exchange_db-mariadb", "exchange_db-postgresql", "xml_envelope", "template_file")
AUTHORITY = syn.fixed_uscc("1", "1", syn.CHANGQING, "00421234")
SERVERS = {"mariadb": "mysql+pymysql://root@127.0.0.1:3306",
           "postgresql": "postgresql+psycopg2://postgres@127.0.0.1:5432"}


def penalties(path: Path, count: int) -> None:
    rng = random.Random(7)
    with path.open("w", encoding="utf-8") as out:
        for n in range(1, count + 1):
            decided = date.today() - timedelta(days=rng.randint(3, 60))
            row = {"CF_XDR_MC": syn.make_company_name(rng), "CF_XDR_LB": "法人及非法人组织",
                   "CF_XDR_SHXYM": syn.make_uscc(rng, "9", "1"), "CF_FRDB": syn.make_person_name(rng),
                   "CF_WSH": f"长市监罚〔2026〕{n}号", "CF_WFXW": "未按规定公示信息",
                   "CF_SY": "经查，未按规定公示年度报告。",
                   "CF_YJ": "《企业信息公示暂行条例》第十八条", "CF_CFLB": "罚款", "CF_NR": "罚款5000元。",
                   "CF_NR_FK": "0.5", "CF_JDRQ": decided.isoformat(), "CF_YXQ": "2099-12-31",
                   "CF_CFJG": "济南市长清区市场监督管理局", "CF_CFJGDM": AUTHORITY,
                   "CF_SJLY": "济南市长清区市场监督管理局", "CF_SJLYDM": AUTHORITY}
            out.write(json.dumps(row, ensure_ascii=False) + "\n")


@contextmanager
def database(kind: str) -> Iterator[str]:
    name = f"creditsync_bench_{uuid.uuid4().hex[:8]}"
    admin = create_engine(SERVERS[kind] + ("/postgres" if kind == "postgresql" else ""),
                          isolation_level="AUTOCOMMIT")
    with admin.connect() as conn:
        conn.execute(text(f"CREATE DATABASE {name}"))
    try:
        yield f"{SERVERS[kind]}/{name}" + ("?charset=utf8mb4" if kind == "mariadb" else "")
    finally:
        with admin.connect() as conn:
            conn.execute(text(f"DROP DATABASE {name}" + (" WITH (FORCE)" if kind == "postgresql" else "")))
        admin.dispose()


@contextmanager
def simulator(sink: str, work: Path) -> Iterator[tuple[str, dict[str, str]]]:
    """The simulator's stats URL and the gateway's settings for the sink."""
    port = 8390 + SINKS.index(sink)
    store, config = work / "platform.db", work / "sinks.yaml"
    settings: dict[str, str] = {"CREDITSYNC_SINK": sink.split("-")[0], "CREDITSYNC_SINK_CONFIG": str(config)}
    with contextlib.ExitStack() as stack:
        if sink == "api":
            command = ["platform-sim"]
            settings = {"CREDITSYNC_PLATFORM_URL": f"http://127.0.0.1:{port}"}
        elif sink.startswith("exchange_db"):
            url = stack.enter_context(database(sink.split("-")[1]))
            config.write_text(yaml.safe_dump({"exchange_db": {"answer_wait_s": 30, "poll_interval_s": 0.2}}))
            command = ["exchange-sim", "--db-url", url, "--categories", "penalty", "--interval-s", "0.2"]
            settings["CREDITSYNC_EXCHANGE_DB_URL"] = url
        else:
            config.write_text(yaml.safe_dump({sink: {"folder": str(work / "exchange")}}))
            command = ["envelope-sim" if sink == "xml_envelope" else "template-sim", "--folder",
                       str(work / "exchange"), "--interval-s", "0.5"]
        process = subprocess.Popen([str(EXE), *command, "--port", str(port), "--store", str(store)],
                                   stdout=(work / "sim.log").open("wb"), stderr=subprocess.STDOUT)
        stack.callback(process.wait, 30)
        stack.callback(process.terminate)
        for _ in range(600):
            try:
                requests.get(f"http://127.0.0.1:{port}/_sim/stats", timeout=2)
                break
            except requests.ConnectionError:
                time.sleep(0.1)
        yield f"http://127.0.0.1:{port}/_sim/stats", settings


def measure(sink: str, records: int) -> dict[str, Any]:
    with tempfile.TemporaryDirectory(prefix="bench-sinks-") as folder:
        work = Path(folder)
        source = work / "in.jsonl"
        penalties(source, records)
        adapters = work / "adapters"
        adapters.mkdir()
        (adapters / "bench.yaml").write_text(yaml.safe_dump(
            {"department": "bench", "name": "长清区某局", "batch_size": 500,
             "source": {"kind": "file", "options": {"inbox": str(work)}},
             "streams": [{"category": "penalty", "options": {"patterns": ["*.csv"]}}]}, allow_unicode=True))
        with simulator(sink, work) as (stats_url, settings):
            env = {**{k: v for k, v in os.environ.items() if not k.startswith("CREDITSYNC_")},
                   "CREDITSYNC_DB_URL": f"sqlite:///{work / 'gateway.db'}",
                   "CREDITSYNC_ADAPTERS_DIR": str(adapters),
                   "CREDITSYNC_PLATFORM_APP_KEY": "demo-app-key", "CREDITSYNC_HOME": str(work), **settings}
            subprocess.run([str(EXE), "db-upgrade"], env=env, check=True, capture_output=True)
            started, cpu, rss, runs, code = time.monotonic(), 0.0, 0, 0, 3
            while code == 3 and runs < 60:
                command = [str(EXE), "push", "--category", "penalty", "--input", str(source),
                           "--department", "bench"]
                process = subprocess.Popen(command, env=env, stdout=subprocess.DEVNULL,
                                           stderr=subprocess.DEVNULL)
                _, status, usage = os.wait4(process.pid, 0)
                code, runs = os.waitstatus_to_exitcode(status), runs + 1
                cpu += usage.ru_utime + usage.ru_stime
                rss = max(rss, usage.ru_maxrss)
            wall = time.monotonic() - started
            stats = requests.get(stats_url, timeout=10).json()
        with sqlite3.connect(work / "platform.db") as db:
            rows, keys = db.execute("SELECT COUNT(*), COUNT(DISTINCT business_key) FROM records").fetchone()
    return {"sink": sink, "records": records, "runs": runs, "exit": code, "wall_s": round(wall, 1),
            "records_per_s": round(records / wall), "pusher_cpu_s": round(cpu, 1),
            "records_per_cpu_s": round(records / cpu) if cpu else None, "peak_rss_mib": round(rss / 1024),
            "check": "ok" if rows == keys == records == stats["records"]
            else f"FAILED rows={rows} keys={keys}"}


def main(argv: list[str]) -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--records", type=int, default=10_000)
    parser.add_argument("--sink", action="append", choices=SINKS, default=[])
    args = parser.parse_args(argv)
    print("| sink | records | runs | wall s | records/s | pusher CPU s | records per CPU s | peak RSS MiB "
          "| count check |")
    print("|---|---|---|---|---|---|---|---|---|")
    for sink in args.sink or SINKS:
        r = measure(sink, args.records)
        print(f"| {r['sink']} | {r['records']:,} | {r['runs']} | {r['wall_s']} | {r['records_per_s']:,} | "
              f"{r['pusher_cpu_s']} | {r['records_per_cpu_s']:,} | {r['peak_rss_mib']} | {r['check']} |",
              flush=True)


if __name__ == "__main__":
    main(sys.argv[1:])
