"""sync__market_supervision and display__expiry run by Airflow itself (dag.test()) against the live
simulators on loopback, with the repository's plugin (and so its listener) loaded."""

from __future__ import annotations

import json
import os
import re
import shutil
import subprocess
import sys
from collections import Counter
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
from sqlalchemy import func, select

from creditsync.audit import verify_chain
from creditsync.orchestration.dag_factory import gateway_run_id
from creditsync.simulators.departments import market_supervision as source_sim
from creditsync.simulators.platform import PlatformSimulator
from creditsync.store import open_store
from creditsync.store.models import AuditEntry, QuarantineItem, Record, SyncRun

REPO = Path(__file__).resolve().parents[2]
RUNNER = Path(__file__).with_name("run_dag_test.py")
sys.path.insert(0, str(REPO / "tests" / "schema"))
from schema_factories import penalty_row  # noqa: E402

pytestmark = pytest.mark.integration
FIRST_RUN = "2026-11-30T01:00:00+00:00"


@pytest.fixture(scope="module")
def airflow_env(tmp_path_factory: pytest.TempPathFactory) -> dict[str, str]:
    home = tmp_path_factory.mktemp("airflow")
    env = dict(os.environ, AIRFLOW_HOME=str(home), AIRFLOW__CORE__LOAD_EXAMPLES="False",
               AIRFLOW__CORE__DAGS_FOLDER=str(REPO / "dags"),
               AIRFLOW__CORE__PLUGINS_FOLDER=str(REPO / "plugins"), CREDITSYNC_HOME=str(REPO))
    env["PATH"] = f"{Path(sys.executable).parent}{os.pathsep}{env.get('PATH', '')}"
    airflow = Path(sys.executable).with_name("airflow")
    subprocess.run([str(airflow), "db", "migrate"], env=env, check=True, capture_output=True, timeout=300)
    return env


@pytest.fixture
def live(tmp_path: Path, airflow_env: dict[str, str], sqlite_url: str) -> Iterator[dict[str, Any]]:
    platform = PlatformSimulator(app_key="k-dag").start_in_thread()
    source = source_sim.start_in_thread(token="t-dag", seed=11)
    env = dict(airflow_env,
               CREDITSYNC_DB_URL=sqlite_url,  # upgraded, as make demo and the init step leave it
               AIRFLOW_CONN_CREDITSYNC_PLATFORM=platform.url.replace("http://", "http://:k-dag@"),
               AIRFLOW_CONN_MARKET_SUPERVISION_SOURCE=source.url.replace("http://", "http://:t-dag@"))
    try:
        yield {"env": env, "platform": platform, "source": source}
    finally:
        source.stop()
        platform.stop()


def _run_dag(env: dict[str, str], *options: str, dag_id: str = "sync__market_supervision") -> dict[str, Any]:
    """The run's final state as JSON, and under ``log`` what its tasks logged."""
    done = subprocess.run([sys.executable, str(RUNNER), dag_id, *options], env=env,
                          capture_output=True, text=True, timeout=600)
    lines = [line for line in done.stdout.splitlines() if line.startswith("{")]
    assert done.returncode == 0 and lines, done.stdout[-3000:] + done.stderr[-3000:]
    result: dict[str, Any] = json.loads(lines[-1])
    result["log"] = done.stdout + done.stderr
    return result


def _actors(store_url: str, run_id: str) -> Counter[str]:
    store = open_store(store_url)
    with store.reader() as session:
        actors = Counter(session.scalars(select(AuditEntry.actor).where(AuditEntry.run_id == run_id)))
    store.dispose()
    return actors


def test_dag_delivers_valid_records_and_quarantines_broken_ones(live: dict[str, Any]) -> None:
    env, platform, source = live["env"], live["platform"], live["source"]

    result = _run_dag(env, "--logical-date", FIRST_RUN, "--user", "alice")

    assert result["state"] == "success", result
    # partial (it quarantined records): the grid's last square is skipped, not green
    assert result["tasks"] == {"pull": "success", "push": "success", "report": "success",
                               "all_published": "skipped"}
    stats = platform.stats()
    assert stats["records"] == stats["business_keys"] > 80
    store = open_store(env["CREDITSYNC_DB_URL"])
    with store.reader() as session:
        quarantined = set(session.scalars(select(QuarantineItem.source_key)))
        run_id = gateway_run_id("market_supervision", str(result["run_id"]))
        run = session.get(SyncRun, run_id)
        receipts = sum(e.details["acked"] for e in session.scalars(select(AuditEntry).where(
            AuditEntry.event == "receipts_stored", AuditEntry.run_id == run_id)))
        assert verify_chain(session).ok
    store.dispose()
    broken = set(source.broken_ids)
    assert broken - {"P000044"} <= quarantined  # P000044 has no id: quarantined under a content key
    assert any(key and key.startswith("bad:") for key in quarantined)
    assert run is not None and run.trigger == "airflow" and run.status == "partial"
    assert receipts == stats["records"]

    again = _run_dag(env)  # a second run of the same DAG delivers nothing twice
    assert again["state"] == "success"
    assert platform.stats()["records"] == stats["records"]


def test_audit_entries_name_the_airflow_user_who_triggered_the_run_else_the_scheduler(
    live: dict[str, Any]
) -> None:
    env = live["env"]
    first = _run_dag(env, "--logical-date", FIRST_RUN, "--user", "alice")
    run_id = gateway_run_id("market_supervision", str(first["run_id"]))
    assert first["triggering_user_name"] == "alice"
    assert set(_actors(env["CREDITSYNC_DB_URL"], run_id)) == {"alice"}

    scheduled = _run_dag(env, "--user", "")  # a scheduled run: no user triggered it
    assert scheduled["triggering_user_name"] is None
    other_run = gateway_run_id("market_supervision", str(scheduled["run_id"]))
    assert set(_actors(env["CREDITSYNC_DB_URL"], other_run)) == {"scheduler"}
    assert "acting for scheduler" in scheduled["log"]


def test_a_partial_run_gets_a_note_and_its_logs_name_each_quarantined_record(live: dict[str, Any]) -> None:
    env = live["env"]
    result = _run_dag(env, "--logical-date", FIRST_RUN, "--reannotate")

    note = str(result["note"])
    assert result["reannotated"] == note  # the same in the scheduler's session
    assert note.startswith("**CreditSync** 部分成功 partial"), note
    assert "[隔离记录 Quarantine](/creditsync/quarantine?department=market_supervision)" in note
    figures = _note_figures(note)
    store = open_store(env["CREDITSYNC_DB_URL"])
    with store.reader() as session:
        run = session.get(SyncRun, gateway_run_id("market_supervision", str(result["run_id"])))
        assert run is not None
        entries = session.scalar(select(func.count()).select_from(QuarantineItem).where(
            QuarantineItem.run_id == run.id))
    store.dispose()
    assert figures["quarantined"] == entries > 0
    assert figures["read"] == run.counts["records"]["read"] > 80
    assert figures["published"] > 0
    # pull and report each list the run's records: 文书号, source key, field and reason
    listed = re.findall(r"\[(?:penalty|license)/\w+\] 文书号 .+ \| source key .+ \| .+", str(result["log"]))
    assert len(listed) == 2 * entries, result["log"][-3000:]
    assert not re.search(r"\d{17}[\dXx]", str(result["log"])), "an unmasked ID number in a task log"


def test_a_run_past_the_bad_record_threshold_fails_at_once_and_says_why(
    live: dict[str, Any], tmp_path: Path
) -> None:
    adapters = tmp_path / "adapters"
    shutil.copytree(REPO / "adapters", adapters)
    config = adapters / "market_supervision.yaml"
    config.write_text(config.read_text(encoding="utf-8").replace(
        "bad_record_threshold: 0.3", "bad_record_threshold: 0.01"), encoding="utf-8")
    env = dict(live["env"], CREDITSYNC_ADAPTERS_DIR=str(adapters))

    result = _run_dag(env)

    assert result["state"] == "failed"
    assert result["tasks"] == {"pull": "success", "push": "success", "report": "failed",
                               "all_published": "upstream_failed"}
    assert result["tries"]["report"] == 1  # retrying cannot help: failed at once, visible at once
    note = str(result["note"])
    assert note.startswith("**CreditSync** 失败 failed") and "问题 problems:" in note
    assert "threshold 1%" in note and "/creditsync/quarantine?department=market_supervision" in note
    assert "[penalty/validation] 文书号" in str(result["log"])


def test_rerunning_a_cleared_run_adds_its_counts_to_the_first(live: dict[str, Any]) -> None:
    env, platform, source = live["env"], live["platform"], live["source"]
    first = _run_dag(env, "--logical-date", FIRST_RUN, "--user", "alice")
    run_id = gateway_run_id("market_supervision", str(first["run_id"]))
    before = _stored_counts(env["CREDITSYNC_DB_URL"], run_id)
    source.add_decision("penalty")

    again = _run_dag(env, "--logical-date", FIRST_RUN, "--user", "bob")  # the same run, cleared and re-run

    assert again["run_id"] == first["run_id"] and again["state"] == "success"
    after = _stored_counts(env["CREDITSYNC_DB_URL"], run_id)
    reads = _source_reads(env["CREDITSYNC_DB_URL"], run_id)
    assert len(reads) == 4 and after["records"]["read"] == sum(reads) > before["records"]["read"]
    assert after["outbox"]["acked"] == before["outbox"]["acked"] + 1 == platform.stats()["records"]
    assert after["quarantined"] == before["quarantined"]  # unchanged bad rows are not entered twice
    actors = _actors(env["CREDITSYNC_DB_URL"], run_id)
    assert {"alice", "bob"} == set(actors)
    assert _note_figures(str(again["note"]))["read"] == after["records"]["read"]


def test_display_expiry_withdraws_what_is_past_its_display_period(live: dict[str, Any],
                                                                  tmp_path: Path) -> None:
    """Penalties handed over late, decided in 2025: their year on display is over today, so the daily DAG
    (run as of today: expiry never runs as of a day that has not come) withdraws them."""
    env, platform = live["env"], live["platform"]
    _run_dag(env)
    handed_over = tmp_path / "late.jsonl"
    rows = [penalty_row(CF_WSH=f"长市监罚〔2025〕{n}号", CF_JDRQ="2025/01/06", CF_YXQ="2026/01/06")
            for n in (1, 2)]
    handed_over.write_text("".join(json.dumps(r, ensure_ascii=False) + "\n" for r in rows), "utf-8")
    pushed = subprocess.run([str(Path(sys.executable).with_name("creditsync")), "push", "--category",
                             "penalty", "--input", str(handed_over), "--department", "market_supervision"],
                            env=env, capture_output=True, text=True, timeout=300)
    assert pushed.returncode == 0, pushed.stdout + pushed.stderr
    before = platform.stats()["withdrawn"]

    result = _run_dag(env, "--user", "carol", dag_id="display__expiry")

    assert result["state"] == "success", result["log"][-3000:]
    assert result["tasks"] == {"expire": "success"}
    assert platform.stats()["withdrawn"] - before >= 2
    store = open_store(env["CREDITSYNC_DB_URL"])
    with store.reader() as session:
        expired = session.scalars(select(AuditEntry.business_key).where(
            AuditEntry.event == "withdrawal_queued", AuditEntry.actor == "carol")).all()
        states = {r.document_no: r.state for r in session.scalars(select(Record).where(
            Record.document_no.like("长市监罚〔2025〕%")))}
    store.dispose()
    assert len(expired) == platform.stats()["withdrawn"] - before
    assert states == {"长市监罚〔2025〕1号": "expired", "长市监罚〔2025〕2号": "expired"}


def _stored_counts(store_url: str, run_id: str) -> dict[str, Any]:
    store = open_store(store_url)
    with store.reader() as session:
        run = session.get(SyncRun, run_id)
        assert run is not None
        counts = dict(run.counts)
    store.dispose()
    return counts


def _source_reads(store_url: str, run_id: str) -> list[int]:
    store = open_store(store_url)
    with store.reader() as session:
        details = session.scalars(select(AuditEntry.details).where(
            AuditEntry.event == "source_read", AuditEntry.run_id == run_id)).all()
    store.dispose()
    return [int(d["counts"].get("read", 0)) for d in details]


def _note_figures(note: str) -> dict[str, int]:
    return {name: int(value) for name, value in re.findall(r"[^\x00-\x7f]+ (\w+) (\d+)", note)}
