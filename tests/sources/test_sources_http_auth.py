"""The auth kinds a REST source declares: OAuth2 tokens renewed before they expire (a clock seam, no
waiting) and after a 401, token servers that refuse or fail, session logins by body or cookie, keys in
a header or the query. Against the simulated OAuth2 API and the conformance suite's sample API."""

from __future__ import annotations

from collections.abc import Iterator
from typing import Any

import pytest

from creditsync.departments import DepartmentConfig
from creditsync.exceptions import FatalError
from creditsync.secrets import Connection, parse_connection
from creditsync.simulators.departments.urban_management import RunningUrbanManagement, start_in_thread
from creditsync.sources.http_base import default_retrying
from creditsync.sources.rest import RestSourceAdapter
from creditsync.testing.sample_rest import serve_rest

OPTIONS = {"path": "/open/v2/cases", "items_field": "data", "key_field": "caseNo",
           "cursor_field": "updatedAt",
           "cursor_format": "epoch_ms", "cursor_param": "updated_after", "cursor_param_format": "iso8601",
           "paginator": {"type": "next_link", "path": "links.next", "size_param": "limit", "page_size": 10}}


class Clock:
    def __init__(self) -> None:
        self.now = 1000.0

    def __call__(self) -> float:
        return self.now


@pytest.fixture
def api() -> Iterator[RunningUrbanManagement]:
    with start_in_thread("auth-secret", count=12) as running:
        yield running


def oauth(api: RunningUrbanManagement, clock: Clock, secret: str | None = None,
          **auth: Any) -> RestSourceAdapter:
    connection = Connection("um", "http", api.host, api.port, login=api.client_id,
                            password=secret or api.client_secret)
    options = {**OPTIONS, "auth": {"type": "oauth2_client_credentials", "token_url": "/oauth/token", **auth}}
    return RestSourceAdapter("urban_management", options, connection, clock=clock,
                             retrying=default_retrying().copy(sleep=lambda _s: None))


def test_a_token_is_renewed_before_it_expires_not_after_a_refusal(api: RunningUrbanManagement) -> None:
    api.server.claimed_expires_in, clock = 600, Clock()
    source = oauth(api, clock)
    assert len(list(source.read("penalty", {}, None))) == 12
    assert (api.server.issued, api.server.refused) == (1, 0)  # two pages, one token
    clock.now += 600 - 60 + 1  # within refresh_before_s (60) of its expiry
    list(source.read("penalty", {}, None))
    assert (api.server.issued, api.server.refused) == (2, 0)


def test_a_claimed_lifetime_is_capped_and_a_token_dying_early_is_renewed_once(
        api: RunningUrbanManagement) -> None:
    api.server.claimed_expires_in, clock = 10 * 365 * 86400, Clock()  # "valid for ten years"
    source = oauth(api, clock, max_lifetime_s=900)
    list(source.read("penalty", {}, None))
    clock.now += 900
    list(source.read("penalty", {}, None))
    assert api.server.issued == 2  # renewed after max_lifetime_s, whatever it claimed
    api.server.token_uses = 1  # from now on each token dies after one request ...
    api.server.tokens.clear()  # ... and the one in hand is already dead
    assert len(list(source.read("penalty", {}, None))) == 12
    assert api.server.refused >= 1 and api.server.issued >= 4


def test_client_credentials_may_go_as_basic(api: RunningUrbanManagement) -> None:
    source = oauth(api, Clock(), client_auth="basic", scope="cases.read")
    assert len(list(source.read("penalty", {}, None))) == 12


def test_refused_client_credentials_are_fatal_and_the_secret_is_not_in_the_message(
        api: RunningUrbanManagement) -> None:
    with pytest.raises(FatalError, match="refused the credentials") as raised:
        list(oauth(api, Clock(), secret="wrong-secret-77").read("penalty", {}, None))
    assert "wrong-secret-77" not in str(raised.value)


def test_a_token_that_is_refused_right_after_renewal_fails_instead_of_looping(
        api: RunningUrbanManagement) -> None:
    api.server.token_uses = 0  # tokens that never work
    with pytest.raises(FatalError, match="credentials refused"):
        list(oauth(api, Clock()).read("penalty", {}, None))
    assert api.server.issued == 2  # the first, and one renewal after the 401: then it stops


@pytest.mark.parametrize("auth", [
    {"type": "session_token", "login_path": "/api/login", "token_path": "data.token"},
    {"type": "session_token", "login_path": "/api/login", "login_format": "form", "cookie": "SESSION"},
    {"type": "session_token", "login_path": "/api/login", "header": "X-Session", "token_path": "token"},
    {"type": "api_key", "name": "appKey", "location": "query"},
    {"type": "api_key", "name": "X-Key", "prefix": "Key "},
    {"type": "basic"},
    {"type": "bearer", "header": "Authorization"},
    {"type": "none"},
])
def test_every_auth_kind_reads_the_sample_api(auth: dict[str, Any], monkeypatch: pytest.MonkeyPatch) -> None:
    rows = [{"id": f"R{n}", "updated_at": f"2026-05-10T09:0{n}:00+08:00"} for n in range(5)]
    config = DepartmentConfig.model_validate({
        "department": "auth_demo", "name": "某局", "streams": [{"category": "penalty"}],
        "source": {"kind": "rest", "connection_id": "auth_demo_source",
                   "options": {"path": "/records", "auth": auth, "paginator": {"page_size": 2}}}})
    url, stop = serve_rest(config, {"penalty": rows})
    try:
        connection = parse_connection("auth_demo_source", url)
        source = RestSourceAdapter("auth_demo", config.source.options, connection)
        assert [r.key for r in source.read("penalty", {}, None)] == [r["id"] for r in rows]
    finally:
        stop()
