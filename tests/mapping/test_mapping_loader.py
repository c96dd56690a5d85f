"""Loading mapping files: validation messages, versions, YAML pitfalls, digest, JSON Schema, CLI."""

from __future__ import annotations

import json
import textwrap
from pathlib import Path
from typing import Any

import pytest
import yaml

from creditsync.exceptions import ConfigurationError
from creditsync.mapping import (
    available_presets,
    load_mapping,
    mapping_json_schema,
    parse_mapping,
    write_json_schema,
)
from creditsync.mapping import loader as loader_module
from creditsync.mapping.__main__ import main

EXAMPLE = textwrap.dedent(
    """\
    version: 1
    category: penalty            # license | penalty (later more)
    source_key: decision_no      # path of the source record's own id, used for quarantine/trace
    fields:
      CF_XDR_MC: {path: party_name, transforms: [trim, fullwidth_to_halfwidth]}
      CF_XDR_LB: {path: party_type, transforms: [{code: {table: subject_type}}]}
      CF_NR_FK: {path: fine_yuan, transforms: [yuan_to_wan]}
      CF_CFLB: {path: penalty_types, transforms: [{join: ";"}]}
      CF_JDRQ: {path: decided_at, transforms: [{date: {formats: ["%Y-%m-%dT%H:%M:%S", "%Y%m%d"]}}]}
      CF_CFJG: {const: 长清区市场监督管理局}
      CF_SY: {concat: [{path: facts.summary}, {const: "；"}, {path: facts.detail}], transforms: [trim]}
      CF_XDR_SHXYM: {path: credit_code, default: "", transforms: [trim, upper]}
      CF_YXQ: {path: valid_until, default: "2099-12-31", transforms: [date]}
      CF_XDR_LB2: {path: kind, transforms: [{map: {"1": 自然人, "2": 法人及非法人组织}}]}
    """
)


def write(tmp_path: Path, text: str, name: str = "penalty.yaml") -> Path:
    path = tmp_path / "market_supervision" / name
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text(textwrap.dedent(text), encoding="utf-8")
    return path


def load_error(tmp_path: Path, text: str) -> str:
    path = write(tmp_path, text)
    with pytest.raises(ConfigurationError) as caught:
        load_mapping(path)
    message = str(caught.value)
    assert str(path) in message  # every message names the file
    return message


def test_example_loads(tmp_path: Path) -> None:
    spec = load_mapping(write(tmp_path, EXAMPLE))
    assert (spec.version, spec.category, spec.source_key_path) == (1, "penalty", "decision_no")
    assert list(spec.fields) == [
        "CF_XDR_MC", "CF_XDR_LB", "CF_NR_FK", "CF_CFLB", "CF_JDRQ",
        "CF_CFJG", "CF_SY", "CF_XDR_SHXYM", "CF_YXQ", "CF_XDR_LB2",
    ]  # fmt: skip
    assert spec.code_tables == {"subject_type"}
    assert spec.source_name.endswith("penalty.yaml")


@pytest.mark.parametrize(
    ("text", "expected"),
    [
        (  # unknown top-level key
            "version: 1\ncategory: penalty\nowner: me\nfields:\n  CF_WSH: {path: a}\n",
            ["line 3", "owner", "unknown key 'owner'"],
        ),
        (  # misspelt field option, block style
            "version: 1\ncategory: penalty\nfields:\n  CF_XDR_MC:\n    path: a\n    transfroms: [trim]\n",
            ["line 6", "fields.CF_XDR_MC.transfroms", "unknown key 'transfroms'"],
        ),
        (  # unknown argument of a transform
            "version: 1\ncategory: penalty\nfields:\n"
            "  CF_JDRQ: {path: a, transforms: [{date: {fromats: []}}]}\n",
            ["line 4", "fields.CF_JDRQ.transforms[0].date.fromats", "unknown key 'fromats'"],
        ),
        (  # misspelt map option
            "version: 1\ncategory: penalty\nfields:\n  CF_X:\n    path: a\n    transforms:\n"
            "      - map: {'1': x}\n        defualt: y\n",
            ["line 8", "fields.CF_X.transforms[0].defualt", "unknown key 'defualt'"],
        ),
        (  # unknown bare transform
            "version: 1\ncategory: penalty\nfields:\n  CF_X: {path: a, transforms: [trim, trimm]}\n",
            ["line 4", "fields.CF_X.transforms[1]", "unknown transform 'trimm'", "known: code, custom"],
        ),
        (  # unknown transform object
            "version: 1\ncategory: penalty\nfields:\n  CF_X:\n    path: a\n    transforms:\n      - trim\n"
            "      - regex: '.*'\n",
            ["line 8", "fields.CF_X.transforms[1]", "unknown transform {'regex': '.*'}"],
        ),
        (  # an argument-less transform written as an object
            "version: 1\ncategory: penalty\nfields:\n  CF_X: {path: a, transforms: [{trim: true}]}\n",
            ["unknown transform", "write `trim` bare"],
        ),
        (  # two sources
            "version: 1\ncategory: penalty\nfields:\n  CF_X: {path: a, const: b}\n",
            ["line 4", "fields.CF_X", "exactly one source"],
        ),
        (  # no source
            "version: 1\ncategory: penalty\nfields:\n  CF_X: {transforms: [trim]}\n",
            ["fields.CF_X", "exactly one source"],
        ),
        (  # bad concat part
            "version: 1\ncategory: penalty\nfields:\n  CF_SY: {concat: [{path: a}, {text: b}]}\n",
            ["fields.CF_SY.concat[1]", "{path: …} or {const: …}"],
        ),
        (  # bad field code
            "version: 1\ncategory: penalty\nfields:\n  cf_xdr_mc: {path: a}\n",
            ["fields.cf_xdr_mc", "not a valid field code"],
        ),
        (  # bad path
            "version: 1\ncategory: penalty\nfields:\n  CF_X: {path: a..b}\n",
            ["fields.CF_X.path", "'a..b' is not a valid source path"],
        ),
        (  # a licence field in a penalty mapping
            "version: 1\ncategory: penalty\nfields:\n  XK_NR: {path: a}\n",
            ["fields", "XK_NR do not belong to category penalty"],
        ),
        ("version: 1\ncategory: fines\nfields:\n  CF_X: {path: a}\n", ["category", "unknown category 'fine"]),
        (  # a penalty field in an inspection mapping (categories come from the schema's data)
            "version: 1\ncategory: inspection\nfields:\n  CF_WSH: {path: a}\n",
            ["fields", "CF_WSH do not belong to category inspection (codes JC_…)"],
        ),
        ("version: 1\nfields:\n  CF_X: {path: a}\n", ["category is required"]),
        ("version: 1\ncategory: penalty\n", ["needs at least one field"]),
        (
            "version: 1\ncategory: penalty\nfields:\n  CF_X: {path: a, transforms: [{map: {}}]}\n",
            ["at least 1 item"],
        ),
        (
            "version: 1\ncategory: penalty\nfields:\n  CF_X: {path: a, transforms: [{code: {}}]}\n",
            ["a table, a map"],
        ),
        (
            "version: 1\ncategory: penalty\nfields:\n"
            "  CF_X: {path: a, transforms: [{custom: not_registered}]}\n",
            ["line 4", "unknown custom transform 'not_registered'"],
        ),
        (
            "version: 1\ncategory: penalty\nfields:\n  CF_X: {custom: legacy_2016_id_type}\n",
            ["custom source 'legacy_2016_id_type' does not accept args", "prefix"],
        ),
        (
            "version: 1\ncategory: penalty\ndrop: [CF_X]\nfields:\n  CF_X: {path: a}\n",
            ["drop only makes sense"],
        ),
    ],
)
def test_invalid_files_are_explained(tmp_path: Path, text: str, expected: list[str]) -> None:
    message = load_error(tmp_path, text)
    for fragment in expected:
        assert fragment in message


def test_all_problems_are_reported_at_once(tmp_path: Path) -> None:
    message = load_error(
        tmp_path,
        "version: 1\ncategory: penalty\nfields:\n  CF_A: {pth: a}\n  CF_B: {path: b, transforms: [x]}\n",
    )
    assert "fields.CF_A" in message and "fields.CF_B" in message


@pytest.mark.parametrize(
    ("version_line", "expected"),
    [
        ("", "missing 'version'"),
        ("version: 2\n", "unsupported mapping version 2"),
        ("version: 0\n", "unsupported mapping version 0"),
        ("version: '1'\n", "unsupported mapping version '1'"),
        ("version: true\n", "unsupported mapping version True"),
        ("version: 1.0\n", "unsupported mapping version 1.0"),
    ],
)
def test_version_is_required_and_checked(tmp_path: Path, version_line: str, expected: str) -> None:
    assert expected in load_error(tmp_path, version_line + "category: penalty\nfields:\n  CF_X: {path: a}\n")


def test_older_versions_are_migrated(monkeypatch: pytest.MonkeyPatch, tmp_path: Path) -> None:
    """The loader's upgrade path: a registered migration lifts an old file to the current version."""

    def from_v0(raw: dict[str, Any]) -> dict[str, Any]:
        fields = {code: {"path": source} for code, source in raw["columns"].items()}
        return {"version": 1, "category": raw["category"], "fields": fields}

    monkeypatch.setitem(loader_module._MIGRATIONS, 0, from_v0)
    spec = load_mapping(write(tmp_path, "version: 0\ncategory: penalty\ncolumns: {CF_WSH: doc_no}\n"))
    assert spec.version == 1
    assert spec.apply({"doc_no": "X1"}).data == {"CF_WSH": "X1"}


@pytest.mark.parametrize(
    ("text", "expected"),
    [
        ("", "got empty"),
        ("- a\n- b\n", "got a list"),
        ("version: 1\ncategory: [penalty\n", "not valid YAML"),
        (
            "version: 1\ncategory: penalty\nfields:\n  CF_X: {path: a}\n  CF_X: {path: b}\n",
            "duplicate key 'CF_X'",
        ),
        ("version: 1\ncategory: penalty\nfields:\n  ? [a, b]\n  : {path: a}\n", "a key must be plain text"),
    ],
)
def test_yaml_problems(tmp_path: Path, text: str, expected: str) -> None:
    assert expected in load_error(tmp_path, text)


def test_missing_file(tmp_path: Path) -> None:
    with pytest.raises(ConfigurationError, match="cannot read mapping file"):
        load_mapping(tmp_path / "absent.yaml")


def test_yaml_keys_are_kept_as_written(tmp_path: Path) -> None:
    """YAML 1.1 would turn `01:` into 1 and `yes:` into True; code values must survive as text."""
    path = write(
        tmp_path,
        """\
        version: 1
        category: penalty
        fields:
          CF_X:
            path: v
            transforms: [{map: {01: 自然人, 1: one, yes: 是, 0x1F: hex}}]
        """,
    )
    spec = load_mapping(path)
    assert [spec.apply({"v": v}).data["CF_X"] for v in ("01", "1", "yes", "0x1F")] == [
        "自然人",
        "one",
        "是",
        "hex",
    ]


def test_yaml_anchors_and_merges(tmp_path: Path) -> None:
    """Repeating a block with `<<: *anchor` and overriding one key is normal YAML, not a duplicate."""
    path = write(
        tmp_path,
        """\
        version: 1
        category: penalty
        fields:
          CF_XDR_SHXYM: &code {path: a, transforms: [trim, fullwidth_to_halfwidth, upper]}
          CF_XDR_ZZJG: {<<: *code, path: b}
        """,
    )
    assert load_mapping(path).apply({"a": " ９ａ", "b": "ｂ"}).data == {
        "CF_XDR_SHXYM": "9A",
        "CF_XDR_ZZJG": "B",
    }


def test_unquoted_yaml_dates_still_work(tmp_path: Path) -> None:
    spec = load_mapping(
        write(
            tmp_path,
            "version: 1\ncategory: penalty\nfields:\n"
            "  CF_YXQ: {path: v, default: 2099-12-31, transforms: [date]}\n",
        )
    )
    assert spec.apply({}).data == {"CF_YXQ": "2099-12-31"}


def test_parse_mapping_reports_the_source_name() -> None:
    with pytest.raises(ConfigurationError, match=r"db:mapping/7: invalid mapping[\s\S]*unknown key 'foo'"):
        parse_mapping(
            {"version": 1, "category": "penalty", "fields": {"CF_X": {"path": "a", "foo": 1}}}, "db:mapping/7"
        )


def test_parse_mapping_rejects_non_mappings() -> None:
    with pytest.raises(ConfigurationError, match="got a list"):
        parse_mapping([], "x")  # type: ignore[arg-type]


# ---- digest ---------------------------------------------------------------------------------------


def test_digest_ignores_layout_and_comments(tmp_path: Path) -> None:
    block = """\
        # a comment
        version: 1
        category: penalty
        fields:
          CF_WSH:
            path: doc_no        # another comment
            transforms:
              - trim
        """
    flow = "{fields: {CF_WSH: {transforms: [trim], path: doc_no}}, category: penalty, version: 1}"
    first = load_mapping(write(tmp_path, block, "a.yaml")).digest
    assert first == load_mapping(write(tmp_path, flow, "b.yaml")).digest
    assert len(first) == 64 and int(first, 16) >= 0


def test_digest_changes_with_behaviour(tmp_path: Path) -> None:
    base = "version: 1\ncategory: penalty\nfields:\n  CF_WSH: {path: doc_no, transforms: [trim]}\n"
    changed = base.replace("[trim]", "[trim, upper]")
    assert (
        load_mapping(write(tmp_path, base, "a.yaml")).digest
        != load_mapping(write(tmp_path, changed, "b.yaml")).digest
    )


# ---- JSON Schema ----------------------------------------------------------------------------------


def test_json_schema_validates_the_example() -> None:
    jsonschema = pytest.importorskip("jsonschema")
    schema = mapping_json_schema()
    jsonschema.Draft202012Validator.check_schema(schema)
    jsonschema.validate(yaml.safe_load(EXAMPLE), schema)


@pytest.mark.parametrize("name", ["legacy_2016_penalty", "legacy_2016_license"])
def test_json_schema_validates_the_presets(name: str) -> None:
    jsonschema = pytest.importorskip("jsonschema")
    text = (Path(loader_module.__file__).parent / "presets" / f"{name}.yaml").read_text(encoding="utf-8")
    jsonschema.validate(yaml.safe_load(text), mapping_json_schema())


@pytest.mark.parametrize(
    "change",
    [
        lambda doc: doc.update(owner="me"),
        lambda doc: doc["fields"]["CF_XDR_MC"].update(transfroms=["trim"]),
        lambda doc: doc["fields"]["CF_XDR_MC"]["transforms"].append("trimm"),
        lambda doc: doc["fields"].update(cf_lower={"path": "a"}),
        lambda doc: doc["fields"]["CF_CFJG"].update(path="a"),
        lambda doc: doc.update(version=2),
    ],
)
def test_json_schema_rejects_what_the_loader_rejects(change: Any) -> None:
    jsonschema = pytest.importorskip("jsonschema")
    document = yaml.safe_load(EXAMPLE)
    change(document)
    with pytest.raises(jsonschema.ValidationError):
        jsonschema.validate(document, mapping_json_schema())
    with pytest.raises(ConfigurationError):
        parse_mapping(document)


def test_write_json_schema(tmp_path: Path) -> None:
    target = write_json_schema(tmp_path / "schemas" / "mapping.schema.json")
    assert json.loads(target.read_text(encoding="utf-8")) == mapping_json_schema()


# ---- python -m creditsync.mapping -----------------------------------------------------------------


def test_cli_check_and_schema(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    good = write(tmp_path, EXAMPLE, "good.yaml")
    bad = write(tmp_path, "version: 1\ncategory: penalty\nfields:\n  CF_X: {pth: a}\n", "bad.yaml")
    assert main(["check", str(good)]) == 0
    assert main(["check", str(good), str(bad)]) == 1
    out, err = capsys.readouterr()
    assert "ok   " in out and "FAIL" in err and "bad.yaml" in err
    assert main(["schema", str(tmp_path / "s.json")]) == 0
    assert json.loads((tmp_path / "s.json").read_text(encoding="utf-8"))["$id"].endswith("mapping-v1.json")


def test_presets_are_listed() -> None:
    assert {"legacy_2016_penalty", "legacy_2016_license"} <= set(available_presets())
