"""Every audit test starts unkeyed, with its checkpoint log and archive folder in its own tmp_path."""

from __future__ import annotations

from pathlib import Path

import pytest

AUDIT_VARIABLES = ("CREDITSYNC_AUDIT_KEY", "CREDITSYNC_AUDIT_RETIRED_KEYS", "CREDITSYNC_AUDIT_KEY_CONN_ID",
                   "CREDITSYNC_AUDIT_REQUIRE_KEY", "CREDITSYNC_AUDIT_MIN_KEEP_DAYS",
                   "AIRFLOW_CONN_CREDITSYNC_AUDIT")


@pytest.fixture(autouse=True)
def audit_environment(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Path:
    for name in AUDIT_VARIABLES:
        monkeypatch.delenv(name, raising=False)
    monkeypatch.setenv("CREDITSYNC_AUDIT_CHECKPOINTS", str(tmp_path / "checkpoints" / "audit.jsonl"))
    monkeypatch.setenv("CREDITSYNC_AUDIT_ARCHIVE_DIR", str(tmp_path / "audit-archive"))
    return tmp_path
