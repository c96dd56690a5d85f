"""Answers a hostile or broken platform may give: an oversized batch, a receipt without a row id, an
error message that repeats the appKey. Each test is named after the hole it guards."""

from __future__ import annotations

from typing import Any

import pytest
import requests
from fake_platform_transport import APP_KEY, FakeTransport, envelope, response, results_for

from creditsync.delivery import BatchTooLargeError, PlatformClient, PlatformRefusedError, PushItem, Receipt
from creditsync.exceptions import CreditSyncError, FatalError

ITEMS = [PushItem(f"k{n}", f"penalty:11370100MB0000000X:济历市监罚〔2026〕{n}号", "upsert",
                  {"CF_XDR_MC": "某公司"}) for n in (1, 2)]


def push(client: PlatformClient) -> list[Receipt]:
    return client.push("penalty", ITEMS, batch_id="run-1#1")


def test_a_413_answer_is_a_distinct_fatal_error_so_the_pusher_splits_the_batch(
    client: PlatformClient, transport: FakeTransport
) -> None:
    transport.script = [response(413, b"<html>413 Request Entity Too Large</html>")]
    with pytest.raises(BatchTooLargeError) as raised:
        push(client)
    assert isinstance(raised.value, PlatformRefusedError) and isinstance(raised.value, FatalError)
    assert raised.value.status_code == 413
    assert len(transport.seen) == 1  # resending the same batch cannot help: it must be split


def test_a_413_inside_a_200_envelope_is_the_same_distinct_error(
    client: PlatformClient, transport: FakeTransport
) -> None:
    transport.script = [response(200, envelope(code=413, msg="请求体过大"))]
    with pytest.raises(BatchTooLargeError):
        push(client)


def without_platform_id(request: requests.PreparedRequest, status: str) -> list[dict[str, Any]]:
    return [{**row, "platform_id": None} for row in results_for(request, status)]


@pytest.mark.parametrize("status", ["accepted", "duplicate"])
def test_a_receipt_without_a_platform_id_is_unknown_never_accepted(
    client: PlatformClient, transport: FakeTransport, status: str
) -> None:
    transport.script = [lambda req: response(200, envelope(without_platform_id(req, status)))]
    receipts = push(client)
    assert [r.status for r in receipts] == ["unknown", "unknown"]
    assert not any(r.confirmed or r.ok for r in receipts)
    assert all(r.platform_id is None for r in receipts)


def test_a_query_back_without_a_platform_id_is_unknown_too(
    client: PlatformClient, transport: FakeTransport
) -> None:
    rows = [{"idempotency_key": "k1", "status": "accepted", "platform_id": ""},
            {"idempotency_key": "k2", "status": "accepted", "platform_id": "e" * 32}]
    transport.script = [response(200, envelope(rows))]
    found = client.query("penalty", ["k1", "k2"])
    assert (found["k1"].status, found["k1"].confirmed) == ("unknown", False)
    assert (found["k2"].status, found["k2"].confirmed) == ("accepted", True)


ECHO = f"appKey {APP_KEY} 无权访问该目录"


@pytest.mark.parametrize(
    "answer",
    [
        response(401, envelope(code=401, msg=ECHO)),
        response(400, envelope(code=400, msg="参数错误", )),
        response(200, envelope(code=403, msg=ECHO)),
        response(413, envelope(code=413, msg=ECHO)),
        response(422, {"code": 422, "data": {"code": "422", "msg": "校验失败", "data": [], "error": ECHO}}),
        requests.ConnectionError(f"refused for http://platform.test/?appKey={APP_KEY}"),
    ],
    ids=["401", "400-no-echo", "403-in-envelope", "413", "422-error-field", "transport"],
)
def test_the_app_key_echoed_by_the_platform_is_masked_in_every_error(
    client: PlatformClient, transport: FakeTransport, answer: requests.Response | Exception
) -> None:
    transport.script = [answer]
    with pytest.raises(CreditSyncError) as raised:
        push(client)
    assert APP_KEY not in str(raised.value)
    assert APP_KEY not in repr(raised.value.args)
