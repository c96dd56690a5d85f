"""The credit loop from the shell: ``feed pull``, ``check-subject`` (exit 1 listed, 0 not; a person's
number masked in what it prints), ``inspect draw`` (XLSX written, seed published) and ``inspect verify``
(exit 0 the same list, 1 once the register changed)."""

from __future__ import annotations

import json
import shutil
from collections.abc import Iterator
from pathlib import Path

import pytest
import requests
from openpyxl import load_workbook
from typer.testing import CliRunner

from creditsync.cli.main import app
from creditsync.schema.identifiers import make_uscc
from creditsync.simulators.platform import PlatformSimulator, RunningSimulator

REPO = Path(__file__).resolve().parents[2]
PERSON = "370102199001011231"
runner = CliRunner()


@pytest.fixture
def platform(store_url: str, tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Iterator[RunningSimulator]:
    shutil.copytree(REPO / "credit", tmp_path / "credit")
    simulator = PlatformSimulator(app_key="k-cli", validator=lambda _c, _d: [])
    with simulator.start_in_thread() as running:
        for name, value in {"CREDITSYNC_HOME": str(tmp_path), "CREDITSYNC_DB_URL": store_url,
                            "CREDITSYNC_PLATFORM_URL": running.url, "CREDITSYNC_PLATFORM_APP_KEY": "k-cli",
                            "CREDITSYNC_ACTOR": "officer-wang"}.items():
            monkeypatch.setenv(name, value)
        yield running
    simulator.close()


def test_feed_pull_then_check_subject(platform: RunningSimulator) -> None:
    requests.post(f"{platform.url}/_sim/credit/lists", timeout=10, json={
        "subject_id": PERSON, "subject_name": "张三", "cause": "拒不履行",
        "measures": ["CJ06"]}).raise_for_status()
    pulled = runner.invoke(app, ["feed", "pull", "--json"])
    assert pulled.exit_code == 0, pulled.output
    assert [r["received"] for r in json.loads(pulled.output)] == [1, 0]

    listed = runner.invoke(app, ["check-subject", "--subject", PERSON, "--matter", "SC-XK-001",
                                 "--department", "market_supervision"])
    assert listed.exit_code == 1, listed.output
    assert "370102********1231" in listed.output and PERSON not in listed.output
    assert "CJ06" in listed.output and "listed" in listed.output
    clear = runner.invoke(app, ["check-subject", "--subject", "91370112MA3C00001X", "--matter", "SC-XK-001",
                                "--json"])
    assert clear.exit_code == 0 and json.loads(clear.output)["listed"] is False
    before = runner.invoke(app, ["check-subject", "--subject", PERSON, "--matter", "SC-XK-001",
                                 "--as-of", "2020-01-01T00:00:00", "--json"])
    assert before.exit_code == 0 and json.loads(before.output)["listed"] is False  # not known back then
    unknown = runner.invoke(app, ["check-subject", "--subject", PERSON, "--matter", "NOPE"])
    assert unknown.exit_code != 0 and "unknown matter" in unknown.output


def test_inspect_draw_and_verify(platform: RunningSimulator, tmp_path: Path) -> None:
    register = tmp_path / "register.csv"
    rows = [f"{make_uscc(f'91370112MA{n:06d}X')},商户{n},ZF001" for n in range(60)]
    register.write_text("subject_id,subject_name,supervisor\n" + "\n".join(rows) + "\n", encoding="utf-8")
    plan = tmp_path / "plan.yaml"
    plan.write_text("register: register.csv\nratios: {unrated: 10%}\ninspectors_per_subject: 1\n"
                    "inspectors: [{id: ZF001, name: 甲}, {id: ZF002, name: 乙}]\n", encoding="utf-8")
    drawn = runner.invoke(app, ["inspect", "draw", "--department", "market_supervision", "--plan", str(plan),
                                "--json"])
    assert drawn.exit_code == 0, drawn.output
    outcome = json.loads(drawn.output)
    assert len(outcome["drawn"]) == 6 and all(r["inspectors"] == [{"id": "ZF002", "name": "乙"}]
                                              for r in outcome["drawn"])  # never their own supervisor
    sheet = load_workbook(outcome["xlsx"]).active
    assert sheet is not None and sheet.max_row == 8

    assert runner.invoke(app, ["inspect", "verify", outcome["draw_id"]]).exit_code == 0
    register.write_text("subject_id,subject_name,supervisor\n" + "\n".join(rows[1:]) + "\n", encoding="utf-8")
    changed = runner.invoke(app, ["inspect", "verify", outcome["draw_id"]])
    assert changed.exit_code == 1 and "register changed" in changed.output
