"""B3: a big XML feed end to end (``kind: xml``, file mode) → ``creditsync sync`` → platform simulator:
is the sync's memory flat from 100,000 to 1,000,000 records?

    .venv/bin/python benchmarks/e2e_xml.py [--records N ...] [--store sqlite|postgresql]

For each N a temporary deployment holds one department (``xml_bench``: the 长清区生态环境分局 legacy-2016
penalty mapping, its feed dropped as a file) and a feed of N ``<XZCF>`` records written streaming, each
with its own 文书号 and a valid USCC/组织机构代码 pair; one record in 50 has an empty party name (refused).
The sync runs as an operator runs it; its peak RSS comes from ``wait4``. Flat memory: the peak at the
largest N is at most 1.2× the peak at the smallest. The platform runs without the schema check
(``--validation none``) so that a million records do not wait on the simulator, and keeps them in a
SQLite file rather than in its memory.
"""

from __future__ import annotations

import argparse
import random
import sys
import tempfile
from pathlib import Path
from typing import Any
from xml.sax.saxutils import escape

import requests

sys.path.insert(0, str(Path(__file__).resolve().parent))
from _deploy import fresh_store, machine_note, run_sync, write_home
from _sims import start

from creditsync.simulators import synthetic as syn

TITLE = "B3: a big XML feed end to end: the sync's peak memory from 100,000 to 1,000,000 records"
BENCH_ARGS = ["--records", "100000", "--records", "1000000"]
QUICK_ARGS = ["--records", "200", "--records", "400"]
FLAT_RATIO = 1.2
NAMESPACE = "urn:jinan:changqing:sthj:exchange:2016"
REFUSED_EVERY = 50
DEPARTMENT = "xml_bench"

ADAPTER = f"""department: {DEPARTMENT}
name: 基准测试 XML 部门
source:
  kind: xml
  options:
    files: feed/*.xml
    namespaces: {{sthj: "{NAMESPACE}"}}
    key_field: CF_WSH
    cursor_field: SJC
    max_bytes: 17179869184
streams:
  - category: penalty
    options: {{record_tag: "sthj:XZCF"}}
    revoked_when: {{path: CF_ZT, values: ["1"]}}
schedule: "@hourly"
batch_size: 500
bad_record_threshold: 0.5
"""


def write_feed(path: Path, records: int, seed: int = 11) -> int:
    """N records, streamed to ``path``; returns how many are valid."""
    rng = random.Random(seed)
    valid = 0
    with path.open("w", encoding="utf-8", buffering=1024 * 1024) as handle:
        handle.write(f'<?xml version="1.0" encoding="UTF-8"?>\n<DataPackage xmlns="{NAMESPACE}">\n')
        for n in range(records):
            refused = n % REFUSED_EVERY == REFUSED_EVERY - 1
            valid += not refused
            handle.write(_record(n, rng, refused))
        handle.write("</DataPackage>\n")
    return valid


def _record(n: int, rng: random.Random, refused: bool) -> str:
    uscc = syn.make_uscc(rng, "9", "1")
    name = "" if refused else escape(syn.make_company_name(rng))
    second = n % 86400
    return (
        f"<XZCF><CF_WSH>济环长罚字〔2026〕{n}号</CF_WSH><CF_CFMC>超过大气污染物排放标准排放大气污染物</CF_CFMC>"
        "<CF_CFLB1>1</CF_CFLB1><CF_SY>经查，当事人燃气锅炉排气筒自动监测数据显示氮氧化物小时均值浓度超过排放限值。</CF_SY>"
        "<CF_YJ>《中华人民共和国大气污染防治法》第九十九条第（二）项</CF_YJ>"
        f"<CF_XDR_MC>{name}</CF_XDR_MC><CF_XDR_SHXYM>{uscc}</CF_XDR_SHXYM>"
        f"<CF_XDR_ZDM>{uscc[8:16]}-{uscc[16]}</CF_XDR_ZDM><CF_FR>{syn.make_person_name(rng)}</CF_FR>"
        "<CF_JG>责令改正违法行为，罚款人民币120000.00元。</CF_JG><CF_FKJE>120000.00</CF_FKJE>"
        "<CF_JDRQ>2026/04/15</CF_JDRQ><CF_XZJG>济南市生态环境局长清分局</CF_XZJG><CF_ZT>0</CF_ZT>"
        f"<DFBM>370113</DFBM><SJC>2026-04-16 {second // 3600:02d}:{second // 60 % 60:02d}:"
        f"{second % 60:02d}</SJC>"
        "<BZ/></XZCF>\n"
    )


def one_size(records: int, store: str) -> dict[str, Any]:
    with tempfile.TemporaryDirectory(prefix="creditsync-b3-") as folder, \
            start("platform", "--validation", "none", "--store", f"{folder}/platform.sqlite") as platform:
        home = Path(folder)
        write_home(home, DEPARTMENT, ADAPTER, "penalty", mapping_of="ecology_environment")
        (home / "feed").mkdir()
        valid = write_feed(home / "feed" / "penalties.xml", records)
        feed_mib = (home / "feed" / "penalties.xml").stat().st_size / 2**20
        with fresh_store(store, home) as url:
            env = {"CREDITSYNC_DB_URL": url, "CREDITSYNC_PLATFORM_URL": platform.url,
                   "CREDITSYNC_PLATFORM_APP_KEY": platform.info["app_key"], "CREDITSYNC_HASH_KEY": "bench"}
            sync = run_sync(home, DEPARTMENT, env)
        stats = requests.get(platform.url + "/_sim/stats", timeout=60).json()
    if sync.exit_code not in (0, 1):
        raise RuntimeError(f"sync exited {sync.exit_code}: {sync.stderr_tail}")
    counts_ok = stats["records"] == stats["business_keys"] == valid
    return {"records": f"{records:,}", "feed MiB": f"{feed_mib:,.0f}", "store": store,
            "wall s": f"{sync.wall_s:.1f}", "records/s": f"{records / sync.wall_s:,.0f}",
            "sync CPU s": f"{sync.cpu_s:.1f}", "peak RSS MiB": f"{sync.peak_rss_mib:.0f}",
            "count check": f"ok: {valid:,} published, none duplicated" if counts_ok
            else f"FAILED: {stats['records']} rows, {stats['business_keys']} keys, expected {valid}",
            "_rss": sync.peak_rss_mib}


def collect(argv: list[str]) -> list[dict[str, Any]]:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--records", type=int, action="append", default=[])
    parser.add_argument("--store", choices=("sqlite", "postgresql"), default="sqlite")
    options = parser.parse_args(argv)
    sizes = sorted(options.records or [100_000, 1_000_000])
    rows = [one_size(n, options.store) for n in sizes]
    ratio = rows[-1]["_rss"] / rows[0]["_rss"]
    for row in rows:
        row.pop("_rss")
    verdict = "flat (met)" if ratio <= FLAT_RATIO else "GROWS (missed)"
    growth = f"peak at {sizes[-1]:,} = {ratio:.2f}× peak at {sizes[0]:,}"
    rows.append({"records": "memory", "feed MiB": growth, "store": verdict})
    rows.append({"records": "note", "feed MiB": machine_note()})
    return rows


def main() -> int:
    from run import markdown_table

    print(markdown_table(collect(sys.argv[1:])))
    return 0


if __name__ == "__main__":
    sys.exit(main())
