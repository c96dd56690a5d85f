"""Valid penalties for the sinks' tests to deliver."""

from __future__ import annotations

import random
from datetime import date, timedelta

from creditsync.simulators import synthetic as syn

AUTHORITY = syn.fixed_uscc("1", "1", syn.CHANGQING, "00421234")
AUTHORITY_NAME = "济南市长清区市场监督管理局"


def penalty(number: int, *, natural: bool = False, seed: int = 1) -> dict[str, str]:
    """One valid canonical penalty (a company's, or a natural person's)."""
    rng = random.Random(seed * 100_000 + number)
    person = syn.make_person_name(rng)
    if natural:
        subject = {"CF_XDR_MC": person, "CF_XDR_LB": "自然人", "CF_XDR_ZJLX": "身份证",
                   "CF_XDR_ZJHM": syn.make_id_number(rng)}
    else:
        subject = {"CF_XDR_MC": syn.make_company_name(rng), "CF_XDR_LB": "法人及非法人组织",
                   "CF_XDR_SHXYM": syn.make_uscc(rng, "9", "1"), "CF_FRDB": person}
    decided = date.today() - timedelta(days=rng.randint(3, 60))
    return {**subject, "CF_WSH": f"长市监罚〔2026〕{number}号", "CF_WFXW": "未按规定公示信息",
            "CF_SY": "经查，当事人未按规定公示年度报告信息。", "CF_YJ": "《企业信息公示暂行条例》第十八条",
            "CF_CFLB": "罚款", "CF_NR": "罚款5000元。", "CF_NR_FK": "0.5",
            "CF_JDRQ": decided.isoformat(), "CF_YXQ": "2099-12-31", "CF_CFJG": AUTHORITY_NAME,
            "CF_CFJGDM": AUTHORITY, "CF_SJLY": AUTHORITY_NAME, "CF_SJLYDM": AUTHORITY}
