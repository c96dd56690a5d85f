"""The records of 长清区生态环境分局 (济南市生态环境局长清分局)'s legacy exchange system, in the 2016 names.

行政处罚 (record element ``XZCF``): ``CF_WSH CF_CFMC CF_CFLB1 CF_CFLB2 CF_SY CF_YJ CF_XDR_MC CF_XDR_SHXYM
CF_XDR_ZDM CF_XDR_GSDJ CF_XDR_SFZ CF_FR CF_JG CF_JDRQ CF_XZJG CF_ZT DFBM SJC BZ`` plus the department's own
``CF_FKJE`` (罚款金额, in 元, e.g. ``120000.00``). 行政强制 (element ``XZQZ``): ``QZ_WSH QZ_QZLX QZ_CSZL QZ_SY
QZ_YJ QZ_NR QZ_XDR_MC QZ_XDR_SHXYM QZ_XDR_ZDM QZ_FR QZ_JDRQ QZ_QXZ QZ_JCRQ QZ_XZJG QZ_ZT DFBM SJC BZ``.

Conventions: 处罚类别 as the legacy codes 0-6 (0 警告, 1 罚款, 2 没收违法所得、没收非法财物, …); 当前状态
``CF_ZT``/``QZ_ZT`` 0 正常, 1 撤销; dates ``YYYY/MM/DD``; ``SJC`` (the row's last change, the cursor)
``YYYY-MM-DD HH:MM:SS`` Beijing time; 组织机构代码 written ``XXXXXXXX-X``; an absent value is an absent
element. No 相对人类别 column: it follows from which identifier is filled (the legacy preset derives it).
:class:`FeedStore` holds the records behind the HTTP layer; tests change them directly (``update`` moves
``SJC`` on, as a correction does in the real system).

Deliberately broken penalties (by position, whatever the seed; see :data:`BROKEN`): XZCF000007 wrong USCC
check digit, XZCF000019 no ``CF_WSH`` element, XZCF000031 fine ``壹拾万元``, XZCF000043 decision date
February 30th, XZCF000055 处罚类别 code ``9``. Not defects: a few revoked (``CF_ZT`` 1) decisions; 露天焚烧
by natural persons (身份证 only); 警告 without a fine.
"""

from __future__ import annotations

import random
import threading
from collections import deque
from dataclasses import dataclass
from datetime import date, datetime, time, timedelta, timezone
from typing import Any

from creditsync.simulators import synthetic as syn

CST = timezone(timedelta(hours=8))
SJC_FORMAT = "%Y-%m-%d %H:%M:%S"
AUTHORITY = "济南市生态环境局长清分局"
DFBM = "370113"
FAULTS = ("truncate", "500", "503")  # the HTTP layer acts them out

BROKEN: dict[str, str] = {
    "XZCF000007": "CF_XDR_SHXYM has a wrong check digit (统一社会信用代码校验位错误)",
    "XZCF000019": "no CF_WSH element (行政处罚决定书文号缺失: the record has no source key)",
    "XZCF000031": "CF_FKJE is not a number: '壹拾万元'",
    "XZCF000043": "CF_JDRQ is February 30th (处罚决定日期不存在)",
    "XZCF000055": "CF_CFLB1 is '9', not a legacy 处罚类别 code 0-6",
}
_FORCED_PARTY = {"XZCF000007": "02", "XZCF000031": "02"}

Record = dict[str, str | None]


@dataclass(frozen=True)
class Violation:
    name: str  # CF_CFMC
    facts: str  # {when} {place} {site} {value}
    basis: str
    codes: tuple[str, ...]  # legacy 处罚类别 codes
    fine: tuple[int, int, int]  # min, max, step in 元
    parties: tuple[str, ...]  # 01 自然人 02 法人 04 个体工商户


_AIR = "《中华人民共和国大气污染防治法》"
_WATER = "《中华人民共和国水污染防治法》"
_WASTE = "《中华人民共和国固体废物污染环境防治法》"
_NOISE = "《中华人民共和国噪声污染防治法》"
_PERMIT = "《排污许可管理条例》"
_BREACH = "上述行为违反了{law}{article}的规定。"


def _violation(name: str, facts: str, law: str, breached: str, basis: str, codes: tuple[str, ...],
               fine: tuple[int, int, int], parties: tuple[str, ...]) -> Violation:
    facts += _BREACH.format(law=law, article=breached)
    return Violation(name, facts, law + basis, codes, fine, parties)


VIOLATIONS: tuple[Violation, ...] = (
    _violation("超过大气污染物排放标准排放大气污染物",
               "经查，当事人燃气锅炉排气筒自动监测数据显示，{when}氮氧化物小时均值浓度为{value}毫克/立方米，"
               "超过《山东省区域性大气污染物综合排放标准》（DB37/2376-2019）规定的排放限值。",
               _AIR, "第十八条", "第九十九条第（二）项", ("1",), (100000, 300000, 10000), ("02",)),
    _violation("产生含挥发性有机物废气的生产活动未在密闭空间中进行",
               "经查，当事人于{when}在{place}进行喷漆作业，未在密闭空间或者设备中进行，"
               "含挥发性有机物废气未经收集处理直接排放。",
               _AIR, "第四十五条", "第一百零八条第（一）项", ("1",), (20000, 80000, 5000), ("02", "04")),
    _violation("施工工地未采取有效防尘降尘措施",
               "经查，当事人承建的{site}施工工地于{when}未对裸露地面、土方采取覆盖等有效防尘降尘措施，"
               "造成扬尘污染。",
               _AIR, "第六十九条第三款", "第一百一十五条第一款第（一）项", ("1",), (10000, 50000, 5000),
               ("02",)),
    _violation("排放油烟的餐饮服务业经营者未安装油烟净化设施",
               "经查，当事人于{when}在{place}从事餐饮服务，未安装油烟净化设施，油烟直接排放。",
               _AIR, "第八十一条第一款", "第一百一十八条第一款", ("1",), (5000, 20000, 1000), ("04",)),
    _violation("在人口集中地区露天焚烧秸秆、落叶",
               "经查，当事人于{when}在{place}附近露天焚烧秸秆、落叶等产生烟尘污染的物质。",
               _AIR, "第七十七条", "第一百一十九条第一款", ("0", "1"), (500, 2000, 100), ("01",)),
    _violation("超过水污染物排放标准排放水污染物",
               "经查，当事人于{when}经废水总排口排放的废水中化学需氧量浓度为{value}毫克/升，"
               "超过《污水排入城镇下水道水质标准》（GB/T 31962-2015）规定的限值。",
               _WATER, "第十条", "第八十三条第（二）项", ("1",), (100000, 300000, 10000), ("02",)),
    _violation("未按照规定设置危险废物识别标志",
               "经查，当事人于{when}在其危险废物贮存场所贮存的废矿物油、废活性炭等危险废物"
               "未按照规定设置危险废物识别标志。",
               _WASTE, "第七十七条第一款", "第一百一十二条第一款第（一）项、第二款", ("1",),
               (50000, 100000, 5000), ("02", "04")),
    _violation("未取得排污许可证排放污染物",
               "经查，当事人属于实行排污许可重点管理的排污单位，自{when}起未取得排污许可证排放大气污染物。",
               _PERMIT, "第二条第一款", "第三十三条第（一）项", ("1",), (200000, 500000, 10000), ("02",)),
    _violation("夜间在噪声敏感建筑物集中区域进行产生噪声的建筑施工作业",
               "经查，当事人于{when}22时至次日凌晨在{site}工地未取得证明进行混凝土浇筑作业，"
               "该工地位于噪声敏感建筑物集中区域。",
               _NOISE, "第四十三条第一款", "第七十七条第一款第（二）项", ("1",), (10000, 50000, 5000),
               ("02",)),
)
SITES = ("长清大学城综合体", "崮云湖片区安置房", "经十西路道路改造", "文昌街道学校扩建", "平安街道物流园")
MEASURES = (("查封场所、设施或者财物", "查封当事人超标排放的{thing}及其配套生产设施"),
            ("扣押财物", "扣押当事人用于非法转移危险废物的运输车辆1辆"))
THINGS = ("燃煤锅炉1台", "喷漆房1间", "酸洗槽2个", "熔炼炉1台")


def sjc(moment: datetime) -> str:
    return moment.astimezone(CST).strftime(SJC_FORMAT)


def generate(kind: str, rng: random.Random, count: int, today: date) -> dict[str, Record]:
    """``count`` penalties (``XZCF…``) or enforcements (``XZQZ…``) decided in the 90 days before ``today``,
    keyed by internal id, in document order (decision order: *not* the order of ``SJC``)."""
    days = sorted(today - timedelta(days=rng.randint(1, 90)) for _ in range(count))
    make = penalty if kind == "penalty" else enforcement
    records = {}
    for number, decided in enumerate(days, start=1):
        record_id, record = make(rng, number, decided, today)
        records[record_id] = record
    return records


def penalty(rng: random.Random, number: int, decided: date, today: date) -> tuple[str, Record]:
    record_id = f"XZCF{number:06d}"
    party = _FORCED_PARTY.get(record_id) or rng.choices(("01", "02", "04"), weights=(10, 65, 25))[0]
    violation = rng.choice([v for v in VIOLATIONS if party in v.parties])
    subject = _subject(rng, party)
    low, high, step = violation.fine
    fine = syn.yuan(rng.randrange(low, high + 1, step)) if "1" in violation.codes else None
    when = decided - timedelta(days=rng.randint(15, 60))
    facts = violation.facts.format(when=f"{when.year}年{when.month}月{when.day}日", place=subject["address"],
                                   site=rng.choice(SITES), value=rng.randint(120, 480))
    result = "、".join(part for part in ("警告" if "0" in violation.codes else "",
                                          f"罚款人民币{fine}元" if fine else "") if part)
    record: Record = {
        "CF_WSH": f"济环长罚字〔{decided.year}〕{100 + number}号", "CF_CFMC": violation.name,
        "CF_CFLB1": violation.codes[0], "CF_CFLB2": violation.codes[1] if len(violation.codes) > 1 else None,
        "CF_SY": facts, "CF_YJ": violation.basis, **_legacy_subject("CF", subject),
        "CF_JG": f"责令改正违法行为，{result}。", "CF_FKJE": fine, "CF_JDRQ": decided.strftime("%Y/%m/%d"),
        "CF_XZJG": AUTHORITY, "CF_ZT": "1" if rng.random() < 0.05 else "0", "DFBM": DFBM,
        "SJC": _entered(rng, decided, today), "BZ": rng.choice((None, None, None, "当事人已缴纳罚款")),
    }
    _break(record_id, record)
    return record_id, record


def enforcement(rng: random.Random, number: int, decided: date, today: date) -> tuple[str, Record]:
    """A 行政强制措施 (查封/扣押) under 《环境保护法》第二十五条; a few already lifted (解除)."""
    record_id = f"XZQZ{number:06d}"
    subject = _subject(rng, "02")
    measure, content = rng.choice(MEASURES)
    lifted = decided + timedelta(days=rng.randint(10, 30))
    return record_id, {
        "QZ_WSH": f"济环长查封字〔{decided.year}〕{100 + number}号", "QZ_QZLX": "行政强制措施",
        "QZ_CSZL": measure, "QZ_SY": "当事人违反法律法规规定排放污染物，造成或者可能造成严重污染",
        "QZ_YJ": "《中华人民共和国环境保护法》第二十五条；"
                 "《环境保护主管部门实施查封、扣押办法》第四条第（一）项",
        "QZ_NR": content.format(thing=rng.choice(THINGS)),
        **_legacy_subject("QZ", subject, with_id_card=False),
        "QZ_JDRQ": decided.strftime("%Y/%m/%d"),
        "QZ_QXZ": (decided + timedelta(days=30)).strftime("%Y/%m/%d"),
        "QZ_JCRQ": lifted.strftime("%Y/%m/%d") if lifted < today and rng.random() < 0.5 else None,
        "QZ_XZJG": AUTHORITY, "QZ_ZT": "0", "DFBM": DFBM, "SJC": _entered(rng, decided, today), "BZ": None,
    }


def _subject(rng: random.Random, party: str) -> dict[str, Any]:
    subject = syn.make_subject(rng, party)
    while subject.credit_code == syn.USCC_PLACEHOLDER:  # the legacy layout cannot say 个体工商户 without it
        subject = syn.make_subject(rng, party)
    return {"party": party, "name": subject.name, "uscc": subject.credit_code, "rep": subject.legal_rep,
            "id_no": subject.id_no, "address": subject.address}


def _legacy_subject(prefix: str, subject: dict[str, Any], with_id_card: bool = True) -> Record:
    uscc = subject["uscc"]
    fields: Record = {f"{prefix}_XDR_MC": subject["name"], f"{prefix}_XDR_SHXYM": uscc,
                      f"{prefix}_XDR_ZDM": f"{uscc[8:16]}-{uscc[16]}" if subject["party"] == "02" else None,
                      f"{prefix}_FR": subject["rep"]}
    if prefix == "CF":
        fields["CF_XDR_GSDJ"] = None
    if with_id_card:
        fields[f"{prefix}_XDR_SFZ"] = subject["id_no"]
    return fields


def _entered(rng: random.Random, decided: date, today: date) -> str:
    """Entered 0-4 days after the decision (a few later), never after 08:00 today."""
    moment = datetime.combine(decided + timedelta(days=rng.choice((0, 1, 1, 2, 3, 4, 9))), time(8, 30), CST)
    moment += timedelta(minutes=rng.randint(0, 9 * 60), seconds=rng.randint(0, 59))
    return sjc(min(moment, datetime.combine(today, time(8, 0), CST) - timedelta(minutes=rng.randint(1, 600))))


def _break(record_id: str, record: Record) -> None:
    """Apply the documented defect of a BROKEN record (the rest of it stays realistic)."""
    if record_id not in BROKEN:
        return
    record["CF_ZT"] = "0"  # a revoked record is never published, so its defect would not show
    if record_id == "XZCF000007":
        record["CF_XDR_SHXYM"] = syn.corrupt_check_digit(str(record["CF_XDR_SHXYM"]))
    elif record_id == "XZCF000019":
        record["CF_WSH"] = None
    elif record_id == "XZCF000031":
        record["CF_FKJE"] = "壹拾万元"
    elif record_id == "XZCF000043":
        record["CF_JDRQ"] = f"{str(record['CF_JDRQ'])[:4]}/02/30"
    elif record_id == "XZCF000055":
        record["CF_CFLB1"] = "9"


# -- the system's state: what the HTTP layer serves and tests change ----------------------------------

class QueryError(ValueError):
    """A bad request parameter or edit; answered 400."""


class FeedStore:
    """Penalties and enforcements generated from ``seed`` relative to ``today``; thread-safe."""

    def __init__(self, seed: int = 7, penalties: int = 60, enforcements: int = 20,
                 today: date | None = None) -> None:
        self.today = today or datetime.now(CST).date()
        self._rng = random.Random(seed)
        self._lock = threading.RLock()
        self._faults: deque[str] = deque()
        self._records = {kind: generate(kind, self._rng, count, self.today)
                         for kind, count in (("penalty", penalties), ("enforcement", enforcements))}

    @property
    def broken_ids(self) -> dict[str, str]:
        return {rid: why for rid, why in BROKEN.items() if rid in self._records["penalty"]}

    def records(self, kind: str, since: datetime | None = None) -> list[Record]:
        """Copies of ``kind``'s records in document order, ``SJC >= since`` when given."""
        with self._lock:
            return [dict(r) for r in self._records[kind].values()
                    if since is None or parse_since(str(r["SJC"])) >= since]

    def get(self, record_id: str) -> Record | None:
        with self._lock:
            found = next((rs[record_id] for rs in self._records.values() if record_id in rs), None)
            return dict(found) if found is not None else None

    def update(self, record_id: str, **fields: str | None) -> Record:
        """Change a record as a correction would; ``SJC`` moves past every stored one unless given."""
        with self._lock:
            kind = next((k for k, rs in self._records.items() if record_id in rs), None)
            if kind is None:
                raise KeyError(record_id)
            record = self._records[kind][record_id]
            record.update(fields)
            record["SJC"] = fields.get("SJC") or self._bump()
            return dict(record)

    def add(self, kind: str, **fields: str | None) -> Record:
        if kind not in self._records:
            raise QueryError(f"type must be one of {', '.join(self._records)}")
        with self._lock:
            number = len(self._records[kind]) + 1
            make = penalty if kind == "penalty" else enforcement
            record_id, record = make(self._rng, number, datetime.now(CST).date(), self.today)
            record.update(fields)
            record["SJC"] = fields.get("SJC") or self._bump()
            self._records[kind][record_id] = record
            return {"_id": record_id, **record}

    def inject_fault(self, kind: str, times: int = 1) -> None:
        if kind not in FAULTS:
            raise QueryError(f"fault must be one of {', '.join(FAULTS)}")
        with self._lock:
            self._faults.extend([kind] * times)

    def take_fault(self) -> str | None:
        with self._lock:
            return self._faults.popleft() if self._faults else None

    def _bump(self) -> str:
        stamps = [parse_since(str(r["SJC"])) for rs in self._records.values() for r in rs.values()]
        now = datetime.now(CST).replace(microsecond=0, tzinfo=None)
        return (max([now, *(s + timedelta(seconds=1) for s in stamps)])).strftime(SJC_FORMAT)


def parse_since(text: str) -> datetime:
    """A naive Beijing-time datetime from ``SJC`` style or ISO text (an offset is converted)."""
    try:
        moment = datetime.fromisoformat(text.strip())
    except ValueError:
        raise QueryError("updated_since must look like 2026-05-01 08:30:00") from None
    return moment.astimezone(CST).replace(tzinfo=None) if moment.tzinfo else moment
