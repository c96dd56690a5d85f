"""The adapter contract and registry: kinds, entry points, option validation, the rate limiter."""

from __future__ import annotations

import dataclasses
import re
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
from pydantic import Field

from creditsync.departments import load_department_file
from creditsync.exceptions import ConfigurationError
from creditsync.secrets import Connection
from creditsync.sources import registry
from creditsync.sources.base import AdapterOptions, RateLimiter, RawRecord, RecordShape, SourceAdapter
from creditsync.sources.cursor_formats import CursorFormat
from creditsync.sources.reading import StreamRead
from creditsync.sources.registry import available_kinds, create_adapter, get_adapter_class, register_adapter
from creditsync.sources.rest import RestSourceAdapter

CONN = Connection("dept", "http", "127.0.0.1", 9, password="t")


class EchoOptions(AdapterOptions):
    rows: int = Field(default=3, ge=0)


class EchoAdapter(SourceAdapter):
    """A minimal adapter, as a plugin author would write one."""

    kind = "echo"
    options_model = EchoOptions
    requires_connection = False

    def records(self, read: StreamRead) -> Iterator[dict[str, Any]]:
        start = read.cursor.number if read.cursor else 0
        for n in range(start, self.options.rows):
            yield {"id": str(n), "n": n}

    def record_shape(self, options: Any) -> RecordShape:
        return RecordShape("id", "n", CursorFormat(type="row_version"))


class FakeEntryPoint:
    def __init__(self, name: str, target: Any) -> None:
        self.name, self._target = name, target

    def load(self) -> Any:
        if isinstance(self._target, Exception):
            raise self._target
        return self._target


@pytest.fixture(autouse=True)
def _isolated_registry(monkeypatch: pytest.MonkeyPatch) -> None:
    available_kinds()  # built-ins loaded once, then each test works on a copy
    monkeypatch.setattr(registry, "_ADAPTERS", dict(registry._ADAPTERS))
    monkeypatch.setattr(registry, "_BROKEN", {})


def test_builtin_rest_kind_is_registered() -> None:
    assert "rest" in available_kinds()
    assert get_adapter_class("rest") is RestSourceAdapter


def test_unknown_kind_lists_the_known_kinds() -> None:
    with pytest.raises(ConfigurationError) as caught:
        get_adapter_class("soap")
    assert "'soap'" in str(caught.value) and "rest" in str(caught.value)


def test_register_is_idempotent_for_the_same_class_and_refuses_a_second_claimant() -> None:
    register_adapter(EchoAdapter)
    register_adapter(EchoAdapter)
    impostor = type("Impostor", (EchoAdapter,), {"kind": "echo"})
    with pytest.raises(ConfigurationError, match="already registered"):
        register_adapter(impostor)


@pytest.mark.parametrize(
    ("cls", "message"),
    [
        (type("NoKind", (EchoAdapter,), {"kind": ""}), "kind"),
        (dict, "not a SourceAdapter"),
    ],
)
def test_register_rejects_bad_classes(cls: Any, message: str) -> None:
    with pytest.raises(ConfigurationError, match=message):
        register_adapter(cls)


def test_entry_points_register_plugins_and_a_broken_one_fails_only_when_asked_for() -> None:
    added = registry.load_entry_points(
        [FakeEntryPoint("echo", EchoAdapter), FakeEntryPoint("soap", ImportError("No module named zeep"))]
    )
    assert added == ["echo"]
    assert get_adapter_class("echo") is EchoAdapter
    with pytest.raises(ConfigurationError, match="failed to load: ImportError"):
        get_adapter_class("soap")


def test_entry_point_group_is_read_from_installed_metadata(monkeypatch: pytest.MonkeyPatch) -> None:
    seen: list[str] = []

    def fake_entry_points(group: str) -> list[FakeEntryPoint]:
        seen.append(group)
        return [FakeEntryPoint("echo", EchoAdapter)]

    monkeypatch.setattr(registry, "entry_points", fake_entry_points)
    assert registry.load_entry_points() == ["echo"]
    assert seen == ["creditsync.adapters"]


def test_create_adapter_instantiates_without_io() -> None:
    register_adapter(EchoAdapter)
    adapter = create_adapter("echo", "dept", {"rows": 2}, None)
    assert [r.key for r in adapter.read("penalty", {}, None)] == ["0", "1"]
    assert [r.key for r in adapter.read("penalty", {}, "1")] == ["1"]  # the cursor itself is included


@pytest.mark.parametrize(
    ("options", "fragments"),
    [
        ({"rows": 2, "colour": "red"}, ["department 'market_supervision'", "unknown option 'colour'"]),
        ({"rows": -1}, ["option 'rows'", "greater than or equal to 0"]),
        ({"rows": "many"}, ["option 'rows'", "integer"]),
    ],
)
def test_bad_options_name_department_and_key(options: dict[str, Any], fragments: list[str]) -> None:
    with pytest.raises(ConfigurationError) as caught:
        EchoAdapter("market_supervision", options, None)
    for fragment in fragments:
        assert fragment in str(caught.value)


def test_missing_connection_is_configuration_error() -> None:
    with pytest.raises(ConfigurationError, match="needs a connection"):
        RestSourceAdapter("market_supervision", {"path": "x"}, None)


def test_raw_record_is_frozen_and_flags_bad_items() -> None:
    good = RawRecord("penalty", "P1", {"id": "P1"}, "2026-01-01T00:00:00+08:00")
    bad = RawRecord("penalty", "bad:1", {"value": 3}, None, error="item is int")
    assert not good.is_bad and bad.is_bad
    with pytest.raises(dataclasses.FrozenInstanceError):
        good.key = "P2"  # type: ignore[misc]


class FakeClock:
    def __init__(self) -> None:
        self.now = 100.0
        self.slept: list[float] = []

    def __call__(self) -> float:
        return self.now

    def sleep(self, seconds: float) -> None:
        self.slept.append(seconds)
        self.now += seconds


@pytest.mark.parametrize(
    ("rate", "burst", "calls", "expected_sleeps"),
    [
        (None, 1, 5, []),  # no limit
        (2.0, 1, 3, [0.5, 0.5]),  # first call free, then one every 0.5 s
        (10.0, 3, 5, [0.1, 0.1]),  # a burst of 3, then the rate
    ],
)
def test_rate_limiter_spaces_calls_without_real_sleeping(
    rate: float | None, burst: int, calls: int, expected_sleeps: list[float]
) -> None:
    clock = FakeClock()
    limiter = RateLimiter(rate, burst, clock=clock, sleep=clock.sleep)
    for _ in range(calls):
        limiter.acquire()
    assert clock.slept == pytest.approx(expected_sleeps)


def test_rate_limiter_refills_while_idle() -> None:
    clock = FakeClock()
    limiter = RateLimiter(1.0, clock=clock, sleep=clock.sleep)
    limiter.acquire()
    clock.now += 5
    assert limiter.acquire() == 0.0


def test_rate_limit_must_be_positive() -> None:
    with pytest.raises(ConfigurationError):
        RateLimiter(0)


# -- options checked when the department file loads -------------------------------------------------

REST_DEPARTMENT = """\
department: misspelt
name: 长清区某局
source:
  kind: rest
  connection_id: misspelt_source
  options: {{path: /api/decisions, {source_option}}}
streams:
  - category: penalty
    options: {{{stream_option}}}
"""


@pytest.mark.parametrize(
    ("source_option", "stream_option", "words"),
    [
        ("items_feild: items", "params: {type: penalty}", "unknown option 'items_feild'"),
        ("max_pages: 100", "items_feild: rows", "stream 'penalty': unknown option 'items_feild'"),
        ("max_pages: many", "params: {type: penalty}", "option 'max_pages'"),
        ("timeout_s: 30", "paginator: {page_size: 0}", "option 'paginator.page_size'"),
        ("auth: {type: oauth2}", "params: {type: penalty}", "option 'auth'"),
        ("auth: {type: api_key, nme: X}", "params: {type: penalty}", "unknown option 'auth.nme'"),
        ("cursor_format: epoch_mss", "params: {type: penalty}", "option 'cursor_format.type'"),
    ],
)
def test_a_misspelt_source_option_fails_when_the_department_file_loads(
    tmp_path: Path, source_option: str, stream_option: str, words: str
) -> None:
    path = tmp_path / "misspelt.yaml"
    path.write_text(REST_DEPARTMENT.format(source_option=source_option, stream_option=stream_option),
                    encoding="utf-8")
    with pytest.raises(ConfigurationError, match=re.escape(words)) as raised:
        load_department_file(path)
    assert str(path) in str(raised.value)


def test_stream_options_are_checked_merged_with_the_sources(tmp_path: Path) -> None:
    """The ecology feed's streams use a namespace prefix the source declares: valid only merged."""
    path = tmp_path / "feed.yaml"
    path.write_text("department: feed\nname: 某局\nsource:\n  kind: xml\n  options:\n"
                    "    namespaces: {p: 'urn:x'}\n    key_field: K\n"
                    "streams:\n  - {category: penalty, options: {files: 'in/*.xml', record_tag: 'p:R'}}\n",
                    encoding="utf-8")
    assert load_department_file(path).source.kind == "xml"
    path.write_text(path.read_text(encoding="utf-8").replace("'p:R'", "'q:R'"), encoding="utf-8")
    with pytest.raises(ConfigurationError, match="prefix 'q'"):
        load_department_file(path)


def test_a_misspelt_source_option_gives_a_configuration_error_dag(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    from creditsync.orchestration import build_dags

    adapters = tmp_path / "adapters"
    adapters.mkdir()
    (adapters / "misspelt.yaml").write_text(
        REST_DEPARTMENT.format(source_option="items_feild: items", stream_option="params: {type: penalty}"),
        encoding="utf-8")
    monkeypatch.setenv("CREDITSYNC_HOME", str(tmp_path))
    monkeypatch.setenv("CREDITSYNC_ADAPTERS_DIR", str(adapters))
    dag = build_dags()["sync__misspelt"]
    assert "misconfigured" in dag.tags
    assert "items_feild" in (dag.doc_md or "")
