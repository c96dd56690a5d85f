"""benchmarks/run.py: finds the scripts, runs each in its own process, and rewrites only its own
section of RESULTS.md; the audit benchmark itself runs end to end at a small size."""

from __future__ import annotations

import importlib.util
import sys
from pathlib import Path
from types import ModuleType

import pytest

BENCHMARKS = Path(__file__).resolve().parents[2] / "benchmarks"
STRUCTURED = '''"""Rows benchmark."""
TITLE = "Rows"
BENCH_ARGS = ["--n", "3"]
QUICK_ARGS = ["--n", "1"]


def collect(argv):
    return [{"n": int(argv[1]), "what": "a|b"}]
'''
PRINTING = '''"""Prints its own table."""
import sys
print("| x |")
print("|---|")
print("| " + " ".join(sys.argv[1:]) + " |")
'''


def load_runner() -> ModuleType:
    spec = importlib.util.spec_from_file_location("bench_runner", BENCHMARKS / "run.py")
    assert spec is not None and spec.loader is not None
    module = importlib.util.module_from_spec(spec)
    sys.modules["bench_runner"] = module
    spec.loader.exec_module(module)
    return module


@pytest.fixture
def runner() -> ModuleType:
    return load_runner()


@pytest.fixture
def scripts(tmp_path: Path) -> Path:
    (tmp_path / "rows.py").write_text(STRUCTURED, encoding="utf-8")
    (tmp_path / "printing.py").write_text(PRINTING, encoding="utf-8")
    (tmp_path / "_helper.py").write_text("raise SystemExit('never run')\n", encoding="utf-8")
    return tmp_path


def test_discovery_reads_each_contract_without_importing(runner: ModuleType, scripts: Path) -> None:
    found = {b.name: b for b in runner.discover(scripts)}
    assert set(found) == {"rows", "printing"}
    assert (found["rows"].structured, found["rows"].bench_args, found["rows"].quick_args) == (
        True, ["--n", "3"], ["--n", "1"])
    assert (found["printing"].structured, found["printing"].title) == (False, "Prints its own table.")
    assert {b.name for b in runner.discover()} >= {"audit_scale"}


def test_each_benchmark_owns_its_section(runner: ModuleType, scripts: Path, tmp_path: Path) -> None:
    results = tmp_path / "RESULTS.md"
    assert runner.main(["--dir", str(scripts), "--results", str(results)]) == 0
    first = results.read_text(encoding="utf-8")
    assert "| n | what |" in first and "| 3 | a\\|b |" in first
    assert "<!-- bench:printing -->" in first and "Machine: " in first and "CPUs (nproc)" in first

    assert runner.main(["--dir", str(scripts), "--results", str(results), "--only", "printing",
                        "--args", "printing=hello world"]) == 0
    second = results.read_text(encoding="utf-8")
    assert "| hello world |" in second and "| 3 | a\\|b |" in second  # rows' section kept as it was
    assert second.count("<!-- bench:rows -->") == second.count("<!-- bench:printing -->") == 1


def test_quick_runs_write_nothing_by_default(runner: ModuleType, scripts: Path,
                                             monkeypatch: pytest.MonkeyPatch, tmp_path: Path) -> None:
    target = tmp_path / "untouched.md"
    monkeypatch.setattr(runner, "RESULTS", target)
    assert runner.main(["--dir", str(scripts), "--quick"]) == 0  # printing.py has no QUICK_ARGS: skipped
    assert not target.exists()


def test_a_failing_benchmark_is_reported(runner: ModuleType, scripts: Path, tmp_path: Path) -> None:
    (scripts / "broken.py").write_text("raise SystemExit(3)\n", encoding="utf-8")
    assert runner.main(["--dir", str(scripts), "--results", str(tmp_path / "R.md")]) == 1
    assert "bench:rows" in (tmp_path / "R.md").read_text(encoding="utf-8")


@pytest.mark.integration
def test_the_audit_benchmark_runs_small(runner: ModuleType, pg_server: str, tmp_path: Path,
                                        monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("CREDITSYNC_BENCH_PG", pg_server)
    results = tmp_path / "RESULTS.md"
    assert runner.main(["--only", "audit_scale", "--args", "audit_scale=--entries 3000",
                        "--results", str(results)]) == 0
    text = results.read_text(encoding="utf-8")
    for measurement in ("history --department", "trace 文书号", "verify_chain (whole trail)",
                        "append one entry", "audit prune", "verify_chain after the prune"):
        assert measurement in text  # plans at this size say little: the planner may scan tiny tables


@pytest.mark.integration
@pytest.mark.parametrize(
    ("name", "args", "expected"),
    [
        ("e2e_rest", "--records 300 --runs 1 --store sqlite --no-peer",
         ["creditsync sync (sqlite)", "ok: ", "published, none duplicated"]),
        ("e2e_xml", "--records 200 --records 400", ["| 400 |", "ok: 392 published, none duplicated", "flat"]),
        ("dag_parse", "--departments 3 --runs 1", ["| 3 | 4 | 13 |"]),  # 4 tasks each + display__expiry
        ("platform_ingest", "--records 1000 --runs 1 --validation none", ["| none | 1,000 | 500 |"]),
    ],
)
def test_each_end_to_end_benchmark_runs_small(runner: ModuleType, tmp_path: Path, name: str, args: str,
                                              expected: list[str]) -> None:
    results = tmp_path / "RESULTS.md"
    assert runner.main(["--only", name, "--args", f"{name}={args}", "--results", str(results)]) == 0
    text = results.read_text(encoding="utf-8")
    for fragment in expected:
        assert fragment in text
    assert "FAILED" not in text
