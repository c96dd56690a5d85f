"""The rows of 长清区应急管理局's case and inspection database, in its own column names.

``xzcf_ajxx`` (行政处罚案件信息), key ``ajbh`` 案件编号, watermark ``gxsj`` 更新时间:
``ajbh cfjdswh dsr_mc dsr_lx tyshxydm gszch fddbr fddbr_zjlx fddbr_zjhm dsr_zjlx dsr_zjhm dsr_dz wfxw
wfss cfyj cfzl cfnr fkje_yuan mswfsd_yuan zkdx cfrq cfyxq ajzt bz lrsj gxsj`` (plus an ``id`` serial).

``xzjc_jl`` (行政检查记录), append-only, watermark ``id``: ``jcbh rwbh jcsx jcfs jcdx_mc jcdx_lx
jcdx_tyshxydm jcrq jcjg jcjg_sm ssjg_mc ajbh gxsj``.

Department conventions (what a mapping must translate): ``dsr_lx`` 单位 / 个体工商户 / 个人; ``cfzl``
处罚种类 joined with ``、`` (``没收违法所得、罚款``); money in 元 (``NUMERIC(14,2)``); ``cfyxq`` NULL = 长期;
``ajzt`` 已结案 / 已撤销; ``jcfs`` 双随机 / 专项 / 日常 (``rwbh`` 任务编号 only for 双随机 and 专项);
timestamps are local time (CST) without an offset.

Deliberately broken rows (by position, whatever the seed; see :data:`BROKEN_PENALTIES`): case 6 wrong
USCC check digit, 13 decision date 30 days in the future, 21 ``cfzl`` includes 责令限期整改 (a
corrective order, not a 处罚种类), 28 罚款 without ``fkje_yuan``, 34 ``gxsj`` NULL (the source adapter
flags it). Inspections: 15 ``jcrq`` NULL, 40 ``jcfs`` 抽查 (not in the value set). Legitimate edge
cases: cases 9-11 were imported in one batch and share one ``gxsj``; case 17 is 已撤销 (revoked).
"""

from __future__ import annotations

import random
from dataclasses import dataclass, replace
from datetime import date, datetime, time, timedelta, timezone
from decimal import Decimal
from typing import Any

from creditsync.simulators import synthetic as syn

CST = timezone(timedelta(hours=8))
AUTHORITY = "济南市长清区应急管理局"
AUTHORITY_USCC = syn.fixed_uscc("1", "1", syn.CHANGQING, "MB285643")  # 11370113MB2856435E
PARTY_TYPES = {"02": "单位", "04": "个体工商户", "01": "个人"}
BROKEN_PENALTIES: dict[str, str] = {
    "YJCF-0006": "tyshxydm has a wrong check digit (统一社会信用代码校验位错误)",
    "YJCF-0013": "cfrq is 30 days in the future (处罚决定日期晚于当前日期)",
    "YJCF-0021": "cfzl includes 责令限期整改, not a 处罚种类 (处罚类别不在代码表中)",
    "YJCF-0028": "cfzl includes 罚款 but fkje_yuan is NULL (罚款金额为空)",
    "YJCF-0034": "gxsj is NULL (no watermark: the adapter flags the row)",
}
BROKEN_INSPECTIONS: dict[str, str] = {
    "YJJC-0015": "jcrq is NULL (检查日期为空)",
    "YJJC-0040": "jcfs is 抽查, not 双随机/专项/日常",
}
REVOKED = "YJCF-0017"
_FORCED_PARTY = {"YJCF-0006": "02", "YJCF-0028": "02"}  # defects that need an organisation with a fine
SHARED_BATCH = ("YJCF-0009", "YJCF-0010", "YJCF-0011")
_ORG_PLACES = ("化工", "建材", "机械制造", "石材加工", "物流", "钢结构", "包装材料", "燃气", "新材料科技")
_SHOPS = ("烟花爆竹零售点", "五金店", "液化气供应站", "汽车修理厂", "农资店")
_SAFETY_LAW = "《中华人民共和国安全生产法》"


@dataclass(frozen=True)
class Case:
    wfxw: str  # 违法行为类型
    violated: str  # 违反的条款
    basis: str  # 处罚依据
    kinds: tuple[str, ...]  # 处罚种类
    fine: tuple[int, int, int]  # min, max, step in 元; (0, 0, 1) = no fine
    parties: tuple[str, ...]  # internal party codes 02 单位 / 04 个体 / 01 个人
    revokes: str | None = None


CASES: tuple[Case, ...] = (
    Case("未按照规定对从业人员进行安全生产教育和培训", f"{_SAFETY_LAW}第二十八条第一款",
         f"{_SAFETY_LAW}第九十七条第（三）项", ("罚款",), (10000, 50000, 5000), ("02",)),
    Case("未如实记录事故隐患排查治理情况", f"{_SAFETY_LAW}第四十一条第二款",
         f"{_SAFETY_LAW}第九十七条第（五）项", ("罚款",), (10000, 30000, 5000), ("02", "04")),
    Case("未在有较大危险因素的生产经营场所设置明显的安全警示标志", f"{_SAFETY_LAW}第三十五条",
         f"{_SAFETY_LAW}第九十九条第（一）项", ("罚款",), (5000, 30000, 5000), ("02", "04")),
    Case("未对安全设备进行经常性维护、保养和定期检测", f"{_SAFETY_LAW}第三十六条第一款",
         f"{_SAFETY_LAW}第九十九条第（三）项", ("罚款",), (10000, 50000, 5000), ("02",)),
    Case("特种作业人员未取得相应资格上岗作业", f"{_SAFETY_LAW}第三十条第一款",
         f"{_SAFETY_LAW}第九十七条第（七）项", ("罚款",), (20000, 60000, 10000), ("02",)),
    Case("主要负责人未履行安全生产管理职责", f"{_SAFETY_LAW}第二十一条",
         f"{_SAFETY_LAW}第九十四条第一款", ("罚款",), (20000, 50000, 10000), ("01",)),
    Case("未采取措施消除事故隐患", f"{_SAFETY_LAW}第四十一条第二款",
         f"{_SAFETY_LAW}第一百零二条", ("罚款", "责令停产停业"), (30000, 50000, 10000), ("02",)),
    Case("违反操作规程作业", "《安全生产违法行为行政处罚办法》第四十五条",
         "《安全生产违法行为行政处罚办法》第四十五条第（一）项", ("警告",), (0, 0, 1), ("01",)),
    Case("未取得烟花爆竹零售许可证经营烟花爆竹", "《烟花爆竹安全管理条例》第十九条第一款",
         "《烟花爆竹安全管理条例》第三十六条第二款", ("没收违法所得", "没收非法财物", "罚款"),
         (1000, 5000, 1000), ("04", "01")),
    Case("不再具备危险化学品经营安全条件", "《危险化学品经营许可证管理办法》第六条",
         "《危险化学品经营许可证管理办法》第二十二条", ("吊销许可证件",), (0, 0, 1), ("02",),
         revokes="危险化学品经营许可证"),
)

INSPECTION_ITEMS = ("危险化学品经营单位安全生产条件检查", "工贸企业粉尘防爆安全检查", "有限空间作业安全检查",
                    "烟花爆竹经营单位安全检查", "安全生产教育培训情况检查", "事故隐患排查治理情况检查",
                    "应急预案编制和演练情况检查", "特种作业人员持证上岗情况检查")
RESULTS = ("未发现问题", "发现问题，已责令限期整改", "发现问题，已立案查处")


def local_now() -> datetime:
    """Wall-clock time in 济南 without an offset, as the department's system stores it."""
    return datetime.now(CST).replace(tzinfo=None)


def penalty_key(number: int) -> str:
    return f"YJCF-{number:04d}"


def inspection_key(number: int) -> str:
    return f"YJJC-{number:04d}"


def generate_penalties(rng: random.Random, count: int, today: date) -> list[dict[str, Any]]:
    """``count`` cases decided in the 120 days before ``today``, ascending by ``gxsj``."""
    days = sorted(today - timedelta(days=rng.randint(2, 120)) for _ in range(count))
    rows = [make_penalty(rng, number, day, today) for number, day in enumerate(days, start=1)]
    batch = [row for row in rows if row["ajbh"] in SHARED_BATCH]
    for row in batch:  # one import job wrote these three rows in the same instant
        row["gxsj"] = row["lrsj"] = max(r["gxsj"] for r in batch)
    for row in rows:
        _break_penalty(row, today)
    return rows


def make_penalty(rng: random.Random, number: int, decided: date, today: date) -> dict[str, Any]:
    """Case ``number`` decided on ``decided``, entered 0-3 days later but before 07:00 ``today``."""
    key = penalty_key(number)
    party = _FORCED_PARTY.get(key) or rng.choices(("02", "04", "01"), weights=(55, 25, 20))[0]
    case = rng.choice([c for c in CASES if party in c.parties and (c.fine[0] or key not in _FORCED_PARTY)])
    subject = _subject(rng, party)
    fine = Decimal(rng.randrange(case.fine[0], case.fine[1] + 1, case.fine[2])) if case.fine[0] else None
    gain = Decimal(rng.randint(200, 3000)) if "没收违法所得" in case.kinds else None
    number_text = f"鲁济长危化经字〔{decided.year - 2}〕{rng.randrange(10**5):06d}"
    licence = f"{case.revokes} {number_text}" if case.revokes else None
    stamp = datetime.combine(decided, time(9)) + timedelta(days=rng.choice((0, 1, 1, 2, 3)),
                                                           minutes=rng.randint(0, 480))
    stamp = min(stamp, datetime.combine(today, time(7)) - timedelta(minutes=rng.randint(1, 600)))
    return {
        "ajbh": key, "cfjdswh": f"长应急罚〔{decided.year}〕{number}号",
        **_subject_columns(subject), "wfxw": case.wfxw, "wfss": _facts(rng, case, subject, decided),
        "cfyj": case.basis, "cfzl": "、".join(case.kinds), "cfnr": _content(case, fine, gain, licence),
        "fkje_yuan": fine, "mswfsd_yuan": gain, "zkdx": licence, "cfrq": decided,
        "cfyxq": None if case.revokes else decided + timedelta(days=365),
        "ajzt": "已撤销" if key == REVOKED else "已结案", "bz": None,
        "lrsj": stamp, "gxsj": stamp,
    }


def _subject(rng: random.Random, party: str) -> syn.Subject:
    subject = syn.make_subject(rng, party)
    if party == "02":
        return replace(subject, name=f"济南{rng.choice(syn.SHOP_MARKS)}{rng.choice(_ORG_PLACES)}有限公司")
    if party == "04":
        return replace(subject, name=f"济南市长清区{rng.choice(syn.SHOP_MARKS)}{rng.choice(_SHOPS)}")
    return subject


def _subject_columns(subject: syn.Subject) -> dict[str, Any]:
    person = subject.party_type == "01"
    return {
        "dsr_mc": subject.name, "dsr_lx": PARTY_TYPES[subject.party_type], "tyshxydm": subject.credit_code,
        "gszch": subject.reg_no, "fddbr": subject.legal_rep, "fddbr_zjlx": None if person else "身份证",
        "fddbr_zjhm": subject.legal_rep_id_no, "dsr_zjlx": "身份证" if person else None,
        "dsr_zjhm": subject.id_no, "dsr_dz": subject.address,
    }


def _facts(rng: random.Random, case: Case, subject: syn.Subject, decided: date) -> str:
    found = decided - timedelta(days=rng.randint(15, 45))
    return (f"{found.year}年{found.month}月{found.day}日，执法人员对{subject.name}（{subject.address}）"
            f"进行检查时发现，当事人存在{case.wfxw}的行为。上述行为违反了{case.violated}的规定。")


def _content(case: Case, fine: Decimal | None, gain: Decimal | None, licence: str | None) -> str:
    words = {"警告": "给予警告", "罚款": f"罚款人民币{fine}元", "没收违法所得": f"没收违法所得{gain}元",
             "没收非法财物": "没收非法经营的烟花爆竹", "责令停产停业": "责令停产停业整顿",
             "吊销许可证件": f"吊销{licence}"}
    return "，".join(words[kind] for kind in case.kinds) + "。"


def _break_penalty(row: dict[str, Any], today: date) -> None:
    """Apply the documented defect of a broken row (the rest of it stays realistic)."""
    key = row["ajbh"]
    if key == "YJCF-0006":
        row["tyshxydm"] = syn.corrupt_check_digit(row["tyshxydm"])
    elif key == "YJCF-0013":
        row["cfrq"] = today + timedelta(days=30)
    elif key == "YJCF-0021":
        row["cfzl"] = row["cfzl"] + "、责令限期整改"
    elif key == "YJCF-0028":
        row["fkje_yuan"] = None
    elif key == "YJCF-0034":
        row["gxsj"] = None


def generate_inspections(rng: random.Random, count: int, today: date) -> list[dict[str, Any]]:
    """``count`` inspections in the 120 days before ``today``, in the order they were entered."""
    days = sorted(today - timedelta(days=rng.randint(1, 120)) for _ in range(count))
    rows = [make_inspection(rng, number, day) for number, day in enumerate(days, start=1)]
    for row in rows:
        if row["jcbh"] == "YJJC-0015":
            row["jcrq"] = None
        elif row["jcbh"] == "YJJC-0040":
            row["jcfs"] = "抽查"
    return rows


def make_inspection(rng: random.Random, number: int, day: date) -> dict[str, Any]:
    way = rng.choices(("双随机", "专项", "日常"), weights=(4, 3, 3))[0]
    task = {"双随机": f"SSJ-{syn.CHANGQING}-{day.year}-{rng.randint(1, 24):03d}",
            "专项": f"ZX-{day.year}-{rng.randint(1, 8):02d}", "日常": None}[way]
    subject = _subject(rng, rng.choice(("02", "02", "04")))
    result = rng.choices(RESULTS, weights=(60, 32, 8))[0]
    notes = {RESULTS[0]: "现场检查未发现安全生产违法行为。",
             RESULTS[1]: "发现安全警示标志缺失等隐患2处，已下达责令限期整改指令书。",
             RESULTS[2]: "发现违法行为，已立案调查。"}[result]
    return {
        "jcbh": inspection_key(number), "rwbh": task, "jcsx": rng.choice(INSPECTION_ITEMS), "jcfs": way,
        "jcdx_mc": subject.name, "jcdx_lx": PARTY_TYPES[subject.party_type],
        "jcdx_tyshxydm": subject.credit_code, "jcrq": day, "jcjg": result, "jcjg_sm": notes,
        "ssjg_mc": AUTHORITY, "ajbh": None, "gxsj": datetime.combine(day, time(17)),
    }
