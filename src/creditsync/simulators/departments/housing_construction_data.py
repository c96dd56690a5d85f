"""The rows of 长清区住房和城乡建设局's approval and case database (MySQL/MariaDB), in its own names.

``dwxx`` 单位信息 (utf8mb3): ``dwid dwmc dwlx tyshxydm fddbr fddbr_zjlx fddbr_zjhm``; ``dwlx`` uses the
internal party codes 02 法人 / 04 个体工商户.

``sgxk`` 建筑工程施工许可 (gbk), key ``xkzbh`` 施工许可证编号, watermark ``gxsj``: ``xkzbh pzwh dwid xmmc
jsdz htjg xknr fzrq yxqz sfyx gxsj``; ``htjg`` 合同价格 DECIMAL 元; ``yxqz`` 0000-00-00 = 长期 (the
system's "no date"); ``sfyx`` TINYINT(1) 1 有效 / 0 注销.

``xzcf`` 行政处罚 (gbk), key ``ajbh``, watermark ``gxsj``: ``ajbh cfjdswh dwid dsrmc_old wfxw wfss cfyj
cfzl cfnr fkje cfrq cfyxq ajzt bz gxsj``. ``dsrmc_old`` is the party name as the 2009 case system wrote
it: GBK bytes in a ``latin1`` column (decoded by the stream's ``column_encodings``); ``bz`` 备注 is
utf8mb4 and may hold characters GBK lacks (𠮷); ``cfyxq`` 0000-00-00 = 长期; ``ajzt`` 已结案 / 已撤销.
The view ``v_xzcf`` joins it to ``dwxx``. Times are local (Asia/Shanghai), ``DATETIME`` without offset.

Deliberately broken rows: penalty ZJCF-0005 ``dsrmc_old`` holds bytes that are not GBK (the adapter
flags the row), ZJCF-0009 a wrong USCC check digit; licence ZJXK-0007 ``fzrq`` 0000-00-00 (no decision
date). Legitimate edge cases: ZJCF-0012 is 已撤销 (revoked); ZJCF-0003's ``bz`` holds 𠮷.
"""

from __future__ import annotations

import random
from datetime import date, datetime, time, timedelta, timezone
from decimal import Decimal
from typing import Any

from creditsync.simulators import synthetic as syn

CST = timezone(timedelta(hours=8))
AUTHORITY = "济南市长清区住房和城乡建设局"
AUTHORITY_USCC = syn.fixed_uscc("1", "1", syn.CHANGQING, "00432558")

BROKEN_PENALTIES: dict[str, str] = {
    "ZJCF-0005": "dsrmc_old holds bytes that are not GBK (当事人名称乱码)",
    "ZJCF-0009": "the party's tyshxydm has a wrong check digit (统一社会信用代码校验位错误)",
}
BROKEN_LICENCES: dict[str, str] = {"ZJXK-0007": "fzrq is 0000-00-00 (发证日期为空)"}
REVOKED = "ZJCF-0012"
OUTSIDE_GBK = ("ZJCF-0003", "当事人姓名用字“𠮷”以身份证为准")
NOT_GBK = b"\x81\x20\xff"  # a GBK lead byte followed by a space: no GBK character

_TRADES = ("建筑工程", "建设集团", "市政工程", "装饰工程", "钢结构工程", "建筑劳务", "房地产开发",
           "园林绿化工程")
_PROJECTS = ("住宅楼", "综合楼", "厂房", "教学楼", "商业综合体", "地下车库", "安置房", "物流仓库")
_CASES = (
    ("未取得施工许可证擅自施工", "《建筑工程施工许可管理办法》第三条", "《建筑工程施工许可管理办法》第十二条",
     ("罚款",), (10000, 30000)),
    ("施工单位未按照工程建设强制性标准施工", "《建设工程质量管理条例》第二十八条",
     "《建设工程质量管理条例》第六十四条", ("罚款",), (20000, 40000)),
    ("未对建筑材料进行检验", "《建设工程质量管理条例》第二十九条", "《建设工程质量管理条例》第六十五条",
     ("罚款",), (100000, 200000)),
    ("施工现场扬尘防治措施不到位", "《山东省扬尘污染防治管理办法》第十条",
     "《山东省扬尘污染防治管理办法》第三十条", ("警告",), (0, 0)),
)


def local_now() -> datetime:
    """Wall-clock time in 济南 without an offset, as the department's system stores it."""
    return datetime.now(CST).replace(tzinfo=None)


def generate(seed: int, penalties: int, licences: int, today: date) -> dict[str, list[dict[str, Any]]]:
    """Every table's rows from ``seed``: units, then licences and penalties of those units."""
    rng = random.Random(seed)
    units = [_unit(rng, number) for number in range(1, penalties + licences + 1)]
    rows = {"dwxx": units,
            "sgxk": [_licence(rng, n, units[n - 1], today) for n in range(1, licences + 1)],
            "xzcf": [_penalty(rng, n, units[licences + n - 1], today) for n in range(1, penalties + 1)]}
    for unit in units:
        if unit["dwid"] == licences + 9:  # the unit of ZJCF-0009
            unit["tyshxydm"] = syn.corrupt_check_digit(unit["tyshxydm"])
    return rows


def _unit(rng: random.Random, number: int) -> dict[str, Any]:
    party = rng.choices(("02", "04"), weights=(85, 15))[0]
    subject = syn.make_subject(rng, party)
    name = f"山东{rng.choice(syn.SHOP_MARKS)}{rng.choice(_TRADES)}有限公司" if party == "02" else subject.name
    code = subject.credit_code
    if code == syn.USCC_PLACEHOLDER:  # the construction registry has every unit's USCC
        code = syn.make_uscc(rng, "9", "2")
    return {"dwid": number, "dwmc": name, "dwlx": party, "tyshxydm": code, "fddbr": subject.legal_rep,
            "fddbr_zjlx": "身份证", "fddbr_zjhm": subject.legal_rep_id_no}


def _stamp(rng: random.Random, day: date, today: date) -> datetime:
    """Entered 0-2 days after ``day``, in office hours, before ``today`` began: a correction made now
    always has a later stamp."""
    stamp = datetime.combine(day, time(9)) + timedelta(days=rng.randint(0, 2), minutes=rng.randint(0, 480))
    return min(stamp, datetime.combine(today, time(0)) - timedelta(minutes=rng.randint(1, 600)))


def _licence(rng: random.Random, number: int, unit: dict[str, Any], today: date) -> dict[str, Any]:
    key = f"ZJXK-{number:04d}"
    issued = today - timedelta(days=rng.randint(2, 120))
    project = f"长清区{rng.choice(syn.STREETS)}{rng.choice(_PROJECTS)}项目"
    forever = rng.random() < 0.3
    return {
        "xkzbh": key, "pzwh": f"3701132{issued:%Y%m%d}{number:04d}", "dwid": unit["dwid"], "xmmc": project,
        "jsdz": syn.make_address(rng), "htjg": Decimal(rng.randrange(500_000, 90_000_000, 1000)) / 100,
        "xknr": f"准予{project}开工建设", "fzrq": "0000-00-00" if key in BROKEN_LICENCES else issued,
        "yxqz": "0000-00-00" if forever else issued + timedelta(days=3 * 365),
        "sfyx": 0 if rng.random() < 0.05 else 1, "gxsj": _stamp(rng, issued, today),
    }


def _penalty(rng: random.Random, number: int, unit: dict[str, Any], today: date) -> dict[str, Any]:
    key = f"ZJCF-{number:04d}"
    decided = today - timedelta(days=rng.randint(2, 120))
    wfxw, violated, basis, kinds, (low, high) = rng.choice(_CASES)
    fine = Decimal(rng.randrange(low, high + 1, 1000)) if high else None
    words = {"警告": "给予警告", "罚款": f"罚款人民币{fine}元"}
    name = unit["dwmc"].encode("gbk")
    return {
        "ajbh": key, "cfjdswh": f"长建罚字〔{decided.year}〕第{number}号", "dwid": unit["dwid"],
        "dsrmc_old": NOT_GBK + name if key in BROKEN_PENALTIES and "GBK" in BROKEN_PENALTIES[key] else name,
        "wfxw": wfxw, "wfss": f"经查，{unit['dwmc']}存在{wfxw}的行为，违反了{violated}的规定。",
        "cfyj": basis, "cfzl": "、".join(kinds), "cfnr": "，".join(words[k] for k in kinds) + "。",
        "fkje": fine, "cfrq": decided,
        "cfyxq": "0000-00-00" if rng.random() < 0.2 else decided + timedelta(days=365),
        "ajzt": "已撤销" if key == REVOKED else "已结案",
        "bz": OUTSIDE_GBK[1] if key == OUTSIDE_GBK[0] else None, "gxsj": _stamp(rng, decided, today),
    }
