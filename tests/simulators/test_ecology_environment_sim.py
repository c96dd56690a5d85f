"""The 长清区生态环境分局 simulator (legacy 2016 XML feeds) over real HTTP on 127.0.0.1, and an end-to-end
sync of the department through the real platform simulator."""

from __future__ import annotations

import json
import os
import re
import signal
import subprocess
import sys
from collections.abc import Callable, Iterator
from datetime import date, datetime, timedelta
from decimal import Decimal
from pathlib import Path
from typing import Any

import pytest
import requests
from lxml import etree
from sqlalchemy import select
from stdnum.cn import ric, uscc

from creditsync.exceptions import FatalError
from creditsync.pipeline.runner import Gateway, sync_department
from creditsync.simulators.departments import SIMULATORS, simulator
from creditsync.simulators.departments import ecology_environment_data as data
from creditsync.simulators.departments.ecology_environment import (
    NAMESPACE,
    FeedStore,
    RunningEcologyEnvironment,
    render,
    start_in_thread,
)
from creditsync.simulators.platform import PlatformSimulator
from creditsync.sources.cursor import Cursor as TypedCursor
from creditsync.store.db import upgrade
from creditsync.store.models import Cursor, QuarantineItem, RunStream

TODAY = date(2026, 5, 10)
NS = {"e": NAMESPACE}
PENALTY_FIELDS = {"CF_WSH", "CF_CFMC", "CF_CFLB1", "CF_CFLB2", "CF_SY", "CF_YJ", "CF_XDR_MC", "CF_XDR_SHXYM",
                  "CF_XDR_ZDM", "CF_XDR_GSDJ", "CF_XDR_SFZ", "CF_FR", "CF_JG", "CF_JDRQ", "CF_XZJG", "CF_ZT",
                  "DFBM", "SJC", "BZ", "CF_FKJE"}
ENFORCEMENT_MEASURES = {"限制公民人身自由", "查封场所、设施或者财物", "扣押财物", "冻结存款、汇款", "其他"}
REPO = Path(__file__).resolve().parents[2]


@pytest.fixture(scope="module")
def sim() -> Iterator[RunningEcologyEnvironment]:
    with start_in_thread(token="sim-token", seed=3, today=TODAY) as running:
        yield running


def get(sim: RunningEcologyEnvironment, path: str = "/exchange/v1/penalties", token: str | None = "sim-token",
        **params: Any) -> requests.Response:
    headers = {"Authorization": f"Bearer {token}"} if token else {}
    return requests.get(sim.url + path, params=params, headers=headers, timeout=5)


def items(sim: RunningEcologyEnvironment, path: str = "/exchange/v1/penalties",
          **params: Any) -> list[dict[str, str]]:
    root = etree.fromstring(get(sim, path, **params).content)
    return [{etree.QName(c).localname: c.text or "" for c in record} for record in root[1:]]


@pytest.mark.parametrize("token", [None, "wrong", "sim-token "])
def test_every_route_needs_the_bearer_token(sim: RunningEcologyEnvironment, token: str | None) -> None:
    for path in ("/", "/exchange/v1", "/exchange/v1/penalties", "/exchange/v1/enforcements"):
        response = get(sim, path, token=token)
        assert response.status_code == 401 and response.headers["WWW-Authenticate"] == "Bearer"


def test_feed_is_one_namespaced_document_in_decision_order(sim: RunningEcologyEnvironment) -> None:
    response = get(sim)
    assert response.headers["Content-Type"].startswith("application/xml")
    root = etree.fromstring(response.content)
    assert root.tag == f"{{{NAMESPACE}}}DataPackage" and root.nsmap == {None: NAMESPACE}
    assert root.findtext("e:Header/e:Count", namespaces=NS) == "60"
    assert len(root.findall("e:XZCF", namespaces=NS)) == 60
    served = items(sim)
    numbers = [int(re.sub(r"\D", "", r["CF_WSH"])[4:]) for r in served if r.get("CF_WSH")]
    assert numbers == sorted(numbers)
    stamps = [r["SJC"] for r in served]
    assert stamps != sorted(stamps)  # like real exports: not sorted by the cursor


def test_penalties_use_the_legacy_2016_names(sim: RunningEcologyEnvironment) -> None:
    served = items(sim)
    assert all(set(r) <= PENALTY_FIELDS for r in served)
    assert all(r["DFBM"] == "370113" and r["CF_ZT"] in ("0", "1") for r in served)
    assert all(re.fullmatch(r"\d{4}-\d{2}-\d{2} \d{2}:\d{2}:\d{2}", r["SJC"]) for r in served)
    assert {r["CF_CFLB1"] for r in served} <= set("0123456") | {"9"}
    assert any(r["CF_ZT"] == "1" for r in served)  # a few revoked decisions


def test_updated_since_is_inclusive_and_accepts_iso(sim: RunningEcologyEnvironment) -> None:
    stamps = sorted(r["SJC"] for r in items(sim))
    pivot = stamps[30]
    for spelling in (pivot, pivot.replace(" ", "T"), pivot.replace(" ", "T") + "+08:00"):
        assert sorted(r["SJC"] for r in items(sim, updated_since=spelling)) == stamps[30:]
    assert get(sim, updated_since="yesterday").status_code == 400


def test_enforcements_are_a_separate_feed(sim: RunningEcologyEnvironment) -> None:
    root = etree.fromstring(get(sim, "/exchange/v1/enforcements").content)
    assert len(root.findall("e:XZQZ", namespaces=NS)) == 20 and not root.findall("e:XZCF", namespaces=NS)
    for record in items(sim, "/exchange/v1/enforcements"):
        assert record["QZ_WSH"].startswith("济环长查封字〔") and record["QZ_CSZL"] in ENFORCEMENT_MEASURES
        assert "环境保护法》第二十五条" in record["QZ_YJ"] and uscc.is_valid(record["QZ_XDR_SHXYM"])
        assert record["QZ_JDRQ"] < record["QZ_QXZ"] and record.get("QZ_JCRQ", "9") > record["QZ_JDRQ"]


def test_service_description_and_unknown_routes(sim: RunningEcologyEnvironment) -> None:
    root = etree.fromstring(get(sim, "/exchange/v1").content)
    assert {f.get("element") for f in root.findall("e:Feed", namespaces=NS)} == {"XZCF", "XZQZ"}
    assert get(sim, "/exchange/v1/licences").status_code == 404


def test_identifiers_dates_and_money_are_valid_except_the_broken_ones(sim: RunningEcologyEnvironment) -> None:
    broken = {str((sim.store.get(rid) or {}).get("CF_WSH")) for rid in sim.broken_ids}
    for record in items(sim):
        if record.get("CF_WSH") in broken or "CF_WSH" not in record:
            continue
        if record.get("CF_XDR_SFZ"):
            assert ric.is_valid(record["CF_XDR_SFZ"]) and "CF_XDR_SHXYM" not in record
        else:
            assert uscc.is_valid(record["CF_XDR_SHXYM"]) and record["CF_XDR_SHXYM"][:2] in ("91", "92")
            assert record["CF_FR"]
        if zdm := record.get("CF_XDR_ZDM"):
            assert zdm.replace("-", "") == record["CF_XDR_SHXYM"][8:17]
        decided = datetime.strptime(record["CF_JDRQ"], "%Y/%m/%d").date()
        assert TODAY - timedelta(days=90) <= decided < TODAY <= decided + timedelta(days=365)
        assert datetime.strptime(record["SJC"], data.SJC_FORMAT).date() >= decided
        assert ("CF_FKJE" in record) == ("1" in (record["CF_CFLB1"], record.get("CF_CFLB2")))
        if "CF_FKJE" in record:
            assert Decimal(record["CF_FKJE"]) > 0 and record["CF_FKJE"] in record["CF_JG"]
        assert "《" in record["CF_YJ"] and record["CF_XZJG"] == data.AUTHORITY


BROKEN_CHECKS: list[tuple[str, Callable[[dict[str, Any]], bool]]] = [
    ("XZCF000007", lambda r: not uscc.is_valid(r["CF_XDR_SHXYM"]) and r["CF_XDR_ZDM"]),
    ("XZCF000019", lambda r: r["CF_WSH"] is None),
    ("XZCF000031", lambda r: r["CF_FKJE"] == "壹拾万元" and r["CF_CFLB1"] == "1"),
    ("XZCF000043", lambda r: r["CF_JDRQ"].endswith("/02/30")),
    ("XZCF000055", lambda r: r["CF_CFLB1"] == "9"),
]


@pytest.mark.parametrize(("record_id", "is_broken_as_documented"), BROKEN_CHECKS)
def test_broken_records_are_broken_as_documented(
    sim: RunningEcologyEnvironment, record_id: str, is_broken_as_documented: Callable[[dict[str, Any]], bool]
) -> None:
    record = sim.store.get(record_id) or {}
    assert record_id in sim.broken_ids and record["CF_ZT"] == "0" and is_broken_as_documented(record)


def test_only_the_documented_record_lacks_its_document_number(sim: RunningEcologyEnvironment) -> None:
    assert sum("CF_WSH" not in r for r in items(sim)) == 1


def test_same_seed_same_data() -> None:
    first, again, other = (FeedStore(s, 20, 5, TODAY) for s in (5, 5, 6))
    assert first.records("penalty") == again.records("penalty")
    assert first.records("enforcement") == again.records("enforcement")
    assert first.records("penalty") != other.records("penalty")
    assert set(FeedStore(1, 10, 0, TODAY).broken_ids) == {"XZCF000007"}


def test_edits_and_faults_over_http() -> None:
    with start_in_thread(token="t", seed=2, today=TODAY) as running:
        headers = {"Authorization": "Bearer t"}
        latest = max(r["SJC"] or "" for r in running.store.records("penalty"))
        changed = requests.post(running.url + "/_sim/records", headers=headers, timeout=5,
                                json={"id": "XZCF000004", "fields": {"CF_ZT": "1"}}).json()
        assert changed["CF_ZT"] == "1" and changed["SJC"] > latest
        added = requests.post(running.url + "/_sim/records", headers=headers, timeout=5,
                              json={"type": "penalty", "fields": {"BZ": "新增"}}).json()
        assert added["_id"] == "XZCF000061" and added["SJC"] > changed["SJC"]
        assert requests.post(running.url + "/_sim/records", headers=headers, timeout=5,
                             json={"id": "XZCF999999", "fields": {}}).status_code == 404
        requests.post(running.url + "/_sim/faults", headers=headers, json={"kind": "truncate"}, timeout=5)
        cut = requests.get(running.url + "/exchange/v1/penalties", headers=headers, timeout=5)
        with pytest.raises(etree.XMLSyntaxError):
            etree.fromstring(cut.content)
        assert etree.fromstring(requests.get(running.url + "/exchange/v1/penalties", headers=headers,
                                             timeout=5).content) is not None
        bad = requests.post(running.url + "/_sim/faults", headers=headers, json={"kind": "teapot"}, timeout=5)
        assert bad.status_code == 400


def test_cli_map_dry_runs_the_mapping_on_an_xml_sample(tmp_path: Path) -> None:
    """`creditsync map --mapping mappings/ecology_environment/penalty.yaml --input feed.xml`."""
    from typer.testing import CliRunner

    from creditsync.cli.main import app

    store = FeedStore(3, 60, 0, TODAY)
    sample = tmp_path / "feed.xml"
    sample.write_bytes(render("penalty", store.records("penalty")))
    mapping = REPO / "mappings" / "ecology_environment" / "penalty.yaml"
    result = CliRunner().invoke(app, ["map", "--mapping", str(mapping), "--input", str(sample), "-f", "json"])
    rows = [json.loads(line) for line in result.stdout.splitlines()]
    assert result.exit_code == 1 and len(rows) == 60  # the Header element is not a record
    invalid = {row["index"] for row in rows if not row["valid"]}
    assert invalid == {int(rid[4:]) - 1 for rid in store.broken_ids}  # no CF_WSH: a required field
    fine = next(row["record"] for row in rows if row["valid"] and "CF_NR_FK" in row["record"])
    assert Decimal(fine["CF_NR_FK"]) * 10000 == Decimal(sample_fine(store, fine["CF_WSH"]))


def sample_fine(store: FeedStore, document_number: str) -> str:
    return next(str(r["CF_FKJE"]) for r in store.records("penalty") if r["CF_WSH"] == document_number)


@pytest.mark.integration
def test_registered_runner_stops_cleanly_on_sigterm(tmp_path: Path) -> None:
    assert "ecology_environment" in SIMULATORS and callable(simulator("ecology_environment"))
    code = ("from pathlib import Path\n"
            "from creditsync.simulators.departments import SimulatorOptions, simulator\n"
            f"options = SimulatorOptions('127.0.0.1', 0, 1, 'tok', Path({str(tmp_path)!r}))\n"
            "simulator('ecology_environment')(options)")
    process = subprocess.Popen([sys.executable, "-c", code], stdout=subprocess.PIPE, text=True,
                               env={**os.environ, "PYTHONUNBUFFERED": "1"})
    try:
        assert process.stdout is not None
        line = process.stdout.readline()
        assert "ecology_environment simulator listening on http://127.0.0.1:" in line
        url = line.rsplit(" ", 1)[-1].strip()
        assert requests.get(url + "/exchange/v1", headers={"Authorization": "Bearer tok"}, timeout=5).ok
        process.send_signal(signal.SIGTERM)
        assert process.wait(timeout=10) == 0
    finally:
        if process.poll() is None:
            process.kill()


# -- end to end: the department's XML feed → gateway → platform ---------------------------------------


def set_environment(monkeypatch: pytest.MonkeyPatch, tmp_path: Path, platform_url: str,
                    eco: RunningEcologyEnvironment) -> None:
    """What `creditsync sync ecology_environment` would see; the repository holds adapters/ and mappings/."""
    connection = {"conn_type": "http", "host": eco.host, "port": eco.port, "password": eco.token}
    monkeypatch.setenv("CREDITSYNC_HOME", str(REPO))
    monkeypatch.setenv("CREDITSYNC_DB_URL", migrated_store(tmp_path / "gateway.db"))
    monkeypatch.setenv("CREDITSYNC_PLATFORM_URL", platform_url)
    monkeypatch.setenv("CREDITSYNC_PLATFORM_APP_KEY", "demo-app-key")
    monkeypatch.setenv("AIRFLOW_CONN_ECOLOGY_ENVIRONMENT_SOURCE", json.dumps(connection))


@pytest.mark.integration
def test_sync_department_end_to_end(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    platform = PlatformSimulator(str(tmp_path / "platform.db"))
    with platform.start_in_thread() as running, start_in_thread(token="eco", seed=7, today=TODAY) as eco:
        set_environment(monkeypatch, tmp_path, running.url, eco)
        gateway = Gateway.open()
        served = eco.store.records("penalty")
        revoked = sum(r["CF_ZT"] == "1" for r in served)
        enforcements = [r for r in eco.store.records("enforcement") if r["QZ_ZT"] != "1"]  # none broken
        valid = len(served) - len(eco.broken_ids) - revoked + len(enforcements)

        result = sync_department(gateway, "ecology_environment")
        assert result["pushed"]["acked"] == valid and running.stats()["records"] == valid
        with gateway.store.reader() as session:
            quarantined = {q.source_key: q for q in session.scalars(select(QuarantineItem))}
            cursor = session.get(Cursor, ("ecology_environment", "penalty"))
        assert len(quarantined) == len(eco.broken_ids) == 5
        reasons = " ".join(json.dumps(q.errors, ensure_ascii=False) for q in quarantined.values())
        for expected in ("统一社会信用代码校验位错误", "no usable 'CF_WSH'", "'壹拾万'", "2026/02/30", "'9'"):
            assert expected in reasons
        highest = TypedCursor.parse(max(str(r["SJC"]) for r in served))  # the max, not the last
        assert cursor is not None and TypedCursor.parse(str(cursor.value), cursor.kind) == highest

        # A revocation at the source: only the changed row is read again, and it is withdrawn.
        record_id = next(rid for rid in (f"XZCF{n:06d}" for n in range(1, 61))
                         if rid not in eco.broken_ids and (eco.store.get(rid) or {})["CF_ZT"] == "0")
        eco.store.update(record_id, CF_ZT="1")
        again = sync_department(gateway, "ecology_environment")
        # Read again: the change, plus the record at the old cursor (inclusive bound), deduped as unchanged.
        assert again["pulled"]["penalty"]["read"] == 2
        counts = {k: v for k, v in again["pulled"]["penalty"].items() if not k.startswith("cursor")}
        assert counts == {"read": 2, "unchanged": 1, "withdrawal_queued": 1}
        assert running.stats()["withdrawn"] == 1
        committed = (eco.store.get(record_id) or {})["SJC"]

        # A truncated feed fails the stream: its cursor stays, so the next run reads it all again.
        eco.store.update(record_id, BZ="更正")
        eco.store.inject_fault("truncate")
        with pytest.raises(FatalError, match="source stream penalty failed"):
            sync_department(gateway, "ecology_environment")
        with gateway.store.reader() as session:
            stream = session.scalars(select(RunStream).order_by(RunStream.run_id.desc())).first()
            assert stream is not None and "truncated" in (stream.error or "")
            kept = session.get(Cursor, ("ecology_environment", "penalty"))
            assert kept is not None and TypedCursor.parse(str(kept.value)) == TypedCursor.parse(committed)
        gateway.store.dispose()


def migrated_store(path: Path) -> str:
    """A store at the current schema, as `creditsync db-upgrade` leaves it."""
    url = f"sqlite:///{path}"
    upgrade(url)
    return url
