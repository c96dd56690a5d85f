"""Custom sources for the legacy ("2016") layout, used by the shipped ``legacy_2016_*`` presets.

The legacy layout has no 行政相对人类别 or 证件类型 columns; both follow from which identifier columns are
filled (reference §1: ``*_XDR_SFZ`` → 自然人 with 身份证). That needs several columns at once, which is
what custom sources are for; the rule stays here in reviewed code rather than in YAML conditionals.
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

from creditsync.mapping._parsers import fullwidth_to_halfwidth
from creditsync.mapping._values import is_empty
from creditsync.mapping.custom import custom_source

NATURAL_PERSON = "自然人"
INDIVIDUAL_BUSINESS = "个体工商户"
ORGANISATION = "法人及非法人组织"
ID_CARD = "身份证"
# Legacy organisation identifiers: 统一社会信用代码, 组织机构代码, 工商登记码, 税务登记号.
_ORG_ID_SUFFIXES = ("XDR_SHXYM", "XDR_ZDM", "XDR_GSDJ", "XDR_SWDJ")


def _filled(record: Mapping[str, Any], column: str) -> bool:
    return not is_empty(record.get(column))


@custom_source("legacy_2016_subject_type")
def subject_type(record: Mapping[str, Any], prefix: str) -> str | None:
    """身份证 filled → 自然人; a USCC starting ``92`` (个体工商户 licences) → 个体工商户; any other
    organisation identifier → 法人及非法人组织; nothing filled → None (the schema reports it missing)."""
    if _filled(record, f"{prefix}_XDR_SFZ"):
        return NATURAL_PERSON
    uscc = fullwidth_to_halfwidth(str(record.get(f"{prefix}_XDR_SHXYM") or ""), "").strip().upper()
    if uscc.startswith("92"):
        return INDIVIDUAL_BUSINESS
    if any(_filled(record, f"{prefix}_{suffix}") for suffix in _ORG_ID_SUFFIXES):
        return ORGANISATION
    return None


@custom_source("legacy_2016_id_type")
def id_type(record: Mapping[str, Any], prefix: str) -> str | None:
    """The only personal identifier the legacy layout carries is the 身份证 number."""
    return ID_CARD if _filled(record, f"{prefix}_XDR_SFZ") else None
