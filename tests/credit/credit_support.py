"""Shared pieces of the credit-loop tests: a platform simulator with its credit desk, and its admin calls."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import requests

from creditsync.credit.feed import CreditFeedClient
from creditsync.simulators.platform import RunningSimulator

REPO = Path(__file__).resolve().parents[2]
APP_KEY = "credit-test-key"
USCC = "91370112MA3C00001X"  # a valid USCC (GB 32100 check character)
PERSON = "370102199001011231"


def admin(running: RunningSimulator, path: str, body: dict[str, Any]) -> dict[str, Any]:
    response = requests.post(f"{running.url}/_sim/credit/{path}", json=body, timeout=10)
    response.raise_for_status()
    row: dict[str, Any] = response.json()["data"]["data"][0]
    return row


def place(running: RunningSimulator, subject: str, measures: list[str], **extra: Any) -> dict[str, Any]:
    return admin(running, "lists", {"subject_id": subject, "subject_name": "济南某某商贸有限公司",
                                    "list_type": "dishonest", "cause": "拒不履行法院判决",
                                    "authority": "济南市中级人民法院", "decision_no": "(2026)鲁01执123号",
                                    "start_date": "2026-01-01", "measures": measures, **extra})


def feed_client(running: RunningSimulator) -> CreditFeedClient:
    return CreditFeedClient(running.url, APP_KEY)
