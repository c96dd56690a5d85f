"""Only the lifecycle writes a record's rows: a scan of the code, and the store's own guard."""

from __future__ import annotations

import ast
from pathlib import Path

import pytest
from sqlalchemy import text

from creditsync.store import Store
from creditsync.store.guard import UnguardedWrite, lifecycle_writes

SRC = Path(__file__).resolve().parents[2] / "src" / "creditsync"
MODELS = {"Record", "RecordVersion", "OutboxItem", "QuarantineItem", "Cursor"}
# Attributes only those rows have: assigning one outside the lifecycle is writing the row by hand.
ROW_ATTRIBUTES = {"mapped_hash", "platform_id", "withdraw_reason", "display_until", "payload_masked",
                  "sealed", "resolved_at", "resolution", "idempotency_key", "retry_outcome"}
ALLOWED = ("lifecycle/", "store/migrations/", "simulators/")  # the simulators keep tables of their own


def writes_in(path: Path) -> list[str]:
    """Every place a module builds, inserts, updates or deletes one of those rows."""
    tree, found = ast.parse(path.read_text(encoding="utf-8")), []
    for node in ast.walk(tree):
        if isinstance(node, ast.Call):
            name = node.func.id if isinstance(node.func, ast.Name) else getattr(node.func, "attr", "")
            first = node.args[0] if node.args else None
            target = first.id if isinstance(first, ast.Name) else None
            if name in MODELS:
                found.append(f"{path}:{node.lineno} builds a {name}")
            elif name in ("insert", "update", "delete", "insert_rows", "update_rows", "upsert_rows"):
                model = target if name in ("insert", "update", "delete") else (
                    node.args[1].id if len(node.args) > 1 and isinstance(node.args[1], ast.Name) else None)
                if model in MODELS:
                    found.append(f"{path}:{node.lineno} {name}({model})")
        elif isinstance(node, ast.Assign | ast.AugAssign):
            targets = node.targets if isinstance(node, ast.Assign) else [node.target]
            for target in targets:  # `x.attr = …` and `x.a, x.b = …`, not `d[x.attr] = …`
                leaves = target.elts if isinstance(target, ast.Tuple) else [target]
                for leaf in leaves:
                    if isinstance(leaf, ast.Attribute) and leaf.attr in ROW_ATTRIBUTES:
                        found.append(f"{path}:{node.lineno} sets .{leaf.attr}")
    return found


def test_no_module_outside_the_lifecycle_writes_a_records_rows() -> None:
    modules = [p for p in SRC.rglob("*.py") if not str(p.relative_to(SRC)).startswith(ALLOWED)]
    assert len(modules) > 100
    assert [w for p in modules for w in writes_in(p)] == []


def test_the_scan_finds_a_write(tmp_path: Path) -> None:
    sneaky = tmp_path / "sneaky.py"
    sneaky.write_text("def f(s, r):\n    s.execute(update(Record).values(state='published'))\n"
                      "    r.platform_id = 'x'\n    s.add(OutboxItem(idempotency_key='k'))\n", "utf-8")
    assert len(writes_in(sneaky)) == 3


@pytest.mark.parametrize("statement", [
    "UPDATE records SET state = 'published'",
    "INSERT INTO outbox (idempotency_key) VALUES ('forged')",
    "DELETE FROM quarantine",
    'UPDATE "cursors" SET value = NULL',
])
def test_the_store_refuses_a_write_outside_the_lifecycle(store: Store, statement: str) -> None:
    refused = pytest.raises(UnguardedWrite, match=r"outside creditsync\.lifecycle")
    with refused, store.transaction() as session:
        session.execute(text(statement))


def test_the_lifecycle_may_write(store: Store) -> None:
    with lifecycle_writes(), store.transaction() as session:
        session.execute(text("DELETE FROM quarantine"))
