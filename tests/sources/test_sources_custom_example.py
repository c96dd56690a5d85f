"""The custom-source example of the guide (docs/examples/custom_source.py) runs: imported as a department
developer's module, read through the framework against its small fake service, and a department using
it passes the conformance suite with no Python override."""

from __future__ import annotations

import importlib.util
import re
import sys
from pathlib import Path
from types import ModuleType
from typing import Any

import pytest

from creditsync.exceptions import FatalError
from creditsync.secrets import Connection
from creditsync.sources.cursor import Cursor
from creditsync.sources.limits import SourceLimitError, SourceLimits
from creditsync.testing import DepartmentConformance

REPO = Path(__file__).resolve().parents[2]
EXAMPLE = REPO / "docs" / "examples" / "custom_source.py"


def example() -> ModuleType:
    """The example module, imported once under one name (it registers the kind ``case_rpc``)."""
    name = "district_adapters_case_rpc"
    if name not in sys.modules:
        spec = importlib.util.spec_from_file_location(name, EXAMPLE)
        assert spec is not None and spec.loader is not None
        module = importlib.util.module_from_spec(spec)
        sys.modules[name] = module
        spec.loader.exec_module(module)
    return sys.modules[name]


CASES = example()


def test_the_guide_shows_the_example_file() -> None:
    """The guide's example is this file's source class, word for word (the fake is only in the file)."""
    guide = (REPO / "docs" / "adding-a-department.md").read_text(encoding="utf-8")
    shown = re.findall(r"```python\n# docs/examples/custom_source.py.*?\n(.*?)```", guide, flags=re.S)
    assert shown and shown[0].strip() in EXAMPLE.read_text(encoding="utf-8")
    assert "class CaseRpcSource(SourceAdapter)" in shown[0]


def rows(count: int) -> list[dict[str, Any]]:
    return [{"id": f"C{n:03d}", "updated_at": f"2026-05-10T09:{n // 2:02d}:00+08:00", "name": f"case {n}"}
            for n in range(count)]


def source(fake: Any, **options: Any) -> Any:
    host, port = fake.url.rsplit("@", 1)[1].split(":")
    connection = Connection("case_rpc_source", "http", host, int(port), password=fake.token)
    return CASES.CaseRpcSource("some_dept", {"batch": 4, **options}, connection,
                               limits=SourceLimits(page_timeout_s=5))


@pytest.fixture
def fake() -> Any:
    system = CASES.FakeCaseSystem(rows(11))
    yield system
    system.stop()


def test_the_source_only_yields_dicts_and_the_framework_makes_records(fake: Any) -> None:
    records = list(source(fake).read("penalty", {}, None))
    assert [r.key for r in records] == [f"C{n:03d}" for n in range(11)]
    assert records[-1].cursor == Cursor.parse("2026-05-10T01:05:00Z")  # typed, from the dicts
    later = list(source(fake).read("penalty", {}, records[7].cursor))
    assert [r.key for r in later] == ["C006", "C007", "C008", "C009", "C010"]  # inclusive


def test_a_transient_failure_is_read_again_from_the_last_cursor_without_a_loss_or_a_duplicate(
        fake: Any, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr("creditsync.sources.reading.RETRY_WAITS_S", (0.0,))
    stream = source(fake).read("penalty", {}, None)
    first = [next(stream) for _ in range(5)]
    fake.fail_next = 1  # the next call answers 503
    rest = list(stream)
    keys = [r.key for r in first + rest]
    assert keys == [f"C{n:03d}" for n in range(11)]


def test_a_refused_token_is_fatal(fake: Any) -> None:
    adapter = source(fake)
    adapter.check()
    fake.token = "changed-by-the-department"
    with pytest.raises(FatalError, match="refused the token"):
        list(adapter.read("penalty", {}, None))
    with pytest.raises(FatalError):
        adapter.check()


def test_malformed_and_oversized_items_are_quarantined_and_the_read_goes_on() -> None:
    system = CASES.FakeCaseSystem([*rows(3), {"updated_at": "2026-05-10T09:30:00+08:00"},
                                   {"id": "BIG", "updated_at": "2026-05-10T09:31:00+08:00",
                                    "facts": "x" * 2_000_000}])
    try:
        records = list(source(system).read("penalty", {}, None))
    finally:
        system.stop()
    assert [r.key for r in records if not r.error] == ["C000", "C001", "C002"]
    missing, big = [r for r in records if r.error]
    assert "no usable 'id'" in (missing.error or "")
    assert big.key == "BIG" and "max_field_bytes" in (big.error or "")
    assert len(str(big.data)) < 1000  # the value is not kept


def test_a_stalled_system_fails_at_the_page_deadline(fake: Any, monkeypatch: pytest.MonkeyPatch) -> None:
    adapter = source(fake)
    adapter.limits = SourceLimits(page_timeout_s=0.5)
    original = fake.page

    def slow(params: dict[str, Any]) -> list[Any]:
        import time

        time.sleep(1.5)
        return list(original(params))

    fake.page = slow
    with pytest.raises(SourceLimitError, match="page_timeout_s"):
        list(adapter.read("penalty", {}, None))


class TestCaseRpcDepartment(DepartmentConformance):
    """A department using the custom kind: its YAML, mapping and samples, and nothing else."""

    department = "case_rpc_demo"
    project_root = REPO / "docs" / "examples" / "custom_department"
    expected_invalid = frozenset({"S0004"})
