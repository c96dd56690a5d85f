"""The records of 长清区市场监督管理局's case and licensing system, in its own field names.

Penalty item fields: ``id decision_no party_name party_type credit_code reg_no legal_rep
legal_rep_id_type legal_rep_id_no id_type id_no address illegal_type facts basis penalty_types content
fine_yuan confiscated_yuan license_no severity decided_at valid_until status created_at updated_at``.
Licence item fields: ``id decision_no permit_name permit_category certificate_name permit_no content
party_name party_type credit_code reg_no legal_rep legal_rep_id_type legal_rep_id_no id_type id_no
address decided_at valid_from valid_to status created_at updated_at``.

Department conventions (what a mapping must translate): ``party_type`` 01 自然人 / 02 法人 / 04 个体工商户;
``id_type`` 01 身份证; ``permit_category`` 01 普通 … 06 其他; money in 元 as strings (``"2000.00"``);
dates ``YYYY-MM-DD``; ``valid_to``/``valid_until`` ``2099-12-31`` = 长期; ``status`` 正常/撤销 (penalties),
有效/注销 (licences); ``updated_at`` ISO-8601 with ``+08:00``.

Deliberately broken records (by position, whatever the seed; see :data:`BROKEN`): P000008 wrong USCC
check digit, P000020 empty party name, P000032 fine ``"两千元"``, P000044 served with ``"id": null``,
L000012 ``valid_to`` before ``valid_from``, L000024 自然人 ID number with a wrong check digit.
Legitimate edge cases that are *not* defects: 个体工商户 with the placeholder USCC ``00000000000000000X``
plus a ``reg_no``; a few 撤销/注销 records; some records entered 12 days after the decision (late for
the 7-working-day rule).
"""

from __future__ import annotations

import random
from dataclasses import dataclass
from datetime import date, datetime, time, timedelta, timezone
from decimal import Decimal
from typing import Any

from creditsync.simulators import synthetic as syn

CST = timezone(timedelta(hours=8))
TIMESTAMP = "%Y-%m-%dT%H:%M:%S+08:00"
FOREVER = "2099-12-31"

BROKEN: dict[str, str] = {
    "P000008": "credit_code has a wrong check digit (统一社会信用代码校验位错误)",
    "P000020": "party_name is empty (行政相对人名称为空)",
    "P000032": "fine_yuan is not a number: '两千元'",
    "P000044": 'served with "id": null (malformed item: no source id)',
    "L000012": "valid_to is before valid_from (有效期至早于有效期自)",
    "L000024": "id_no fails the GB 11643 checksum (自然人身份证号码校验位错误)",
}
_FORCED_PARTY = {"P000008": "02", "P000032": "04", "L000012": "02", "L000024": "01"}
NULL_ID = frozenset({"P000044"})


@dataclass(frozen=True)
class PenaltyTemplate:
    illegal_type: str
    facts: str  # {when} {place} {product} {value} {gain} {serial}
    basis: str
    penalty_types: tuple[str, ...]
    fine: tuple[int, int, int]  # min, max, step in 元; (0, 0, 1) = no fine
    parties: tuple[str, ...]
    severity: str  # 轻微 / 一般 / 严重 (信用修复管理办法 display classes)
    products: tuple[str, ...]
    revokes: str | None = None  # certificate 吊销 by this decision


_FOOD = ("酸奶", "火腿肠", "方便面", "饼干", "瓶装饮料", "速冻水饺", "散装月饼", "卤肉制品")
PENALTIES: tuple[PenaltyTemplate, ...] = (
    PenaltyTemplate(
        "经营超过保质期的食品",
        "经查，当事人于{when}在其经营场所（{place}）销售超过保质期的{product}，货值金额{value}元，违法所得"
        "{gain}元。上述行为违反了《中华人民共和国食品安全法》第三十四条第（十）项的规定。",
        "《中华人民共和国食品安全法》第一百二十四条第一款第（五）项；《中华人民共和国行政处罚法》第三十二条第（一）项",
        ("没收违法所得", "罚款"), (5000, 20000, 1000), ("02", "04"), "一般", _FOOD),
    PenaltyTemplate(
        "未取得食品经营许可从事食品经营活动",
        "经查，当事人自{when}起未取得食品经营许可，在{place}从事{product}经营活动，货值金额{value}元，违法所得"
        "{gain}元。上述行为违反了《中华人民共和国食品安全法》第三十五条第一款的规定。",
        "《中华人民共和国食品安全法》第一百二十二条第一款",
        ("没收违法所得", "没收非法财物", "罚款"), (50000, 50000, 1), ("01", "04"), "一般", _FOOD),
    PenaltyTemplate(
        "未按规定建立并遵守进货查验记录制度",
        "经查，当事人于{when}购进{product}一批，未查验供货者的许可证和食品出厂检验合格证，亦未如实记录进货"
        "信息。上述行为违反了《中华人民共和国食品安全法》第五十三条第一款、第二款的规定。",
        "《中华人民共和国食品安全法》第一百二十六条第一款第（三）项",
        ("警告",), (0, 0, 1), ("02", "04"), "轻微", _FOOD),
    PenaltyTemplate(
        "经营标签不符合规定的预包装食品",
        "经查，当事人于{when}销售的{product}标签未标注生产日期，经责令改正后逾期未改正。上述行为违反了《中华人民共和国"
        "食品安全法》第六十七条第一款的规定。",
        "《中华人民共和国食品安全法》第一百二十五条第二款",
        ("罚款",), (500, 2000, 500), ("02", "04"), "轻微", _FOOD),
    PenaltyTemplate(
        "经营者不明码标价",
        "经查，当事人于{when}在{place}销售{product}时未按规定明码标价。上述行为违反了《中华人民共和国价格法》第十三条"
        "第一款的规定。",
        "《中华人民共和国价格法》第四十二条；《价格违法行为行政处罚规定》第十三条第（一）项",
        ("罚款",), (500, 3000, 500), ("01", "02", "04"), "轻微", (*_FOOD, "蔬菜", "水果")),
    PenaltyTemplate(
        "使用未按照规定申请检定的计量器具",
        "经查，当事人于{when}在经营场所使用的1台电子计价秤（出厂编号{serial}）属于强制检定的工作计量器具，未按照规定"
        "申请周期检定。上述行为违反了《中华人民共和国计量法》第九条第一款的规定。",
        "《中华人民共和国计量法实施细则》第四十三条",
        ("罚款",), (200, 1000, 100), ("01", "02", "04"), "轻微", ("电子计价秤",)),
    PenaltyTemplate(
        "使用未经定期检验的特种设备",
        "经查，当事人使用的1台{product}（设备代码{serial}）检验有效期至{when}，超期未申请定期检验仍继续使用。上述"
        "行为违反了《中华人民共和国特种设备安全法》第四十条第三款的规定。",
        "《中华人民共和国特种设备安全法》第八十四条第（一）项",
        ("罚款",), (30000, 50000, 5000), ("02",), "严重", ("乘客电梯", "叉车", "承压蒸汽锅炉")),
    PenaltyTemplate(
        "发布含有绝对化用语的广告",
        "经查，当事人自{when}起在其微信公众号发布的{product}广告中使用“最佳”“国家级”等用语。上述行为违反了《中华人民"
        "共和国广告法》第九条第（三）项的规定。",
        "《中华人民共和国广告法》第五十七条第（一）项；《中华人民共和国行政处罚法》第三十二条第（五）项",
        ("罚款",), (10000, 50000, 5000), ("02", "04"), "一般", ("保健食品", "月饼礼盒", "白酒")),
    PenaltyTemplate(
        "一年内累计三次因违法受到罚款处罚",
        "经查，当事人在一年内累计三次因违反《中华人民共和国食品安全法》受到罚款处罚，最近一次为{when}。",
        "《中华人民共和国食品安全法》第一百三十四条",
        ("吊销许可证件",), (0, 0, 1), ("02", "04"), "严重", _FOOD, revokes="食品经营许可证"),
)


@dataclass(frozen=True)
class LicenseTemplate:
    permit_name: str
    category: str  # 01 普通 02 特许 03 认可 04 核准 05 登记 06 其他
    certificate: str
    contents: tuple[str, ...]
    years: int  # 0 = 长期
    parties: tuple[str, ...]
    number: str  # JY / XCY / USCC / TZ / ZY


LICENSES: tuple[LicenseTemplate, ...] = (
    LicenseTemplate("食品经营许可决定书", "01", "食品经营许可证", (
        "预包装食品（含冷藏冷冻食品）销售，散装食品（不含冷藏冷冻食品）销售",
        "热食类食品制售，冷食类食品制售",
        "预包装食品（不含冷藏冷冻食品）销售，保健食品销售",
    ), 5, ("02", "04"), "JY"),
    LicenseTemplate("小餐饮经营许可决定书", "01", "小餐饮经营许可证", (
        "小餐饮（热食类食品制售）",
        "小餐饮（热食类食品制售，冷食类食品制售）",
    ), 3, ("04",), "XCY"),
    LicenseTemplate("准予设立登记通知书", "05", "营业执照", (
        "一般项目：日用百货销售；食品销售（仅销售预包装食品）",
        "一般项目：餐饮管理；许可项目：餐饮服务",
        "一般项目：农副产品销售；食用农产品零售",
    ), 0, ("02", "04"), "USCC"),
    LicenseTemplate("特种设备使用登记", "05", "特种设备使用登记证",
                    ("乘客电梯使用登记", "场（厂）内专用机动车辆（叉车）使用登记"), 0, ("02",), "TZ"),
    LicenseTemplate("特种设备作业人员资格认定", "03", "特种设备安全管理和作业人员证",
                    ("作业项目：叉车司机（N1）", "作业项目：电梯修理（T）", "作业项目：工业锅炉司炉（G1）"),
                    4, ("01",), "ZY"),
)


def timestamp(moment: datetime) -> str:
    return moment.astimezone(CST).strftime(TIMESTAMP)


def generate(kind: str, rng: random.Random, count: int, today: date) -> list[dict[str, Any]]:
    """``count`` records of ``kind`` (``penalty``/``license``) decided in the 90 days before ``today``."""
    days = sorted(today - timedelta(days=rng.randint(1, 90)) for _ in range(count))
    records = [make_record(kind, rng, number, decided, today) for number, decided in enumerate(days, start=1)]
    for record in records:
        _break(record)
    return records


def make_record(kind: str, rng: random.Random, number: int, decided: date, today: date) -> dict[str, Any]:
    """Record number ``number`` of ``kind`` (ids ``P000001`` / ``L000001``), decided on ``decided``."""
    make = _penalty if kind == "penalty" else _license
    return make(rng, number, decided, today)


def _record_id(kind: str, number: int) -> str:
    return f"{'P' if kind == 'penalty' else 'L'}{number:06d}"


def _party(rng: random.Random, record_id: str, weights: tuple[int, int, int]) -> str:
    forced = _FORCED_PARTY.get(record_id)
    return forced or rng.choices(("01", "02", "04"), weights=weights)[0]


def _subject_fields(subject: syn.Subject) -> dict[str, Any]:
    organisation = subject.party_type != "01"
    return {
        "party_name": subject.name, "party_type": subject.party_type, "credit_code": subject.credit_code,
        "reg_no": subject.reg_no, "legal_rep": subject.legal_rep,
        "legal_rep_id_type": "01" if organisation else None, "legal_rep_id_no": subject.legal_rep_id_no,
        "id_type": subject.id_type, "id_no": subject.id_no, "address": subject.address,
    }


def _times(rng: random.Random, decided: date, today: date) -> dict[str, str]:
    """Entered 0-4 days after the decision (a few much later: late publication), never after 08:00 today."""
    delay = rng.choice((0, 0, 1, 1, 2, 3, 4, 12))
    moment = datetime.combine(decided + timedelta(days=delay), time(8, 30), CST)
    moment += timedelta(minutes=rng.randint(0, 9 * 60), seconds=rng.randint(0, 59))
    moment = min(moment, datetime.combine(today, time(8, 0), CST) - timedelta(minutes=rng.randint(1, 600)))
    stamp = timestamp(moment)
    return {"decided_at": decided.isoformat(), "created_at": stamp, "updated_at": stamp}


def _penalty(rng: random.Random, number: int, decided: date, today: date) -> dict[str, Any]:
    record_id = _record_id("penalty", number)
    subject = syn.make_subject(rng, _party(rng, record_id, (15, 45, 40)))
    fines_only = record_id == "P000032"  # its broken fine needs a template that fines
    choices = [t for t in PENALTIES if subject.party_type in t.parties and (t.fine[0] or not fines_only)]
    template = rng.choice(choices)
    amounts = _amounts(rng, template)
    when = decided - timedelta(days=rng.randint(10, 60))
    texts = {"when": f"{when.year}年{when.month}月{when.day}日", "place": subject.address,
             "product": rng.choice(template.products), "serial": str(rng.randrange(10**9, 10**10)), **amounts}
    licence = f"{template.revokes} {_permit_no(rng, 'JY', subject)}" if template.revokes else None
    lasting = {"轻微": 90, "一般": 365, "严重": 3 * 365}[template.severity]
    return {
        "id": record_id, "decision_no": syn.decision_no("penalty", decided.year, 100 + number),
        **_subject_fields(subject),
        "illegal_type": template.illegal_type, "facts": template.facts.format(**texts),
        "basis": template.basis,
        "penalty_types": list(template.penalty_types), "content": _content(template, amounts, licence),
        "fine_yuan": amounts["fine"] or None,
        "confiscated_yuan": amounts["gain"] if "没收违法所得" in template.penalty_types else None,
        "license_no": licence, "severity": template.severity,
        **_times(rng, decided, today), "valid_until": (decided + timedelta(days=lasting)).isoformat(),
        "status": "撤销" if rng.random() < 0.04 else "正常",
    }


def _amounts(rng: random.Random, template: PenaltyTemplate) -> dict[str, str]:
    low, high, step = template.fine
    fine = syn.yuan(rng.randrange(low, high + 1, step)) if low else ""
    value = Decimal(rng.randint(50, 5000)) / 10
    gain = syn.yuan(value * Decimal(rng.choice(("0.2", "0.3", "0.5"))))
    return {"fine": fine, "value": syn.yuan(value), "gain": gain}


def _content(template: PenaltyTemplate, amounts: dict[str, str], licence: str | None) -> str:
    parts: list[str] = []
    for kind in template.penalty_types:
        parts.append({"警告": "给予警告", "没收违法所得": f"没收违法所得{amounts['gain']}元",
                      "没收非法财物": "没收违法经营的食品",
                      "罚款": f"{'并处' if parts else ''}罚款{amounts['fine']}元",
                      "吊销许可证件": f"吊销{licence}"}[kind])
    return "，".join(parts) + "。"


def _license(rng: random.Random, number: int, decided: date, today: date) -> dict[str, Any]:
    record_id = _record_id("license", number)
    subject = syn.make_subject(rng, _party(rng, record_id, (10, 45, 45)))
    needs_term = record_id == "L000012"
    choices = [t for t in LICENSES if subject.party_type in t.parties and (t.years or not needs_term)]
    template = rng.choice(choices)
    valid_to = _add_years(decided, template.years) - timedelta(days=1)
    return {
        "id": record_id, "decision_no": syn.decision_no("license", decided.year, 100 + number),
        "permit_name": template.permit_name, "permit_category": template.category,
        "certificate_name": template.certificate, "permit_no": _permit_no(rng, template.number, subject),
        "content": rng.choice(template.contents), **_subject_fields(subject), **_times(rng, decided, today),
        "valid_from": decided.isoformat(), "valid_to": valid_to.isoformat() if template.years else FOREVER,
        "status": "注销" if rng.random() < 0.05 else "有效",
    }


def _add_years(day: date, years: int) -> date:
    try:
        return day.replace(year=day.year + years)
    except ValueError:  # 29 February
        return day.replace(year=day.year + years, day=28)


def _permit_no(rng: random.Random, style: str, subject: syn.Subject) -> str:
    digits = f"{rng.randrange(10**6):06d}"
    if style == "JY":
        return f"JY{rng.choice('12')}{syn.CHANGQING}{digits}{rng.randrange(10)}"
    if style == "USCC" and subject.credit_code:
        return subject.credit_code
    if style == "TZ":
        return f"梯11鲁A{digits[:5]}({rng.choice(('24', '25', '26'))})"
    return f"{style}{syn.CHANGQING}{digits}"


def _break(record: dict[str, Any]) -> None:
    """Apply the documented defect of a BROKEN record (the rest of it stays realistic)."""
    record_id = record["id"]
    if record_id == "P000008":
        record["credit_code"] = syn.corrupt_check_digit(record["credit_code"])
    elif record_id == "P000020":
        record["party_name"] = ""
    elif record_id == "P000032":
        record["content"] = record["content"].replace(f"罚款{record['fine_yuan']}元", "罚款两千元")
        record["fine_yuan"] = "两千元"
    elif record_id == "L000012":
        record["valid_to"] = (date.fromisoformat(record["valid_from"]) - timedelta(days=30)).isoformat()
    elif record_id == "L000024":
        number = record["id_no"]
        record["id_no"] = number[:-1] + ("0" if number[-1] != "0" else "1")


def break_share(
    records: dict[str, dict[str, dict[str, Any]]], rng: random.Random, share: float
) -> dict[str, str]:
    """Break ``share`` of each kind's records (beyond :data:`BROKEN`) with defects a gateway must refuse;
    returns id → what is wrong. Chosen by ``rng``, so the same seed breaks the same records."""
    broken: dict[str, str] = {}
    for kind, by_id in records.items():
        candidates = sorted(rid for rid in by_id if rid not in BROKEN)
        for rid in rng.sample(candidates, round(share * len(candidates))):
            broken[rid] = _break_one(kind, by_id[rid], rng)
    return broken


def _break_one(kind: str, record: dict[str, Any], rng: random.Random) -> str:
    code = record.get("credit_code")
    if rng.random() < 0.5 and code and code != syn.USCC_PLACEHOLDER:
        record["credit_code"] = syn.corrupt_check_digit(code)
        return BROKEN["P000008"]
    if kind == "license" and rng.random() < 0.5:
        record["valid_to"] = (date.fromisoformat(record["valid_from"]) - timedelta(days=30)).isoformat()
        return BROKEN["L000012"]
    record["party_name"] = ""
    return BROKEN["P000020"]
