"""A department's autumn 2026, written through the lifecycle as the gateway writes it: handed-over
licence files pushed (validate → store → outbox → platform simulator → receipts) on the days below,
with the lifecycle's clock set to each day. The expected figures in the tests are counted by hand from
this table and chinese-calendar's 2026 schedule:

    Mid-autumn 9/25-9/27 and National Day 10/1-10/7 off; make-up working days Sun 9/20 and Sat 10/10.

    key  decided      pushed on (acknowledged)        working days                     outcome
    A    Tue 9/29     Fri 10/9                         9/30, 10/8, 10/9 = 3             on time
    B    Wed 9/30     Thu 10/15                        10/8…10/15, 10/10 counts = 7    on the last day
    C    Wed 9/30     Fri 10/16                        8                                1 day late
    F    Wed 9/30     10/16, refused by the platform   13 elapsed by 10/23              missing, 6 days late
    E    Fri 10/9     Tue 10/20                        10/10 (make-up) … 10/20 = 8      1 day late
    D    Sat 10/10    Wed 10/21 (decided on 调休)        10/12 … 10/21 = 8                1 day late
    G    Tue 10/20    10/20, refused by the platform   3 elapsed by 10/23               waiting
    H    Mon 10/12    10/13 refused (bad USCC), fixed and acknowledged 10/14 = 2  on time, not compliant
    I    Mon 10/12    10/13 missing 许可内容: never stored                      not compliant, incomplete
    J    Mon 10/12    10/13 without 许可编号 = 1                                 on time, incomplete
    L    Mon 10/12    10/13; 终止公示 10/14, delivered at once: 0                       withdrawn on time
    another department (health), whose files come rarely:
    M    Wed 9/30     Fri 10/9 = 3                                                      on time
    K    Mon 10/12    10/13 = 1; 终止公示 queued 10/13, delivered with its next file 10/21: 6   withdrawn late
"""

from __future__ import annotations

from datetime import UTC, date, datetime, time
from pathlib import Path
from typing import Any

import pytest
from cli_support import invoke, write_rows
from pipeline_harness import Harness
from schema_factories import COMPANY, license_row, wrong_check

from creditsync.lifecycle import changes
from creditsync.pipeline.runner import push_file
from creditsync.working_days import SHANGHAI

DEPARTMENT = "market_supervision"
OTHER = "health"
AS_OF = date(2026, 10, 23)
DECIDED = {"A": date(2026, 9, 29), "B": date(2026, 9, 30), "C": date(2026, 9, 30), "F": date(2026, 9, 30),
           "E": date(2026, 10, 9), "D": date(2026, 10, 10), "G": date(2026, 10, 20), "H": date(2026, 10, 12),
           "I": date(2026, 10, 12), "J": date(2026, 10, 12), "K": date(2026, 10, 12), "L": date(2026, 10, 12),
           "M": date(2026, 9, 30)}
REFUSAL = "许可机关统一社会信用代码与登记信息不符"


def document(key: str) -> str:
    return f"长市监许〔2026〕{ord(key)}号"


def licence(key: str, **overrides: Any) -> dict[str, Any]:
    day = DECIDED[key].strftime("%Y/%m/%d")
    return license_row(XK_WSH=document(key), XK_JDRQ=day, XK_YXQZ=day, XK_YXQZI="2029/12/31", **overrides)


class Autumn:
    """Pushes files on chosen days (the lifecycle's clock set to 10:00 that day in China)."""

    def __init__(self, harness: Harness, folder: Path, monkeypatch: pytest.MonkeyPatch) -> None:
        self.harness, self.folder, self.monkeypatch = harness, folder, monkeypatch

    def on(self, day: date) -> None:
        moment = datetime.combine(day, time(10), SHANGHAI).astimezone(UTC)
        self.monkeypatch.setattr(changes, "now", lambda: moment)

    def push(self, day: date, name: str, rows: list[dict[str, Any]], department: str = DEPARTMENT) -> None:
        self.on(day)
        path = write_rows(self.folder / name, rows)
        push_file(self.harness.gateway, path, "license", department)

    def withdraw(self, day: date, key: str, *extra: str) -> None:
        self.on(day)
        result = invoke("withdraw", document(key), "--reason", "许可被依法撤回", *extra)
        assert result.exit_code == 0, result.output


def write_autumn(harness: Harness, folder: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    autumn = Autumn(harness, folder, monkeypatch)
    harness.validator.rejections[document("F")] = REFUSAL
    harness.validator.rejections[document("G")] = REFUSAL
    autumn.push(date(2026, 10, 9), "1009.jsonl", [licence("A")])
    autumn.push(date(2026, 10, 9), "health-1009.jsonl", [licence("M")], department=OTHER)
    day_1013 = [licence("H", XK_XKJGDM=wrong_check(COMPANY)), licence("I", XK_NR=""),
                licence("J", XK_XKBH=""), licence("L")]
    autumn.push(date(2026, 10, 13), "1013.jsonl", day_1013)
    health = [licence("K")]
    autumn.push(date(2026, 10, 13), "health-1013.jsonl", health, department=OTHER)
    autumn.withdraw(date(2026, 10, 13), "K", "--queue-only")
    day_1013[0] = licence("H")  # the department fixed it: read again under the same source id
    autumn.push(date(2026, 10, 14), "1013.jsonl", day_1013)
    autumn.withdraw(date(2026, 10, 14), "L")
    autumn.push(date(2026, 10, 15), "1015.jsonl", [licence("B")])
    autumn.push(date(2026, 10, 16), "1016.jsonl", [licence("C"), licence("F")])
    autumn.push(date(2026, 10, 20), "1020.jsonl", [licence("E"), licence("G")])
    autumn.push(date(2026, 10, 21), "1021.jsonl", [licence("D")])
    autumn.push(date(2026, 10, 21), "health-1013.jsonl", health, department=OTHER)  # K's withdrawal goes out
