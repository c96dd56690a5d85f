"""How the ``xml`` source copes with a big feed: peak memory and throughput on a 1,000,000-record file.

    .venv/bin/python benchmarks/xml_stream.py [--records N] [--dir DIR]

Writes a namespaced legacy-2016 penalty feed (``<XZCF>`` records, ~20 fields each) to a temporary
directory, streaming (the writer never holds the document), then reads it back through
``XmlSourceAdapter`` in file mode, exactly as a sync would, and prints one Markdown table row. Peak RSS
is the process high-water mark (``resource.getrusage``): flat memory means it barely moves between
"before read" and "peak". Not part of the test suite.
"""

from __future__ import annotations

import argparse
import platform
import resource
import sys
import tempfile
import time
from pathlib import Path

from creditsync.sources.xml import XmlSourceAdapter

NAMESPACE = "urn:jinan:changqing:sthj:exchange:2016"
RECORD = (
    "<XZCF><CF_WSH>济环长罚字〔2026〕{n}号</CF_WSH><CF_CFMC>超过大气污染物排放标准排放大气污染物</CF_CFMC>"
    "<CF_CFLB1>1</CF_CFLB1><CF_SY>经查，当事人燃气锅炉排气筒自动监测数据显示氮氧化物小时均值浓度超过排放限值。"
    "</CF_SY><CF_YJ>《中华人民共和国大气污染防治法》第九十九条第（二）项</CF_YJ>"
    "<CF_XDR_MC>济南长清第{n}商贸有限公司</CF_XDR_MC><CF_XDR_SHXYM>91370113MA{n:08d}</CF_XDR_SHXYM>"
    "<CF_XDR_ZDM>MA{n:06d}-X</CF_XDR_ZDM><CF_FR>张三</CF_FR><CF_JG>责令改正违法行为，罚款人民币120000.00元。</CF_JG>"
    "<CF_FKJE>120000.00</CF_FKJE><CF_JDRQ>2026/04/15</CF_JDRQ><CF_XZJG>济南市生态环境局长清分局</CF_XZJG>"
    "<CF_ZT>0</CF_ZT><DFBM>370113</DFBM><SJC>2026-04-16 {h:02d}:{m:02d}:{s:02d}</SJC><BZ/></XZCF>\n"
)


def write_feed(path: Path, records: int) -> None:
    with path.open("w", encoding="utf-8", buffering=1024 * 1024) as handle:
        handle.write(f'<?xml version="1.0" encoding="UTF-8"?>\n<DataPackage xmlns="{NAMESPACE}">\n')
        handle.write("<Header><Sender>济南市生态环境局长清分局</Sender></Header>\n")
        for n in range(records):
            handle.write(RECORD.format(n=n, h=n // 3600 % 24, m=n // 60 % 60, s=n % 60))
        handle.write("</DataPackage>\n")


def read_feed(path: Path) -> tuple[int, int]:
    options = {"files": str(path), "record_tag": "e:XZCF", "namespaces": {"e": NAMESPACE},
               "key_field": "CF_WSH", "cursor_field": "SJC"}
    adapter = XmlSourceAdapter("ecology_environment", options, None)
    count = bad = 0
    for record in adapter.read("penalty", {}, None):
        count += 1
        bad += record.is_bad
    return count, bad


def peak_rss_mib() -> float:
    kib = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss  # KiB on Linux
    return kib / 1024


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--records", type=int, default=1_000_000)
    parser.add_argument("--dir", type=Path, default=None, help="where to write the feed (a temp dir)")
    args = parser.parse_args()
    with tempfile.TemporaryDirectory(dir=args.dir) as folder:
        path = Path(folder) / "feed.xml"
        started = time.perf_counter()
        write_feed(path, args.records)
        written_s = time.perf_counter() - started
        size_mib = path.stat().st_size / 1024**2
        before = peak_rss_mib()
        started = time.perf_counter()
        count, bad = read_feed(path)
        read_s = time.perf_counter() - started
        peak = peak_rss_mib()
    assert count == args.records and bad == 0, (count, bad)
    print(f"python {platform.python_version()}, {platform.machine()}; feed written in {written_s:.1f} s")
    print("| records | file (MiB) | read (s) | records/s | MiB/s | RSS before read (MiB) | peak RSS (MiB) |")
    print("|---:|---:|---:|---:|---:|---:|---:|")
    print(f"| {count:,} | {size_mib:,.0f} | {read_s:.1f} | {count / read_s:,.0f} | {size_mib / read_s:.1f} "
          f"| {before:.0f} | {peak:.0f} |")
    return 0


if __name__ == "__main__":
    sys.exit(main())
