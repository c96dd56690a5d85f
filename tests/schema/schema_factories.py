"""Valid identifiers and records for the schema tests, built by computing check digits (never copied)."""

from __future__ import annotations

from typing import Any

from stdnum.cn import ric

from creditsync.schema.identifiers import make_uscc, org_code_check_digit


def uscc_for(prefix8: str, org_body8: str) -> str:
    """A USCC whose inner GB 11714 code and outer GB 32100 check digit are both right."""
    return make_uscc(prefix8 + org_body8 + org_code_check_digit(org_body8))


def resident_id(first17: str) -> str:
    return first17 + ric.calc_check_digit(first17 + "0")  # stdnum expects the check position present


def foreign_permanent_id(first17: str) -> str:
    """外国人永久居留身份证 (2023 format) number: same GB 11643 check as the resident ID."""
    return resident_id(first17)


def wrong_check(number: str) -> str:
    """The same number with a different (wrong) last character."""
    return number[:-1] + ("1" if number[-1] != "1" else "2")


AUTHORITY = uscc_for("11370102", "00418765")  # a 机构编制 (government body) code, 济南历下
SOURCE_UNIT = uscc_for("11370100", "00420033")
COMPANY = uscc_for("91370102", "MA3C4F7Q")
INDIVIDUAL_BUSINESS = uscc_for("92370102", "MA3D1K2L")
PERSON_ID = resident_id("37010219900101123")
LEGAL_REP_ID = resident_id("37010219851231004")


def subject(kind: str, prefix: str) -> dict[str, Any]:
    """Subject block fields of a valid record for one 行政相对人类别."""
    if kind == "法人及非法人组织":
        return {
            f"{prefix}_XDR_MC": "济南某某科技有限公司",
            f"{prefix}_XDR_LB": kind,
            f"{prefix}_XDR_SHXYM": COMPANY,
            f"{prefix}_FRDB": "王某",
            f"{prefix}_FR_ZJLX": "身份证",
            f"{prefix}_FR_ZJHM": LEGAL_REP_ID,
        }
    if kind == "个体工商户":
        return {
            f"{prefix}_XDR_MC": "历下区某某便利店",
            f"{prefix}_XDR_LB": kind,
            f"{prefix}_XDR_SHXYM": INDIVIDUAL_BUSINESS,
            f"{prefix}_FRDB": "李某",
        }
    return {
        f"{prefix}_XDR_MC": "张某",
        f"{prefix}_XDR_LB": kind,
        f"{prefix}_XDR_ZJLX": "身份证",
        f"{prefix}_XDR_ZJHM": PERSON_ID,
    }


def penalty_row(kind: str = "法人及非法人组织", **overrides: Any) -> dict[str, Any]:
    """A valid penalty row as strings (as read from CSV); overrides may set "" to blank a field."""
    row: dict[str, Any] = subject(kind, "CF") | {
        "CF_WSH": "济历市监罚〔2026〕12号",
        "CF_WFXW": "销售不合格产品",
        "CF_SY": "当事人销售不符合标准的电线电缆。",
        "CF_YJ": "《中华人民共和国产品质量法》第四十九条",
        "CF_CFLB": "罚款",
        "CF_NR": "罚款人民币贰仟元整",
        "CF_NR_FK": "0.2",
        "CF_JDRQ": "2026/03/02",
        "CF_YXQ": "2027/03/02",
        "CF_CFJG": "济南市历下区市场监督管理局",
        "CF_CFJGDM": AUTHORITY,
        "CF_SJLY": "济南市历下区市场监督管理局",
        "CF_SJLYDM": SOURCE_UNIT,
    }
    return row | overrides


def license_row(kind: str = "法人及非法人组织", **overrides: Any) -> dict[str, Any]:
    """A valid licence row as strings (as read from CSV)."""
    row: dict[str, Any] = subject(kind, "XK") | {
        "XK_XKWS": "食品经营许可决定书",
        "XK_WSH": "济历市监许〔2026〕118号",
        "XK_XKLB": "普通",
        "XK_XKZS": "食品经营许可证",
        "XK_XKBH": "JY13701020012345",
        "XK_NR": "预包装食品（含冷藏冷冻食品）销售",
        "XK_JDRQ": "2026/03/02",
        "XK_YXQZ": "2026/03/02",
        "XK_YXQZI": "2031/03/01",
        "XK_XKJG": "济南市历下区市场监督管理局",
        "XK_XKJGDM": AUTHORITY,
        "XK_ZT": "有效",
        "XK_LYDW": "济南市历下区市场监督管理局",
        "XK_LYDWDM": SOURCE_UNIT,
    }
    return row | overrides
