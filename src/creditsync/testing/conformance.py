"""The conformance suite every department passes. A department's test file is a few lines:

    from creditsync.testing import DepartmentConformance

    class TestHealth(DepartmentConformance):
        department = "health"
        expected_invalid = frozenset({"penalty_20261101_02.csv#4"})

It runs the department's real configuration and mappings, against a live source stood up from its
sample fixtures (:mod:`creditsync.testing.samples`: a REST API speaking the department's declared auth,
paging and cursor formats, a SQLite database for ``table`` and ``query`` streams, a folder, XML files, or
a custom kind's own fake) and a real platform simulator on loopback. Nothing needs overriding; a
department with a simulator of its own may still override :meth:`DepartmentConformance.start_source`."""

from __future__ import annotations

from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any, ClassVar

import pytest
import yaml

from creditsync.delivery.client import PlatformClient
from creditsync.delivery.retry import default_retry_policy
from creditsync.departments import DepartmentConfig, load_department, load_department_file
from creditsync.exceptions import ConfigurationError, FatalError
from creditsync.pipeline import pull, push, report
from creditsync.pipeline.runner import Gateway
from creditsync.pipeline.translate import translator_for
from creditsync.settings import load_settings
from creditsync.simulators.platform import FaultConfig, PlatformSimulator, RunningSimulator
from creditsync.sources.base import SourceAdapter
from creditsync.sources.cursor import Cursor, CursorKind
from creditsync.sources.registry import open_source
from creditsync.store.db import upgrade
from creditsync.testing.samples import LiveSource, sample_source

APP_KEY = "conformance-app-key"


@dataclass
class Harness:
    """One department wired to a live source, a fresh store and a platform simulator."""

    config: DepartmentConfig
    gateway: Gateway
    platform: RunningSimulator

    def client(self, app_key: str = APP_KEY) -> PlatformClient:
        return PlatformClient(self.platform.url, app_key, retrying=default_retry_policy(sleep=_no_sleep))

    def sync(self, client: PlatformClient | None = None) -> dict[str, Any]:
        ctx = self.gateway.context(self.config)
        pull(ctx)
        push(ctx, client or self.client())
        return report(ctx)


def _no_sleep(_seconds: float) -> None:
    return None


class DepartmentConformance:
    department: ClassVar[str]
    project_root: ClassVar[Path] = Path.cwd()
    expected_invalid: ClassVar[frozenset[str]] = frozenset()  # source keys known to be broken
    # A cursor past every record; None: one past the stream's own cursor kind (a far instant, a huge
    # row version), so a numeric cursor is never given a date.
    future_cursor: ClassVar[str | None] = None

    def samples_dir(self) -> Path:
        return self.project_root / "tests" / "fixtures" / self.department

    def start_source(self, config: DepartmentConfig, workdir: Path) -> LiveSource:
        """Override for a department whose source is best tested against its own simulator."""
        return sample_source(config, self.samples_dir(), workdir)

    @pytest.fixture
    def harness(self, tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Iterator[Harness]:
        original = load_department(self.project_root / "adapters", self.department)
        live = self.start_source(original, tmp_path / "source")
        config = _with_overrides(original, live)
        adapters = tmp_path / "adapters"
        adapters.mkdir()
        (adapters / f"{self.department}.yaml").write_text(
            yaml.safe_dump(config.model_dump(mode="json"), allow_unicode=True), encoding="utf-8")
        monkeypatch.setenv("CREDITSYNC_HOME", str(self.project_root))
        monkeypatch.setenv("CREDITSYNC_ADAPTERS_DIR", str(adapters))
        monkeypatch.setenv("CREDITSYNC_MAPPINGS_DIR", str(self.project_root / "mappings"))
        db_url = f"sqlite:///{tmp_path / 'gateway.db'}"
        upgrade(db_url)  # what `creditsync db-upgrade` does once per deployment
        monkeypatch.setenv("CREDITSYNC_DB_URL", db_url)
        for name, value in live.env.items():
            monkeypatch.setenv(name, value)
        platform = PlatformSimulator(app_key=APP_KEY).start_in_thread()
        gateway = Gateway.open(load_settings())
        try:
            yield Harness(load_department(adapters, self.department), gateway, platform)
        finally:
            gateway.store.dispose()
            platform.stop()
            live.stop()

    # --- configuration -------------------------------------------------------------------------

    def test_configuration_resolves(self) -> None:
        config = load_department(self.project_root / "adapters", self.department)
        for stream in config.streams:
            path = config.mapping_path(self.project_root / "mappings", stream)
            assert path.exists(), f"mapping missing: {path}"

    def test_no_scaffold_placeholder_is_left(self) -> None:
        from creditsync.scaffold import PLACEHOLDER_USCC

        config = load_department(self.project_root / "adapters", self.department)
        for stream in config.streams:
            path = config.mapping_path(self.project_root / "mappings", stream)
            assert PLACEHOLDER_USCC not in path.read_text(encoding="utf-8"), (
                f"{path} still holds the scaffold's placeholder {PLACEHOLDER_USCC!r}: "
                "replace it with the department's own 统一社会信用代码")

    @pytest.mark.parametrize(("change", "words"), [
        ({"surprise": 1}, "surprise"),
        ({"source": {"kind": "carrier_pigeon"}}, "carrier_pigeon"),
        ({"streams": []}, "streams"),
        ({"bad_record_threshold": 2}, "bad_record_threshold"),
    ])
    def test_configuration_errors_are_clear(self, tmp_path: Path, change: dict[str, Any], words: str) -> None:
        raw = yaml.safe_load((self.project_root / "adapters" / f"{self.department}.yaml").read_text("utf-8"))
        raw.update(change)
        path = tmp_path / f"{self.department}.yaml"
        path.write_text(yaml.safe_dump(raw, allow_unicode=True), encoding="utf-8")
        with pytest.raises(ConfigurationError, match=words):
            config = load_department_file(path)
            open_source(config)

    # --- records ---------------------------------------------------------------------------------

    def test_records_map_and_validate(self, harness: Harness) -> None:
        adapter = open_source(harness.config)
        invalid: set[str] = set()
        valid = 0
        for stream in harness.config.streams:
            translator = translator_for(harness.gateway.context(harness.config), stream.category)
            for raw in adapter.read(stream.category, stream.options, None):
                result = None if raw.error else translator.translate(raw.data)
                if result is None or result.record is None:
                    invalid.add(raw.key)
                else:
                    valid += 1
        assert valid > 0, "no record of the sample maps to a valid record"
        unexpected = {k for k in invalid if k not in self.expected_invalid and not k.startswith("bad:")}
        assert not unexpected, f"records expected valid were invalid: {sorted(unexpected)}"
        assert self.expected_invalid <= invalid, sorted(self.expected_invalid - invalid)

    def test_future_cursor_yields_nothing(self, harness: Harness) -> None:
        if harness.config.source.kind == "file":
            pytest.skip("not a cursor position: a dropped file is pending while it is in the inbox")
        adapter = open_source(harness.config)
        for stream in harness.config.streams:
            future = self.future_cursor or future_cursor(adapter, stream.category, stream.options)
            if future is not None:
                assert list(adapter.read(stream.category, stream.options, future)) == []

    # --- delivery --------------------------------------------------------------------------------

    def test_rerun_pushes_nothing_twice(self, harness: Harness) -> None:
        harness.sync()
        first = harness.platform.stats()
        assert first["records"] == first["business_keys"] > 0
        harness.sync()
        assert harness.platform.stats()["records"] == first["records"]

    def test_transient_platform_errors_are_retried(self, harness: Harness) -> None:
        harness.platform.simulator.set_faults(FaultConfig(fault_rate=0.5, seed=3, kinds=("500", "429")))
        harness.sync()
        stats = harness.platform.stats()
        assert stats["records"] == stats["business_keys"] > 0
        assert sum(stats["faults"].values()) > 0

    def test_fatal_platform_errors_are_not_retried(self, harness: Harness) -> None:
        ctx = harness.gateway.context(harness.config)
        pull(ctx)
        with pytest.raises(FatalError):
            push(ctx, harness.client(app_key="wrong-key"))
        stats = harness.platform.stats()
        assert stats["requests"] == 1 and stats["records"] == 0
        push(ctx, harness.client())  # nothing was lost: the right key delivers everything
        assert harness.platform.stats()["records"] > 0


def future_cursor(adapter: SourceAdapter, category: str, options: dict[str, Any]) -> Cursor | None:
    """A cursor after every record of the stream, of the stream's own kind (None: no cursor)."""
    shape = adapter.record_shape(adapter.stream_options(category, options))
    if not shape.cursor_field:
        return None
    kind = shape.cursor_format.kind
    if kind is CursorKind.NUMBER:
        return Cursor.of_number(2**62)
    if kind is CursorKind.TEXT:
        return Cursor.of_text("\U0010ffff")
    return Cursor.parse("9999-12-30T00:00:00Z")  # a day short of the end: no zone overflows


def _with_overrides(config: DepartmentConfig, live: LiveSource) -> DepartmentConfig:
    data = config.model_dump(mode="json")
    data["source"]["options"] = _merge(data["source"]["options"], live.options)
    for stream in data["streams"]:
        stream["options"] = _merge(stream["options"], live.stream_options.get(stream["category"], {}))
    return DepartmentConfig.model_validate(data)


def _merge(base: dict[str, Any], override: dict[str, Any]) -> dict[str, Any]:
    merged = dict(base)
    for key, value in override.items():
        if value is None:
            merged.pop(key, None)
        else:
            merged[key] = value
    return merged
