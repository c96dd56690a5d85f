"""What the HTTP sources (REST, XML feed) share, against a real server on 127.0.0.1 that answers what
each test scripts: page charsets, secrets echoed in error bodies, one ``check()`` for both kinds."""

from __future__ import annotations

import json
from collections.abc import Iterator
from dataclasses import dataclass, field
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from threading import Thread
from typing import Any

import pytest
from tenacity import stop_after_attempt, wait_none

from creditsync.exceptions import ConfigurationError, CreditSyncError, FatalError
from creditsync.secrets import Connection
from creditsync.sources.http_base import HttpOptions, HttpSourceAdapter, default_retrying
from creditsync.sources.rest import RestOptions, RestSourceAdapter
from creditsync.sources.xml import XmlOptions, XmlSourceAdapter

TOKEN = "s3cret-department-token"


@dataclass
class Answer:
    status: int = 200
    body: bytes = b""
    content_type: str = "application/json"


@dataclass
class Scripted:
    """The answer the server gives to every request, and the requests it saw."""

    answer: Answer = field(default_factory=Answer)
    seen: list[dict[str, str]] = field(default_factory=list)
    port: int = 0


@pytest.fixture
def server() -> Iterator[Scripted]:
    script = Scripted()

    class Handler(BaseHTTPRequestHandler):
        def do_GET(self) -> None:  # the name http.server dispatches to
            script.seen.append(dict(self.headers))
            self.send_response(script.answer.status)
            self.send_header("Content-Type", script.answer.content_type)
            self.send_header("Content-Length", str(len(script.answer.body)))
            self.end_headers()
            self.wfile.write(script.answer.body)

        def log_message(self, format: str, *args: Any) -> None:
            return

    httpd = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
    script.port = httpd.server_address[1]
    Thread(target=httpd.serve_forever, kwargs={"poll_interval": 0.05}, daemon=True).start()
    yield script
    httpd.shutdown()
    httpd.server_close()


def connection(server: Scripted) -> Connection:
    return Connection("dept", "http", "127.0.0.1", server.port, password=TOKEN)


def rest(server: Scripted, **options: Any) -> RestSourceAdapter:
    options = {"path": "/records", "paginator": {"total_pages_field": None}, **options}
    return RestSourceAdapter("dept", options,
                             connection(server), retrying=default_retrying().copy(wait=wait_none()))


def xml(server: Scripted, **options: Any) -> XmlSourceAdapter:
    return XmlSourceAdapter("dept", {"path": "/feed.xml", "record_tag": "row", "key_field": "id", **options},
                            connection(server), retrying=default_retrying().copy(wait=wait_none()))


def gbk_page() -> bytes:
    return json.dumps({"items": [{"id": "1", "updated_at": "2026-01-01", "name": "历城区某某餐饮店"}]},
                      ensure_ascii=False).encode("gbk")


def test_a_gbk_page_is_decoded_by_the_charset_its_content_type_declares(server: Scripted) -> None:
    server.answer = Answer(body=gbk_page(), content_type="application/json; charset=GBK")
    (record,) = list(rest(server).read("penalty", {}, None))
    assert record.data["name"] == "历城区某某餐饮店"


def test_a_gbk_page_is_decoded_by_the_encoding_option(server: Scripted) -> None:
    server.answer = Answer(body=gbk_page())  # no charset: JSON's default would be UTF-8
    (record,) = list(rest(server, encoding="gbk").read("penalty", {}, None))
    assert record.data["name"] == "历城区某某餐饮店"


def test_a_gbk_page_without_a_declared_charset_is_refused_not_turned_into_replacement_characters(
    server: Scripted,
) -> None:
    server.answer = Answer(body=gbk_page())
    with pytest.raises(FatalError, match=r"not valid utf-8 text.*option 'encoding'") as raised:
        list(rest(server).read("penalty", {}, None))
    assert "\ufffd" not in str(raised.value)


def test_an_unknown_encoding_option_is_a_configuration_error(server: Scripted) -> None:
    with pytest.raises(ConfigurationError, match="unknown encoding 'klingon'"):
        rest(server, encoding="klingon")


@pytest.mark.parametrize("status", [400, 401, 404, 500])
@pytest.mark.parametrize("make", [rest, xml], ids=["rest", "xml"])
def test_a_token_echoed_by_the_department_is_masked_in_every_error(
    server: Scripted, make: Any, status: int
) -> None:
    server.answer = Answer(status=status, body=f"bad request: Authorization: Bearer {TOKEN}".encode())
    adapter = make(server)
    adapter.retrying = adapter.retrying.copy(stop=stop_after_attempt(1))
    with pytest.raises(CreditSyncError) as raised:
        list(adapter.read("penalty", {}, None))
    assert TOKEN not in str(raised.value)
    assert server.seen[0]["Authorization"] == f"Bearer {TOKEN}"  # it was sent: only the echo is masked


@pytest.mark.parametrize("make", [rest, xml], ids=["rest", "xml"])
def test_check_is_one_implementation_for_every_http_source(server: Scripted, make: Any) -> None:
    assert type(make(server)).check in (HttpSourceAdapter.check, XmlSourceAdapter.check)
    server.answer = Answer(status=404)
    make(server).check()  # reachable and not refused: a 404 on the base URL is fine
    server.answer = Answer(status=403)
    with pytest.raises(FatalError, match="credentials refused"):
        make(server).check()
    server.answer = Answer(status=404)
    with pytest.raises(FatalError, match="HTTP 404"):
        make(server, check_path="/health").check()


@pytest.mark.parametrize("options", [RestOptions, XmlOptions])
def test_rest_and_xml_share_one_transport_options_model(options: type[HttpOptions]) -> None:
    assert issubclass(options, HttpOptions)
    assert set(HttpOptions.model_fields) <= set(options.model_fields)
