"""Paging a live API while the department edits and deletes records: keyset paging and offsets with an
overlap lose nothing, a shift larger than the overlap fails the read safely, every paginator refuses to
loop. Against the simulated 综合行政执法局 API (server-side sort by updatedAt, caseNo)."""

from __future__ import annotations

import io
import json
from collections.abc import Iterator
from typing import Any

import pytest
import requests

from creditsync.exceptions import FatalError, RetriableError
from creditsync.secrets import Connection
from creditsync.simulators.departments.urban_management import RunningUrbanManagement, start_in_thread
from creditsync.sources.http_base import default_retrying
from creditsync.sources.rest import RestSourceAdapter

BASE = {"path": "/open/v2/cases", "items_field": "data", "key_field": "caseNo", "cursor_field": "updatedAt",
        "cursor_format": "epoch_ms", "cursor_param": "updated_after", "cursor_param_format": "iso8601",
        "timezone": "Asia/Shanghai",
        "auth": {"type": "oauth2_client_credentials", "token_url": "/oauth/token"}}


@pytest.fixture
def api() -> Iterator[RunningUrbanManagement]:
    with start_in_thread("paging-secret", count=60) as running:
        yield running


def adapter(api: RunningUrbanManagement, paginator: dict[str, Any]) -> RestSourceAdapter:
    connection = Connection("um", "http", api.host, api.port, login=api.client_id, password=api.client_secret)
    return RestSourceAdapter("urban_management", {**BASE, "paginator": paginator}, connection,
                             retrying=default_retrying().copy(sleep=lambda _s: None))


def edit_between_pages(api: RunningUrbanManagement, edits: dict[int, Any]) -> None:
    """After the n-th request, run edits[n] (the department working while the gateway pages)."""
    api.store.after_request = lambda n: edits[n]() if n in edits else None


def churn(api: RunningUrbanManagement, deleted: list[str], edited: list[str]) -> Any:
    def change() -> None:
        for key in deleted:
            api.store.delete(key)
        for key in edited:
            api.store.update(key, content="罚款300元。（更正）")
    return change


def no_loss(api: RunningUrbanManagement, records: list[Any]) -> None:
    """Every record the department holds at the end was read, in its latest version."""
    latest = {r.key: r.data for r in records if not r.error}
    for case in api.store.sorted():
        assert case["caseNo"] in latest, f"{case['caseNo']} was lost"
        assert latest[case["caseNo"]]["updatedAt"] == case["updatedAt"], f"{case['caseNo']} is stale"


@pytest.mark.parametrize("paginator", [
    {"type": "page_number", "page_param": "page", "size_param": "limit", "page_size": 10,
     "total_pages_field": None},  # keyset: page 1 again from the last cursor read
    {"type": "offset", "offset_param": "offset", "size_param": "limit", "page_size": 10},  # keyset too
    {"type": "offset", "offset_param": "offset", "size_param": "limit", "page_size": 10, "keyset": False,
     "overlap": 4},  # positions, re-reading 4 of the previous page
    {"type": "next_link", "path": "links.next", "size_param": "limit", "page_size": 10},
    {"type": "next_link", "header": True, "size_param": "limit", "page_size": 10},
    {"type": "cursor_token", "token_path": "meta.next_cursor", "token_param": "cursor", "size_param": "limit",
     "page_size": 10},
])
def test_edits_and_deletions_while_the_stream_is_paged_lose_nothing(
        api: RunningUrbanManagement, paginator: dict[str, Any]) -> None:
    first_page = [c["caseNo"] for c in api.store.sorted()[:10]]
    edit_between_pages(api, {1: churn(api, deleted=first_page[2:4], edited=first_page[5:6]),
                             3: churn(api, deleted=[], edited=first_page[7:8])})
    records = list(adapter(api, paginator).read("penalty", {}, None))
    no_loss(api, records)
    assert api.store.requests > 6


def test_a_shift_larger_than_the_overlap_fails_the_read_and_says_nothing_is_lost(
        api: RunningUrbanManagement) -> None:
    first_page = [c["caseNo"] for c in api.store.sorted()[:10]]
    edit_between_pages(api, {1: churn(api, deleted=first_page[:6], edited=[])})
    paginator = {"type": "offset", "size_param": "limit", "page_size": 10, "keyset": False, "overlap": 4}
    with pytest.raises(RetriableError, match=r"more than 4 records .* Nothing is lost"):
        list(adapter(api, paginator).read("penalty", {}, None))


def test_the_cursor_goes_out_in_iso_8601_while_records_carry_epoch_ms(api: RunningUrbanManagement) -> None:
    middle = api.store.sorted()[30]
    records = list(adapter(api, {"type": "next_link", "path": "links.next", "size_param": "limit"})
                   .read("penalty", {}, str(middle["updatedAt"])))  # a cursor typed by hand, in epoch ms
    assert api.server.queries[0]["updated_after"].endswith("+08:00")
    assert records[0].data["updatedAt"] >= middle["updatedAt"] and records[0].data["updatedAt"] > 10**12


# -- loops ---------------------------------------------------------------------------------------------


class Looping(requests.Session):
    """An API that answers every request with the same page."""

    def __init__(self, body: dict[str, Any], headers: dict[str, str] | None = None) -> None:
        super().__init__()
        self.body, self.extra, self.calls = body, headers or {}, 0

    def request(self, method: str | bytes, url: str | bytes, **kwargs: Any) -> requests.Response:  # type: ignore[override]
        self.calls += 1
        response = requests.Response()
        response.status_code, response.url = 200, str(url)
        response.headers.update(self.extra)
        response.raw = io.BytesIO(json.dumps(self.body).encode())
        return response


ITEM = {"id": "1", "updated_at": "2026-05-10T10:00:00+08:00"}


@pytest.mark.parametrize(("paginator", "body", "headers", "named"), [
    ({"type": "next_link"}, {"items": [ITEM], "next": "/records?page=2"}, None, "next link"),
    ({"type": "next_link", "header": True}, {"items": [ITEM]}, {"Link": '</records?p=2>; rel="next"'},
     "next link"),
    ({"type": "cursor_token"}, {"items": [ITEM], "next_cursor": "abc"}, None, "next-page token"),
    ({"type": "page_number", "page_size": 1, "total_pages_field": None}, {"items": [ITEM]}, None, "page"),
    ({"type": "offset", "page_size": 1}, {"items": [ITEM]}, None, "page"),
])
def test_every_paginator_refuses_to_loop(paginator: dict[str, Any], body: dict[str, Any],
                                         headers: dict[str, str] | None, named: str) -> None:
    session = Looping(body, headers)
    source = RestSourceAdapter("dept", {"path": "records", "paginator": paginator},
                               Connection("dept", "https", "dept.example", password="tok"), session=session)
    with pytest.raises(FatalError, match=f"same {named} twice.*loops"):
        list(source.read("penalty", {}, None))
    assert session.calls < 5
