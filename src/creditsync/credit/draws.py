"""双随机 spot-check draws by credit grade, verifiable by anyone (docs/credit-loop.md, "Draws").

1. A random seed is drawn and only its sha256 is committed (stored, and in the audit trail) **before**
   the register is read: nobody, the gateway included, can pick the register to suit the seed.
2. The register (the department's inspection targets, CSV or XLSX: ``subject_id``, ``subject_name``,
   optional ``supervisor``) is read and hashed in a canonical form; each subject's grade is the newest
   the gateway knew at the commitment (grade versions are kept, so that moment can be replayed).
3. Per grade the plan's ratio of subjects is drawn (rounded up) with ``random.Random(seed:grade)`` from
   the stratum sorted by subject id; inspectors are drawn per subject the same way, never the subject's
   own supervisor when the plan says so.
4. The seed, the register hash and the result's hash are published (audit trail); :func:`verify` re-runs
   the draw from them and says whether the register or the stored list changed since.
"""

from __future__ import annotations

import csv
import hashlib
import json
import math
import random
import secrets
from dataclasses import dataclass, field
from datetime import datetime
from decimal import Decimal, InvalidOperation
from pathlib import Path
from typing import Any

import yaml
from sqlalchemy import select

from creditsync.audit import AuditTrail
from creditsync.audit.events import AuditEvent
from creditsync.credit.subjects import Subject
from creditsync.exceptions import ConfigurationError, InvalidRequest
from creditsync.lifecycle import now
from creditsync.store import Store
from creditsync.store.credit_models import CreditDraw, CreditGradeVersion

UNRATED = "unrated"
STRATA = ("A", "B", "C", "D", UNRATED)


@dataclass(frozen=True)
class Inspector:
    id: str
    name: str


@dataclass(frozen=True)
class Plan:
    register: Path
    ratios: dict[str, Decimal]
    inspectors: tuple[Inspector, ...] = ()
    inspectors_per_subject: int = 2
    exclude_own_supervisor: bool = True
    raw: dict[str, Any] = field(default_factory=dict)


@dataclass(frozen=True)
class Target:
    subject_id: str
    subject_name: str
    supervisor: str


def load_plan(path: Path) -> Plan:
    try:
        data = yaml.safe_load(path.read_text(encoding="utf-8")) or {}
        ratios = {str(k): _ratio(v) for k, v in (data.get("ratios") or {}).items()}
        inspectors = tuple(Inspector(str(i["id"]), str(i.get("name", i["id"])))
                           for i in data.get("inspectors") or ())
        register = (path.parent / str(data["register"])).resolve()
    except (yaml.YAMLError, KeyError, TypeError, AttributeError) as exc:
        raise ConfigurationError(f"{path}: not a draw plan (register, ratios, inspectors): {exc}") from exc
    unknown = set(ratios) - set(STRATA)
    if unknown or not ratios:
        raise ConfigurationError(f"{path}: ratios are per grade {STRATA}, not {sorted(unknown) or 'none'}")
    per_subject = int(data.get("inspectors_per_subject", 2))
    if inspectors and not 1 <= per_subject <= len(inspectors):
        raise ConfigurationError(f"{path}: inspectors_per_subject must be 1 to {len(inspectors)}")
    exclude = bool(data.get("exclude_own_supervisor", True))
    plan = {"ratios": {k: str(v) for k, v in sorted(ratios.items())},
            "inspectors": [vars(i) for i in inspectors], "inspectors_per_subject": per_subject,
            "exclude_own_supervisor": exclude, "register": str(register)}
    return Plan(register, ratios, inspectors, per_subject, exclude, plan)


def _ratio(value: Any) -> Decimal:
    text = str(value).strip()
    try:
        ratio = Decimal(text.removesuffix("%")) / (100 if text.endswith("%") else 1)
    except InvalidOperation as exc:
        raise ConfigurationError(f"not a ratio: {value!r} (0.05 or 5%)") from exc
    if not 0 <= ratio <= 1:
        raise ConfigurationError(f"a ratio is between 0 and 1 (0 % and 100 %), not {value!r}")
    return ratio


def read_register(path: Path) -> list[Target]:
    """The register's rows (CSV in UTF-8, or XLSX), one per subject id (the first row of a repeated id)."""
    if not path.exists():
        raise ConfigurationError(f"the register {path} is missing")
    rows = _xlsx_rows(path) if path.suffix.lower() == ".xlsx" else _csv_rows(path)
    targets: dict[str, Target] = {}
    for row in rows:
        number = str(row.get("subject_id") or "").strip().upper()
        if number and number not in targets:
            targets[number] = Target(number, str(row.get("subject_name") or ""),
                                     str(row.get("supervisor") or ""))
    return list(targets.values())


def _csv_rows(path: Path) -> list[dict[str, Any]]:
    with path.open(encoding="utf-8-sig", newline="") as handle:
        return list(csv.DictReader(handle))


def _xlsx_rows(path: Path) -> list[dict[str, Any]]:
    from openpyxl import load_workbook

    sheet = load_workbook(path, read_only=True, data_only=True).worksheets[0]
    values = list(sheet.iter_rows(values_only=True))
    header = [str(v or "") for v in values[0]] if values else []
    return [dict(zip(header, row, strict=False)) for row in values[1:]]


def register_hash(targets: list[Target]) -> str:
    """sha256 over the canonical register: sorted ``id|supervisor`` lines (names may be re-spelt)."""
    lines = sorted(f"{t.subject_id}|{t.supervisor}" for t in targets)
    return hashlib.sha256("\n".join(lines).encode()).hexdigest()


def draw(store: Store, department: str, plan: Plan, audit: AuditTrail) -> dict[str, Any]:
    """Commit a seed, read the register, draw, publish: the draw as published."""
    if not department.isidentifier():
        raise InvalidRequest(f"not a department: {department!r}")
    draw_id, seed = secrets.token_hex(16), secrets.token_hex(32)
    commitment = hashlib.sha256(seed.encode()).hexdigest()
    plan_hash = hashlib.sha256(_canonical(plan.raw).encode()).hexdigest()
    with store.transaction() as session:  # committed before the register is opened
        committed_at = now()
        session.add(CreditDraw(id=draw_id, department=department, plan=plan.raw, plan_hash=plan_hash,
                               seed_commitment=commitment, status="committed", committed_at=committed_at,
                               actor=audit.actor))
        audit.append(session, AuditEvent.DRAW_COMMITTED, department=department, draw_id=draw_id,
                     seed_commitment=commitment, plan_hash=plan_hash)
    targets = read_register(plan.register)
    result = compute(store, plan, targets, seed, committed_at)
    with store.transaction() as session:
        row = session.get(CreditDraw, draw_id)
        assert row is not None
        row.seed, row.register_hash, row.result = seed, result["register_hash"], result
        row.status, row.published_at = "published", now()
        audit.append(session, AuditEvent.DRAW_PUBLISHED, department=department, draw_id=draw_id, seed=seed,
                     register_hash=result["register_hash"], result_hash=result_hash(result),
                     register_size=result["register_size"], drawn=len(result["drawn"]))
    return {"draw_id": draw_id, "department": department, "seed": seed, "seed_commitment": commitment,
            "committed_at": committed_at.isoformat(), **result}


def compute(store: Store, plan: Plan, targets: list[Target], seed: str, as_of: datetime) -> dict[str, Any]:
    """The draw: a pure function of the plan, the register, the grades known at ``as_of`` and the seed."""
    subjects = {t.subject_id: Subject.of(t.subject_id) for t in targets}
    grades = _grades_at(store, {s.key for s in subjects.values()}, as_of)
    strata: dict[str, list[Target]] = {s: [] for s in STRATA}
    for target in sorted(targets, key=lambda t: t.subject_id):
        strata[grades.get(subjects[target.subject_id].key, UNRATED)].append(target)
    drawn, counts = [], {}
    for stratum in STRATA:
        pool, ratio = strata[stratum], plan.ratios.get(stratum, Decimal(0))
        size = min(len(pool), math.ceil(ratio * len(pool)))
        picked = random.Random(f"{seed}:{stratum}").sample(pool, size)
        counts[stratum] = {"register": len(pool), "drawn": size, "ratio": str(ratio)}
        for target in sorted(picked, key=lambda t: t.subject_id):
            subject = subjects[target.subject_id]
            drawn.append({"subject": subject.shown, "subject_key": subject.key,
                          "subject_name": target.subject_name, "grade": stratum,
                          "inspectors": _inspectors(plan, target, seed)})
    return {"register_size": len(targets), "register_hash": register_hash(targets), "strata": counts,
            "drawn": drawn}


def _inspectors(plan: Plan, target: Target, seed: str) -> list[dict[str, str]]:
    eligible = [i for i in plan.inspectors
                if not (plan.exclude_own_supervisor and target.supervisor and i.id == target.supervisor)]
    if not eligible:
        return []
    rng = random.Random(f"{seed}:inspectors:{target.subject_id}")
    return [vars(i) for i in rng.sample(eligible, min(plan.inspectors_per_subject, len(eligible)))]


def _grades_at(store: Store, keys: set[str], as_of: datetime) -> dict[str, str]:
    found: dict[str, str] = {}
    with store.reader() as session:
        ordered = list(keys)
        for start in range(0, len(ordered), 900):
            rows = session.execute(select(CreditGradeVersion.subject_key, CreditGradeVersion.grade).where(
                CreditGradeVersion.subject_key.in_(ordered[start:start + 900]),
                CreditGradeVersion.known_at <= as_of).order_by(CreditGradeVersion.id)).all()
            found.update({key: grade for key, grade in rows})  # the newest version wins
    return found


def result_hash(result: dict[str, Any]) -> str:
    return hashlib.sha256(_canonical(result).encode()).hexdigest()


def _canonical(value: Any) -> str:
    return json.dumps(value, sort_keys=True, ensure_ascii=False, separators=(",", ":"), default=str)


def verify(store: Store, draw_id: str, audit: AuditTrail) -> dict[str, Any]:
    """Re-run a published draw from its seed against the register as it is now; audited."""
    with store.reader() as session:
        row = session.get(CreditDraw, draw_id)
    if row is None or row.seed is None or row.result is None:
        raise InvalidRequest(f"no published draw {draw_id!r}")
    problems = []
    if hashlib.sha256(row.seed.encode()).hexdigest() != row.seed_commitment:
        problems.append("the published seed does not match its commitment 种子与承诺不符")
    plan = Plan(Path(row.plan["register"]), {k: Decimal(v) for k, v in row.plan["ratios"].items()},
                tuple(Inspector(i["id"], i["name"]) for i in row.plan["inspectors"]),
                int(row.plan["inspectors_per_subject"]), bool(row.plan["exclude_own_supervisor"]), row.plan)
    again = compute(store, plan, read_register(plan.register), row.seed, row.committed_at)
    if again["register_hash"] != row.register_hash:
        problems.append("the register changed after the commitment 名录在承诺后被改动")
    if result_hash(again) != result_hash(row.result):
        problems.append("re-running the draw gives another list 重新抽取的名单不同")
    outcome = {"draw_id": draw_id, "ok": not problems, "problems": problems,
               "register_hash": again["register_hash"], "drawn": len(again["drawn"])}
    with store.transaction() as session:
        audit.append(session, AuditEvent.DRAW_VERIFIED, department=row.department, **outcome)
    return outcome


def export_xlsx(outcome: dict[str, Any], target: Path) -> Path:
    """The drawn list for the inspectors (XLSX): numbers masked as everywhere, the seed on the sheet."""
    from openpyxl import Workbook

    from creditsync.export_safety import neutralise_row

    target.parent.mkdir(parents=True, exist_ok=True)
    book = Workbook()
    sheet = book.active
    assert sheet is not None
    sheet.title = "抽查名单"
    sheet.append(["抽查编号 draw", outcome["draw_id"], "种子 seed", outcome["seed"],
                  "名录哈希 register sha256", outcome["register_hash"]])
    sheet.append(["序号 no.", "主体名称 name", "统一社会信用代码/证件号码 id", "信用等级 grade",
                  "检查人员 inspectors"])
    for number, row in enumerate(outcome["drawn"], start=1):
        inspectors = "、".join(f"{i['name']}({i['id']})" for i in row["inspectors"])
        sheet.append(neutralise_row([number, row["subject_name"], row["subject"], row["grade"], inspectors]))
    book.save(target)
    return target
