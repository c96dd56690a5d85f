"""The reliability suite's machinery: the platform simulator and the pusher as real processes, a fast
generator of valid canonical penalties, and what the store and the platform say afterwards.

Retry waits are capped through the operator settings CREDITSYNC_RETRY_MAX_WAIT_S and
CREDITSYNC_PLATFORM_TIMEOUT_S (README), so thousands of injected faults cost seconds, not minutes.
"""

from __future__ import annotations

import json
import os
import random
import signal
import socket
import sqlite3
import subprocess
import sys
import time
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field
from datetime import date, timedelta
from pathlib import Path
from typing import Any

import requests
import yaml
from sqlalchemy import create_engine, select
from sqlalchemy.orm import Session

from creditsync.schema import validate_record
from creditsync.simulators import synthetic as syn
from creditsync.store.db import upgrade
from creditsync.store.models import AuditEntry

REPO = Path(__file__).resolve().parents[2]
EXECUTABLE = Path(sys.executable).parent / "creditsync"
APP_KEY = "demo-app-key"
ACTOR = "reliability-suite"
AUTHORITY = syn.fixed_uscc("1", "1", syn.CHANGQING, "00421234")
AUTHORITY_NAME = "济南市长清区市场监督管理局"
SLOW_MS = 1200  # a "slow" answer comes after the client's timeout: processed, then the answer is lost
CLIENT_TIMEOUT_S = "1.0"
MAX_RETRY_WAIT_S = "0.05"


# -- input -----------------------------------------------------------------------------------------

def _subject(rng: random.Random, kind: str) -> dict[str, str]:
    """Subject fields of one 行政相对人 (法人 with its legal representative's ID number, 个体工商户,
    自然人 with an ID number): two in three stored payloads end up masked, as in real data."""
    person = syn.make_person_name(rng)
    if kind == "自然人":
        return {"CF_XDR_MC": person, "CF_XDR_LB": kind, "CF_XDR_ZJLX": "身份证",
                "CF_XDR_ZJHM": syn.make_id_number(rng)}
    if kind == "个体工商户":
        return {"CF_XDR_MC": syn.make_shop_name(rng, person), "CF_XDR_LB": kind,
                "CF_XDR_SHXYM": syn.make_uscc(rng, "9", "2"), "CF_FRDB": person}
    return {"CF_XDR_MC": syn.make_company_name(rng), "CF_XDR_LB": kind,
            "CF_XDR_SHXYM": syn.make_uscc(rng, "9", "1"), "CF_FRDB": person, "CF_FR_ZJLX": "身份证",
            "CF_FR_ZJHM": syn.make_id_number(rng)}


def _penalty(rng: random.Random, subject: dict[str, str], number: int) -> dict[str, str]:
    fine = rng.choice((2000, 5000, 10000, 30000))
    decided = date.today() - timedelta(days=rng.randint(3, 60))
    return {**subject, "CF_WSH": f"长市监罚〔2026〕{number}号", "CF_WFXW": "未按规定公示信息",
            "CF_SY": "经查，当事人未按规定公示年度报告信息。", "CF_YJ": "《企业信息公示暂行条例》第十八条",
            "CF_CFLB": "罚款", "CF_NR": f"罚款{fine}元。", "CF_NR_FK": str(fine / 10000),
            "CF_JDRQ": decided.isoformat(), "CF_YXQ": "2099-12-31", "CF_CFJG": AUTHORITY_NAME,
            "CF_CFJGDM": AUTHORITY, "CF_SJLY": AUTHORITY_NAME, "CF_SJLYDM": AUTHORITY}


def write_penalties(path: Path, count: int, seed: int) -> set[str]:
    """``count`` valid canonical penalties as JSONL; returns their business keys. The subjects come from
    a small pool validated here once: validating all 10,000 rows would cost seconds for nothing."""
    rng = random.Random(seed)
    pool = [_subject(rng, kind) for kind in ("法人及非法人组织", "个体工商户", "自然人") * 10]
    for subject in pool:
        assert not validate_record("penalty", _penalty(rng, subject, 0)).errors
    keys: set[str] = set()
    with path.open("w", encoding="utf-8") as handle:
        for number in range(1, count + 1):
            row = _penalty(rng, pool[number % len(pool)], number)
            keys.add(f"penalty:{AUTHORITY}:{row['CF_WSH']}")
            handle.write(json.dumps(row, ensure_ascii=False) + "\n")
    return keys


# -- the platform simulator ------------------------------------------------------------------------

def free_port() -> int:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        return int(probe.getsockname()[1])


@dataclass
class Platform:
    """``creditsync platform-sim`` in its own process, its rows in a SQLite file."""

    store: Path
    process: subprocess.Popen[bytes]
    url: str

    def stats(self) -> dict[str, Any]:
        stats: dict[str, Any] = requests.get(self.url + "/_sim/stats", timeout=10).json()
        return stats

    def stop(self) -> None:
        if self.process.poll() is None:
            self.process.send_signal(signal.SIGTERM)
            self.process.wait(timeout=30)

    def rows(self) -> tuple[int, list[str]]:
        """Read straight from the platform's store: (rows, the business key of each row, which begins
        with its category)."""
        with sqlite3.connect(f"file:{self.store}?mode=ro", uri=True) as db:
            keys = [key for (key,) in db.execute("SELECT business_key FROM records")]
        return len(keys), keys


def start_platform(tmp_path: Path, seed: int, *fault_args: str) -> Platform:
    store, log = tmp_path / "platform.db", (tmp_path / "platform.log").open("wb")
    for _ in range(5):  # a port found free can be taken before the simulator binds it: try another
        port = free_port()
        command = [str(EXECUTABLE), "platform-sim", "--port", str(port), "--store", str(store),
                   "--seed", str(seed), *fault_args]
        process = subprocess.Popen(command, stdout=log, stderr=subprocess.STDOUT, env=_env())
        platform = Platform(store, process, f"http://127.0.0.1:{port}")
        if _ready(platform):
            return platform
        platform.stop()
    raise RuntimeError(f"the platform simulator did not start; see {tmp_path / 'platform.log'}")


def _ready(platform: Platform, timeout: float = 30) -> bool:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline and platform.process.poll() is None:
        try:
            platform.stats()
            return True
        except requests.ConnectionError:
            time.sleep(0.1)
    return False


# -- the gateway -----------------------------------------------------------------------------------

def handover_department(tmp_path: Path, name: str, batch_size: int) -> dict[str, str]:
    """A department whose staff hand files over, configured with its batch size; the settings that
    make the gateway find it."""
    folder = tmp_path / "adapters"
    folder.mkdir(exist_ok=True)
    config = {"department": name, "name": "长清区某局", "batch_size": batch_size,
              "source": {"kind": "file", "options": {"inbox": str(tmp_path / "inbox")}},
              "streams": [{"category": "penalty", "options": {"patterns": ["*.csv"]}}]}
    (folder / f"{name}.yaml").write_text(yaml.safe_dump(config, allow_unicode=True), "utf-8")
    return {"CREDITSYNC_ADAPTERS_DIR": str(folder)}


def _env(**overrides: str) -> dict[str, str]:
    env = {k: v for k, v in os.environ.items() if not k.startswith(("CREDITSYNC_", "AIRFLOW_CONN_"))}
    env.update({"CREDITSYNC_HOME": str(REPO), "CREDITSYNC_PLATFORM_APP_KEY": APP_KEY, "COLUMNS": "200",
                "CREDITSYNC_ACTOR": ACTOR}, **overrides)
    return env


@dataclass
class Gateway:
    """The gateway's environment for the CLI processes: its store (upgraded, as the deployment's init
    step leaves it) and the platform's address."""

    db_url: str
    platform: Platform
    outputs: Path
    settings: dict[str, str] = field(default_factory=dict)
    runs: int = 0

    def __post_init__(self) -> None:
        upgrade(self.db_url)

    def env(self) -> dict[str, str]:
        return _env(CREDITSYNC_DB_URL=self.db_url, CREDITSYNC_PLATFORM_URL=self.platform.url,
                    CREDITSYNC_RETRY_MAX_WAIT_S=MAX_RETRY_WAIT_S,
                    CREDITSYNC_PLATFORM_TIMEOUT_S=CLIENT_TIMEOUT_S, **self.settings)

    @contextmanager
    def running(self, *args: str) -> Iterator[subprocess.Popen[bytes]]:
        """``creditsync ARGS`` in its own process; SIGKILLed on leaving the block if still running."""
        self.runs += 1
        with (self.outputs / f"run-{self.runs:03d}.log").open("wb") as out:
            process = subprocess.Popen([str(EXECUTABLE), *args], stdout=out, stderr=subprocess.STDOUT,
                                       env=self.env())
            try:
                yield process
            finally:
                if process.poll() is None:
                    process.kill()
                process.wait()

    def run(self, *args: str, timeout: float = 300) -> int:
        with self.running(*args) as process:
            return process.wait(timeout=timeout)

    def run_until_done(self, *args: str, tries: int = 15) -> tuple[int, int]:
        """Run the command again while it says delivery is incomplete (exit 3); (exit code, runs)."""
        for attempt in range(1, tries + 1):
            code = self.run(*args)
            if code != 3:
                return code, attempt
        raise AssertionError(f"still incomplete after {tries} runs; see {self.outputs}")

    def last_output(self) -> str:
        return (self.outputs / f"run-{self.runs:03d}.log").read_text("utf-8", errors="replace")


# -- what the audit trail says about the kills -----------------------------------------------------

@dataclass
class InFlight:
    """Batches whose attempt was committed but which never got an outcome: the pusher died with them
    on the way. ``committed`` of them had reached the platform (their resend came back 'duplicate')."""

    batches: int = 0
    committed: int = 0
    attempts: int = 0
    receipts: dict[str, int] = field(default_factory=dict)


def batches_in_flight(db_url: str) -> InFlight:
    engine = create_engine(db_url)
    try:
        with Session(engine) as session:
            entries = list(_push_entries(session))
    finally:
        engine.dispose()
    attempts = {e.details["batch_id"]: e.details["keys"] for e in entries if e.event == "push_attempt"}
    answered = {e.details.get("batch_id") for e in entries if e.event != "push_attempt"}
    receipts = [e for e in entries if e.event == "receipts_stored"]  # one entry binds a batch's answers
    duplicate = {key for e in receipts for key in e.details.get("duplicates", [])}
    orphans = [keys for batch, keys in attempts.items() if batch not in answered]
    statuses = {"acked": sum(e.details.get("acked", 0) for e in receipts),
                "rejected": sum(e.details.get("rejected", 0) for e in receipts), "duplicate": len(duplicate)}
    return InFlight(len(orphans), sum(bool(duplicate & set(keys)) for keys in orphans), len(attempts),
                    statuses)


def _push_entries(session: Session) -> Iterator[AuditEntry]:
    events = ("push_attempt", "receipts_stored", "push_rejected", "push_failed")
    yield from session.scalars(select(AuditEntry).where(AuditEntry.event.in_(events))
                               .order_by(AuditEntry.id).execution_options(yield_per=2000))
