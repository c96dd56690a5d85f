"""Connections from Airflow's env-var convention (URI and JSON forms) and from an injected resolver."""

from __future__ import annotations

import io
import json
import logging
from collections.abc import Iterator
from types import SimpleNamespace
from typing import Any
from urllib.parse import quote, quote_plus

import pytest

from creditsync import secrets
from creditsync.exceptions import ConfigurationError
from creditsync.secrets import Connection, get_connection, parse_connection, set_connection_resolver


@pytest.fixture(autouse=True)
def _env_resolver() -> Iterator[None]:
    previous = set_connection_resolver(None)
    yield
    set_connection_resolver(previous)


URI_CASES: list[tuple[str, dict[str, Any]]] = [
    (
        "http://reader:s3cret@10.1.2.3:8080/api/v1",
        {"conn_type": "http", "host": "10.1.2.3", "port": 8080, "login": "reader", "password": "s3cret",
         "schema": "api/v1", "extra": {}},
    ),
    (  # every reserved character of the password URL-encoded
        "https://user%40dept:p%40ss%2Fw%3Ard%23%3F%25@example.gov.cn/",
        {"conn_type": "https", "host": "example.gov.cn", "port": None, "login": "user@dept",
         "password": "p@ss/w:rd#?%", "schema": None},
    ),
    (
        "http://:tok%2Ben@host:9000/?timeout=5&verify=false",
        {"login": None, "password": "tok+en", "extra": {"timeout": "5", "verify": "false"}},
    ),
    (
        "http://host/?__extra__=" + '%7B%22a%22%3A%201%2C%20%22b%22%3A%20%5B1%2C%202%5D%7D',
        {"extra": {"a": 1, "b": [1, 2]}},
    ),
    (
        "my-conn-type://https://remote.example:443/base",
        {"conn_type": "my_conn_type", "host": "https://remote.example", "port": 443, "schema": "base"},
    ),
    ("postgresql://u:p@db:5432/creditsync", {"conn_type": "postgres", "schema": "creditsync"}),
]


@pytest.mark.parametrize(("uri", "expected"), URI_CASES)
def test_uri_form(monkeypatch: pytest.MonkeyPatch, uri: str, expected: dict[str, Any]) -> None:
    monkeypatch.setenv("AIRFLOW_CONN_MARKET_SUPERVISION", uri)
    conn = get_connection("market_supervision")
    assert conn.conn_id == "market_supervision"
    for name, value in expected.items():
        assert getattr(conn, name) == value, name


def test_json_form(monkeypatch: pytest.MonkeyPatch) -> None:
    value = {"conn_type": "http", "host": "127.0.0.1", "port": "8701", "password": "p@ss:word",
             "schema": "api/v1", "extra": {"token_header": "appKey"}}
    monkeypatch.setenv("AIRFLOW_CONN_DEPT_A", json.dumps(value))
    conn = get_connection("dept_a")
    assert (conn.host, conn.port, conn.password, conn.extra) == (
        "127.0.0.1", 8701, "p@ss:word", {"token_header": "appKey"})
    assert conn.base_url == "http://127.0.0.1:8701/api/v1"


def test_json_form_with_extra_as_string() -> None:
    conn = parse_connection("x", json.dumps({"host": "h", "extra": json.dumps({"k": "v"})}))
    assert conn.extra == {"k": "v"}


def test_missing_connection_names_conn_id_and_env_var(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.delenv("AIRFLOW_CONN_NOWHERE", raising=False)
    with pytest.raises(ConfigurationError) as caught:
        get_connection("nowhere")
    assert "'nowhere'" in str(caught.value)
    assert "AIRFLOW_CONN_NOWHERE" in str(caught.value)


@pytest.mark.parametrize("value", ["not a uri", "{not json", '["a list"]', "http://h:notaport/"])
def test_malformed_value_is_configuration_error_without_echoing_it(
    monkeypatch: pytest.MonkeyPatch, value: str
) -> None:
    monkeypatch.setenv("AIRFLOW_CONN_BROKEN", value)
    with pytest.raises(ConfigurationError) as caught:
        get_connection("broken")
    assert "AIRFLOW_CONN_BROKEN" in str(caught.value)
    assert value not in str(caught.value)


def test_repr_and_str_hide_the_password() -> None:
    conn = Connection("c", "http", "h", 80, "login", "hunter2-secret", extra={"api": "x"})
    for text in (repr(conn), str(conn), f"{conn!r}", repr([conn])):
        assert "hunter2-secret" not in text
        assert "***" in text


@pytest.mark.parametrize(
    ("conn", "url"),
    [
        (Connection("a", "http", "10.0.0.1", 8080, schema="api/v1"), "http://10.0.0.1:8080/api/v1"),
        (Connection("b", "https", "dept.example"), "https://dept.example"),
        (Connection("c", "http", "dept.example", schema="https"), "https://dept.example"),  # HTTP hook habit
        (Connection("d", "http", "https://dept.example/", 8443, schema="/base/"), "https://dept.example:8443/base"),
        (Connection("e", "generic", "h"), "http://h"),
    ],
)
def test_base_url(conn: Connection, url: str) -> None:
    assert conn.base_url == url


def test_base_url_without_host_is_configuration_error() -> None:
    with pytest.raises(ConfigurationError, match="no host"):
        _ = Connection("nohost").base_url


def test_get_uri_round_trips_through_the_env_form() -> None:
    original = Connection("rt", "http", "h.example", 81, "us er", "p@ss/word?#", "api/v1", {"a": [1]})
    assert parse_connection("rt", original.get_uri()) == original


def test_injected_resolver_returning_an_airflow_like_object() -> None:
    airflow_conn = SimpleNamespace(conn_id="ms", conn_type="http", host="h", port=8701, login=None,
                                   password="tok", schema="api/v1", extra='{"x": 1}', extra_dejson={"x": 1})
    set_connection_resolver(lambda conn_id: airflow_conn)
    conn = get_connection("ms")
    assert isinstance(conn, Connection)
    assert (conn.password, conn.extra, conn.base_url) == ("tok", {"x": 1}, "http://h:8701/api/v1")


def test_injected_resolver_not_found_becomes_configuration_error() -> None:
    class AirflowNotFoundException(Exception):
        pass

    def resolver(conn_id: str) -> Any:
        raise AirflowNotFoundException(f"The conn_id `{conn_id}` isn't defined")

    set_connection_resolver(resolver)
    with pytest.raises(ConfigurationError, match="AIRFLOW_CONN_GONE"):
        get_connection("gone")


def test_resolver_errors_other_than_not_found_propagate() -> None:
    def resolver(conn_id: str) -> Any:
        raise RuntimeError("API server unreachable")

    set_connection_resolver(resolver)
    with pytest.raises(RuntimeError):
        get_connection("any")


def test_set_connection_resolver_returns_the_previous_one() -> None:
    def first(conn_id: str) -> Connection:
        return Connection(conn_id)

    assert set_connection_resolver(first) is None
    assert set_connection_resolver(None) is first
    assert secrets.env_var_name("a-b.c") == "AIRFLOW_CONN_A-B.C"


# --- masking secrets in messages and logs -----------------------------------------------------------

APP_KEY = "sk-live-8f3a9c2e77"


@pytest.fixture
def no_registered_secrets(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(secrets, "_registered", set())
    for name in ("CREDITSYNC_PLATFORM_APP_KEY", "CREDITSYNC_HASH_KEY", "CREDITSYNC_SOURCE_TOKEN"):
        monkeypatch.delenv(name, raising=False)


@pytest.mark.usefixtures("no_registered_secrets")
@pytest.mark.parametrize(("variable", "value", "secret"), [
    ("CREDITSYNC_PLATFORM_APP_KEY", APP_KEY, APP_KEY),
    ("CREDITSYNC_HASH_KEY", "hash-key-0042", "hash-key-0042"),
    ("AIRFLOW_CONN_DEPT_B", "http://reader:pa%2Fss%40word@10.1.2.3/", "pa/ss@word"),
    ("AIRFLOW_CONN_DEPT_C", json.dumps({"host": "h", "extra": {"api_token": "tok-abcdef"}}), "tok-abcdef"),
    ("CREDITSYNC_DB_URL", "postgresql+psycopg2://gw:db-secret-77@db/creditsync", "db-secret-77"),
])
def test_redact_masks_every_configured_secret_in_every_form(
    monkeypatch: pytest.MonkeyPatch, variable: str, value: str, secret: str
) -> None:
    monkeypatch.setenv(variable, value)
    text = f"refused {secret}; url-encoded {quote(secret, safe='')}; form {quote_plus(secret)}"
    assert secrets.redact(text) == "refused ***; url-encoded ***; form ***"


@pytest.mark.usefixtures("no_registered_secrets")
def test_a_password_from_the_resolver_is_masked_once_resolved() -> None:
    set_connection_resolver(lambda conn_id: SimpleNamespace(conn_id=conn_id, host="h",
                                                            password="airflow-pw-1"))
    assert secrets.redact("airflow-pw-1") == "airflow-pw-1"  # not known yet
    get_connection("platform")
    assert secrets.redact("the key airflow-pw-1 was refused") == "the key *** was refused"


@pytest.mark.usefixtures("no_registered_secrets")
def test_short_values_and_plain_text_are_left_alone(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("AIRFLOW_CONN_DEPT_D", "http://u:abc@h/")  # too short to mask without havoc
    assert secrets.redact("abc 行政处罚 abcdef") == "abc 行政处罚 abcdef"


@pytest.mark.usefixtures("no_registered_secrets")
def test_the_log_filter_masks_message_arguments_and_traceback(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("CREDITSYNC_PLATFORM_APP_KEY", APP_KEY)
    stream = io.StringIO()
    logger = logging.getLogger("creditsync.test_secrets")
    handler = logging.StreamHandler(stream)
    logger.addHandler(handler)
    logger.propagate = False
    try:
        secrets.install_log_redaction(logger)
        secrets.install_log_redaction(logger)  # twice: still one filter
        logger.warning("platform said: appKey %s is wrong", APP_KEY)
        try:
            raise ValueError(f"bad key {APP_KEY}")
        except ValueError:
            logger.exception("push failed")
    finally:
        logger.removeHandler(handler)
        logger.propagate = True

    assert len(handler.filters) == 1
    written = stream.getvalue()
    assert "platform said: appKey *** is wrong" in written and "ValueError: bad key ***" in written
    assert APP_KEY not in written


@pytest.mark.usefixtures("no_registered_secrets")
def test_a_listener_hears_every_secret_known_now_and_later(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(secrets, "_listeners", [])
    monkeypatch.setenv("CREDITSYNC_PLATFORM_APP_KEY", APP_KEY)
    heard: list[str] = []
    secrets.add_secret_listener(heard.append)
    secrets.register_secret("later-secret-1", "later-secret-1", "abc")
    assert APP_KEY in heard and heard[-1] == "later-secret-1"
    assert heard.count("later-secret-1") == 1 and "abc" not in heard
