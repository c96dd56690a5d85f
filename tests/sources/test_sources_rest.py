"""The REST adapter against the real market-supervision simulator on 127.0.0.1 (and a stub session for
protocol corner cases). Retries run the default policy with its sleep replaced: nothing ever waits."""

from __future__ import annotations

import inspect
import io
import json
import re
from collections.abc import Iterator
from datetime import date
from typing import Any

import pytest
import requests

from creditsync.exceptions import ConfigurationError, FatalError, RetriableError
from creditsync.secrets import Connection
from creditsync.simulators.departments.market_supervision import RunningMarketSupervision, start_in_thread
from creditsync.sources.base import RawRecord
from creditsync.sources.cursor import Cursor
from creditsync.sources.http_base import default_retrying
from creditsync.sources.rest import RestSourceAdapter

PENALTY = {"params": {"type": "penalty"}}


@pytest.fixture
def sim() -> Iterator[RunningMarketSupervision]:
    with start_in_thread(token="test-token", seed=11, today=date(2026, 5, 10)) as running:
        yield running


@pytest.fixture
def waits() -> list[float]:
    """What the retry policy would have slept, in order."""
    return []


class CountingSession(requests.Session):
    """A real session that counts requests and can run a hook after each response."""

    def __init__(self) -> None:
        super().__init__()
        self.calls: list[dict[str, Any]] = []
        self.after: Any = None

    def request(self, method: str | bytes, url: str | bytes,  # type: ignore[override]
                **kwargs: Any) -> requests.Response:
        response = super().request(method, url, **kwargs)
        self.calls.append({"url": url, **kwargs})
        if self.after:
            self.after(len(self.calls))
        return response


def adapter_for(
    sim: RunningMarketSupervision, waits: list[float], token: str | None = None,
    session: requests.Session | None = None, **options: Any
) -> RestSourceAdapter:
    conn = Connection("market_supervision", "http", sim.host, sim.port, password=token or sim.token,
                      schema="api/v1")
    return RestSourceAdapter("market_supervision", {"path": "/api/v1/decisions", **options}, conn,
                             session=session, retrying=default_retrying().copy(sleep=waits.append))


def served(sim: RunningMarketSupervision, kind: str = "penalty") -> list[dict[str, Any]]:
    return sim.store.records(kind)


def good_keys(records: list[RawRecord]) -> list[str]:
    return [r.key for r in records if r.error is None]


@pytest.mark.parametrize(
    "options",
    [
        {"paginator": {"page_size": 7}},
        {"paginator": {"page_size": 7, "keyset": False}, "cursor_field": None, "cursor_param": None},  # full
        {"paginator": {"page_size": 100}},
        {"paginator": {"type": "next_link", "path": "next", "size_param": "page_size", "page_size": 9}},
        {"paginator": {"page_size": 8, "total_pages_field": None}},  # stops at the short page instead
    ],
)
def test_pagination_streams_every_item_in_cursor_order(
    sim: RunningMarketSupervision, waits: list[float], options: dict[str, Any]
) -> None:
    records = list(adapter_for(sim, waits, **options).read("penalty", PENALTY, None))
    expected = [item["id"] for item in served(sim) if item["id"]]
    assert good_keys(records) == expected
    cursors = [r.cursor for r in records if r.cursor]
    assert cursors == sorted(cursors)
    assert all(r.stream == "penalty" for r in records)
    assert waits == []


def test_read_is_a_lazy_generator(sim: RunningMarketSupervision, waits: list[float]) -> None:
    session = CountingSession()
    adapter = adapter_for(sim, waits, session=session, paginator={"page_size": 5})
    stream = adapter.read("license", {"params": {"type": "license"}}, None)
    assert inspect.isgenerator(stream)
    assert session.calls == []  # nothing fetched before the first record is asked for
    next(stream)
    assert len(session.calls) == 1


@pytest.mark.parametrize("position", [0, 13, 59])
def test_cursor_filter_includes_the_cursor_value_itself(
    sim: RunningMarketSupervision, waits: list[float], position: int
) -> None:
    items = served(sim)
    cursor = items[position]["updated_at"]
    records = list(adapter_for(sim, waits, paginator={"page_size": 10}).read("penalty", PENALTY, cursor))
    assert records[0].cursor == Cursor.parse(cursor) or records[0].error
    assert len(records) == len([i for i in items if i["updated_at"] >= cursor])


def test_records_sharing_a_cursor_across_page_boundaries_are_all_read_once(
    sim: RunningMarketSupervision, waits: list[float]
) -> None:
    tie = "2026-05-10T09:00:00+08:00"
    added = [sim.add_decision("penalty", updated_at=tie)["id"] for _ in range(7)]
    records = list(adapter_for(sim, waits, paginator={"page_size": 3}).read("penalty", PENALTY, tie))
    assert good_keys(records) == sorted(added)
    everything = list(adapter_for(sim, waits, paginator={"page_size": 4}).read("penalty", PENALTY, None))
    assert len(good_keys(everything)) == len(set(good_keys(everything))) == 59 + 7


def _update_first_after_page_one(sim: RunningMarketSupervision, session: CountingSession) -> str:
    first = served(sim)[0]["id"]
    session.after = lambda calls: sim.update(first, status="撤销") if calls == 1 else None
    return first


def test_keyset_paging_loses_nothing_when_a_record_changes_mid_read(
    sim: RunningMarketSupervision, waits: list[float]
) -> None:
    session = CountingSession()
    changed = _update_first_after_page_one(sim, session)
    adapter = adapter_for(sim, waits, session=session, paginator={"page_size": 5})
    keys = good_keys(list(adapter.read("penalty", PENALTY, None)))
    assert set(keys) == {i["id"] for i in served(sim) if i["id"]}
    assert keys.count(changed) == 2  # the original and the correction: the pipeline dedupes by content


def test_plain_page_numbers_would_skip_a_record_when_one_changes_mid_read(
    sim: RunningMarketSupervision, waits: list[float]
) -> None:
    """Why plain page/size paging of an incremental stream is refused: pages shift under a live source
    (here a full read, where it is allowed: the next full read finds the record again)."""
    session = CountingSession()
    _update_first_after_page_one(sim, session)
    adapter = adapter_for(sim, waits, session=session, paginator={"page_size": 5, "keyset": False},
                          cursor_field=None, cursor_param=None)
    keys = good_keys(list(adapter.read("penalty", PENALTY, None)))
    assert {i["id"] for i in served(sim) if i["id"]} - set(keys)


@pytest.mark.parametrize(("options", "words"), [
    ({"paginator": {"keyset": False}}, "page_number paging without keyset (paginator.keyset is false)"),
    ({"cursor_param": None}, "no cursor_param to page from the last cursor read"),
    ({"paginator": {"type": "offset", "keyset": False, "overlap": 0}}, "needs an overlap"),
    ({"paginator": {"type": "offset", "overlap": 100, "page_size": 100}}, "smaller than page_size"),
    ({"cursor_format": "epoch_ms", "cursor_param_format": "row_version"}, "cannot say a epoch_ms cursor"),
])
def test_unsafe_paging_of_an_incremental_stream_is_refused_with_the_reason(
        sim: RunningMarketSupervision, waits: list[float], options: dict[str, Any], words: str) -> None:
    with pytest.raises(ConfigurationError, match=re.escape(words)):
        adapter_for(sim, waits, **options)


def test_incremental_read_picks_up_a_correction(sim: RunningMarketSupervision, waits: list[float]) -> None:
    adapter = adapter_for(sim, waits)
    first = list(adapter.read("penalty", PENALTY, None))
    watermark = [r.cursor for r in first if r.cursor][-1]
    sim.update("P000003", fine_yuan="3000.00")
    again = list(adapter.read("penalty", PENALTY, watermark))
    assert good_keys(again)[-1] == "P000003"
    assert again[-1].data["fine_yuan"] == "3000.00"
    assert good_keys(again)[0] == good_keys(first)[-1]  # the boundary is re-read on purpose


def test_bad_token_is_fatal_without_retrying(sim: RunningMarketSupervision, waits: list[float]) -> None:
    adapter = adapter_for(sim, waits, token="wrong")
    with pytest.raises(FatalError, match="HTTP 401"):
        list(adapter.read("penalty", PENALTY, None))
    with pytest.raises(FatalError):
        adapter.check()
    assert waits == []


def test_check_passes_with_the_right_token(sim: RunningMarketSupervision, waits: list[float]) -> None:
    adapter_for(sim, waits).check()


def test_malformed_item_is_flagged_and_the_stream_goes_on(
    sim: RunningMarketSupervision, waits: list[float]
) -> None:
    records = list(adapter_for(sim, waits, paginator={"page_size": 10}).read("penalty", PENALTY, None))
    bad = [r for r in records if r.is_bad]
    assert len(bad) == 1
    assert bad[0].key.startswith("bad:") and bad[0].cursor is None and "'id'" in (bad[0].error or "")
    assert bad[0].data["decision_no"] == sim.store.get("P000044")["decision_no"]  # type: ignore[index]
    # field-level defects are the validator's business: those records flow as ordinary records
    assert {"P000008", "P000020", "P000032"} <= set(good_keys(records))


def test_server_down_is_retriable_after_the_policy_gives_up(waits: list[float]) -> None:
    sim = start_in_thread(token="t")
    sim.stop()
    adapter = adapter_for(sim, waits)
    with pytest.raises(RetriableError, match="cannot reach"):
        list(adapter.read("penalty", PENALTY, None))
    assert len(waits) == 3  # four attempts, three (skipped) waits
    with pytest.raises(RetriableError):
        adapter.check()


@pytest.mark.parametrize(
    ("fault", "times", "expected_waits"),
    [
        ("503", 1, [1.0]),  # Retry-After honoured
        ("429", 2, [1.0, 1.0]),
        ("500", 2, [0.5, 1.0]),  # exponential
        ("drop", 1, [0.5]),
        ("bad_json", 1, [0.5]),  # a truncated page is worth another try
    ],
)
def test_transient_faults_are_retried(
    sim: RunningMarketSupervision, waits: list[float], fault: str, times: int, expected_waits: list[float]
) -> None:
    sim.inject_fault(fault, times)
    records = list(adapter_for(sim, waits).read("penalty", PENALTY, None))
    assert len(records) == 60
    assert waits == pytest.approx(expected_waits)


def test_a_page_that_stays_broken_fails_the_stream_loudly(
    sim: RunningMarketSupervision, waits: list[float]
) -> None:
    stream = adapter_for(sim, waits, paginator={"page_size": 10}).read("penalty", PENALTY, None)
    received = [next(stream) for _ in range(10)]
    sim.inject_fault("bad_json", 4)
    with pytest.raises(RetriableError, match="not valid JSON"):
        next(stream)
    assert len(received) == 10 and len(waits) == 3


@pytest.mark.parametrize(
    ("options", "error", "message"),
    [
        ({"items_field": "data.rows"}, FatalError, "no list at 'data.rows'"),
        ({"path": "/api/v1/nowhere"}, FatalError, "HTTP 404"),
    ],
)
def test_protocol_breaks_are_fatal(
    sim: RunningMarketSupervision,
    waits: list[float],
    options: dict[str, Any],
    error: type[Exception],
    message: str,
) -> None:
    with pytest.raises(error, match=message):
        list(adapter_for(sim, waits, **options).read("penalty", PENALTY, None))
    assert waits == []


def test_each_request_passes_the_rate_limiter(sim: RunningMarketSupervision, waits: list[float]) -> None:
    session = CountingSession()
    adapter = adapter_for(sim, waits, session=session, paginator={"page_size": 20})
    taken: list[int] = []
    adapter.rate_limiter.acquire = lambda: float(taken.append(1) or 0)  # type: ignore[method-assign]
    list(adapter.read("penalty", PENALTY, None))
    assert len(taken) == len(session.calls) >= 3


@pytest.mark.parametrize(
    ("source", "stream", "message"),
    [
        ({}, {"pth": "x"}, "stream 'penalty': unknown option 'pth'"),
        ({}, {"timeout_s": 3}, "unknown option 'timeout_s'"),  # a source-level option
        ({}, {"params": {"page": 2}}, "params must not set ['page']"),
        ({}, {"paginator": {"type": "pages"}}, "paginator"),
        ({}, {"paginator": {"page_sise": 5}}, "unknown option 'paginator.page_sise'"),
        ({"path": None}, {}, "option 'path' is required"),
        ({}, {"path": "https://elsewhere.example/x"}, "relative"),
        ({}, {"path": "//elsewhere.example/x"}, "leaves the connection's host"),
    ],
)
def test_stream_option_errors_name_department_stream_and_key(
    sim: RunningMarketSupervision,
    waits: list[float],
    source: dict[str, Any],
    stream: dict[str, Any],
    message: str,
) -> None:
    adapter = adapter_for(sim, waits, **source)
    with pytest.raises(ConfigurationError) as caught:
        list(adapter.read("penalty", stream, None))
    assert message in str(caught.value) and "market_supervision" in str(caught.value)


# -- protocol corner cases on a stub session ---------------------------------------------------------


class StubSession(requests.Session):
    def __init__(self, bodies: list[Any]) -> None:
        super().__init__()
        self.bodies, self.calls = list(bodies), []  # type: list[Any], list[dict[str, Any]]

    def request(self, method: str | bytes, url: str | bytes,  # type: ignore[override]
                **kwargs: Any) -> requests.Response:
        self.calls.append({"url": url, **kwargs})
        response = requests.Response()
        response.status_code, response.url = 200, str(url)
        response.raw = io.BytesIO(json.dumps(self.bodies.pop(0)).encode())
        return response


def stub_adapter(bodies: list[Any], **options: Any) -> tuple[RestSourceAdapter, StubSession]:
    session = StubSession(bodies)
    conn = Connection("dept", "https", "dept.example", password="tok")
    adapter = RestSourceAdapter("dept", {"path": "records", **options}, conn, session=session,
                                retrying=default_retrying().copy(sleep=lambda s: None))
    return adapter, session


def test_next_link_to_another_host_is_refused() -> None:
    adapter, _ = stub_adapter([{"items": [], "next": "https://evil.example/steal"}],
                              paginator={"type": "next_link"})
    with pytest.raises(FatalError, match="leaves the source host"):
        list(adapter.read("s", {}, None))


def test_records_out_of_cursor_order_are_fatal() -> None:
    page = {"items": [{"id": "a", "updated_at": "2026-02-01"}, {"id": "b", "updated_at": "2026-01-01"}]}
    adapter, _ = stub_adapter([page])
    with pytest.raises(FatalError, match="ascending cursor order"):
        list(adapter.read("s", {}, None))


@pytest.mark.parametrize(
    ("item", "error"),
    [
        ("just a string", "item is str"),
        ({"updated_at": "2026-01-01"}, "no usable 'id'"),
        ({"id": True, "updated_at": "2026-01-01"}, "no usable 'id'"),
        ({"id": 7}, "no usable 'updated_at'"),
    ],
)
def test_malformed_items_table(item: Any, error: str) -> None:
    adapter, _ = stub_adapter([{"items": [item, {"id": 8, "updated_at": "2026-01-02"}]}])
    bad, good = list(adapter.read("s", {}, None))
    assert error in (bad.error or "") and bad.cursor is None
    assert (good.key, good.cursor, good.error) == ("8", Cursor.parse("2026-01-02"), None)


def test_custom_token_header_and_static_params_and_dotted_items() -> None:
    body = {"data": {"rows": [{"no": "x1", "ts": "5"}, {"no": "x2", "ts": "10"}]}, "pages": 1}
    adapter, session = stub_adapter(
        [body], auth={"type": "bearer", "header": "appKey"}, items_field="data.rows", key_field="no",
        cursor_field="ts", cursor_format="row_version", cursor_param="since",
        paginator={"total_pages_field": "pages"}, params={"dept": "scjg"},
    )
    records = list(adapter.read("s", {"params": {"type": "penalty"}}, "5"))
    # "10" after "5" is in order: row versions compare as numbers
    assert [(r.key, str(r.cursor)) for r in records] == [("x1", "5"), ("x2", "10")]
    call = session.calls[0]
    assert call["headers"]["appKey"] == "tok" and "Authorization" not in call["headers"]
    assert call["params"] == {"dept": "scjg", "type": "penalty", "since": "5", "page": 1, "page_size": 100}
    assert call["url"] == "https://dept.example/records"
