"""双随机 draws: the seed's hash is audited before the register is read and the seed after; a re-run
from the published seed gives the same list; a register changed after the commitment is detected; the
ratios apply per grade, inspectors never include the subject's own supervisor; the XLSX opens."""

from __future__ import annotations

import csv
import hashlib
from pathlib import Path

from credit_support import feed_client
from openpyxl import load_workbook
from sqlalchemy import select, update

from creditsync.audit import AuditTrail
from creditsync.audit.events import AuditEvent
from creditsync.credit.draws import draw, export_xlsx, load_plan, verify
from creditsync.credit.feed import pull_all
from creditsync.schema.identifiers import make_uscc
from creditsync.simulators.platform import RunningSimulator
from creditsync.store import Store
from creditsync.store.credit_models import CreditDraw
from creditsync.store.models import AuditEntry

INSPECTORS = [f"ZF{n:03d}" for n in range(1, 7)]


def _register(path: Path, size: int) -> list[str]:
    ids = [make_uscc(f"91370112MA{n:06d}X") for n in range(size)]
    with path.open("w", encoding="utf-8", newline="") as handle:
        writer = csv.writer(handle)
        writer.writerow(["subject_id", "subject_name", "supervisor"])
        for n, number in enumerate(ids):
            writer.writerow([number, f"商户{n}", INSPECTORS[n % 3]])
    return ids


def _plan(tmp_path: Path) -> Path:
    plan = tmp_path / "plan.yaml"
    plan.write_text("register: register.csv\nratios: {A: 3%, B: 5%, C: 10%, D: 20%, unrated: 5%}\n"
                    "inspectors_per_subject: 2\nexclude_own_supervisor: true\ninspectors:\n"
                    + "".join(f"  - {{id: {i}, name: 检查员{i}}}\n" for i in INSPECTORS), encoding="utf-8")
    return plan


def _grade(platform: RunningSimulator, ids: list[str]) -> None:
    import requests

    for n, number in enumerate(ids[:200]):  # 50 of each grade, the rest unrated
        requests.post(f"{platform.url}/_sim/credit/grades", timeout=10,
                      json={"subject_id": number, "grade": "ABCD"[n % 4]}).raise_for_status()


def test_a_draw_is_committed_then_published_and_reproducible(store: Store, platform: RunningSimulator,
                                                              tmp_path: Path) -> None:
    ids = _register(tmp_path / "register.csv", 400)
    _grade(platform, ids)
    pull_all(store, feed_client(platform))
    plan = load_plan(_plan(tmp_path))

    outcome = draw(store, "market_supervision", plan, AuditTrail("inspector-office"))

    strata = outcome["strata"]
    assert {g: s["register"] for g, s in strata.items()} == {"A": 50, "B": 50, "C": 50, "D": 50,
                                                             "unrated": 200}
    assert {g: s["drawn"] for g, s in strata.items()} == {"A": 2, "B": 3, "C": 5, "D": 10, "unrated": 10}
    assert hashlib.sha256(outcome["seed"].encode()).hexdigest() == outcome["seed_commitment"]
    supervisors = {number: INSPECTORS[n % 3] for n, number in enumerate(ids)}
    by_shown = {number: number for number in ids}
    for row in outcome["drawn"]:
        assert len(row["inspectors"]) == 2
        assert supervisors[by_shown[row["subject"]]] not in {i["id"] for i in row["inspectors"]}
    with store.reader() as session:
        entries = session.scalars(select(AuditEntry).where(AuditEntry.event.in_(
            [str(AuditEvent.DRAW_COMMITTED), str(AuditEvent.DRAW_PUBLISHED)])).order_by(AuditEntry.id)).all()
    assert [e.event for e in entries] == ["draw_committed", "draw_published"]
    assert entries[0].details["seed_commitment"] == outcome["seed_commitment"]
    assert "seed" not in entries[0].details and entries[1].details["seed"] == outcome["seed"]

    assert verify(store, outcome["draw_id"], AuditTrail("auditor"))["ok"] is True
    second = draw(store, "market_supervision", plan, AuditTrail("inspector-office"))
    assert second["seed"] != outcome["seed"]  # each draw its own seed

    sheet = load_workbook(export_xlsx(outcome, tmp_path / "draw.xlsx")).active
    assert sheet is not None and sheet.max_row == 2 + len(outcome["drawn"])
    assert sheet.cell(1, 4).value == outcome["seed"]


def test_a_register_or_list_changed_after_the_commitment_is_detected(store: Store, tmp_path: Path) -> None:
    ids = _register(tmp_path / "register.csv", 100)
    outcome = draw(store, "market_supervision", load_plan(_plan(tmp_path)), AuditTrail("office"))
    assert len(outcome["drawn"]) == 5  # all unrated: 5 %

    _register(tmp_path / "register.csv", 99)  # one subject quietly left out afterwards
    changed = verify(store, outcome["draw_id"], AuditTrail("auditor"))
    assert changed["ok"] is False and any("register changed" in p for p in changed["problems"])

    _register(tmp_path / "register.csv", 100)  # the register as it was: the draw stands again
    assert verify(store, outcome["draw_id"], AuditTrail("auditor"))["ok"] is True
    with store.transaction() as session:  # someone swaps a drawn subject in the stored list
        row = session.get(CreditDraw, outcome["draw_id"])
        assert row is not None
        result = dict(row.result or {})
        result["drawn"] = [{**result["drawn"][0], "subject": ids[-1]}, *result["drawn"][1:]]
        session.execute(update(CreditDraw).where(CreditDraw.id == row.id).values(result=result))
    altered = verify(store, outcome["draw_id"], AuditTrail("auditor"))
    assert altered["ok"] is False and any("another list" in p for p in altered["problems"])
