"""HighHelpClient against a real local HTTP server: signed calls and every kind of failure."""

from __future__ import annotations

import time
from typing import Any

import pytest

from checkout.highhelp import BadPayload, HighHelpClient, InvalidRequest, Rejected, Unavailable
from checkout.highhelp.wire import CreatePayinRequest
from tests.conftest import PROJECT_ID, VECTORS, merchant_signer
from tests.highhelp_double import HighHelpDouble, Reply, answer_for
from tests.processes import free_port

CREATE_BODY = next(vector["body"] for vector in VECTORS if vector["name"] == "widget_payin_create")
TIMEOUTS = (0.5, 0.5)


@pytest.fixture
def client(double: HighHelpDouble) -> HighHelpClient:
    return HighHelpClient(double.url, PROJECT_ID, merchant_signer(), timeouts=TIMEOUTS)


def answering(reply: Reply) -> Any:
    return lambda path, body: reply


def test_create_is_signed_and_returns_the_form_url(client: HighHelpClient, double: HighHelpDouble) -> None:
    answer = client.create_payin(CreatePayinRequest.build(CREATE_BODY))
    assert answer.integration.form_url == "https://ppage.example.kz/widget/abc123"
    assert answer.status == "processing"
    path, headers, body = double.received[0]
    assert path == "/api/v1/widget/payin"
    assert body == CREATE_BODY
    assert headers["content-type"] == "application/json"
    assert abs(int(headers["x-access-timestamp"]) - time.time()) < 5


@pytest.mark.parametrize(
    ("method", "path"),
    [
        ("payin_info", "/api/v1/widget/payin/info"),
        ("confirm_payin", "/api/v1/widget/payin/confirm"),
        ("cancel_payin", "/api/v1/widget/payin/cancel"),
    ],
)
def test_reference_calls(client: HighHelpClient, double: HighHelpDouble, method: str, path: str) -> None:
    answer = getattr(client, method)("order-7")
    assert answer.payment_id == "order-7"
    assert double.received == [
        (path, double.received[0][1], {"general": {"project_id": PROJECT_ID, "payment_id": "order-7"}})
    ]


def test_info_reads_payment_info(client: HighHelpClient) -> None:
    info = client.payin_info("order-7")
    assert info.payment_info is not None
    assert info.payment_info.amount == 1500000


def test_invalid_request_is_refused_before_any_call(client: HighHelpClient, double: HighHelpDouble) -> None:
    with pytest.raises(InvalidRequest, match=r"general\.payment_id"):
        client.payin_info("x" * 256)
    body = {**CREATE_BODY, "general": {**CREATE_BODY["general"], "project_id": "another-register"}}
    with pytest.raises(InvalidRequest, match="project_id"):
        client.create_payin(CreatePayinRequest.build(body))
    assert double.received == []


def test_refusal_with_highhelp_reason(client: HighHelpClient, double: HighHelpDouble) -> None:
    double.reply = answering(
        Reply.json(400, {"status": "error", "status_description": "amount is too large"})
    )
    with pytest.raises(Rejected) as raised:
        client.create_payin(CreatePayinRequest.build(CREATE_BODY))
    assert raised.value.status_description == "amount is too large"
    assert raised.value.http_status == 400


def test_refusal_with_unreadable_body_still_says_what_happened(
    client: HighHelpClient, double: HighHelpDouble
) -> None:
    double.reply = answering(Reply(403, b"<html>Forbidden</html>"))
    with pytest.raises(Rejected, match="HTTP 403 without a reason"):
        client.payin_info("order-7")


def test_status_error_in_a_200_is_a_refusal(client: HighHelpClient, double: HighHelpDouble) -> None:
    double.reply = answering(Reply.json(200, {"status": "error", "status_description": "payment not found"}))
    with pytest.raises(Rejected, match="payment not found"):
        client.payin_info("order-7")


def test_a_wrong_signature_is_refused_by_the_server(double: HighHelpDouble) -> None:
    from checkout.highhelp.signing import HmacSigner

    client = HighHelpClient(double.url, PROJECT_ID, HmacSigner(b"wrong"), timeouts=TIMEOUTS)
    with pytest.raises(Rejected, match="signature does not match") as raised:
        client.payin_info("order-7")
    assert raised.value.http_status == 401


@pytest.mark.parametrize("status", [500, 502, 503, 504, 429])
def test_server_failures_are_retryable(client: HighHelpClient, double: HighHelpDouble, status: int) -> None:
    double.reply = answering(Reply(status, b"upstream trouble"))
    with pytest.raises(Unavailable, match=f"HTTP {status}"):
        client.create_payin(CreatePayinRequest.build(CREATE_BODY))


def test_server_failure_keeps_highhelp_reason(client: HighHelpClient, double: HighHelpDouble) -> None:
    double.reply = answering(Reply.json(503, {"status": "error", "status_description": "maintenance"}))
    with pytest.raises(Unavailable, match="HTTP 503: maintenance"):
        client.payin_info("order-7")


@pytest.mark.parametrize(
    "reply",
    [
        Reply(200, b"<html>ok</html>"),
        Reply(200, b""),
        Reply(200, b"[1,2,3]"),
        Reply.json(200, {"status": "processing"}),
        Reply.json(200, {"status": "processing", "integration": {"form_url": "javascript:alert(1)"}}),
    ],
    ids=["html", "empty", "array", "no-form-url", "script-url"],
)
def test_answers_not_understood(client: HighHelpClient, double: HighHelpDouble, reply: Reply) -> None:
    double.reply = answering(reply)
    with pytest.raises(BadPayload):
        client.create_payin(CreatePayinRequest.build(CREATE_BODY))


def test_answer_about_another_payment_is_not_understood(
    client: HighHelpClient, double: HighHelpDouble
) -> None:
    double.reply = lambda path, body: Reply.json(
        200, {**answer_for(path, body), "payment_id": "someone-else"}
    )
    with pytest.raises(BadPayload, match="someone-else"):
        client.payin_info("order-7")


def test_redirect_is_not_followed(client: HighHelpClient, double: HighHelpDouble) -> None:
    double.reply = answering(Reply(302, b"", headers={"location": "http://127.0.0.1:1/elsewhere"}))
    with pytest.raises(Rejected, match="HTTP 302"):
        client.payin_info("order-7")
    assert len(double.received) == 1


def test_slow_answer_times_out_as_unavailable(client: HighHelpClient, double: HighHelpDouble) -> None:
    double.reply = lambda path, body: Reply.json(200, answer_for(path, body), delay=TIMEOUTS[1] * 3)
    started = time.monotonic()
    with pytest.raises(Unavailable, match="did not answer in time"):
        client.create_payin(CreatePayinRequest.build(CREATE_BODY))
    assert time.monotonic() - started < TIMEOUTS[1] * 2.5


def test_closed_port_is_unavailable() -> None:
    client = HighHelpClient(
        f"http://127.0.0.1:{free_port()}", PROJECT_ID, merchant_signer(), timeouts=TIMEOUTS
    )
    with pytest.raises(Unavailable, match="could not be reached"):
        client.payin_info("order-7")


def test_retry_after_unavailable_reuses_the_same_payment_id(
    client: HighHelpClient, double: HighHelpDouble
) -> None:
    double.reply = answering(Reply(503, b""))
    request = CreatePayinRequest.build(CREATE_BODY)
    with pytest.raises(Unavailable):
        client.create_payin(request)
    double.reply = None
    assert client.create_payin(request).payment_id == CREATE_BODY["general"]["payment_id"]
    assert [body["general"]["payment_id"] for _, _, body in double.received] == [
        CREATE_BODY["general"]["payment_id"]
    ] * 2
