"""The shipped legacy-2016 presets, and department files that extend them."""

from __future__ import annotations

import textwrap
from importlib import resources
from pathlib import Path
from typing import Any

import pytest

from creditsync.exceptions import ConfigurationError
from creditsync.mapping import load_mapping, load_preset, parse_mapping

LEGACY_PENALTY_TYPES = {
    "0": "警告",
    "1": "罚款",
    "2": "没收违法所得、没收非法财物",
    "3": "责令停产停业",
    "4": "暂扣或者吊销许可证、暂扣或者吊销执照",
    "5": "行政拘留",
    "6": "其他",
}


def fake_lookup(table: str, value: str) -> str:
    """Stands in for creditsync.schema.codetables: penalty_type's legacy codes 0-6 (reference §1)."""
    if table != "penalty_type":
        raise KeyError(table)
    return LEGACY_PENALTY_TYPES[value]


LEGACY_PENALTY: dict[str, Any] = {
    "CF_WSH": "长市监罚〔2016〕88号",
    "CF_CFMC": "某某公司销售过期食品案",
    "CF_CFLB1": "1",
    "CF_CFLB2": 2,
    "CF_SY": "销售超过保质期的食品 ",
    "CF_YJ": "《中华人民共和国食品安全法》第一百二十四条",
    "CF_XDR_MC": "济南某某商贸有限公司",
    "CF_XDR_SHXYM": "９１３７０１０２７９８６７７２０４Ａ",
    "CF_XDR_ZDM": "79867720-4",
    "CF_XDR_GSDJ": "",
    "CF_XDR_SWDJ": None,
    "CF_FR": "张三",
    "CF_JG": "罚款人民币2000元，没收违法所得",
    "CF_JDRQ": "2016/07/01",
    "CF_XZJG": "长清区市场监督管理局",
    "CF_ZT": "0",
    "DFBM": "370113",
    "SJC": "2016-07-02 10:00:00",
    "BZ": "",
}


def test_presets_ship_as_package_data() -> None:
    folder = resources.files("creditsync.mapping.presets")
    assert (folder / "legacy_2016_penalty.yaml").is_file()
    assert (folder / "legacy_2016_license.yaml").is_file()


@pytest.mark.parametrize(
    ("name", "category"), [("legacy_2016_penalty", "penalty"), ("legacy_2016_license", "license")]
)
def test_presets_load(name: str, category: str) -> None:
    spec = load_preset(name)
    assert (spec.version, spec.category, spec.presets) == (1, category, ())


def test_legacy_penalty_record_maps_to_current_format() -> None:
    result = load_preset("legacy_2016_penalty").apply(LEGACY_PENALTY, code_lookup=fake_lookup)
    assert result.errors == []
    assert result.source_key == "长市监罚〔2016〕88号"
    assert result.data == {
        "CF_WSH": "长市监罚〔2016〕88号",
        "CF_XDR_MC": "济南某某商贸有限公司",
        "CF_XDR_LB": "法人及非法人组织",
        "CF_XDR_SHXYM": "91370102798677204A",
        "CF_XDR_ZZJG": "798677204",
        "CF_XDR_GSZC": "",
        "CF_FRDB": "张三",
        "CF_SY": "销售超过保质期的食品",
        "CF_YJ": "《中华人民共和国食品安全法》第一百二十四条",
        "CF_CFLB": "罚款;没收违法所得、没收非法财物",
        "CF_NR": "罚款人民币2000元，没收违法所得",
        "CF_JDRQ": "2016-07-01",
        "CF_CFJG": "长清区市场监督管理局",
        "BZ": "",
    }


@pytest.mark.parametrize(
    ("changes", "expected"),
    [
        ({"CF_XDR_SFZ": "11010519491231002x", "CF_XDR_SHXYM": "", "CF_XDR_ZDM": ""}, ("自然人", "身份证")),
        ({"CF_XDR_SHXYM": "92370102MA3C1234X5", "CF_XDR_ZDM": ""}, ("个体工商户", None)),
        (
            {"CF_XDR_SHXYM": "", "CF_XDR_ZDM": "", "CF_XDR_SWDJ": "370102798677204"},
            ("法人及非法人组织", None),
        ),
        ({"CF_XDR_SHXYM": "", "CF_XDR_ZDM": ""}, (None, None)),  # nothing to go on: schema reports it
    ],
)
def test_legacy_subject_type_is_derived(
    changes: dict[str, Any], expected: tuple[str | None, str | None]
) -> None:
    data = (
        load_preset("legacy_2016_penalty").apply({**LEGACY_PENALTY, **changes}, code_lookup=fake_lookup).data
    )
    assert (data.get("CF_XDR_LB"), data.get("CF_XDR_ZJLX")) == expected
    if "CF_XDR_SFZ" in changes:
        assert data["CF_XDR_ZJHM"] == "11010519491231002X"


def test_legacy_penalty_single_category_and_bad_code() -> None:
    spec = load_preset("legacy_2016_penalty")
    one = spec.apply({**LEGACY_PENALTY, "CF_CFLB2": ""}, code_lookup=fake_lookup)
    assert one.data["CF_CFLB"] == "罚款"
    bad = spec.apply({**LEGACY_PENALTY, "CF_CFLB1": "9"}, code_lookup=fake_lookup)
    assert [e.field for e in bad.errors] == ["CF_CFLB"]
    assert "not in code table penalty_type" in bad.errors[0].message_en


LEGACY_LICENSE: dict[str, Any] = {
    "XK_WSH": "长审批许〔2016〕15号",
    "XK_XMMC": "食品经营许可证",
    "XK_SPLB": "普通",
    "XK_NR": "预包装食品销售",
    "XK_XDR": "济南某某超市",
    "XK_XDR_SHXYM": "92370113MA3C0000X1",
    "XK_FR": "李四",
    "XK_JDRQ": "20160301",
    "XK_JZQ": "2021/02/28",
    "XK_XZJG": "长清区行政审批服务局",
    "XK_ZT": 0,
    "DFBM": "370113",
    "SJC": "2016-03-02 08:00:00",
}


def test_legacy_license_record_maps_to_current_format() -> None:
    result = load_preset("legacy_2016_license").apply(LEGACY_LICENSE)
    assert result.errors == []
    assert result.source_key == "长审批许〔2016〕15号"
    assert result.data == {
        "XK_WSH": "长审批许〔2016〕15号",
        "XK_XKWS": "食品经营许可证",
        "XK_XKLB": "普通",
        "XK_NR": "预包装食品销售",
        "XK_XDR_MC": "济南某某超市",
        "XK_XDR_LB": "个体工商户",
        "XK_XDR_SHXYM": "92370113MA3C0000X1",
        "XK_FRDB": "李四",
        "XK_JDRQ": "2016-03-01",
        "XK_YXQZ": "2016-03-01",
        "XK_YXQZI": "2021-02-28",
        "XK_XKJG": "长清区行政审批服务局",
        "XK_ZT": "有效",
    }


@pytest.mark.parametrize(("status", "expected"), [("0", "有效"), ("1", "无效")])
def test_legacy_license_status(status: str, expected: str) -> None:
    assert (
        load_preset("legacy_2016_license").apply({**LEGACY_LICENSE, "XK_ZT": status}).data["XK_ZT"]
        == expected
    )


@pytest.mark.parametrize("status", ["2", "3"])
def test_legacy_license_status_without_current_meaning_is_refused(status: str) -> None:
    """异议 and 其他 have no current equivalent: a person decides, the gateway does not guess."""
    result = load_preset("legacy_2016_license").apply({**LEGACY_LICENSE, "XK_ZT": status})
    assert [e.field for e in result.errors] == ["XK_ZT"]


# ---- extends ---------------------------------------------------------------------------------------

DEPARTMENT = """\
    version: 1
    extends: legacy_2016_penalty
    description: 长清区市场监督管理局 legacy case system
    drop: [BZ]
    fields:
      CF_CFJG: {const: 长清区市场监督管理局}
      CF_CFJGDM: {const: 11370113MB2837541G}
      CF_YXQ: {path: YXQ, default: "2099-12-31", transforms: [date]}
      CF_WFXW: {path: CF_CFMC, transforms: [trim]}
    """


def write_department(tmp_path: Path, text: str = DEPARTMENT) -> Path:
    path = tmp_path / "changqing_market" / "penalty.yaml"
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text(textwrap.dedent(text), encoding="utf-8")
    return path


def test_department_file_extends_a_preset(tmp_path: Path) -> None:
    spec = load_mapping(write_department(tmp_path))
    assert (spec.category, spec.source_key_path, spec.presets) == (
        "penalty",
        "CF_WSH",
        ("legacy_2016_penalty",),
    )
    data = spec.apply({**LEGACY_PENALTY, "BZ": "note"}, code_lookup=fake_lookup).data
    assert data["CF_CFJG"] == "长清区市场监督管理局"  # overridden
    assert data["CF_CFJGDM"] == "11370113MB2837541G"  # added
    assert data["CF_YXQ"] == "2099-12-31"
    assert data["CF_WFXW"] == "某某公司销售过期食品案"
    assert data["CF_NR"] == "罚款人民币2000元，没收违法所得"  # inherited
    assert "BZ" not in data  # dropped


def test_extending_changes_the_digest(tmp_path: Path) -> None:
    spec = load_mapping(write_department(tmp_path))
    assert spec.digest != load_preset("legacy_2016_penalty").digest


@pytest.mark.parametrize(
    ("document", "expected"),
    [
        ({"extends": "legacy_2099"}, "unknown preset 'legacy_2099'"),
        ({"extends": "../secrets"}, "unknown preset"),
        ({"extends": "legacy_2016_penalty", "category": "license"}, "differs from preset"),
        ({"extends": "legacy_2016_penalty", "drop": ["CF_NOPE"]}, "drop names CF_NOPE"),
        ({"extends": "legacy_2016_penalty", "fields": {"XK_NR": {"path": "a"}}}, "XK_NR do not belong"),
        ({"extends": "legacy_2016_penalty", "fields": {"CF_X": {"pth": "a"}}}, "exactly one source"),
    ],
)
def test_extends_errors(document: dict[str, Any], expected: str) -> None:
    with pytest.raises(ConfigurationError, match=expected):
        parse_mapping({"version": 1, **document}, "dept")


def test_load_preset_unknown_name_lists_the_available_ones() -> None:
    with pytest.raises(ConfigurationError, match="available: legacy_2016_license, legacy_2016_penalty"):
        load_preset("nope")


def fake_presets(monkeypatch: pytest.MonkeyPatch, presets: dict[str, str]) -> None:
    from creditsync.mapping import loader
    from creditsync.mapping._yaml import read_yaml

    monkeypatch.setattr(loader, "_read_preset", lambda name: read_yaml(textwrap.dedent(presets[name])))


def test_presets_can_extend_presets(monkeypatch: pytest.MonkeyPatch) -> None:
    fake_presets(
        monkeypatch,
        {
            "base": "version: 1\ncategory: penalty\nsource_key: id\n"
            "fields: {CF_WSH: {path: id}, BZ: {const: base}}\n",
            "middle": "version: 1\nextends: base\nfields: {BZ: {const: middle}}\n",
        },
    )
    spec = parse_mapping({"version": 1, "extends": "middle", "fields": {"CF_NR": {"path": "nr"}}}, "dept")
    assert spec.presets == ("middle", "base")
    assert spec.apply({"id": "1", "nr": "x"}).data == {"CF_WSH": "1", "BZ": "middle", "CF_NR": "x"}


def test_extends_loops_are_refused(monkeypatch: pytest.MonkeyPatch) -> None:
    fake_presets(
        monkeypatch,
        {"a": "version: 1\nextends: b\nfields: {}\n", "b": "version: 1\nextends: a\nfields: {}\n"},
    )
    with pytest.raises(ConfigurationError, match="a → b → a loops"):
        parse_mapping({"version": 1, "extends": "a"}, "dept")


def test_legacy_penalty_with_the_real_code_tables() -> None:
    """Against creditsync.schema's own tables (the default lookup), when that package is present."""
    pytest.importorskip("creditsync.schema.codetables")
    spec = load_preset("legacy_2016_penalty")
    assert spec.apply(LEGACY_PENALTY).data["CF_CFLB"] == "罚款;没收违法所得、没收非法财物"
    bad = spec.apply({**LEGACY_PENALTY, "CF_CFLB1": "9"})  # the schema raises its own LookupError
    assert [e.field for e in bad.errors] == ["CF_CFLB"]


def test_department_mapping_output_passes_the_schema(tmp_path: Path) -> None:
    """End to end with creditsync.schema (when present): legacy record → mapping → validate_record."""
    schema = pytest.importorskip("creditsync.schema")
    spec = load_mapping(
        write_department(
            tmp_path,
            textwrap.dedent(DEPARTMENT)
            + "  CF_SJLY: {const: 长清区市场监督管理局}\n"
            + "  CF_SJLYDM: {const: 11370113MB2837541G}\n"
            + "  CF_NR_FK: {path: FK, transforms: [yuan_to_wan]}\n",
        )
    )
    mapped = spec.apply({**LEGACY_PENALTY, "FK": "2000"})
    assert mapped.errors == []
    checked = schema.validate_record("penalty", mapped.data)
    assert [str(e) for e in checked.errors] == []


def test_legacy_license_output_passes_the_schema() -> None:
    """XK_ZT text, XK_XKLB code pass-through and the derived 自然人 block are what the schema accepts."""
    schema = pytest.importorskip("creditsync.schema")
    authority = {"const": "11370113MB2837541G"}
    spec = parse_mapping(
        {
            "version": 1,
            "extends": "legacy_2016_license",
            "fields": {
                "XK_XKJGDM": authority,
                "XK_LYDW": {"const": "长清区行政审批服务局"},
                "XK_LYDWDM": authority,
            },
        },
        "dept",
    )
    person = {"XK_XDR": "张三", "XK_XDR_SFZ": "11010519491231002x", "XK_XDR_SHXYM": "", "XK_SPLB": "1"}
    mapped = spec.apply({**LEGACY_LICENSE, **person})
    assert mapped.errors == []
    assert [str(e) for e in schema.validate_record("license", mapped.data).errors] == []
