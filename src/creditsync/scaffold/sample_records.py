"""Realistic canonical sample records for a new department's fixtures: valid by construction (check
digits computed), plus one deliberately broken record the conformance suite expects to be refused.

Every category shares the subject block and the authority / data-source fields (named by the
category's ``keys`` in its schema YAML); a maker per category adds the category's own fields. A
category without a maker is refused with a clear message rather than given invalid samples.
"""

from __future__ import annotations

import random
from collections.abc import Callable
from datetime import date, timedelta
from decimal import Decimal
from typing import Any

from creditsync.exceptions import ConfigurationError
from creditsync.schema import CategorySpec, format_decimal, get_category, validate_record
from creditsync.simulators import synthetic as syn

BROKEN_KEY = "S0004"  # the sample record with a wrong USCC check digit

Maker = Callable[[random.Random, int, date], dict[str, Any]]


def sample_records(category: str, authority: str, authority_code: str, count: int = 4,
                   seed: int = 1) -> list[dict[str, Any]]:
    """``count`` records keyed S0001…; the last one is broken on purpose."""
    spec = get_category(category)  # ConfigurationError for a category the schema does not know
    maker = MAKERS.get(category)
    if maker is None:
        raise ConfigurationError(f"no sample records for category {category!r} yet: add a maker to "
                                 "creditsync/scaffold/sample_records.py (MAKERS)")
    rng = random.Random(seed)
    records = []
    for n in range(1, count + 1):
        record = {**_subject(rng, spec.prefix), **_authority(spec, authority, authority_code),
                  **maker(rng, n, _decided(rng))}
        problems = validate_record(category, record).errors
        assert not problems, problems  # a sample that is not valid would teach the wrong lesson
        records.append({"id": f"S{n:04d}", "updated_at": f"2026-01-{n:02d}T09:00:00+08:00", **record})
    uscc = f"{spec.prefix}_XDR_SHXYM"
    records[-1][uscc] = syn.corrupt_check_digit(records[-1][uscc])
    return records


def _subject(rng: random.Random, prefix: str) -> dict[str, Any]:
    return {f"{prefix}_XDR_MC": syn.make_company_name(rng), f"{prefix}_XDR_LB": "法人及非法人组织",
            f"{prefix}_XDR_SHXYM": syn.make_uscc(rng), f"{prefix}_FRDB": syn.make_person_name(rng)}


def _authority(spec: CategorySpec, name: str, code: str) -> dict[str, str]:
    keys = spec.keys
    pairs = ((keys.authority_name, name), (keys.authority_code, code),
             (keys.source_unit, name), (keys.source_unit_code, code))
    return {field: value for field, value in pairs if field is not None}


def _decided(rng: random.Random) -> date:
    return date.today() - timedelta(days=rng.randint(3, 60))


def _wan(yuan: int) -> str:
    """元 → 万元 text, exactly (2000 → "0.2")."""
    return format_decimal(Decimal(yuan) / 10000)


def _penalty(rng: random.Random, n: int, decided: date) -> dict[str, Any]:
    fine = rng.choice((2000, 5000, 10000, 30000))
    return {"CF_WSH": f"长样罚〔2026〕{n}号", "CF_WFXW": "未按规定公示信息",
            "CF_SY": "经查，当事人未按规定公示年度报告信息。", "CF_YJ": "《企业信息公示暂行条例》第十八条",
            "CF_CFLB": "罚款", "CF_NR": f"罚款{fine}元。", "CF_NR_FK": _wan(fine),
            "CF_JDRQ": decided.isoformat(), "CF_YXQ": "2099-12-31"}


def _license(rng: random.Random, n: int, decided: date) -> dict[str, Any]:
    return {"XK_XKWS": "准予行政许可决定书", "XK_WSH": f"长样许〔2026〕{n}号",
            "XK_XKLB": "普通", "XK_NR": "准予从事相关经营活动。", "XK_JDRQ": decided.isoformat(),
            "XK_YXQZ": decided.isoformat(), "XK_YXQZI": (decided + timedelta(days=5 * 365)).isoformat(),
            "XK_ZT": "有效"}


def _enforcement(rng: random.Random, n: int, decided: date) -> dict[str, Any]:
    return {"QZ_WSMC": "查封决定书", "QZ_WSH": f"长样封〔2026〕{n}号", "QZ_QZLX": "强制措施",
            "QZ_CSZL": "查封场所、设施或者财物", "QZ_SY": "当事人违法排放污染物，可能造成严重污染。",
            "QZ_YJ": "《中华人民共和国环境保护法》第二十五条", "QZ_NR": "查封当事人喷漆房1间。",
            "QZ_JDRQ": decided.isoformat(), "QZ_QXZ": (decided + timedelta(days=30)).isoformat()}


def _inspection(rng: random.Random, n: int, decided: date) -> dict[str, Any]:
    return {"JC_JCBH": f"长样检-2026-{n:04d}", "JC_RWBH": f"SSJ-370113-2026-{rng.randint(1, 24):03d}",
            "JC_JCSX": "安全生产教育培训情况检查", "JC_JCFS": "双随机", "JC_JCRQ": decided.isoformat(),
            "JC_JCJG": rng.choice(("未发现问题", "发现问题，已责令限期整改"))}


def _blacklist(rng: random.Random, n: int, decided: date) -> dict[str, Any]:
    return {"MD_MDLB": "严重违法失信企业名单", "MD_WSMC": "列入严重违法失信名单决定书",
            "MD_WSH": f"长样失信〔2026〕{n}号", "MD_LRSY": "因提交虚假材料取得企业登记被撤销登记。",
            "MD_LRYJ": "《市场监督管理严重违法失信名单管理办法》第九条", "MD_RDRQ": decided.isoformat(),
            "MD_YXQZ": (decided + timedelta(days=3 * 365)).isoformat()}


def _commitment(rng: random.Random, n: int, decided: date) -> dict[str, Any]:
    return {"CN_CNBH": f"长样诺-2026-{n:04d}", "CN_CNLX": "审批替代型", "CN_CNSX": "食品经营许可告知承诺",
            "CN_CNNR": "本单位承诺所提交材料真实有效，并按承诺期限达到许可条件。",
            "CN_CNRQ": decided.isoformat(), "CN_LYZT": "履约中"}


def _measure_feedback(rng: random.Random, n: int, decided: date) -> dict[str, Any]:
    return {"FK_FKBH": f"长样反馈-2026-{n:04d}", "FK_MDLB": "失信联合惩戒对象名单", "FK_MDBH": f"{n:032x}",
            "FK_CSDM": "CJ01", "FK_CSMC": "限制参与招标投标", "FK_SXBM": "SC-ZTB-001",
            "FK_SXMC": "政府采购与招标投标资格审查", "FK_HCBH": f"{n + 1:032x}",
            "FK_SSRQ": decided.isoformat(),
            "FK_SSQK": "资格审查不予通过。", "FK_SSR": "王某"}


def _interview(rng: random.Random, n: int, decided: date) -> dict[str, Any]:
    return {"YT_YTBH": f"长样约谈-2026-{n:04d}", "YT_YTSY": "列入重点关注名单",
            "YT_YTRQ": decided.isoformat(), "YT_YTR": "王某、李某", "YT_BYTR": "张某（法定代表人）",
            "YT_YTNR": "告知失信后果及信用修复途径。",
            "YT_ZGYQ": "三十日内完成整改。", "YT_ZGQX": (decided + timedelta(days=30)).isoformat()}


# 决定文书名称, 文号 word, 类别, 内容, amount range in 元 (None: the category has no amount field)
_DECISIONS: dict[str, tuple[str, str, str, str, tuple[int, int] | None]] = {
    "QR": ("房屋权属确认决定书", "确", "权属确认", "确认当事人对所涉厂房享有所有权。", None),
    "ZS": ("道路挖掘修复费缴款通知书", "征", "行政事业性收费", "征收城市道路挖掘修复费。", (2000, 50000)),
    "GF": ("失业保险稳岗返还审批决定书", "给", "稳岗返还", "给予失业保险稳岗返还资金。", (5000, 80000)),
    "CJ": ("林木权属争议处理决定书", "裁", "林木权属争议", "裁决争议林地内林木归当事人所有。", None),
    "BC": ("房屋征收补偿决定书", "补", "征收补偿", "对被征收厂房给予货币补偿。", (100000, 900000)),
    "JL": ("行政奖励决定书", "奖", "安全生产举报奖励", "给予举报奖励。", (1000, 10000)),
}


def _decision(prefix: str) -> Maker:
    name, word, kind, content, amount = _DECISIONS[prefix]

    def make(rng: random.Random, n: int, decided: date) -> dict[str, Any]:
        record = {f"{prefix}_WSMC": name, f"{prefix}_WSH": f"长样{word}〔2026〕{n}号", f"{prefix}_LB": kind,
                  f"{prefix}_NR": content, f"{prefix}_JDRQ": decided.isoformat()}
        if amount is not None:
            record[f"{prefix}_JE"] = _wan(rng.randrange(amount[0], amount[1], 100))
        return record

    return make


MAKERS: dict[str, Maker] = {
    "penalty": _penalty, "license": _license, "enforcement": _enforcement, "inspection": _inspection,
    "blacklist": _blacklist, "commitment": _commitment, "confirmation": _decision("QR"),
    "levy": _decision("ZS"), "benefit": _decision("GF"), "adjudication": _decision("CJ"),
    "compensation": _decision("BC"), "reward": _decision("JL"),
    "measure_feedback": _measure_feedback, "interview": _interview,
}
