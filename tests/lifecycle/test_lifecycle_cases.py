"""What the platform ends up showing, through a record's whole life: each case a real sync against the
department's REST simulator and the platform simulator, on SQLite and PostgreSQL.

1. an operator's 终止公示 survives any re-read of the department's data, until released;
2. a version that must not be shown (a minor, a hold-back rule) takes down what is live;
3. one decision is one row: 文书号 variants are one record, a changed 文书号 withdraws the old row, and
   what was repaired stays off under its new number;
4. whoever can write the database cannot publish, withdraw early, or rewrite what was published
   (an insider's edits are refused, quarantined, alarmed, and found by ``audit verify --deep``);
5. ID numbers in any written form are masked at rest, and pending payloads are encrypted;
6. minors under every document that carries a birth date, and a 个体工商户's operator;
8. markup in a published field is refused with its reason.
"""

from __future__ import annotations

import json
import random
import re
from datetime import date
from pathlib import Path
from typing import Any

import pytest
from cli_support import invoke
from fabricate import insider
from pipeline_harness import Harness
from sqlalchemy import inspect, select, text, update

from creditsync.exceptions import FieldError
from creditsync.pipeline import pull
from creditsync.privacy import id_number_in
from creditsync.simulators.synthetic import make_id_number
from creditsync.store.models import AuditEntry, OutboxItem, QuarantineItem, Record, RecordVersion

BOTH = pytest.mark.parametrize("harness_db", ["sqlite", "postgresql"], indirect=True)
DEPARTMENT = "market_supervision"


def live_rows(harness: Harness) -> int:
    """Rows the platform shows."""
    store = harness.simulator.store
    with store.batch():
        return int(store._db.execute("SELECT count(*) FROM records WHERE withdrawn = 0").fetchone()[0])


def shown(harness: Harness, record: Record) -> str:
    copy = harness.client.record(str(record.platform_id))
    return str(copy["status"]) if copy else "absent"


def valid(harness: Harness, kind: str, party_type: str = "02", index: int = 0) -> dict[str, Any]:
    broken = set(harness.source.broken_ids)
    status = "正常" if kind == "penalty" else "有效"
    found = [r for r in harness.records(kind)
             if r["id"] not in broken and r["status"] == status and r["party_type"] == party_type]
    return found[index]


def events(harness: Harness, key: str) -> list[str]:
    return [e.event for e in harness.rows(AuditEntry, AuditEntry.business_key == key)]


def redrive_from_start(category: str) -> None:
    result = invoke("quarantine", "redrive", DEPARTMENT, "--category", category, "--from-start",
                    "--reason", "部门重新导出")
    assert result.exit_code == 0, result.output


def deep_verify() -> tuple[int, str]:
    result = invoke("audit", "verify", "--deep")
    return result.exit_code, " ".join(result.output.split())


# -- 1. an operator's withdrawal ------------------------------------------------------------------

@BOTH
def test_an_operators_withdrawal_survives_every_reread_until_released(harness: Harness) -> None:
    licence = valid(harness, "license")
    harness.sync()
    before = harness.record(licence["decision_no"])
    assert before.state == "published"

    done = invoke("withdraw", licence["decision_no"], "--reason", "许可证已被法院判决撤销")
    assert done.exit_code == 0, done.output
    record = harness.record(licence["decision_no"])
    assert record.state == "operator_withdrawn" and shown(harness, record) == "withdrawn"

    redrive_from_start("license")  # the unchanged record is read again: nothing changes
    harness.sync()
    record = harness.record(licence["decision_no"])
    assert (record.state, record.version) == ("operator_withdrawn", before.version)
    assert shown(harness, record) == "withdrawn"

    harness.source.update(licence["id"], content=licence["content"] + "（变更经营项目）")
    harness.sync()  # a genuinely new version is kept, and still not shown
    record = harness.record(licence["decision_no"])
    assert (record.state, record.version) == ("operator_withdrawn", before.version + 1)
    assert shown(harness, record) == "withdrawn"
    assert "republish_blocked" in events(harness, record.business_key)

    released = invoke("release", licence["decision_no"], "--reason", "撤销判决已被二审撤销")
    assert released.exit_code == 0, released.output
    redrive_from_start("license")  # its stored copy holds a masked ID number: sent once read again
    harness.sync()
    record = harness.record(licence["decision_no"])
    assert record.state == "published" and shown(harness, record) == "published"
    assert harness.client.record(str(record.platform_id))["data"]["XK_NR"].endswith("（变更经营项目）")
    assert "record_released" in events(harness, record.business_key)
    assert harness.chain_ok()


@BOTH
def test_an_operator_cannot_withdraw_twice_nor_release_what_is_not_withdrawn(harness: Harness) -> None:
    licence = valid(harness, "license")
    harness.sync()
    assert invoke("release", licence["decision_no"], "--reason", "x").exit_code == 2
    assert invoke("withdraw", licence["decision_no"], "--reason", " ").exit_code == 2
    assert invoke("withdraw", licence["decision_no"], "--reason", "依法撤销").exit_code == 0
    again = invoke("withdraw", licence["decision_no"], "--reason", "依法撤销")
    assert again.exit_code == 2 and "already off display" in again.output


# -- 2. held back after publication -------------------------------------------------------------

def minor_id(born: date = date(2012, 3, 4)) -> str:
    return make_id_number(random.Random(5), born, area="370113")


@BOTH
def test_a_correction_showing_the_person_is_a_minor_takes_the_penalty_down(harness: Harness) -> None:
    person = valid(harness, "penalty", party_type="01")
    harness.sync()
    assert shown(harness, harness.record(person["decision_no"])) == "published"

    harness.source.update(person["id"], id_no=minor_id())
    harness.sync()

    record = harness.record(person["decision_no"])
    assert (record.state, shown(harness, record)) == ("protected", "withdrawn")
    [entry] = harness.rows(QuarantineItem, QuarantineItem.stage == "protected")
    assert FieldError.from_stored(entry.errors[0]).message_zh == "未成年人信息不予公示"
    harness.sync()  # read again: nothing more
    assert harness.record(person["decision_no"]).state == "protected"


@BOTH
def test_a_configured_hold_back_rule_takes_a_live_record_down_the_same_way(harness: Harness,
                                                                          tmp_path: Path) -> None:
    rule = {"field": "CF_WFXW", "values": ["涉密案件"], "reason": "涉及国家秘密不予公示"}
    harness.use_department_file(tmp_path, publication={"hold_back": {"penalty": [rule]}})
    penalty = valid(harness, "penalty")
    harness.sync()
    harness.source.update(penalty["id"], illegal_type="涉密案件")
    harness.sync()
    record = harness.record(penalty["decision_no"])
    assert (record.state, shown(harness, record)) == ("protected", "withdrawn")


# -- 3. one decision, one row --------------------------------------------------------------------

@BOTH
def test_a_changed_document_number_under_the_same_id_leaves_one_row_per_decision(harness: Harness) -> None:
    spelt, renumbered, repaired = (valid(harness, "penalty", index=n) for n in (0, 1, 2))
    wide = spelt["decision_no"].translate({ord(d): 0xFF10 + int(d) for d in "0123456789"})
    harness.source.update(spelt["id"], decision_no=wide)  # typed full-width at first
    harness.sync()
    rows = live_rows(harness)
    assert harness.record(spelt["decision_no"]).document_no == spelt["decision_no"]  # canonical

    repair = invoke("repair", repaired["decision_no"], "--decision-no", "济信修〔2026〕9号",
                    "--reason", "整改")
    assert repair.exit_code == 0, repair.output
    harness.source.update(spelt["id"], decision_no=spelt["decision_no"])  # corrected to half-width
    new_number = renumbered["decision_no"].replace("号", "-1号")
    harness.source.update(renumbered["id"], decision_no=new_number)  # 3号 → 3-1号
    harness.source.update(repaired["id"], decision_no=repaired["decision_no"].replace("号", "-1号"))
    harness.sync()

    assert live_rows(harness) == rows - 1  # the repaired one is gone, and stays gone under its new number
    old = harness.record(renumbered["decision_no"])
    assert (old.state, shown(harness, old)) == ("replaced", "withdrawn")
    assert shown(harness, harness.record(new_number)) == "published"
    moved = harness.record(repaired["decision_no"].replace("号", "-1号"))
    assert moved.state == "repaired" and moved.platform_id is None
    assert "record_replaced" in events(harness, old.business_key)
    assert harness.count(Record, Record.document_no == spelt["decision_no"]) == 1


@BOTH
def test_one_decision_written_six_ways_in_one_file_is_one_row(harness: Harness, tmp_path: Path) -> None:
    sys_path_schema = Path(__file__).resolve().parents[1] / "schema"
    import sys

    sys.path.insert(0, str(sys_path_schema))
    from schema_factories import penalty_row

    ways = ["长市监罚〔２０２６〕７号", "长市监罚[2026]7号", "长市监罚（2026）7号", "长市监罚〔2026〕 7号",
            "长市监罚〔2026〕第7号", "长市监罚【2026】7号"]
    path = tmp_path / "handover.jsonl"
    path.write_text("".join(json.dumps(penalty_row(CF_WSH=way), ensure_ascii=False) + "\n" for way in ways),
                    "utf-8")
    result = invoke("push", "--category", "penalty", "--input", str(path), "--department", "handover")
    assert result.exit_code == 0, result.output
    assert live_rows(harness) == 1 and harness.stats()["records"] == 1
    assert harness.record("长市监罚〔2026〕7号").state == "published"
    assert harness.count(QuarantineItem) == 0


# -- 4. an insider with the database but not the key ---------------------------------------------

@BOTH
def test_an_outbox_item_altered_or_forged_in_the_database_is_never_sent(harness: Harness) -> None:
    penalty, other = valid(harness, "penalty", index=0), valid(harness, "penalty", index=1)
    harness.sync()
    harness.source.update(penalty["id"], facts=penalty["facts"] + "（更正）")
    harness.source.update(other["id"], facts=other["facts"] + "（更正）")
    pull(harness.context())  # two corrections wait, sealed
    [mine, theirs] = sorted(harness.pending(), key=lambda i: i.id)
    forged_key = "penalty:11370113004325179R:长市监处罚〔2026〕999号"
    with insider(harness.gateway.store) as session:
        # a fine changed: the insider can only swap in another item's sealed payload, or write plain JSON
        session.execute(update(OutboxItem).where(OutboxItem.id == mine.id).values(sealed=theirs.sealed))
        session.execute(update(OutboxItem).where(OutboxItem.id == theirs.id).values(
            sealed=None, legacy_payload={"CF_WSH": "x", "CF_NR_FK": "99"}))
        session.add(OutboxItem(idempotency_key="f" * 64, business_key=forged_key, department=DEPARTMENT,
                               category="penalty", action="upsert", version=1, run_id="x", status="pending",
                               attempts=0, platform_errors=[], legacy_payload={"CF_XDR_MC": "竞争对手公司"},
                               created_at=mine.created_at))
    before = harness.stats()["idempotency_keys"]
    harness.sync()

    assert harness.stats()["idempotency_keys"] == before  # nothing of it reached the platform
    refused = harness.rows(OutboxItem, OutboxItem.status == "refused")
    assert {i.business_key for i in refused} == {mine.business_key, theirs.business_key, forged_key}
    tampered = harness.rows(QuarantineItem, QuarantineItem.stage == "tampered")
    assert len(tampered) == 3
    assert harness.count(AuditEntry, AuditEntry.event == "tamper_detected") == 3
    code, said = deep_verify()
    assert code == 0 or "outbox" not in said  # refused items hold nothing any more; the trail says why


@BOTH
def test_an_edited_display_end_does_not_end_a_display_early(harness: Harness,
                                                             monkeypatch: pytest.MonkeyPatch) -> None:
    penalty = valid(harness, "penalty")
    harness.sync()
    record = harness.record(penalty["decision_no"])
    with insider(harness.gateway.store) as session:
        session.execute(update(Record).where(Record.business_key == record.business_key)
                        .values(display_until=date(2026, 1, 1)))
    result = invoke("expire")
    assert result.exit_code == 0, result.output
    after = harness.record(penalty["decision_no"])
    assert (after.state, shown(harness, after)) == ("published", "published")
    assert harness.count(QuarantineItem, QuarantineItem.stage == "tampered") == 1
    code, said = deep_verify()
    assert code == 1 and f"record {record.business_key} does not match its seal" in said


@BOTH
@pytest.mark.parametrize("edit", ["subject_name", "state", "version_payload", "acknowledged"])
def test_rows_rewritten_in_the_database_are_found_by_a_deep_verify(harness: Harness, edit: str) -> None:
    penalty = valid(harness, "penalty")
    harness.sync()
    key = harness.record(penalty["decision_no"]).business_key
    code, said = deep_verify()
    assert code == 0, said
    with insider(harness.gateway.store) as session:
        if edit == "subject_name":
            session.execute(update(Record).where(Record.business_key == key).values(subject_name="别的公司"))
        elif edit == "state":
            session.execute(update(Record).where(Record.business_key == key).values(state="repaired"))
        elif edit == "version_payload":
            version = session.scalars(select(RecordVersion).where(RecordVersion.business_key == key)).one()
            version.payload_masked = {**version.payload_masked, "CF_NR_FK": "99"}
        else:
            session.execute(update(OutboxItem).where(OutboxItem.business_key == key)
                            .values(platform_id="0" * 32))
    code, said = deep_verify()
    named = "not the ones it recorded" if edit == "acknowledged" else key
    assert code == 1 and named in said, said


# -- 5. personal data at rest ---------------------------------------------------------------------

def id_numbers_anywhere(harness: Harness, numbers: set[str]) -> list[str]:
    """Where one of ``numbers`` (18 or 15 digits) stands, in any written form, in any column of any table."""
    found = []
    with harness.gateway.store.reader() as session:
        for table in inspect(session.get_bind()).get_table_names():
            for row in session.execute(text(f"SELECT * FROM {table}")):
                for value in row:
                    for match in re.finditer(r"[0-9０-９][0-9０-９ \-－]{13,24}[0-9０-９XxＸ]", str(value)):
                        if id_number_in(match.group()) in numbers:
                            found.append(f"{table}: {match.group()}")
    return found


@BOTH
def test_id_numbers_typed_any_way_in_free_text_never_rest_in_the_store(harness: Harness) -> None:
    person = valid(harness, "penalty", party_type="01")
    number = person["id_no"]
    wide = number.translate({ord(d): 0xFF10 + int(d) for d in "0123456789"})
    forms = [wide, f"{number[:6]} {number[6:14]} {number[14:]}",
             f"{number[:6]}-{number[6:14]}-{number[14:]}", number[:17] + "x" + "号",
             number[:6] + number[8:17]]  # the last: 15 digits, as issued before 1999
    harness.source.update(person["id"], facts="当事人证件号码" + "、".join(forms) + "。")
    numbers = {number.upper(), number[:6] + number[8:17]}
    pull(harness.context())
    assert id_numbers_anywhere(harness, numbers) == []  # pending: the payload is sealed
    harness.sync()
    assert id_numbers_anywhere(harness, numbers) == []


# -- 6. minors under every document ---------------------------------------------------------------

@BOTH
@pytest.mark.parametrize("case", ["old_permanent_residence_card", "passport_with_a_resident_number",
                                  "sole_trader_operator"])
def test_a_minor_is_held_back_whatever_document_names_them(harness: Harness, case: str) -> None:
    if case == "sole_trader_operator":
        subject = valid(harness, "penalty", party_type="04")
        harness.source.update(subject["id"], legal_rep_id_no=minor_id())
    else:
        subject = valid(harness, "penalty", party_type="01")
        fields = ({"id_type": "05", "id_no": "USA311005120012"} if case == "old_permanent_residence_card"
                  else {"id_type": "02", "id_no": minor_id()})
        harness.source.update(subject["id"], **fields)
    harness.sync()
    assert harness.count(Record, Record.document_no == subject["decision_no"]) == 0  # never stored, sent
    [entry] = harness.rows(QuarantineItem, QuarantineItem.stage == "protected")
    assert FieldError.from_stored(entry.errors[0]).message_zh == "未成年人信息不予公示"


# -- 8. markup -------------------------------------------------------------------------------------

@BOTH
def test_markup_in_a_party_name_is_refused_with_its_reason(harness: Harness) -> None:
    penalty = valid(harness, "penalty")
    harness.source.update(penalty["id"], party_name="<img src=x onerror=alert(1)>某公司")
    harness.sync()
    assert harness.count(Record, Record.document_no == penalty["decision_no"]) == 0
    entry = next(q for q in harness.rows(QuarantineItem) if q.source_key == penalty["id"])
    reason = FieldError.from_stored(entry.errors[0])
    assert reason.field == "CF_XDR_MC" and "网页标记或脚本" in reason.message_zh
