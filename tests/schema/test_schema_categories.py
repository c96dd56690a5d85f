"""Every category of the schema (reference §2-§4), table-driven: a model each, a valid record each, every
required field reported by its code, the conditional rules, the code tables, the business keys, and
docs/categories.md in step with the YAML data."""

from __future__ import annotations

from datetime import date
from pathlib import Path
from typing import Any

import pytest
from schema_factories import AUTHORITY, SOURCE_UNIT, license_row, penalty_row, subject

from creditsync.delivery import PlatformClient, PushItem, default_retry_policy
from creditsync.exceptions import ConfigurationError
from creditsync.mapping import parse_mapping
from creditsync.schema import CATEGORIES, CanonicalRecord, codetables, lookup, validate_record
from creditsync.schema.identifiers import USCC_PLACEHOLDER
from creditsync.simulators.platform import PlatformSimulator

TODAY = date(2026, 4, 1)
DOCS = Path(__file__).resolve().parents[2] / "docs" / "categories.md"
LEGAL, SHOP, PERSON = "法人及非法人组织", "个体工商户", "自然人"

# category → (prefix, authority USCC field, document number field): the decisions docs/categories.md states
KEYS = {
    "license": ("XK", "XK_XKJGDM", "XK_WSH"),
    "penalty": ("CF", "CF_CFJGDM", "CF_WSH"),
    "enforcement": ("QZ", "QZ_JDJGDM", "QZ_WSH"),
    "inspection": ("JC", "JC_SSJGDM", "JC_JCBH"),
    "confirmation": ("QR", "QR_JDJGDM", "QR_WSH"),
    "levy": ("ZS", "ZS_JDJGDM", "ZS_WSH"),
    "benefit": ("GF", "GF_JDJGDM", "GF_WSH"),
    "adjudication": ("CJ", "CJ_JDJGDM", "CJ_WSH"),
    "compensation": ("BC", "BC_JDJGDM", "BC_WSH"),
    "reward": ("JL", "JL_JDJGDM", "JL_WSH"),
    "blacklist": ("MD", "MD_RDJGDM", "MD_WSH"),
    "commitment": ("CN", "CN_SLDWDM", "CN_CNBH"),
    "measure_feedback": ("FK", "FK_SSJGDM", "FK_FKBH"),
    "interview": ("YT", "YT_YTDWDM", "YT_YTBH"),
}
# the lighter subject rule: 法定代表人 optional
LIGHT = {"inspection", "commitment", "measure_feedback", "interview"}

# The category's own fields of a valid record (the subject block and the authority fields are added).
SPECIFIC: dict[str, dict[str, str]] = {
    "enforcement": {"QZ_WSMC": "查封决定书", "QZ_WSH": "济环长查封字〔2026〕101号",
                    "QZ_QZLX": "行政强制措施", "QZ_CSZL": "查封", "QZ_SY": "超标排放污染物",
                    "QZ_YJ": "《环境保护法》第二十五条", "QZ_NR": "查封燃煤锅炉1台", "QZ_JE": "0.5",
                    "QZ_JDRQ": "2026/03/02", "QZ_QXZ": "2026/04/01"},
    "inspection": {"JC_JCBH": "YJJC-0001", "JC_RWBH": "SSJ-370113-2026-009",
                   "JC_JCSX": "有限空间作业安全检查", "JC_JCFS": "双随机抽查", "JC_JCRQ": "2026/03/02",
                   "JC_JCJG": "未发现问题"},
    "blacklist": {"MD_MDLB": "严重违法失信企业名单", "MD_WSH": "济长市监失信〔2026〕3号",
                  "MD_LRSY": "提交虚假材料取得登记", "MD_LRYJ": "《严重违法失信名单管理办法》第九条",
                  "MD_RDRQ": "2026/03/02", "MD_YXQZ": "2029/03/01"},
    "commitment": {"CN_CNBH": "CN-2026-0001", "CN_CNLX": "审批替代型", "CN_CNSX": "食品经营许可告知承诺",
                   "CN_CNNR": "承诺材料真实有效", "CN_CNRQ": "2026/03/02", "CN_LYZT": "履约中"},
    "measure_feedback": {"FK_FKBH": "FK-2026-0001", "FK_MDLB": "失信联合惩戒对象名单", "FK_MDBH": "a" * 32,
                         "FK_CSDM": "CJ01", "FK_CSMC": "限制参与招标投标", "FK_SXBM": "SC-ZTB-001",
                         "FK_HCBH": "b" * 32, "FK_SSRQ": "2026/03/02", "FK_SSQK": "不予通过资格审查",
                         "FK_SSR": "王某"},
    "interview": {"YT_YTBH": "YT-2026-0001", "YT_YTSY": "列入重点关注名单", "YT_YTRQ": "2026/03/02",
                  "YT_YTR": "王某、李某", "YT_BYTR": "张某（法定代表人）", "YT_YTNR": "告知失信后果",
                  "YT_ZGYQ": "三十日内整改", "YT_ZGQX": "2026/04/01"},
}
for _name, _word in (("confirmation", "确认"), ("levy", "征收"), ("benefit", "给付"),
                     ("adjudication", "裁决"), ("compensation", "补偿"), ("reward", "奖励")):
    _p = KEYS[_name][0]
    SPECIFIC[_name] = {f"{_p}_WSMC": f"行政{_word}决定书", f"{_p}_WSH": f"长{_word}〔2026〕7号",
                       f"{_p}_LB": f"{_word}类别", f"{_p}_NR": f"{_word}内容", f"{_p}_JDRQ": "2026/03/02"}


def authority(category: str) -> dict[str, str]:
    keys = CATEGORIES[category].keys
    return {str(keys.authority_name): "济南市长清区某局", keys.authority_code: AUTHORITY,
            str(keys.source_unit): "济南市长清区某局", str(keys.source_unit_code): SOURCE_UNIT}


def valid_row(category: str, kind: str = LEGAL, **overrides: Any) -> dict[str, Any]:
    if category == "license":
        return license_row(kind, **overrides)
    if category == "penalty":
        return penalty_row(kind, **overrides)
    prefix = KEYS[category][0]
    return subject(kind, prefix) | authority(category) | SPECIFIC[category] | overrides


Problems = list[tuple[str, str]]


def check(category: str, row: dict[str, Any]) -> tuple[Problems, Problems]:
    """(errors, warnings) as (field code, Chinese message)."""
    result = validate_record(category, row, today=TODAY)
    errors = [(e.field, e.message_zh) for e in result.errors]
    return errors, [(e.field, e.message_zh) for e in result.warnings]


def codes_where(predicate: Any) -> list[tuple[str, str]]:
    return [(name, f.code) for name, spec in CATEGORIES.items() for f in spec.fields if predicate(f)]


# ---- every category has a model, a prefix and a valid record --------------------------------------

def test_the_categories_and_their_prefixes() -> None:
    assert {name: spec.prefix for name, spec in CATEGORIES.items()} == {n: k[0] for n, k in KEYS.items()}


@pytest.mark.parametrize("category", sorted(CATEGORIES))
def test_every_category_has_a_model(category: str) -> None:
    spec = CATEGORIES[category]
    assert issubclass(spec.model, CanonicalRecord) and spec.model.category == category
    assert [f.alias for f in spec.model.model_fields.values()] == spec.codes
    assert all(code.startswith(f"{spec.prefix}_") or code == "BZ" for code in spec.codes)
    assert spec.codes[:2] == [f"{spec.prefix}_XDR_MC", f"{spec.prefix}_XDR_LB"]  # the subject block first


@pytest.mark.parametrize("category", sorted(CATEGORIES))
@pytest.mark.parametrize("kind", [LEGAL, SHOP, PERSON])
def test_valid_fixture_validates(category: str, kind: str) -> None:
    result = validate_record(category, valid_row(category, kind), today=TODAY)
    assert result.ok, result.errors
    assert not result.warnings
    assert set(result.record.to_payload()) <= set(CATEGORIES[category].codes)  # type: ignore[union-attr]


# ---- required fields -------------------------------------------------------------------------------

@pytest.mark.parametrize(("category", "code"), codes_where(lambda f: f.requirement == "required"))
@pytest.mark.parametrize("how", ["blank", "absent"])
def test_each_required_field_missing_is_reported_with_its_code(category: str, code: str, how: str) -> None:
    row = valid_row(category)
    if how == "blank":
        row[code] = ""
    else:
        del row[code]
    errors, _ = check(category, row)
    title = CATEGORIES[category].by_code[code].title
    assert (code, f"{title}不能为空") in errors


@pytest.mark.parametrize("category", sorted(CATEGORIES))
def test_legal_representative_is_required_except_in_the_light_rule(category: str) -> None:
    prefix = KEYS[category][0]
    errors, _ = check(category, valid_row(category, **{f"{prefix}_FRDB": ""}))
    problem = (f"{prefix}_FRDB", "行政相对人类别为法人及非法人组织时，法定代表人不能为空")
    assert errors == ([] if category in LIGHT else [problem])


@pytest.mark.parametrize("category", sorted(CATEGORIES))
def test_placeholder_uscc_without_registration_number(category: str) -> None:
    prefix = KEYS[category][0]
    errors, warnings = check(category, valid_row(category, SHOP, **{f"{prefix}_XDR_SHXYM": USCC_PLACEHOLDER}))
    problem = (f"{prefix}_XDR_GSZC", "统一社会信用代码为占位符时，工商注册号不能为空")
    assert (errors, warnings) == (([], [problem]) if category in LIGHT else ([problem], []))


@pytest.mark.parametrize("category", sorted(CATEGORIES))
def test_the_organisation_code_is_still_required_in_every_rule(category: str) -> None:
    prefix = KEYS[category][0]
    errors, _ = check(category, valid_row(category, **{f"{prefix}_XDR_SHXYM": ""}))
    assert errors == [(f"{prefix}_XDR_SHXYM", "行政相对人类别为法人及非法人组织时，统一社会信用代码不能为空")]


@pytest.mark.parametrize("category", sorted(CATEGORIES))
def test_decision_date_not_in_the_future(category: str) -> None:
    field = CATEGORIES[category].keys.decision_date
    errors, _ = check(category, valid_row(category, **{field: "2026/04/02"}))
    assert errors == [(field, f"{CATEGORIES[category].by_code[field].title}不能大于当前日期")]


CONDITIONAL = [
    ("enforcement", {"QZ_CSZL": ""}, [("QZ_CSZL", "强制类型为强制措施时，强制措施种类不能为空")], []),
    ("enforcement", {"QZ_QZLX": "强制执行", "QZ_CSZL": ""},
     [("QZ_ZXFS", "强制类型为强制执行时，强制执行方式不能为空")], []),
    ("enforcement", {"QZ_QZLX": "行政强制执行", "QZ_CSZL": "", "QZ_ZXFS": "代履行"}, [], []),
    ("enforcement", {"QZ_CSZL": "罚款"},
     [("QZ_CSZL", "强制措施种类取值无效：罚款（可选值：限制公民人身自由、查封场所、设施或者财物、扣押财物、"
                  "冻结存款、汇款、其他）")], []),
    ("enforcement", {"QZ_JCRQ": "2026/03/01"}, [], [("QZ_JCRQ", "解除日期不能早于强制决定日期")]),
    ("enforcement", {"QZ_JE": "2000元"}, [("QZ_JE", "涉及金额（万元）应为数字：2000元")], []),
    ("inspection", {"JC_RWBH": ""}, [("JC_RWBH", "检查方式为双随机时，检查任务编号不能为空")], []),
    ("inspection", {"JC_RWBH": "", "JC_JCFS": "专项"}, [],
     [("JC_RWBH", "检查方式为专项时，检查任务编号不能为空")]),
    ("inspection", {"JC_RWBH": "", "JC_JCFS": "日常检查"}, [], []),
    ("inspection", {"JC_JCFS": "抽查"},
     [("JC_JCFS", "检查方式取值无效：抽查（可选值：双随机、专项、日常、重点、其他）")], []),
    ("blacklist", {"MD_YCRQ": "2026/01/01"}, [], [("MD_YCRQ", "移出日期不能早于认定日期")]),
]


@pytest.mark.parametrize(("category", "overrides", "errors", "warnings"), CONDITIONAL)
def test_conditional_rules(category: str, overrides: dict[str, str], errors: list[tuple[str, str]],
                           warnings: list[tuple[str, str]]) -> None:
    assert check(category, valid_row(category, **overrides)) == (errors, warnings)


@pytest.mark.parametrize(("category", "code"), codes_where(lambda f: f.kind == "decimal"))
def test_amounts_are_in_wan_yuan(category: str, code: str) -> None:
    result = validate_record(category, valid_row(category, **{code: "0.2"}), today=TODAY)
    assert result.ok and result.record is not None and result.record.to_payload()[code] == "0.2"
    errors, _ = check(category, valid_row(category, **{code: "-1"}))
    assert [field for field, _ in errors] == [code]


# ---- code tables -----------------------------------------------------------------------------------

@pytest.mark.parametrize(("category", "code"), codes_where(lambda f: f.kind in ("code", "codes")))
def test_code_tables_resolve(category: str, code: str) -> None:
    table = codetables.table(str(CATEGORIES[category].by_code[code].table))
    assert table.texts and all(lookup(table.name, text) == text for text in table.texts)


@pytest.mark.parametrize(("table", "value", "text"), [
    ("enforcement_type", "行政强制措施", "强制措施"),
    ("enforcement_type", "行政强制执行", "强制执行"),
    ("enforcement_measure", "查封", "查封场所、设施或者财物"),
    ("enforcement_measure", "冻结存款、汇款", "冻结存款、汇款"),
    ("enforcement_measure", "其他行政强制措施", "其他"),
    ("enforcement_execution", "代履行", "代履行"),
    ("enforcement_execution", "拍卖", "拍卖或者依法处理查封、扣押的场所、设施或者财物"),
    ("inspection_method", "双随机、一公开", "双随机"),
    ("inspection_method", "专项检查", "专项"),
    ("inspection_method", "日常巡查", "日常"),
])
def test_new_code_tables_accept_texts_and_aliases(table: str, value: str, text: str) -> None:
    assert lookup(table, value) == text


@pytest.mark.parametrize(("table", "value"), [("inspection_method", "抽查"), ("enforcement_type", "1"),
                                              ("enforcement_measure", "罚款")])
def test_new_code_tables_refuse_guesses(table: str, value: str) -> None:
    with pytest.raises(codetables.UnknownCodeError):
        lookup(table, value)


# ---- business keys ---------------------------------------------------------------------------------

@pytest.mark.parametrize("category", sorted(CATEGORIES))
def test_business_keys(category: str) -> None:
    spec, (_, authority_field, document_field) = CATEGORIES[category], KEYS[category]
    assert spec.key_fields == (authority_field, document_field)
    assert spec.by_code[authority_field].kind == "uscc"
    key_codes = [spec.keys.authority_code, spec.keys.document_number, spec.keys.subject_name,
                 spec.keys.decision_date, spec.keys.authority_name, spec.keys.source_unit,
                 spec.keys.source_unit_code]
    assert all(code is not None and spec.by_code[code].requirement == "required" for code in key_codes)
    row = valid_row(category)
    record = validate_record(category, row, today=TODAY).record
    assert record is not None
    assert record.business_key() == f"{category}:{AUTHORITY}:{row[document_field]}"
    assert (record.document_number(), record.subject_name()) == (row[document_field], "济南某某科技有限公司")
    assert record.decision_date() == date(2026, 3, 2)


# ---- the rest of the system: docs, mappings, platform ----------------------------------------------

@pytest.mark.parametrize("category", sorted(CATEGORIES))
def test_docs_name_every_field_code(category: str) -> None:
    text = DOCS.read_text(encoding="utf-8")
    spec = CATEGORIES[category]
    assert f"`{category}`" in text and f"`{spec.prefix}`" in text
    if category not in ("license", "penalty"):  # their fields are the reference's own §2-§3
        # subject block fields are documented once, as {P}_XDR_MC …
        generic = {c: c.replace(f"{spec.prefix}_", "{P}_", 1) for c in spec.codes}
        missing = [c for c, g in generic.items() if c not in text and g not in text]
        assert not missing


@pytest.mark.parametrize("category", sorted(CATEGORIES))
def test_mappings_accept_the_category_and_its_prefix_only(category: str) -> None:
    prefix = KEYS[category][0]
    spec = parse_mapping({"version": 1, "category": category, "fields": {f"{prefix}_XDR_MC": {"path": "a"}}})
    assert spec.category == category
    other = "CF" if prefix != "CF" else "XK"
    with pytest.raises(ConfigurationError, match=f"{other}_XDR_MC do not belong to category {category}"):
        parse_mapping({"version": 1, "category": category, "fields": {f"{other}_XDR_MC": {"path": "a"}}})


@pytest.mark.integration
def test_the_platform_simulator_accepts_every_category() -> None:
    running = PlatformSimulator(app_key="k").start_in_thread()
    try:
        client = PlatformClient(running.url, "k", retrying=default_retry_policy(1, sleep=lambda _: None))
        for category in sorted(CATEGORIES):
            record = validate_record(category, valid_row(category)).record
            assert record is not None
            item = PushItem(f"idem-{category}", record.business_key(), "upsert", record.to_payload(), None)
            [receipt] = client.push(category, [item], f"batch-{category}")
            assert receipt.status == "accepted", (category, receipt)
    finally:
        running.stop()
