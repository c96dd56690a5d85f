"""Data of the simulated 长清区综合行政执法局 (urban management) open API: its penalty cases in its own
camelCase layout, and what a test may do to them while a client reads.

A case: ``caseNo`` (the id), ``decisionNo`` (文书号), ``party`` (``name``, ``kind`` 法人/个体/自然人,
``creditCode``, ``legalRep``), ``violation``, ``facts``, ``basis``, ``penaltyKinds`` (a list), ``content``,
``fineFen`` (the fine in 分, an integer), ``decidedOn``, ``validUntil`` (empty when 长期), ``status``
(``ACTIVE`` / ``REVOKED``) and ``updatedAt``: the last change in epoch milliseconds.

Broken on purpose (:data:`BROKEN`): ``UM-0007`` has no decisionNo; ``UM-0011`` a wrong check digit in
its creditCode. ``UM-0013`` is revoked.
"""

from __future__ import annotations

import random
import threading
from collections.abc import Callable
from datetime import date, timedelta
from typing import Any

from creditsync.simulators import synthetic as syn

BROKEN = {"UM-0007": "no decisionNo", "UM-0011": "creditCode check digit"}
REVOKED = "UM-0013"
START_MS = 1_777_766_400_000  # 2026-05-03T00:00:00Z
VIOLATIONS = (("占道经营", "《城市市容和环境卫生管理条例》第十七条"),
              ("违规设置户外广告", "《济南市户外广告和招牌设置管理办法》第二十三条"),
              ("擅自倾倒建筑垃圾", "《城市建筑垃圾管理规定》第二十条"),
              ("店外经营", "《济南市城市市容和环境卫生管理条例》第二十九条"))


class CaseStore:
    """The cases, sorted by (updatedAt, caseNo) when read; thread-safe."""

    def __init__(self, count: int = 30, seed: int = 7) -> None:
        rng = random.Random(seed)
        self._lock = threading.Lock()
        self._cases: dict[str, dict[str, Any]] = {}
        self._clock_ms = START_MS
        for number in range(1, count + 1):
            case = _case(rng, number)
            self._clock_ms += rng.choice((0, 1, 250, 60_000, 3_600_000))  # equal stamps happen
            case["updatedAt"] = self._clock_ms
            self._cases[case["caseNo"]] = case
        self.after_request: Callable[[int], None] | None = None  # a test's hook: (requests so far)
        self.requests = 0

    @property
    def broken_ids(self) -> dict[str, str]:
        return dict(BROKEN)

    def sorted(self) -> list[dict[str, Any]]:
        with self._lock:
            cases = list(self._cases.values())
        return sorted(cases, key=lambda c: (c["updatedAt"], c["caseNo"]))

    def get(self, case_no: str) -> dict[str, Any] | None:
        with self._lock:
            return self._cases.get(case_no)

    def update(self, case_no: str, **fields: Any) -> dict[str, Any]:
        """A correction: the case changes and its updatedAt moves past every other one."""
        with self._lock:
            case = self._cases[case_no]
            self._clock_ms = max(self._clock_ms, max(c["updatedAt"] for c in self._cases.values())) + 1000
            case.update(fields, updatedAt=self._clock_ms)
            return dict(case)

    def delete(self, case_no: str) -> None:
        with self._lock:
            del self._cases[case_no]

    def add(self, rng_seed: int = 99) -> dict[str, Any]:
        with self._lock:
            number = len(self._cases) + 100
        case = _case(random.Random(rng_seed + number), number)
        with self._lock:
            self._clock_ms = max(c["updatedAt"] for c in self._cases.values()) + 1000
            case["updatedAt"] = self._clock_ms
            self._cases[case["caseNo"]] = case
        return dict(case)

    def served(self) -> None:
        """Called after each answered API request (the hook may edit cases between two pages)."""
        self.requests += 1
        if self.after_request is not None:
            self.after_request(self.requests)


def _case(rng: random.Random, number: int) -> dict[str, Any]:
    case_no = f"UM-{number:04d}"
    violation, basis = VIOLATIONS[number % len(VIOLATIONS)]
    fine_yuan = rng.choice((200, 500, 1000, 2000, 5000))
    decided = date(2026, 4, 1) + timedelta(days=rng.randint(0, 30))
    company = syn.make_company_name(rng)
    code = syn.make_uscc(rng)
    if case_no in BROKEN and "creditCode" in BROKEN[case_no]:
        code = syn.corrupt_check_digit(code)
    return {
        "caseNo": case_no,
        "decisionNo": "" if case_no == "UM-0007" else f"长综执罚〔2026〕{number}号",
        "party": {"name": company, "kind": "法人", "creditCode": code, "legalRep": syn.make_person_name(rng)},
        "violation": violation,
        "facts": f"经查，当事人在长清区{rng.choice(syn.ROADS)}{violation}，影响市容环境。",
        "basis": basis,
        "penaltyKinds": ["罚款"] if number % 5 else ["警告", "罚款"],
        "content": f"罚款{fine_yuan}元。",
        "fineFen": fine_yuan * 100,
        "decidedOn": decided.isoformat(),
        "validUntil": "" if number % 4 == 0 else (decided + timedelta(days=365)).isoformat(),
        "status": "REVOKED" if case_no == REVOKED else "ACTIVE",
    }
