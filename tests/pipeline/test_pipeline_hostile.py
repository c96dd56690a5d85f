"""Holes found by attacking the gateway, each guarded against the real pipeline and simulators: an
oversized batch, ID numbers at rest, two runs at once, acceptances without a platform id, conflicting
duplicates, and ``sync --dry-run`` agreeing with the real sync."""

from __future__ import annotations

import importlib
import threading
from collections import Counter
from pathlib import Path
from typing import Any

import pytest
import yaml
from pipeline_harness import DEPARTMENT, REPO, Harness, leaked
from sqlalchemy import inspect, text

from creditsync.exceptions import FieldError, RetriableError
from creditsync.lifecycle.transitions import Outcome
from creditsync.pipeline import pull, push
from creditsync.pipeline.dry_run import WOULD, dry_run
from creditsync.pipeline.push import TOO_LARGE
from creditsync.pipeline.runner import Gateway, sync_department
from creditsync.publication.repair import RepairDecision, repair
from creditsync.simulators.platform import FaultConfig
from creditsync.store.models import AuditEntry, OutboxItem, QuarantineItem, Record

pytestmark = pytest.mark.integration
BOTH_STORES = pytest.mark.parametrize("harness_db", ["sqlite", "postgresql"], indirect=True)
MIB = 1024 * 1024
LONG_FACTS = "违法事实" * (MIB // 4)  # a million characters: 3 MB of UTF-8


def source_options(**overrides: Any) -> dict[str, Any]:
    """The department's source section with options replaced (page size, say)."""
    config = yaml.safe_load((REPO / "adapters" / f"{DEPARTMENT}.yaml").read_text(encoding="utf-8"))
    source: dict[str, Any] = config["source"]
    source["options"] = {**source["options"], **overrides}
    return source


def platform_documents(harness: Harness) -> Counter[str]:
    """文书号 → how many rows the platform holds for it."""
    return Counter(str(row["data"].get("CF_WSH") or row["data"].get("XK_WSH"))
                   for row in harness.simulator.store.rows())


# -- 1. an oversized batch ------------------------------------------------------------------------------


def test_an_oversized_batch_is_split_and_a_record_too_large_alone_never_blocks_the_department(
    harness: Harness, tmp_path: Path
) -> None:
    harness.sync()
    # The department believes the platform takes any size; the platform stops at 8 MiB a request. The
    # source's own limits are raised so that such records reach the platform at all.
    limits = {"max_page_bytes": 512 * MIB, "max_field_bytes": 64 * MIB}
    harness.use_department_file(tmp_path, push_batch_bytes=1024 * MIB,
                                source={**source_options(), "limits": limits})
    harness.simulator.max_body_bytes = 8 * MIB
    large = [harness.source.add_decision("penalty", facts=f"{n:02d}{LONG_FACTS}") for n in range(20)]
    too_large = harness.source.add_decision("penalty", facts=LONG_FACTS * 3)  # 9 MB alone

    result = harness.sync()

    assert result["report"]["pending_department"] == 0 and result["pushed"]["rejected"] == 1

    attempts = harness.rows(AuditEntry, AuditEntry.event == "push_attempt",
                            AuditEntry.run_id == result["run_id"])
    assert max(entry.details["size"] for entry in attempts) == len(large) + 1  # went out as one batch
    on_platform = platform_documents(harness)
    assert all(on_platform[record["decision_no"]] == 1 for record in large)
    assert on_platform[too_large["decision_no"]] == 0
    assert {harness.record(r["decision_no"]).state for r in large} == {"published"}
    refused = harness.record(too_large["decision_no"])
    assert refused.state == "rejected"
    entry = harness.rows(QuarantineItem, QuarantineItem.business_key == refused.business_key)
    assert len(entry) == 1 and entry[0].stage == "platform"
    assert [FieldError.from_stored(e).message_zh for e in entry[0].errors] == [TOO_LARGE]
    assert "413" in TOO_LARGE
    assert harness.pending() == []

    later = harness.source.add_decision("penalty")
    harness.sync()
    assert harness.record(later["decision_no"]).state == "published"
    assert platform_documents(harness)[later["decision_no"]] == 1
    assert harness.pending() == []


# -- 2. personal ID numbers at rest ------------------------------------------------------------------


def id_numbers_at_rest(harness: Harness, numbers: set[str]) -> dict[str, list[str]]:
    """Every table of the store, pending outbox items included (their payloads are sealed): the ID
    numbers in it."""
    with harness.gateway.store.reader() as session:
        tables = inspect(session.get_bind()).get_table_names()
        found: dict[str, list[str]] = {}
        for table in tables:
            query = f"SELECT * FROM {table}"
            content = "\n".join(repr(tuple(row)) for row in session.execute(text(query)))
            if hit := leaked(numbers, content):
                found[table] = hit
    assert "outbox" in tables and "quarantine" in tables
    return found


def natural_persons(harness: Harness, count: int) -> list[dict[str, Any]]:
    return [harness.valid_penalty(n, party_type="01") for n in range(count)]


@BOTH_STORES
def test_no_full_id_number_rests_in_any_table_after_a_killed_push_and_a_full_sync(
    harness: Harness, monkeypatch: pytest.MonkeyPatch
) -> None:
    numbers = harness.id_numbers()
    corrected, replaced, refused = natural_persons(harness, 3)
    harness.validator.rejections[refused["decision_no"]] = "行政相对人证件号码有误"
    harness.sync()
    assert id_numbers_at_rest(harness, numbers) == {}

    # A correction queued, replaced by a second one before it was ever sent (superseded), then a push
    # killed after the platform took the batch and before its answers were stored.
    ctx = harness.context()
    harness.source.update(replaced["id"], facts=replaced["facts"] + "（第一次更正）")
    pull(ctx)
    harness.source.update(replaced["id"], facts=replaced["facts"] + "（第二次更正）")
    harness.source.update(corrected["id"], facts=corrected["facts"] + "（更正）")
    pull(harness.context())

    def killed(*_args: Any, **_kwargs: Any) -> Any:
        raise KeyboardInterrupt("worker killed")

    with monkeypatch.context() as patched, pytest.raises(KeyboardInterrupt):
        patched.setattr(importlib.import_module("creditsync.pipeline.push"), "apply_answers", killed)
        push(harness.context(), harness.client)
    assert harness.count(OutboxItem, OutboxItem.status == "superseded") == 1
    waiting = {payload["CF_XDR_ZJHM"] for payload in harness.pending_payloads()}
    assert waiting == {corrected["id_no"], replaced["id_no"]}  # sent, unanswered: still needed (sealed)
    assert id_numbers_at_rest(harness, numbers) == {}

    harness.sync()
    assert harness.pending() == []
    assert id_numbers_at_rest(harness, numbers) == {}


def test_an_untried_correction_superseded_by_a_credit_repair_keeps_no_full_id_number(
    harness: Harness,
) -> None:
    numbers = harness.id_numbers()
    person = natural_persons(harness, 1)[0]
    harness.sync()
    harness.source.update(person["id"], facts=person["facts"] + "（更正）")
    pull(harness.context())  # the correction waits, untried, with the full ID number
    assert [payload["CF_XDR_ZJHM"] for payload in harness.pending_payloads()] == [person["id_no"]]

    repair(harness.gateway.store, harness.context().scope, person["decision_no"],
           RepairDecision("济信修〔2026〕2号", "信用修复"))

    assert harness.count(OutboxItem, OutboxItem.status == "superseded") == 1
    assert id_numbers_at_rest(harness, numbers) == {}


@BOTH_STORES
def test_an_id_number_given_as_a_json_number_is_masked_in_the_quarantine(harness: Harness) -> None:
    person = harness.valid_penalty(party_type="01")
    number = int(person["id_no"]) if person["id_no"].isdigit() else 370102199001011237
    harness.source.update(person["id"], id_no=number, party_name="")  # and broken: it is quarantined
    harness.sync()

    entries = harness.rows(QuarantineItem, QuarantineItem.source_key == person["id"])
    assert len(entries) == 1
    assert id_numbers_at_rest(harness, {str(number)}) == {}


# -- 3. two runs at once -----------------------------------------------------------------------------


@pytest.mark.parametrize("harness_db", ["postgresql"], indirect=True)
def test_two_syncs_of_one_department_at_once_both_finish_and_publish_each_record_once(
    harness: Harness, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("CREDITSYNC_RETRY_MAX_WAIT_S", "0")
    # Two gateways (two engines, as two worker processes have), opened before the race: the store's
    # migration on open is not what is raced here.
    gateways = [Gateway.open() for _ in range(2)]
    harness.gateways.extend(gateways)
    start = threading.Barrier(2)
    failures: list[BaseException] = []
    reports: list[dict[str, Any]] = []

    def one_run(gateway: Gateway) -> None:
        try:
            start.wait(timeout=60)
            reports.append(sync_department(gateway, DEPARTMENT))
        except BaseException as exc:
            failures.append(exc)

    for _round in range(2):  # the first runs of all (cursors created), then both with new records
        threads = [threading.Thread(target=one_run, args=(gateway,)) for gateway in gateways]
        for thread in threads:
            thread.start()
        for thread in threads:
            thread.join(timeout=300)
        assert failures == []
        harness.source.add_decision("penalty")
        harness.source.add_decision("license")

    assert len(reports) == 4
    expected = harness.expected_published() - {r["decision_no"] for kind in ("penalty", "license")
                                                for r in harness.records(kind)[-1:]}
    stats = harness.stats()
    assert stats["records"] == stats["business_keys"]
    assert set(platform_documents(harness)) >= expected
    assert max(platform_documents(harness).values()) == 1
    assert harness.pending() == []
    assert harness.chain_ok()


# -- 4. an acceptance without the platform's id --------------------------------------------------------


@BOTH_STORES
def test_an_acceptance_without_platform_id_is_queried_back_and_settled(harness: Harness) -> None:
    harness.simulator.set_faults(FaultConfig(missing_id_rate=1.0, seed=1))

    harness.sync()

    expected = harness.expected_published()
    assert harness.stats()["faults"].get("missing_id", 0) >= len(expected)
    assert harness.published_documents() == expected
    assert all(r.platform_id for r in harness.rows(Record, Record.state == "published"))
    assert all(i.platform_id for i in harness.rows(OutboxItem, OutboxItem.status == "acked"))
    assert harness.pending() == []
    stats = harness.stats()
    assert stats["records"] == stats["business_keys"] == len(expected)


@BOTH_STORES
def test_an_acceptance_without_platform_id_that_the_query_back_cannot_settle_stays_pending(
    harness: Harness,
) -> None:
    target = harness.valid_penalty(1)
    harness.simulator.set_faults(FaultConfig(missing_id_rate=1.0, missing_id_on_query=True, seed=1))

    with pytest.raises(RetriableError, match="without a usable answer"):
        harness.sync()
    assert harness.published_documents() == set()
    assert harness.count(Record, Record.platform_id.is_not(None)) == 0
    assert harness.count(OutboxItem, OutboxItem.status == "acked") == 0
    assert not harness.rows(AuditEntry, AuditEntry.event == "push_receipt")

    # A correction while the outcome is still unknown must wait: sent without an id, it would be a
    # second platform row.
    harness.source.update(target["id"], facts=target["facts"] + "（更正）")
    with pytest.raises(RetriableError):
        harness.sync()
    assert max(platform_documents(harness).values()) == 1

    harness.simulator.set_faults(FaultConfig())
    harness.sync()

    expected = harness.expected_published()
    stats = harness.stats()
    assert stats["records"] == stats["business_keys"] == len(expected)
    assert harness.published_documents() == expected
    assert harness.pending() == []
    row = harness.simulator.store.find(str(harness.record(target["decision_no"]).platform_id))
    assert row is not None and row["data"]["CF_SY"].endswith("（更正）")


# -- 5. conflicting duplicates ------------------------------------------------------------------------


def twin(harness: Harness, record: dict[str, Any]) -> dict[str, Any]:
    """Another source record with the same 文书号 (and authority) and other content."""
    fields = {k: v for k, v in record.items() if k not in ("id", "created_at", "updated_at")}
    return harness.source.add_decision("penalty", **{**fields, "facts": record["facts"] + "（另一版本）"})


@BOTH_STORES
def test_two_rows_with_one_document_number_in_one_page_are_both_quarantined_naming_each_other(
    harness: Harness,
) -> None:
    harness.sync()
    first = harness.source.add_decision("penalty")
    second = twin(harness, first)

    harness.sync()

    assert first["decision_no"] not in harness.published_documents()
    assert platform_documents(harness)[first["decision_no"]] == 0
    for this, other in ((first, second), (second, first)):
        entries = harness.rows(QuarantineItem, QuarantineItem.source_key == this["id"],
                               QuarantineItem.resolved_at.is_(None))
        assert len(entries) == 1, this["id"]
        message = FieldError.from_stored(entries[0].errors[0]).message
        assert other["id"] in message and first["decision_no"] in message
    events = harness.rows(AuditEntry, AuditEntry.event == "record_quarantined")
    assert {e.details["source_key"] for e in events} >= {first["id"], second["id"]}


@BOTH_STORES
def test_a_later_row_reusing_a_document_number_in_another_page_is_quarantined_and_audited(
    harness: Harness, tmp_path: Path
) -> None:
    harness.use_department_file(tmp_path, batch_size=10, source=source_options(paginator={"page_size": 10}))
    earlier = harness.valid_penalty(2)
    later = twin(harness, earlier)  # the newest record: the last page

    harness.sync()

    record = harness.record(earlier["decision_no"])
    assert record.source_key == earlier["id"] and record.state == "published"
    on_platform = harness.simulator.store.find(str(record.platform_id))
    assert on_platform is not None and on_platform["data"]["CF_SY"] == earlier["facts"]
    entries = harness.rows(QuarantineItem, QuarantineItem.source_key == later["id"])
    assert len(entries) == 1 and earlier["id"] in FieldError.from_stored(entries[0].errors[0]).message
    audited = [e for e in harness.rows(AuditEntry, AuditEntry.event == "record_quarantined")
               if e.details["source_key"] == later["id"]]
    assert len(audited) == 1
    assert earlier["id"] in FieldError.from_stored(audited[0].details["errors"][0]).message

    harness.sync()  # the next run re-reads the newest record (the cursor is inclusive): still held
    again = harness.record(earlier["decision_no"])
    assert (again.source_key, again.version) == (earlier["id"], record.version)
    assert platform_documents(harness)[earlier["decision_no"]] == 1
    assert harness.count(QuarantineItem, QuarantineItem.source_key == later["id"],
                         QuarantineItem.resolved_at.is_(None)) == 1


# -- 6. sync --dry-run agrees with the sync -----------------------------------------------------------


def dry_run_agrees_with_the_sync(harness: Harness, outcome: Outcome) -> None:
    """The preview, then the real pull of the same records: the same counts, ``outcome`` among them."""
    preview = dry_run(harness.context())
    pulled = pull(harness.context())
    for category, counts in pulled.items():
        real = {WOULD[Outcome(name)]: n for name, n in counts.items() if name in set(Outcome) and n}
        assert preview["streams"][category]["would"] == real, category
    assert pulled["penalty"].get(outcome.value) == 1, pulled["penalty"]


def test_dry_run_agrees_with_the_sync_on_a_repaired_record_whose_content_changed(harness: Harness) -> None:
    target = harness.valid_penalty(4)
    harness.sync()
    repair(harness.gateway.store, harness.context().scope, target["decision_no"],
           RepairDecision("济信修〔2026〕1号", "信用修复"))
    harness.source.update(target["id"], facts=target["facts"] + "（更正）")

    dry_run_agrees_with_the_sync(harness, Outcome.BLOCKED)


def test_dry_run_agrees_with_the_sync_on_a_sent_but_unanswered_record_then_revoked(harness: Harness) -> None:
    harness.sync()
    added = harness.source.add_decision("penalty")
    harness.stop_platform()
    with pytest.raises(RetriableError):
        harness.sync()
    assert harness.pending()[0].attempts > 0
    harness.source.update(added["id"], status="撤销")

    dry_run_agrees_with_the_sync(harness, Outcome.WITHDRAWAL_QUEUED)


def test_dry_run_agrees_with_the_sync_on_a_withdrawn_record_whose_revocation_was_undone(
    harness: Harness,
) -> None:
    target = harness.valid_penalty(5)
    harness.sync()
    harness.source.update(target["id"], status="撤销")
    harness.sync()
    assert harness.record(target["decision_no"]).state == "withdrawn"
    harness.source.update(target["id"], status="正常")  # same content as when it was published

    dry_run_agrees_with_the_sync(harness, Outcome.CHANGED)
