"""The platform client against a scripted transport: every status code classified, nothing slept."""

from __future__ import annotations

import json
from urllib.parse import parse_qs, urlsplit

import pytest
import requests
from fake_platform_transport import APP_KEY, FakeTransport, envelope, response, results_for

from creditsync.delivery import (
    BatchTooLargeError,
    PlatformAuthError,
    PlatformClient,
    PlatformProtocolError,
    PlatformRefusedError,
    PlatformTransportError,
    PushItem,
    Receipt,
)
from creditsync.exceptions import ConfigurationError, FatalError, RateLimitedError, RetriableError

ITEMS = [
    PushItem("k1", "penalty:11370100MB0000000X:济历市监罚〔2026〕1号", "upsert", {"CF_XDR_MC": "某某公司"}),
    PushItem("k2", "penalty:11370100MB0000000X:济历市监罚〔2026〕2号", "upsert", {"CF_XDR_MC": "另一公司"}),
]


def push(client: PlatformClient) -> list[Receipt]:
    return client.push("penalty", ITEMS, batch_id="run-1#1")


def test_200_returns_one_receipt_per_item_in_order(
    client: PlatformClient, transport: FakeTransport
) -> None:
    transport.script = [lambda req: response(200, envelope(list(reversed(results_for(req)))))]
    receipts = push(client)
    assert [r.idempotency_key for r in receipts] == ["k1", "k2"]
    assert all(r.status == "accepted" and r.platform_id == "f" * 32 and r.ok for r in receipts)


def test_the_request_follows_the_protocol(
    client: PlatformClient, transport: FakeTransport
) -> None:
    transport.script = [lambda req: response(200, envelope(results_for(req)))]
    push(client)
    sent = transport.seen[0]
    assert sent.method == "POST"
    assert sent.url == "http://platform.test/api/v1/penalty/records"
    assert sent.headers["appKey"] == APP_KEY
    body = json.loads(sent.body or b"")
    assert body["batch_id"] == "run-1#1"
    assert body["records"][0] == {
        "idempotency_key": "k1",
        "business_key": ITEMS[0].business_key,
        "action": "upsert",
        "platform_id": None,
        "data": {"CF_XDR_MC": "某某公司"},
    }
    assert "某某公司".encode() in (sent.body or b"")  # UTF-8, not \\u escapes


def test_a_validation_rejection_is_a_receipt_not_a_retry(
    client: PlatformClient, transport: FakeTransport
) -> None:
    rejected = {"idempotency_key": "k1", "status": "rejected", "platform_id": None,
                "errors": ["行政相对人类别不能为空", "发证日期不能大于当前日期！"]}
    accepted = {"idempotency_key": "k2", "status": "duplicate", "platform_id": "a" * 32, "errors": []}
    transport.script = [response(200, envelope([rejected, accepted]))]
    first, second = push(client)
    assert (first.status, first.ok, first.errors) == ("rejected", False, rejected["errors"])
    assert (second.status, second.ok) == ("duplicate", True)
    assert len(transport.seen) == 1


@pytest.mark.parametrize(
    ("status", "error"),
    [
        (400, PlatformRefusedError),
        (401, PlatformAuthError),
        (403, PlatformAuthError),
        (404, PlatformRefusedError),
        (413, BatchTooLargeError),
        (422, PlatformRefusedError),
    ],
)
def test_4xx_is_fatal_and_not_retried(
    client: PlatformClient, transport: FakeTransport, status: int, error: type[Exception]
) -> None:
    transport.script = [response(status, envelope(code=status, msg="请求被拒绝"))]
    with pytest.raises(error) as raised:
        push(client)
    assert isinstance(raised.value, FatalError)
    assert "请求被拒绝" in str(raised.value)
    assert len(transport.seen) == 1


@pytest.mark.parametrize("status", [500, 502, 503, 504])
def test_5xx_is_retried(client: PlatformClient, transport: FakeTransport, status: int) -> None:
    transport.script = [response(status, b"<html>Bad Gateway</html>"),
                        lambda req: response(200, envelope(results_for(req)))]
    assert len(push(client)) == 2
    assert len(transport.seen) == 2


def test_429_honours_retry_after_seconds(
    client: PlatformClient, transport: FakeTransport, waits: list[float]
) -> None:
    transport.script = [response(429, envelope(code=429), {"Retry-After": "7"}),
                        lambda req: response(200, envelope(results_for(req)))]
    push(client)
    assert waits == [7.0]


def test_503_with_an_http_date_is_rate_limiting(
    client: PlatformClient, transport: FakeTransport, waits: list[float]
) -> None:
    transport.script = [response(503, b"", {"Retry-After": "Fri, 01 Jan 2100 00:00:00 GMT"}),
                        lambda req: response(200, envelope(results_for(req)))]
    push(client)
    assert waits == [30.0]  # a century away: capped at the policy's max_wait


def test_the_raised_error_carries_retry_after(
    client: PlatformClient, transport: FakeTransport
) -> None:
    transport.script = [response(429, envelope(code=429), {"Retry-After": "12"})]
    with pytest.raises(RateLimitedError) as raised:
        push(client)
    assert raised.value.retry_after == 12.0
    assert len(transport.seen) == 4  # max_attempts of the fixture's policy


@pytest.mark.parametrize(
    "failure",
    [requests.ConnectionError("refused"), requests.ReadTimeout("slow"), requests.ConnectTimeout("no route"),
     requests.exceptions.ChunkedEncodingError("cut")],
)
def test_transport_failures_are_retried(
    client: PlatformClient, transport: FakeTransport, failure: Exception
) -> None:
    transport.script = [failure, lambda req: response(200, envelope(results_for(req)))]
    assert len(push(client)) == 2
    assert len(transport.seen) == 2


def test_exhausted_retries_raise_a_retriable_error(
    client: PlatformClient, transport: FakeTransport
) -> None:
    transport.script = [requests.ConnectionError("refused")]
    with pytest.raises(PlatformTransportError) as raised:
        push(client)
    assert isinstance(raised.value, RetriableError)
    assert len(transport.seen) == 4


def test_an_error_code_inside_a_200_envelope_is_classified(
    client: PlatformClient, transport: FakeTransport
) -> None:
    transport.script = [response(200, envelope(code=500, msg="系统繁忙")),
                        lambda req: response(200, {"code": 200, "data": {**envelope(results_for(req))["data"],
                                                                          "code": "401"}})]
    with pytest.raises(PlatformAuthError):
        push(client)
    assert len(transport.seen) == 2  # the 500 was retried, the inner 401 was not


@pytest.mark.parametrize(
    "body",
    [b"<html>ok</html>", b"", {"code": 200}, {"code": 200, "data": {"code": "200", "data": "nope"}},
     envelope([{"idempotency_key": "k1", "status": "maybe"}]),
     envelope([{"idempotency_key": "stranger", "status": "accepted", "platform_id": "x"}])],
)
def test_a_malformed_answer_is_fatal(client: PlatformClient, transport: FakeTransport, body: object) -> None:
    transport.script = [response(200, body)]
    with pytest.raises(PlatformProtocolError):
        push(client)
    assert len(transport.seen) == 1


def test_unanswered_items_get_no_receipt(
    client: PlatformClient, transport: FakeTransport
) -> None:
    transport.script = [lambda req: response(200, envelope(results_for(req)[:1]))]
    assert [r.idempotency_key for r in push(client)] == ["k1"]


def test_an_empty_batch_sends_nothing(
    client: PlatformClient, transport: FakeTransport
) -> None:
    assert client.push("penalty", [], batch_id="b") == []
    assert transport.seen == []


def test_query_sends_repeated_keys_in_chunks(
    client: PlatformClient, transport: FakeTransport
) -> None:
    def known(req: requests.PreparedRequest) -> requests.Response:
        keys = parse_qs(urlsplit(req.url or "").query)["idempotency_key"]
        rows = [{"idempotency_key": k, "status": "accepted", "platform_id": k.rjust(32, "0")}
                for k in keys if k != "k7"]
        return response(200, envelope(rows))

    transport.script = [known]
    found = client.query("penalty", [f"k{n}" for n in range(120)])
    assert len(transport.seen) == 3  # 50 + 50 + 20 keys
    assert len(found) == 119 and "k7" not in found
    assert found["k8"].platform_id == "k8".rjust(32, "0")
    assert urlsplit(transport.seen[0].url or "").path == "/api/v1/penalty/records"


def test_record_returns_none_for_an_unknown_platform_id(
    client: PlatformClient, transport: FakeTransport
) -> None:
    transport.script = [response(404, envelope(code=404, msg="平台记录不存在"))]
    assert client.record("0" * 32) is None


@pytest.mark.parametrize(
    "make",
    [
        lambda: PushItem("k", "b", "withdraw", {}),
        lambda: PushItem("k", "b", "delete", {}),  # type: ignore[arg-type]
        lambda: PushItem("", "b", "upsert", {}),
    ],
)
def test_push_items_are_checked(make: object) -> None:
    with pytest.raises(ValueError):
        make()  # type: ignore[operator]


def test_a_batch_may_not_repeat_a_key(client: PlatformClient) -> None:
    with pytest.raises(ValueError, match="twice"):
        client.push("penalty", [ITEMS[0], ITEMS[0]], batch_id="b")


@pytest.mark.parametrize("category", ["../admin", "Penalty", ""])
def test_categories_are_checked(client: PlatformClient, category: str) -> None:
    with pytest.raises(ValueError):
        client.push(category, ITEMS, batch_id="b")


@pytest.mark.parametrize(("url", "key"), [("http://x", ""), ("ftp://x", "k"), ("platform:80", "k")])
def test_bad_configuration_is_refused(url: str, key: str) -> None:
    with pytest.raises(ConfigurationError):
        PlatformClient(url, key)
