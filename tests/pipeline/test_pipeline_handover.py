"""Files handed over by hand (``creditsync validate/map/push FILE``) are read by the file-drop source's
reader: a broken file is one clean, named problem, never a traceback."""

from __future__ import annotations

import csv
from pathlib import Path

import pytest
from typer.testing import CliRunner

from creditsync.cli.main import app
from creditsync.pipeline.handover import read_template_file

REPO = Path(__file__).resolve().parents[2]
MAPPING = REPO / "mappings" / "market_supervision" / "penalty.yaml"
HEADER = ["CF_WSH", "CF_XDR_MC", "CF_XDR_SHXYM"]


def write_csv(path: Path, rows: list[list[str]], encoding: str = "utf-8") -> Path:
    with path.open("w", encoding=encoding, newline="") as handle:
        csv.writer(handle).writerows([HEADER, *rows])
    return path


def mixed_encoding_csv(tmp_path: Path) -> Path:
    """UTF-8 rows with one row pasted in from a GBK export, as spreadsheets merged by hand end up."""
    path = write_csv(tmp_path / "mixed.csv", [["长市监罚〔2026〕1号", "甲公司", "x"]] * 3000)
    with path.open("ab") as handle:
        handle.write("长市监罚〔2026〕2号,乙公司,x\r\n".encode("gbk"))
    return path


def damaged_xlsx(tmp_path: Path) -> Path:
    path = tmp_path / "damaged.xlsx"
    path.write_bytes(b"PK\x03\x04 this is not really a workbook")
    return path


def unclosed_quote_csv(tmp_path: Path) -> Path:
    path = tmp_path / "quote.csv"
    path.write_text("CF_WSH,CF_XDR_MC,CF_XDR_SHXYM\n1号,\"甲公司,x\n2号,乙公司,x\n3号,丙公司,x\n",
                    encoding="utf-8")
    return path


def merged_rows_csv(tmp_path: Path) -> Path:
    path = tmp_path / "merged.csv"
    path.write_text("CF_WSH,CF_XDR_MC,CF_XDR_SHXYM\n1号,\"甲公司,x\n2号,乙公司\",x\n3号,丙公司,x\n",
                    encoding="utf-8")
    return path


@pytest.mark.parametrize(
    ("make", "reason"),
    [
        (mixed_encoding_csv, "neither UTF-8 nor GBK"),
        (damaged_xlsx, "damaged or not an .xlsx"),
        (unclosed_quote_csv, "quote opened on line 2 is never closed"),
    ],
    ids=["mixed-encoding-csv", "damaged-xlsx", "unclosed-quote"],
)
def test_a_broken_handed_over_file_is_one_named_problem_not_a_traceback(
    tmp_path: Path, make: object, reason: str
) -> None:
    path = make(tmp_path)  # type: ignore[operator]
    (record,) = list(read_template_file(path, "penalty"))
    assert record.key == path.name and reason in (record.error or "")
    for args in (["validate", "--category", "penalty"], ["map", "--mapping", str(MAPPING)]):
        result = CliRunner().invoke(app, [*args, "--input", str(path)])
        assert result.exit_code == 1, result.output
        assert result.exception is None or isinstance(result.exception, SystemExit)  # no crash
        assert "Traceback" not in result.output and reason in " ".join(result.output.split())


def test_an_unclosed_quote_that_merges_rows_is_reported_as_such_not_as_a_long_name(tmp_path: Path) -> None:
    records = list(read_template_file(merged_rows_csv(tmp_path), "penalty"))
    assert [r.error is not None for r in records] == [True, False]
    assert "unclosed quote probably merged the following rows" in (records[0].error or "")
    assert "CF_XDR_MC" in (records[0].error or "")


def test_handed_over_and_dropped_csv_read_gbk_alike(tmp_path: Path) -> None:
    path = write_csv(tmp_path / "gbk.csv", [["长市监罚〔2026〕1号", "历城区某某餐饮店", "x"]], encoding="gbk")
    (record,) = list(read_template_file(path, "penalty"))
    assert record.error is None and record.data["CF_XDR_MC"] == "历城区某某餐饮店"
    assert record.key == "gbk.csv#1"


ECOLOGY_MAPPING = REPO / "mappings" / "ecology_environment" / "penalty.yaml"
# The ecology feed's layout with a repeated signature block before the records: guessing the record
# element picks <Signature>, and every field of every record would read as empty.
SIGNED_FEED = """<?xml version="1.0" encoding="GBK"?>
<DataPackage xmlns="urn:jinan:changqing:sthj:exchange:2016">
  <Signature><Signer>甲</Signer></Signature><Signature><Signer>乙</Signer></Signature>
  <XZCF><CF_WSH>济环长罚字〔2026〕101号</CF_WSH><CF_XDR_MC>济南长清德润建材有限公司</CF_XDR_MC>
    <SJC>2026-02-11 14:55:37</SJC></XZCF>
  <XZCF><CF_WSH>济环长罚字〔2026〕102号</CF_WSH><CF_XDR_MC>济南某某有限公司</CF_XDR_MC>
    <SJC>2026-02-12 14:55:37</SJC></XZCF>
</DataPackage>
"""


def test_map_reads_an_xml_sample_with_the_departments_record_tag_and_namespaces(tmp_path: Path) -> None:
    from creditsync.pipeline.handover import department_of_mapping

    path = tmp_path / "penalty.xml"
    path.write_bytes(SIGNED_FEED.encode("gbk"))  # the encoding comes from the prolog
    department = department_of_mapping(ECOLOGY_MAPPING)
    assert department is not None and department.department == "ecology_environment"
    records = list(read_template_file(path, "penalty", department))
    assert [r.data["CF_WSH"] for r in records] == ["济环长罚字〔2026〕101号", "济环长罚字〔2026〕102号"]
    result = CliRunner().invoke(app, ["map", "--mapping", str(ECOLOGY_MAPPING), "--input", str(path)])
    assert "CF_WSH = 济环长罚字〔2026〕101号" in result.output
    assert "CF_XDR_MC = 济南长清德润建材有限公司" in result.output
