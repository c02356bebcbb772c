"""Cancelling from the order page: HighHelp's /cancel, its answer applied, then Pay starts afresh."""

from __future__ import annotations

import time
from collections.abc import Callable
from typing import Any

import pytest
from flask import Flask
from flask.testing import FlaskClient
from sqlalchemy import select

from checkout.extensions import db
from checkout.models import Event, EventKind, EventSource, Payment
from checkout.ratelimits import PAY_LIMIT_PER_ORDER
from tests.checkout_support import alert_body, csrf_of, make_attempt, make_order, payment_row, post_alert
from tests.highhelp_double import HighHelpDouble, Reply, answer_for
from tests.sandbox_support import RunningSandbox

CANCEL_PATH = "/api/v1/widget/payin/cancel"
# Nothing listens here: the sandbox's callbacks fail fast, so only /cancel's own answer can change anything.
NOWHERE = "http://127.0.0.1:9"


def attempts(app: Flask) -> list[Payment]:
    with app.app_context():
        found = list(db.session.execute(select(Payment).order_by(Payment.id)).scalars())
        for payment in found:
            db.session.expunge(payment)
        return found


def cancel_events(app: Flask) -> list[Event]:
    with app.app_context():
        query = select(Event).where(Event.kind == EventKind.CANCEL).order_by(Event.id)
        found = list(db.session.execute(query).scalars())
        for event in found:
            db.session.expunge(event)
        return found


def press(client: FlaskClient, token: str, action: str, page_token: str | None = None) -> Any:
    """Press a button of the order page (pay or cancel) with the CSRF token of a page of the session."""
    page = client.get(f"/orders/{page_token or token}?lang=en").get_data(as_text=True)
    return client.post(f"/orders/{token}/{action}", data={"csrf_token": csrf_of(page)})


def test_cancel_through_the_sandbox_then_pay_again(
    make_app: Callable[..., Flask], sandbox: RunningSandbox
) -> None:
    shop = make_app(HIGHHELP_API_URL=sandbox.url, PUBLIC_BASE_URL=NOWHERE)
    token = make_order(shop)
    client = shop.test_client()
    started = press(client, token, "pay")
    assert started.status_code == 303
    assert started.headers["Location"].startswith(sandbox.url)
    [first] = attempts(shop)
    assert sandbox.control(f"payins/{first.payment_id}")["state"].startswith("processing")
    page = client.get(f"/orders/{token}?lang=en").get_data(as_text=True)
    assert 'data-phase="pending"' in page
    cancelled = press(client, token, "cancel")
    assert cancelled.status_code == 303
    assert cancelled.headers["Location"] == f"/orders/{token}"
    # The attempt closed on HighHelp's answer, and the sandbox's payin is declined too.
    [closed] = attempts(shop)
    assert (closed.is_open, closed.state) == (False, "decline")
    assert sandbox.control(f"payins/{first.payment_id}")["state"] == "decline"
    page = client.get(f"/orders/{token}?lang=en").get_data(as_text=True)
    assert 'data-phase="declined"' in page
    assert "Payment cancelled" in page
    assert "You cancelled this payment. Nothing was charged. You can pay again." in page
    [event] = cancel_events(shop)
    assert (event.source, event.staff_id, event.data["outcome"]) == (EventSource.CUSTOMER, None, "answered")
    assert event.data["customer"].startswith("cus_")
    assert event.summary.startswith("/cancel by customer: HighHelp says decline")
    # "Pay" now starts a new attempt under a new payment_id.
    again = press(client, token, "pay")
    assert again.status_code == 303
    assert again.headers["Location"].startswith(sandbox.url)
    second = attempts(shop)[-1]
    assert (len(attempts(shop)), second.is_open) == (2, True)
    assert second.payment_id != first.payment_id


def test_sandbox_refuses_to_cancel_a_payin_that_succeeded(
    make_app: Callable[..., Flask], sandbox: RunningSandbox
) -> None:
    shop = make_app(HIGHHELP_API_URL=sandbox.url, PUBLIC_BASE_URL=NOWHERE)
    token = make_order(shop)
    client = shop.test_client()
    assert press(client, token, "pay").status_code == 303
    [payment] = attempts(shop)
    # The payer finishes on the hosted page; no callback reaches the shop.
    sandbox.control(f"payins/{payment.payment_id}/phone", {"operator": "KCELL", "phone": "+77012345678"})
    otp = str(sandbox.control(f"payins/{payment.payment_id}")["otp"])
    sandbox.control(f"payins/{payment.payment_id}/code", {"code": otp})
    deadline = time.monotonic() + 10
    while sandbox.control(f"payins/{payment.payment_id}")["state"] != "success":
        assert time.monotonic() < deadline, "the sandbox payin did not succeed"
        time.sleep(0.1)
    refused = press(client, token, "cancel")
    assert refused.status_code == 409
    page = refused.get_data(as_text=True)
    assert 'data-cancel-problem="refused"' in page
    assert "did not cancel this payment" in page
    # Nothing changed here; the refusal is on the record.
    assert payment_row(shop, payment.payment_id).is_open
    [event] = cancel_events(shop)
    assert event.data["outcome"] == "refused"


@pytest.fixture
def shop(make_app: Callable[..., Flask], double: HighHelpDouble) -> Flask:
    return make_app(HIGHHELP_API_URL=double.url, PUBLIC_BASE_URL="https://shop.example.kz")


@pytest.mark.parametrize(
    ("reply", "status", "problem"),
    [
        (Reply(503, b"down for maintenance"), 503, "unavailable"),
        (Reply(200, b"<html>not json</html>"), 503, "unavailable"),
        (Reply.json(400, {"status": "error", "status_description": "cannot cancel"}), 409, "refused"),
    ],
    ids=["down", "garbled", "refused"],
)
def test_when_highhelp_does_not_cancel_nothing_changes_and_the_page_says_so(
    shop: Flask, double: HighHelpDouble, reply: Reply, status: int, problem: str
) -> None:
    token = make_order(shop)
    make_attempt(shop, token, "pay-1", state="processing:sent_verification")
    double.reply = lambda path, body: reply
    answer = press(shop.test_client(), token, "cancel")
    assert answer.status_code == status
    page = answer.get_data(as_text=True)
    assert f'data-cancel-problem="{problem}"' in page
    assert 'data-phase="pending"' in page
    assert ("Retry-After" in answer.headers) is (status == 503)
    stored = payment_row(shop, "pay-1")
    assert (stored.is_open, stored.state) == (True, "processing:sent_verification")
    assert [path for path, _, _ in double.received] == [CANCEL_PATH]


def test_an_answer_that_keeps_the_attempt_open_is_said_plainly(shop: Flask, double: HighHelpDouble) -> None:
    token = make_order(shop)
    make_attempt(shop, token, "pay-1", state="processing:new")
    double.reply = lambda path, body: Reply.json(200, answer_for(path, body))
    client = shop.test_client()
    answer = press(client, token, "cancel")
    assert answer.status_code == 303
    page = client.get(answer.headers["Location"] + "?lang=en").get_data(as_text=True)
    assert "has not closed this payment yet" in page
    assert 'data-phase="pending"' in page


@pytest.mark.parametrize(
    "attempt",
    [None, {"state": "decline", "is_open": False}, {"state": "success", "is_open": False}, {"state": None}],
    ids=["unpaid", "declined", "review", "not-created"],
)
def test_cancel_with_nothing_in_progress_is_409_and_asks_nobody(
    shop: Flask, double: HighHelpDouble, attempt: dict[str, Any] | None
) -> None:
    token = make_order(shop)
    if attempt is not None:
        make_attempt(shop, token, "pay-1", **attempt)
    before = attempts(shop)
    # A page under review has no form: the session's token comes from another order's page.
    answer = press(shop.test_client(), token, "cancel", page_token=make_order(shop))
    assert answer.status_code == 409
    assert 'data-cancel-problem="nothing_open"' in answer.get_data(as_text=True)
    assert double.received == []
    assert [(p.is_open, p.state) for p in attempts(shop)] == [(p.is_open, p.state) for p in before]
    assert cancel_events(shop) == []


def test_forged_cancels_never_reach_highhelp(shop: Flask, double: HighHelpDouble) -> None:
    shop.config["WTF_CSRF_ENABLED"] = True
    token = make_order(shop)
    make_attempt(shop, token, "pay-1", state="processing:new")
    client = shop.test_client()
    assert client.post(f"/orders/{token}/cancel").status_code == 400
    assert client.post(f"/orders/{token}/cancel", data={"csrf_token": "forged"}).status_code == 400
    assert client.get(f"/orders/{token}/cancel").status_code == 405
    assert press(client, "not-a-token", "cancel", page_token=token).status_code == 404
    assert double.received == []
    assert payment_row(shop, "pay-1").is_open


def test_cancel_is_rate_limited_per_order(shop: Flask, double: HighHelpDouble) -> None:
    token = make_order(shop)
    client = shop.test_client()
    csrf = csrf_of(client.get(f"/orders/{token}?lang=en").get_data(as_text=True))
    codes = [
        client.post(f"/orders/{token}/cancel", data={"csrf_token": csrf}).status_code
        for _ in range(PAY_LIMIT_PER_ORDER + 1)
    ]
    assert codes == [409] * PAY_LIMIT_PER_ORDER + [429]


def test_a_decline_after_a_refused_cancel_is_not_called_a_cancel(shop: Flask, double: HighHelpDouble) -> None:
    token = make_order(shop)
    make_attempt(shop, token, "pay-1", state="processing:new")
    double.reply = lambda path, body: Reply.json(
        400, {"status": "error", "status_description": "cannot cancel"}
    )
    client = shop.test_client()
    assert press(client, token, "cancel").status_code == 409
    post_alert(client, alert_body("pay-1", "decline"))
    page = client.get(f"/orders/{token}?lang=en").get_data(as_text=True)
    assert 'data-phase="declined"' in page
    assert "The payment did not go through" in page
    assert "Payment cancelled" not in page
