"""The platform simulator's own ingest rate: records per second of its CPU under a push load.

    .venv/bin/python benchmarks/platform_ingest.py [--records N] [--batch 500] [--runs R]
                                                   [--validation schema|none ...]

The simulator runs in its own process (``_sims.py platform``); this process pushes pre-encoded
batches of canonical penalty records (each its own 文书号 and a valid USCC) over loopback, one request
at a time, and reads the simulator's CPU seconds before and after. ``schema`` validates every record
with the gateway's schema as the default simulator does; ``none`` accepts every well-formed record,
which isolates the simulator's own work (HTTP, JSON, idempotency, SQLite). The end-to-end benchmarks
need the simulator to stay well under the gateway's cost per record.
"""

from __future__ import annotations

import argparse
import http.client
import json
import random
import sys
import time
from pathlib import Path
from typing import Any
from urllib.parse import urlsplit

sys.path.insert(0, str(Path(__file__).resolve().parent))
from _deploy import machine_note, median
from _sims import APP_KEY, start

from creditsync.simulators import synthetic as syn

TITLE = "Platform simulator: ingest rate per CPU second (push batches of 500 over loopback)"
BENCH_ARGS = ["--records", "100000", "--runs", "3"]
QUICK_ARGS = ["--records", "1000", "--runs", "1", "--validation", "none"]
AUTHORITY = "11370113004325179R"


def bodies(records: int, batch: int, seed: int = 1) -> list[bytes]:
    rng = random.Random(seed)
    out = []
    for start_at in range(0, records, batch):
        items = [_item(n, rng) for n in range(start_at, min(records, start_at + batch))]
        body = {"batch_id": f"bench#{start_at}", "records": items}
        out.append(json.dumps(body, ensure_ascii=False).encode())
    return out


def _item(n: int, rng: random.Random) -> dict[str, Any]:
    number = f"长市监处罚〔2026〕{n}号"
    data = {
        "CF_XDR_MC": syn.make_company_name(rng), "CF_XDR_LB": "法人及非法人组织",
        "CF_XDR_SHXYM": syn.make_uscc(rng, "9", "1"), "CF_FRDB": syn.make_person_name(rng),
        "CF_WSH": number, "CF_WFXW": "经营超过保质期的食品", "CF_SY": "经查，当事人销售超过保质期的酸奶。",
        "CF_YJ": "《中华人民共和国食品安全法》第一百二十四条第一款第（五）项", "CF_CFLB": "罚款",
        "CF_NR": "罚款5000元。", "CF_NR_FK": "0.5", "CF_JDRQ": "2026-03-05", "CF_YXQ": "2027-03-05",
        "CF_CFJG": "长清区市场监督管理局", "CF_CFJGDM": AUTHORITY, "CF_SJLY": "长清区市场监督管理局",
        "CF_SJLYDM": AUTHORITY,
    }
    return {"idempotency_key": f"bench-{n:09d}", "business_key": f"penalty:{AUTHORITY}:{number}",
            "action": "upsert", "platform_id": None, "data": data}


def push_all(url: str, payloads: list[bytes]) -> int:
    """Send every batch; returns the records accepted (each answer is read in full)."""
    parts = urlsplit(url)
    accepted = 0
    for body in payloads:
        connection = http.client.HTTPConnection(parts.hostname or "127.0.0.1", parts.port, timeout=120)
        connection.request("POST", "/api/v1/penalty/records", body,
                           {"appKey": APP_KEY, "Content-Type": "application/json; charset=utf-8"})
        answer = json.loads(connection.getresponse().read())
        connection.close()
        accepted += sum(1 for row in answer["data"]["data"] if row["status"] == "accepted")
    return accepted


def one_run(validation: str, payloads: list[bytes], records: int) -> dict[str, float]:
    with start("platform", "--validation", validation) as platform:
        before = platform.cpu_seconds()
        started = time.perf_counter()
        accepted = push_all(platform.url, payloads)
        wall = time.perf_counter() - started
        cpu = platform.cpu_seconds() - before
        rss = platform.rss_mib()
    if accepted != records:
        raise RuntimeError(f"{validation}: {accepted} of {records} accepted")
    return {"cpu": cpu, "wall": wall, "rss": rss}


def collect(argv: list[str]) -> list[dict[str, Any]]:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--records", type=int, default=100_000)
    parser.add_argument("--batch", type=int, default=500)
    parser.add_argument("--runs", type=int, default=3)
    parser.add_argument("--validation", action="append", choices=("schema", "none"), default=[])
    options = parser.parse_args(argv)
    payloads = bodies(options.records, options.batch)
    rows = []
    for validation in options.validation or ["none", "schema"]:
        runs = [one_run(validation, payloads, options.records) for _ in range(options.runs)]
        cpu, wall = median([r["cpu"] for r in runs]), median([r["wall"] for r in runs])
        rows.append({
            "validation": validation, "records": f"{options.records:,}", "batch": options.batch,
            "runs": options.runs, "simulator CPU s (median)": f"{cpu:.2f}",
            "records per CPU second": f"{options.records / cpu:,.0f}",
            "µs CPU per record": f"{cpu / options.records * 1e6:.0f}",
            "wall s (median)": f"{wall:.2f}", "records/s wall": f"{options.records / wall:,.0f}",
            "simulator RSS MiB": f"{max(r['rss'] for r in runs):.0f}",
        })
    rows.append({"validation": "note", "records": machine_note()})
    return rows


def main() -> int:
    sys.path.insert(0, str(Path(__file__).resolve().parent))
    from run import markdown_table

    print(markdown_table(collect(sys.argv[1:])))
    return 0


if __name__ == "__main__":
    sys.exit(main())
