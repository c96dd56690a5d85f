"""Department configuration: one YAML file per department in ``adapters/``.

```yaml
department: market_supervision
name: 长清区市场监督管理局
source: {kind: rest, connection_id: market_supervision_source, options: {path: /api/v1/decisions}}
streams:
  - {category: penalty, options: {params: {type: penalty}}}
schedule: "@hourly"
```
"""

from __future__ import annotations

import re
from collections.abc import Mapping
from datetime import timedelta
from pathlib import Path
from typing import Any, Literal

import yaml
from pydantic import BaseModel, ConfigDict, Field, ValidationError, field_validator

from creditsync.exceptions import ConfigurationError, CreditSyncError
from creditsync.sources.limits import SourceLimits
from creditsync.yaml_text import load_safe

PULL_MARGIN_S = 600
_NAME = re.compile(r"^[a-z][a-z0-9_]{1,62}$")


class SourceConfig(BaseModel):
    model_config = ConfigDict(extra="forbid")
    kind: str
    connection_id: str | None = None
    options: dict[str, Any] = Field(default_factory=dict)
    # Deadlines and size limits the framework enforces around the source (creditsync.sources.limits).
    limits: SourceLimits = Field(default_factory=SourceLimits)


class RevokedRule(BaseModel):
    """How the department's own record says a decision was revoked, annulled or cancelled
    (撤销/注销; legacy ZT=1): such a record is withdrawn from the platform, or never published."""

    model_config = ConfigDict(extra="forbid")
    path: str
    values: list[str] = Field(min_length=1)

    def matches(self, raw: Mapping[str, Any]) -> bool:
        value: Any = raw
        for part in self.path.split("."):
            value = value.get(part) if isinstance(value, Mapping) else None
        return value is not None and str(value).strip() in self.values


class StreamConfig(BaseModel):
    model_config = ConfigDict(extra="forbid")
    category: str
    mapping: str | None = None  # file name under mappings/<department>/; default <category>.yaml
    options: dict[str, Any] = Field(default_factory=dict)
    revoked_when: RevokedRule | None = None


class PublicationConfig(BaseModel):
    """The department's publication rules (creditsync.publication): the severity of penalties whose
    mapping gives none (轻微/一般/严重), and hold-back rules per category (besides minors, which are
    always held back): ``{penalty: [{field: CF_SFSM, values: [是], reason: 涉及国家秘密不予公示}]}``."""

    model_config = ConfigDict(extra="forbid")
    severity_default: str | None = None
    hold_back: dict[str, list[dict[str, Any]]] = Field(default_factory=dict)


class SinkConfig(BaseModel):
    """A department delivered through another interface than the deployment's (creditsync.sinks)."""

    model_config = ConfigDict(extra="forbid")
    kind: Literal["api", "exchange_db", "xml_envelope", "template_file"]
    options: dict[str, Any] = Field(default_factory=dict)
    conn_id: str | None = None  # the Connection holding its address and credentials


class DepartmentConfig(BaseModel):
    """Everything the gateway needs to sync one department; no secrets (those are Connections)."""

    model_config = ConfigDict(extra="forbid")
    department: str
    name: str
    source: SourceConfig
    streams: list[StreamConfig] = Field(min_length=1)
    schedule: str | None = "@hourly"
    batch_size: int = Field(default=200, ge=1, le=5000)
    rate_limit_per_s: float | None = Field(default=None, gt=0)
    pool: str | None = None  # default creditsync__<department>, created by `creditsync deploy-init`
    pool_slots: int = Field(default=2, ge=1, le=64)  # tasks of the department at once (its pool's size)
    retries: int = Field(default=2, ge=0, le=10)  # of each Airflow task (every step is idempotent)
    retry_delay_s: int = Field(default=60, ge=1, le=3600)
    deadline_minutes: float | None = Field(default=120, gt=0)  # a run not finished by then raises an alert
    bad_record_threshold: float = Field(default=0.5, ge=0, le=1)
    enabled: bool = True
    # Batches of one department in flight at once (the platform keeps one item per record per batch);
    # a batch also closes at this many bytes of payload, below the platform's request limit.
    push_concurrency: int = Field(default=2, ge=1, le=16)
    push_batch_bytes: int = Field(default=8 * 1024 * 1024, ge=64 * 1024)
    publication: PublicationConfig = Field(default_factory=PublicationConfig)
    sink: SinkConfig | None = None  # default: the deployment's CREDITSYNC_SINK

    @field_validator("department")
    @classmethod
    def _check_name(cls, value: str) -> str:
        if not _NAME.match(value):
            raise ValueError("must be lower_snake_case ascii (it becomes the DAG id sync__<department>)")
        return value

    def stream(self, category: str) -> StreamConfig:
        for stream in self.streams:
            if stream.category == category:
                return stream
        raise ConfigurationError(f"department {self.department} has no stream {category!r}")

    def mapping_path(self, mappings_dir: Path, stream: StreamConfig) -> Path:
        return mappings_dir / self.department / (stream.mapping or f"{stream.category}.yaml")

    def pool_name(self) -> str:
        """The Airflow pool every task of the department runs in (one pool per department)."""
        return self.pool or f"creditsync__{self.department}"

    def pull_timeout(self) -> timedelta:
        """How long the pull step may run: every stream's read deadline, plus time to store the last
        chunk and write the run's records (the Airflow task's ``execution_timeout``)."""
        per_stream = self.source.limits.read_timeout_s
        return timedelta(seconds=per_stream * len(self.streams) + PULL_MARGIN_S)


def load_department_file(path: Path, *, check_sources: bool = True) -> DepartmentConfig:
    """One department file, validated; ``check_sources=False`` skips checking the source's options
    against its adapter (which imports the adapter: lxml, SQLAlchemy, requests), for listings only."""
    try:
        raw = load_safe(path.read_text(encoding="utf-8"))
    except (OSError, yaml.YAMLError) as exc:
        raise ConfigurationError(f"cannot read department file {path}: {exc}") from exc
    if not isinstance(raw, dict):
        raise ConfigurationError(f"{path}: expected a mapping at the top level")
    try:
        config = DepartmentConfig.model_validate(raw)
    except ValidationError as exc:
        problems = "; ".join(f"{'.'.join(map(str, e['loc']))}: {e['msg']}" for e in exc.errors())
        raise ConfigurationError(f"{path}: {problems}") from exc
    if config.department != path.stem:
        raise ConfigurationError(f"{path}: department {config.department!r} must match the file name")
    if check_sources:
        _check_source_options(path, config)
    _check_publication(path, config)
    return config


def _check_publication(path: Path, config: DepartmentConfig) -> None:
    from creditsync.publication.protection import parse_hold_back_rules
    from creditsync.publication.severity import parse_severity

    rules = config.publication
    try:
        parse_hold_back_rules(rules.hold_back, source=str(path))
        if rules.severity_default is not None:
            parse_severity(rules.severity_default)
    except (CreditSyncError, ValueError) as exc:
        raise ConfigurationError(f"{path}: publication: {exc}") from None


def _check_source_options(path: Path, config: DepartmentConfig) -> None:
    """A misspelt or mistyped source option fails here, when the file loads (the DAG factory then
    shows a configuration-error DAG), not hours later when a task first reads the source."""
    from creditsync.sources.registry import check_source_options  # imports every adapter: only now

    try:
        check_source_options(config)
    except ConfigurationError as exc:
        raise ConfigurationError(f"{path}: {exc}") from None


def load_departments(adapters_dir: Path, *, check_sources: bool = True) -> list[DepartmentConfig]:
    """All department files, sorted by name; a broken file raises (loud beats silently skipped)."""
    if not adapters_dir.is_dir():
        return []
    return [load_department_file(p, check_sources=check_sources) for p in sorted(adapters_dir.glob("*.yaml"))]


def load_department(adapters_dir: Path, department: str, *, check_sources: bool = True) -> DepartmentConfig:
    path = adapters_dir / f"{department}.yaml"
    if not path.exists():
        known = ", ".join(p.stem for p in sorted(adapters_dir.glob("*.yaml"))) or "none"
        raise ConfigurationError(f"unknown department {department!r} (configured: {known})")
    return load_department_file(path, check_sources=check_sources)
