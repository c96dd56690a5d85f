"""The console's chain check says what ``creditsync audit verify`` says, warnings included: one function
(TrailReport.headline, problems, notes), compared against the command's own output on the same store."""

from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path

import pytest

from creditsync.audit import AuditTrail
from creditsync.orchestration.ui.audit_queries import chain_status
from creditsync.store import Store

REPO = Path(__file__).resolve().parents[2]


def test_the_console_and_audit_verify_say_the_same_including_the_unkeyed_warning(
        store: Store, store_url: str, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.delenv("CREDITSYNC_AUDIT_KEY", raising=False)  # no key: the "unkeyed" warning
    env = {k: v for k, v in os.environ.items() if not k.startswith("CREDITSYNC_AUDIT_KEY")}
    env.update(CREDITSYNC_DB_URL=store_url, CREDITSYNC_HOME=str(REPO), COLUMNS="400")
    with store.transaction() as s:
        AuditTrail("tester").append(s, "run_started", department="health", run_id="h1")
    console = chain_status(store)
    done = subprocess.run([str(Path(sys.executable).with_name("creditsync")), "audit", "verify"], env=env,
                          capture_output=True, text=True, timeout=120, check=False)
    assert done.returncode == 0, done.stdout + done.stderr
    assert console["ok"] and console["headline"] in done.stdout
    assert console["warnings"] and all(w in done.stdout for w in console["warnings"])
    assert all(note in done.stdout for note in console["notes"])
