"""The DAG factory: one DAG per department file, thin and safe to parse."""

from __future__ import annotations

import shutil
from collections.abc import Callable
from datetime import timedelta
from pathlib import Path

import pytest

from creditsync.departments import PULL_MARGIN_S
from creditsync.orchestration import build_dags

REPO = Path(__file__).resolve().parents[2]


@pytest.fixture
def home(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Path:
    shutil.copytree(REPO / "adapters", tmp_path / "adapters")
    monkeypatch.setenv("CREDITSYNC_HOME", str(tmp_path))
    return tmp_path


def test_every_department_file_becomes_a_dag(home: Path) -> None:
    dags = build_dags()
    expected = {f"sync__{p.stem}" for p in (home / "adapters").glob("*.yaml")}
    assert set(dags) == expected | {"display__expiry"}
    dag = dags["sync__market_supervision"]
    assert [t.task_id for t in dag.topological_sort()] == ["pull", "push", "report", "all_published"]
    assert dag.dag_display_name == "长清区市场监督管理局"
    assert dag.max_active_runs == 1
    assert "market_supervision" in dag.tags


def test_a_broken_department_file_fails_alone_and_says_why(home: Path) -> None:
    (home / "adapters" / "broken_dept.yaml").write_text(
        "department: broken_dept\nname: x\nsource: {kind: rest}\nstreams: []\nunknown_key: 1\n",
        encoding="utf-8")
    dags = build_dags()
    assert "sync__market_supervision" in dags
    broken = dags["sync__broken_dept"]
    assert [t.task_id for t in broken.tasks] == ["configuration_error"]
    assert broken.dag_display_name == "sync__broken_dept (配置错误 configuration error)"
    assert "unknown_key" in (broken.doc_md or "")
    assert "streams" in (broken.doc_md or "")


def test_the_pull_task_times_out_after_the_sources_read_deadlines(home: Path) -> None:
    """A read the framework cannot interrupt (a driver call that never returns) still ends: the pull
    task's execution_timeout is every stream's read_timeout_s plus a margin to store the last chunk."""
    path = home / "adapters" / "market_supervision.yaml"
    text = path.read_text(encoding="utf-8").replace(
        "  kind: rest\n", "  kind: rest\n  limits: {read_timeout_s: 90, page_timeout_s: 5}\n")
    path.write_text(text, encoding="utf-8")
    tasks = {t.task_id: t for t in build_dags()["sync__market_supervision"].tasks}
    assert tasks["pull"].execution_timeout == timedelta(seconds=2 * 90 + PULL_MARGIN_S)  # two streams
    default = {t.task_id: t for t in build_dags()["sync__health"].tasks}["pull"]
    assert default.execution_timeout == timedelta(seconds=2 * 7200 + PULL_MARGIN_S)


def test_disabled_departments_get_no_dag(home: Path) -> None:
    path = home / "adapters" / "market_supervision.yaml"
    path.write_text(path.read_text(encoding="utf-8") + "enabled: false\n", encoding="utf-8")
    assert "sync__market_supervision" not in build_dags()


def test_parsing_opens_no_store_and_no_connection(home: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    """The dag-processor parses often: parsing must not touch the database or the network."""
    monkeypatch.setenv("CREDITSYNC_DB_URL", "postgresql+psycopg2://nobody@127.0.0.1:1/none")
    monkeypatch.delenv("AIRFLOW_CONN_MARKET_SUPERVISION_SOURCE", raising=False)
    assert "sync__market_supervision" in build_dags()


def test_two_departments_scheduled_at_the_same_time_never_share_a_gateway_run(
    home: Path, tmp_path: Path, monkeypatch: pytest.MonkeyPatch, new_store_url: Callable[[Path], str]
) -> None:
    """Airflow gives every hourly DAG the run id scheduled__…T13:00:00: the gateway's must differ."""
    from creditsync.departments import load_department
    from creditsync.exceptions import ConfigurationError
    from creditsync.orchestration.dag_factory import gateway_run_id
    from creditsync.pipeline.runner import Gateway
    from creditsync.settings import load_settings

    airflow_run = "scheduled__2026-11-26T13:00:00+00:00"
    ids = {gateway_run_id(d, airflow_run) for d in ("market_supervision", "health")}
    assert len(ids) == 2

    monkeypatch.setenv("CREDITSYNC_DB_URL", new_store_url(tmp_path / "gw.db"))
    gateway = Gateway.open(load_settings())
    one = gateway.context(load_department(home / "adapters", "market_supervision"), airflow_run)
    other = gateway.context(load_department(home / "adapters", "health"), airflow_run)
    one.ensure_run()
    with pytest.raises(ConfigurationError, match="unique per department"):
        other.ensure_run()
    gateway.store.dispose()


def test_the_daily_expiry_dag_is_thin_and_runs_at_beijing_midnight(home: Path) -> None:
    dag = build_dags()["display__expiry"]
    assert [t.task_id for t in dag.tasks] == ["expire"]
    assert dag.max_active_runs == 1 and not dag.catchup
    assert dag.schedule == "@daily"
    assert str(dag.timezone) == "Asia/Shanghai"  # display periods end on local days


def test_the_demo_and_the_deployment_schedule_in_beijing_time() -> None:
    """Airflow's default time zone decides when a cron schedule fires: the daily expiry at local midnight."""
    import yaml

    root = Path(__file__).resolve().parents[2]
    compose = yaml.safe_load((root / "docker-compose.yaml").read_text(encoding="utf-8"))
    environments = [s.get("environment") or {} for s in compose.get("services", {}).values()]
    environments += [v.get("environment") or {} for k, v in compose.items() if k.startswith("x-")
                     and isinstance(v, dict)]
    assert any(env.get("AIRFLOW__CORE__DEFAULT_TIMEZONE") == "Asia/Shanghai" for env in environments)
    demo = (root / "scripts" / "demo.sh").read_text(encoding="utf-8")
    assert "export AIRFLOW__CORE__DEFAULT_TIMEZONE=Asia/Shanghai" in demo
