"""Which sink delivers: the deployment's CREDITSYNC_SINK, a department's own ``sink``, options from
CREDITSYNC_SINK_CONFIG, credentials from the environment or a Connection only."""

from __future__ import annotations

from pathlib import Path

import pytest
import yaml

from creditsync.departments import DepartmentConfig, SourceConfig, StreamConfig
from creditsync.exceptions import ConfigurationError
from creditsync.settings import load_settings
from creditsync.sinks.base import Sink
from creditsync.sinks.exchange_db import ExchangeDbSink
from creditsync.sinks.registry import exchange_db_url, sink_for, sink_kind
from creditsync.sinks.template_file import TemplateFileSink
from creditsync.sinks.xml_envelope import XmlFolderSink


def department(sink: dict[str, object] | None = None) -> DepartmentConfig:
    return DepartmentConfig.model_validate({
        "department": "market_supervision", "name": "长清区市场监督管理局",
        "source": SourceConfig(kind="file"), "streams": [StreamConfig(category="penalty")], "sink": sink})


@pytest.fixture(autouse=True)
def clean(monkeypatch: pytest.MonkeyPatch) -> None:
    for name in ("CREDITSYNC_SINK", "CREDITSYNC_SINK_CONFIG", "CREDITSYNC_EXCHANGE_DB_URL",
                 "AIRFLOW_CONN_CREDITSYNC_EXCHANGE_DB"):
        monkeypatch.delenv(name, raising=False)
    monkeypatch.setenv("CREDITSYNC_PLATFORM_URL", "http://127.0.0.1:8399")
    monkeypatch.setenv("CREDITSYNC_PLATFORM_APP_KEY", "registry-test-key")


def test_the_api_by_default_and_the_deployments_choice_otherwise(monkeypatch: pytest.MonkeyPatch,
                                                                 tmp_path: Path) -> None:
    sink = sink_for(load_settings(), department())
    assert isinstance(sink, Sink) and sink.name == "api" and not sink.asynchronous
    config = tmp_path / "sinks.yaml"
    config.write_text(yaml.safe_dump({"template_file": {"folder": str(tmp_path / "t")}}))
    monkeypatch.setenv("CREDITSYNC_SINK", "template_file")
    monkeypatch.setenv("CREDITSYNC_SINK_CONFIG", str(config))
    assert isinstance(sink_for(load_settings(), department()), TemplateFileSink)
    monkeypatch.setenv("CREDITSYNC_SINK", "fax")
    with pytest.raises(ConfigurationError, match="CREDITSYNC_SINK"):
        sink_kind(load_settings())


def test_a_department_overrides_the_deployment(monkeypatch: pytest.MonkeyPatch, tmp_path: Path) -> None:
    monkeypatch.setenv("CREDITSYNC_SINK", "api")
    own = department({"kind": "xml_envelope", "options": {"folder": str(tmp_path / "x"), "sender": "长清区"}})
    sink = sink_for(load_settings(), own)
    assert isinstance(sink, XmlFolderSink) and sink.asynchronous and sink.sender == "长清区"
    with pytest.raises(ConfigurationError, match="folder"):
        sink_for(load_settings(), department({"kind": "template_file"}))


def test_the_exchange_database_comes_from_the_environment_or_a_connection(
        monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("AIRFLOW_CONN_CREDITSYNC_EXCHANGE_DB", "mysql://qzk:s3cret-pw@10.0.0.5:3306/exchange")
    assert exchange_db_url() == "mysql+pymysql://qzk:s3cret-pw@10.0.0.5:3306/exchange"
    monkeypatch.setenv("CREDITSYNC_EXCHANGE_DB_URL", "postgresql+psycopg2://u@127.0.0.1:5432/x")
    sink = sink_for(load_settings(), department({"kind": "exchange_db", "options": {"split_subjects": True}}))
    assert isinstance(sink, ExchangeDbSink) and sink.layout.split_subjects
    assert sink.layout.table_names("penalty") == {"legal": "T_SGS_CF_FR", "natural": "T_SGS_CF_ZRR"}
    sink.close()
