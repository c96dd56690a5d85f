"""Realistic canonical sample records for a new department's fixtures: valid by construction (check
digits computed), plus one deliberately broken record the conformance suite expects to be refused."""

from __future__ import annotations

import random
from datetime import date, timedelta
from typing import Any

from creditsync.exceptions import ConfigurationError
from creditsync.schema import validate_record
from creditsync.simulators import synthetic as syn

BROKEN_KEY = "S0004"  # the sample record with a wrong USCC check digit


def sample_records(category: str, authority: str, authority_code: str, count: int = 4,
                   seed: int = 1) -> list[dict[str, Any]]:
    """``count`` records keyed S0001…; the last one is broken on purpose."""
    makers = {"penalty": _penalty, "license": _license}
    if category not in makers:
        raise ConfigurationError(f"no sample records for category {category!r} yet")
    rng = random.Random(seed)
    records = []
    for n in range(1, count + 1):
        record = makers[category](rng, n, authority, authority_code)
        problems = validate_record(category, record).errors
        assert not problems, problems  # a sample that is not valid would teach the wrong lesson
        records.append({"id": f"S{n:04d}", "updated_at": f"2026-01-{n:02d}T09:00:00+08:00", **record})
    prefix = "CF" if category == "penalty" else "XK"
    records[-1][f"{prefix}_XDR_SHXYM"] = syn.corrupt_check_digit(records[-1][f"{prefix}_XDR_SHXYM"])
    return records


def _subject(rng: random.Random, prefix: str) -> dict[str, Any]:
    return {f"{prefix}_XDR_MC": syn.make_company_name(rng), f"{prefix}_XDR_LB": "法人及非法人组织",
            f"{prefix}_XDR_SHXYM": syn.make_uscc(rng), f"{prefix}_FRDB": syn.make_person_name(rng)}


def _decided(rng: random.Random) -> date:
    return date.today() - timedelta(days=rng.randint(3, 60))


def _penalty(rng: random.Random, n: int, authority: str, code: str) -> dict[str, Any]:
    fine = rng.choice((2000, 5000, 10000, 30000))
    return {**_subject(rng, "CF"), "CF_WSH": f"长样罚〔2026〕{n}号", "CF_WFXW": "未按规定公示信息",
            "CF_SY": "经查，当事人未按规定公示年度报告信息。", "CF_YJ": "《企业信息公示暂行条例》第十八条",
            "CF_CFLB": "罚款", "CF_NR": f"罚款{fine}元。", "CF_NR_FK": str(fine / 10000),
            "CF_JDRQ": _decided(rng).isoformat(), "CF_YXQ": "2099-12-31", "CF_CFJG": authority,
            "CF_CFJGDM": code, "CF_SJLY": authority, "CF_SJLYDM": code}


def _license(rng: random.Random, n: int, authority: str, code: str) -> dict[str, Any]:
    decided = _decided(rng)
    return {**_subject(rng, "XK"), "XK_XKWS": "准予行政许可决定书", "XK_WSH": f"长样许〔2026〕{n}号",
            "XK_XKLB": "普通", "XK_NR": "准予从事相关经营活动。", "XK_JDRQ": decided.isoformat(),
            "XK_YXQZ": decided.isoformat(), "XK_YXQZI": (decided + timedelta(days=5 * 365)).isoformat(),
            "XK_XKJG": authority, "XK_XKJGDM": code, "XK_ZT": "有效", "XK_LYDW": authority,
            "XK_LYDWDM": code}
