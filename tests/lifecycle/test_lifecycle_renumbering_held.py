"""What kept a decision off display follows it to a new 文书号 even where that number already has a
record that is off display (another decision's, revoked; or its own old number, replaced), and even
when the renumbering itself is held first (as a clash with another record, or as a minor's); and the
old number, left, never expires on its own; a decision whose old number's row was edited outside the
gateway waits under it until the row is restored. Each case a real sync on SQLite and PostgreSQL."""

from __future__ import annotations

from datetime import date
from typing import Any

import pytest
from cli_support import invoke
from fabricate import insider
from pipeline_harness import Harness
from sqlalchemy import update

from creditsync.store.models import QuarantineItem, Record

BOTH = pytest.mark.parametrize("harness_db", ["sqlite", "postgresql"], indirect=True)


def cli(*args: str) -> None:
    result = invoke(*args)
    assert result.exit_code == 0, result.output


def shown(harness: Harness, number: str) -> bool:
    found = harness.rows(Record, Record.document_no == number)
    if not found or not found[0].platform_id:
        return False
    copy = harness.simulator.store.find(str(found[0].platform_id))
    return copy is not None and copy["status"] == "published"


def sibling(harness: Harness, of: dict[str, Any], number: str, facts: str) -> dict[str, Any]:
    """Another decision of the same party and authority, under ``number``."""
    fields = {k: v for k, v in of.items() if k not in ("id", "created_at", "updated_at")}
    return harness.source.add_decision("penalty", **{**fields, "decision_no": number, "facts": facts})


@BOTH
def test_a_repaired_decision_renumbered_back_onto_its_old_number_stays_off(harness: Harness) -> None:
    penalty = harness.valid_penalty(2)
    harness.sync()
    first, second = penalty["decision_no"], penalty["decision_no"].replace("号", "-1号")
    harness.source.update(penalty["id"], decision_no=second)
    harness.sync()
    cli("repair", second, "--decision-no", "济信修〔2026〕9号", "--reason", "整改")
    harness.sync()

    harness.source.update(penalty["id"], decision_no=first)  # the department puts the number back
    harness.sync()

    assert not shown(harness, first) and not shown(harness, second)


@BOTH
def test_a_held_decision_renumbered_onto_another_ids_revoked_number_stays_held(harness: Harness) -> None:
    revoked = harness.valid_penalty(2)
    harness.sync()
    number, other_no = revoked["decision_no"], revoked["decision_no"].replace("号", "-3号")
    held = sibling(harness, revoked, other_no, revoked["facts"] + "（另案）")
    harness.sync()
    cli("withdraw", other_no, "--reason", "核查中")
    harness.source.update(revoked["id"], status="撤销")
    harness.sync()

    harness.source.update(held["id"], decision_no=number)
    harness.sync()

    assert not shown(harness, number) and not shown(harness, other_no)
    assert harness.record(number).state == "operator_withdrawn"


@BOTH
def test_an_operators_hold_survives_a_renumbering_first_held_as_a_clash(harness: Harness) -> None:
    held = harness.valid_penalty(2)
    harness.sync()
    old_no = held["decision_no"]
    number = old_no.replace("号", "-7号")
    cli("withdraw", old_no, "--reason", "核查中")
    harness.sync()
    other = sibling(harness, held, number, held["facts"] + "（另案）")  # another id takes the number
    harness.source.update(held["id"], decision_no=number)  # … and the held decision moves onto it
    harness.sync()
    assert not shown(harness, number)

    harness.source.update(other["id"], status="撤销")  # the department revokes the other one
    harness.sync()
    cli("quarantine", "redrive", "market_supervision", "--from-start", "--reason", "复核")
    harness.sync()

    assert not shown(harness, number) and not shown(harness, old_no)


@BOTH
@pytest.mark.parametrize("update_of", ["renumbering", "revocation"])
def test_what_the_department_sends_next_leaves_a_tamper_alarm_open(harness: Harness, update_of: str) -> None:
    penalty = harness.valid_penalty(2)
    harness.sync()
    with insider(harness.gateway.store) as session:
        session.execute(update(Record).where(Record.document_no == penalty["decision_no"])
                        .values(display_until=date(2099, 1, 1)))
    harness.source.update(penalty["id"], facts=penalty["facts"] + "（更正）")
    harness.sync()
    [alarm] = harness.rows(QuarantineItem, QuarantineItem.stage == "tampered")

    change = ({"decision_no": penalty["decision_no"].replace("号", "-1号")} if update_of == "renumbering"
              else {"status": "撤销"})
    harness.source.update(penalty["id"], **change)
    harness.sync()

    assert harness.rows(QuarantineItem, QuarantineItem.id == alarm.id)[0].resolved_at is None


@BOTH
def test_an_old_number_the_decision_left_does_not_expire_and_take_the_new_one_down(harness: Harness) -> None:
    penalty = harness.valid_penalty(2)
    harness.source.update(penalty["id"], decided_at="2023-06-01")  # its display period is long over
    harness.sync()
    old_no, number = penalty["decision_no"], penalty["decision_no"].replace("号", "-7号")
    cli("withdraw", old_no, "--reason", "核查中")
    harness.sync()
    harness.source.update(penalty["id"], decision_no=number, decided_at="2026-11-20")  # corrected
    harness.sync()
    cli("release", number, "--reason", "核查完毕")
    harness.sync()
    assert shown(harness, number)

    cli("expire")
    harness.sync()
    harness.source.update(penalty["id"], status="撤销")
    harness.sync()
    harness.source.update(penalty["id"], status="正常")  # the department takes its revocation back
    harness.sync()

    assert shown(harness, number)
    assert harness.record(old_no).withdraw_reason == "replaced"


@BOTH
def test_an_operators_hold_survives_a_renumbering_first_held_back_as_a_minors(harness: Harness) -> None:
    from test_lifecycle_cases import minor_id

    penalty = harness.valid_penalty(0, party_type="01")
    harness.sync()
    old_no, number = penalty["decision_no"], penalty["decision_no"].replace("号", "-7号")
    cli("withdraw", old_no, "--reason", "核查中")
    harness.sync()
    harness.source.update(penalty["id"], decision_no=number, id_no=minor_id())  # renumbered, held back
    harness.sync()

    harness.source.update(penalty["id"], id_no=penalty["id_no"])  # the department corrects the ID number
    harness.sync()

    assert not shown(harness, number) and not shown(harness, old_no)


@BOTH
def test_an_operators_hold_survives_a_renumbering_and_revocation_in_one_update(harness: Harness) -> None:
    penalty = harness.valid_penalty(2)
    harness.sync()
    old_no, number = penalty["decision_no"], penalty["decision_no"].replace("号", "-7号")
    cli("withdraw", old_no, "--reason", "核查中")
    harness.sync()
    harness.source.update(penalty["id"], decision_no=number, status="撤销")
    harness.sync()
    assert (harness.record(number).state, harness.record(number).withdraw_reason) == (
        "operator_withdrawn", "revoked")

    harness.source.update(penalty["id"], status="正常")  # the department takes its revocation back
    harness.sync()
    assert not shown(harness, number) and not shown(harness, old_no)  # still held by the operator

    cli("release", number, "--reason", "核查完毕")
    harness.sync()
    assert shown(harness, number) and not shown(harness, old_no)


@BOTH
def test_a_tampered_decision_renumbered_waits_under_its_old_number_until_its_row_is_restored(
        harness: Harness) -> None:
    penalty = harness.valid_penalty(2)
    harness.sync()
    old_no, number = penalty["decision_no"], penalty["decision_no"].replace("号", "-1号")
    [record] = harness.rows(Record, Record.document_no == old_no)
    with insider(harness.gateway.store) as session:  # an edit outside the gateway
        session.execute(update(Record).where(Record.document_no == old_no)
                        .values(display_until=date(2099, 1, 1)))

    harness.source.update(penalty["id"], decision_no=number)
    harness.sync()

    assert shown(harness, old_no) and not shown(harness, number)  # never the decision on two rows
    assert harness.count(Record, Record.document_no == number) == 0
    assert harness.count(QuarantineItem, QuarantineItem.stage == "tampered",
                         QuarantineItem.resolved_at.is_(None)) == 1
    with insider(harness.gateway.store) as session:  # the row restored from the backup
        session.execute(update(Record).where(Record.document_no == old_no)
                        .values(display_until=record.display_until))
    cli("quarantine", "redrive", "market_supervision", "--from-start", "--reason", "记录已恢复")
    harness.sync()

    assert shown(harness, number) and not shown(harness, old_no)
