"""``creditsync validate``: canonical records in every template format, the JSON line shape, exit codes."""

from __future__ import annotations

import json
from pathlib import Path

import pytest
from cli_support import invoke, json_lines, penalties, run_cli, write_rows
from schema_factories import PERSON_ID, license_row

FORMATS = ["rows.jsonl", "rows.json", "rows.csv", "rows.xlsx"]


@pytest.mark.parametrize("name", FORMATS)
def test_all_valid_exits_0_in_every_format(tmp_path: Path, name: str) -> None:
    path = write_rows(tmp_path / name, penalties(4))
    result = invoke("validate", "--category", "penalty", "--input", str(path), "--format", "json")
    assert result.exit_code == 0, result.output
    assert json_lines(result.stdout) == [{"index": i, "valid": True, "errors": []} for i in range(4)]


@pytest.mark.parametrize("name", FORMATS)
def test_one_invalid_exits_1_and_names_the_field(tmp_path: Path, name: str) -> None:
    path = write_rows(tmp_path / name, penalties(3, invalid=[1]))
    result = invoke("validate", "--category", "penalty", "--input", str(path), "--format", "json")
    assert result.exit_code == 1, result.output
    lines = json_lines(result.stdout)
    assert [line["valid"] for line in lines] == [True, False, True]
    assert [e["field"] for e in lines[1]["errors"]] == ["CF_XDR_SHXYM"]


def test_the_json_line_has_exactly_this_shape(tmp_path: Path) -> None:
    path = write_rows(tmp_path / "one.jsonl", penalties(1, invalid=[0]))
    result = invoke("validate", "--category", "penalty", "--input", str(path), "--format", "json")
    [line] = result.stdout.splitlines()
    assert line.startswith('{"index": 0, "valid": false, "errors": [{"field": "CF_XDR_SHXYM", "message": "')
    parsed = json.loads(line)
    assert list(parsed) == ["index", "valid", "errors"]
    assert [list(e) for e in parsed["errors"]] == [["field", "message"]]
    assert "统一社会信用代码" in parsed["errors"][0]["message"]  # Chinese as such, not \\u escapes
    assert "统一社会信用代码" in line


def test_a_gbk_csv_from_an_old_office_suite_is_read(tmp_path: Path) -> None:
    rows = penalties(3, invalid=[2])
    path = write_rows(tmp_path / "gbk.csv", rows, encoding="gbk")
    assert "长市监罚".encode("gbk") in path.read_bytes()
    result = invoke("validate", "--category", "penalty", "--input", str(path), "--format", "json")
    assert result.exit_code == 1
    assert [line["valid"] for line in json_lines(result.stdout)] == [True, True, False]


def test_licences_are_validated_against_their_own_schema(tmp_path: Path) -> None:
    rows = [license_row(), license_row(XK_YXQZI="2020/01/01")]
    path = write_rows(tmp_path / "licences.jsonl", rows)
    result = invoke("validate", "--category", "license", "--input", str(path), "--format", "json")
    assert result.exit_code == 1
    assert [e["field"] for e in json_lines(result.stdout)[1]["errors"]] == ["XK_YXQZI"]


def test_an_unreadable_line_is_an_invalid_record_not_a_crash(tmp_path: Path) -> None:
    path = tmp_path / "broken.jsonl"
    path.write_text(json.dumps(penalties(1)[0], ensure_ascii=False) + "\n{not json\n", "utf-8")
    result = invoke("validate", "--category", "penalty", "--input", str(path), "--format", "json")
    assert result.exit_code == 1
    lines = json_lines(result.stdout)
    assert lines[0]["valid"] and not lines[1]["valid"]
    assert lines[1]["errors"][0]["field"] == "(record)"


def test_the_table_summary_counts_records_and_never_shows_a_full_id_number(tmp_path: Path) -> None:
    rows = penalties(3, invalid=[0])
    rows[2]["CF_XDR_ZJHM"] = PERSON_ID[:-1] + ("0" if PERSON_ID[-1] != "0" else "1")  # bad checksum
    path = write_rows(tmp_path / "rows.csv", rows)
    result = invoke("validate", "--category", "penalty", "--input", str(path))
    assert result.exit_code == 1
    assert "3 records, 2 invalid" in result.stdout
    assert PERSON_ID[:-1] not in result.output


@pytest.mark.parametrize(
    ("args", "words"),
    [
        (["--category", "fine", "--input", "{ok}"], "unknown category"),
        (["--category", "penalty", "--input", "{missing}"], "does not exist"),
        (["--category", "penalty", "--input", "{text}"], "unsupported file type"),
        (["--input", "{ok}"], "--category"),
    ],
    ids=["unknown-category", "missing-file", "unsupported-type", "no-category"],
)
def test_usage_errors_exit_2(tmp_path: Path, args: list[str], words: str) -> None:
    files = {"ok": write_rows(tmp_path / "ok.jsonl", penalties(1)), "missing": tmp_path / "nope.jsonl",
             "text": tmp_path / "notes.txt"}
    files["text"].write_text("CF_WSH\n", "utf-8")
    result = invoke("validate", *[a.format(**files) for a in args])
    assert result.exit_code == 2, result.output
    assert words in result.output


@pytest.mark.integration
def test_the_installed_command_exits_0_1_and_2(tmp_path: Path) -> None:
    good = write_rows(tmp_path / "good.csv", penalties(2))
    bad = write_rows(tmp_path / "bad.csv", penalties(2, invalid=[0]))
    codes = [run_cli("validate", "--category", "penalty", "--input", str(path), "--format", "json")
             for path in (good, bad)]
    usage = run_cli("validate", "--category", "nonsense", "--input", str(good))
    assert [c.returncode for c in codes] == [0, 1]
    assert usage.returncode == 2, usage.stderr
    assert json_lines(codes[1].stdout)[0]["errors"][0]["field"] == "CF_XDR_SHXYM"
