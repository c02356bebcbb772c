"""Staff actions on an attempt: re-check, cancel after confirming, confirm; only HighHelp's answer counts."""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

import pytest
from flask import Flask
from flask.testing import FlaskClient
from sqlalchemy import select

from checkout.extensions import db
from checkout.gateway import highhelp_client
from checkout.models import Event, EventKind, EventSource, Order, Payment, StaffRole, StaffUser
from tests.checkout_support import (
    alert_body,
    csrf_of,
    make_attempt,
    make_order,
    order_status,
    payment_row,
    post_alert,
)
from tests.highhelp_double import HighHelpDouble, Reply, answer_for
from tests.merchant_support import page_csrf, signed_in

PAYMENT_ID = "KZ000001-1-abcdef"


@pytest.fixture
def shop(make_app: Callable[..., Flask], double: HighHelpDouble) -> Flask:
    return make_app(HIGHHELP_API_URL=double.url, PUBLIC_BASE_URL="https://shop.example.kz")


def attempt(app: Flask, state: str | None = "processing:new", **values: Any) -> tuple[str, int, int]:
    """An order with one open attempt; (order token, order number, payment row id)."""
    token = make_order(app)
    make_attempt(app, token, PAYMENT_ID, state, **values)
    with app.app_context():
        payment = db.session.execute(select(Payment).where(Payment.payment_id == PAYMENT_ID)).scalar_one()
        return token, payment.order_id, payment.id


def answering(
    status: str, sub_status: str | None = None, **extra: Any
) -> Callable[[str, dict[str, Any]], Reply]:
    """A double reply: HighHelp answers every call with this state."""

    def reply(path: str, body: dict[str, Any]) -> Reply:
        answer = answer_for(path, body)
        answer.update(status=status, sub_status=sub_status, **extra)
        return Reply.json(200, answer)

    return reply


def act(client: FlaskClient, number: int, url: str) -> str:
    """Post an action with the detail page's CSRF token and follow back; the page shown."""
    token = page_csrf(client, f"/merchant/orders/{number}?lang=en")
    response = client.post(url, data={"csrf_token": token})
    assert response.status_code == 303, response.get_data(as_text=True)
    assert response.headers["Location"].startswith(f"/merchant/orders/{number}")
    return client.get(f"/merchant/orders/{number}?lang=en").get_data(as_text=True)


def staff_events(app: Flask, kind: EventKind) -> list[Event]:
    with app.app_context():
        found = list(db.session.execute(select(Event).where(Event.kind == kind).order_by(Event.id)).scalars())
        for event in found:
            db.session.expunge(event)
        return found


def staff_id(app: Flask, email: str) -> int:
    with app.app_context():
        return db.session.execute(select(StaffUser.id).where(StaffUser.email == email)).scalar_one()


def sent_paths(double: HighHelpDouble) -> list[str]:
    return [path for path, _, _ in double.received]


def test_recheck_records_who_asked_and_applies_the_answer(shop: Flask, double: HighHelpDouble) -> None:
    _, number, ref = attempt(shop)
    client = signed_in(shop, StaffRole.OPERATOR, "op@example.kz")
    double.reply = answering("processing", "paid", payment_info={"amount": 1500000, "currency": "KZT"})
    page = act(client, number, f"/merchant/payments/{ref}/recheck")

    assert sent_paths(double) == ["/api/v1/widget/payin/info"]
    assert payment_row(shop, PAYMENT_ID).state == "processing:paid"
    assert "HighHelp says: paid at the operator, waiting to be finished (processing:paid)." in page
    assert "The payment moved to this state." in page
    [read] = staff_events(shop, EventKind.INFO_READ)
    assert (read.source, read.staff_id) == (EventSource.STAFF, staff_id(shop, "op@example.kz"))
    assert "op@example.kz" in page.split("Timeline", 1)[1]
    assert "Confirm at HighHelp" in page  # now HighHelp's state allows it


def test_recheck_while_highhelp_is_down_changes_nothing(shop: Flask, double: HighHelpDouble) -> None:
    _, number, ref = attempt(shop)
    client = signed_in(shop, StaffRole.OPERATOR)
    double.reply = lambda path, body: Reply(503, b"")
    page = act(client, number, f"/merchant/payments/{ref}/recheck")
    assert payment_row(shop, PAYMENT_ID).state == "processing:new"
    assert "HighHelp did not answer usably" in page
    assert "Nothing changed here" in page


def test_cancel_asks_for_confirmation_first(shop: Flask, double: HighHelpDouble) -> None:
    _, _number, ref = attempt(shop)
    client = signed_in(shop, StaffRole.OPERATOR)
    response = client.get(f"/merchant/payments/{ref}/cancel?lang=en")
    page = response.get_data(as_text=True)
    assert response.status_code == 200
    assert f"Cancel payment {PAYMENT_ID} of 15\u00a0000,00\u00a0₸?" in page
    assert "The customer will not be able to pay with it; the order stays unpaid" in page
    assert double.received == []


def test_cancel_applies_highhelps_decline(shop: Flask, double: HighHelpDouble) -> None:
    token, number, ref = attempt(shop)
    client = signed_in(shop, StaffRole.OPERATOR, "op@example.kz")
    double.reply = answering("decline", None, status_description="cancelled by the merchant")
    csrf = page_csrf(client, f"/merchant/payments/{ref}/cancel")
    response = client.post(f"/merchant/payments/{ref}/cancel", data={"csrf_token": csrf})
    assert response.status_code == 303
    page = client.get(f"/merchant/orders/{number}?lang=en").get_data(as_text=True)

    assert sent_paths(double) == ["/api/v1/widget/payin/cancel"]
    payment = payment_row(shop, PAYMENT_ID)
    assert (payment.state, payment.is_open) == ("decline", False)
    assert "HighHelp says: declined (decline)." in page
    assert "Cancel payment…" not in page  # nothing left to cancel
    [cancel] = staff_events(shop, EventKind.CANCEL)
    assert cancel.staff_id == staff_id(shop, "op@example.kz")
    assert cancel.data["response"]["body"]["status"] == "decline"
    assert cancel.data["request"]["headers"]["x-access-signature"] == "[redacted]"
    assert "Cancel requested" in page
    customer_page = shop.test_client().get(f"/orders/{token}?lang=en").get_data(as_text=True)
    # The customer reads a cancel, not a refusal, and may pay again.
    assert "Payment cancelled" in customer_page
    assert "The payment was cancelled. Nothing was charged. You can pay again." in customer_page


@pytest.mark.parametrize(
    ("reply", "words"),
    [
        (
            Reply.json(409, {"status": "error", "status_description": "payin already succeeded"}),
            "HighHelp refused: payin already succeeded. Nothing changed here.",
        ),
        (Reply(503, b""), "HighHelp did not answer usably"),
        (Reply(200, b"<html>not json</html>"), "HighHelp did not answer usably"),
    ],
)
def test_cancel_refused_or_failed_changes_nothing(
    shop: Flask, double: HighHelpDouble, reply: Reply, words: str
) -> None:
    _, number, ref = attempt(shop)
    client = signed_in(shop, StaffRole.OPERATOR)
    double.reply = lambda path, body: reply
    csrf = page_csrf(client, f"/merchant/payments/{ref}/cancel")
    client.post(f"/merchant/payments/{ref}/cancel", data={"csrf_token": csrf})
    page = client.get(f"/merchant/orders/{number}?lang=en").get_data(as_text=True)

    payment = payment_row(shop, PAYMENT_ID)
    assert (payment.state, payment.is_open, payment.version) == ("processing:new", True, 0)
    assert words in page
    [cancel] = staff_events(shop, EventKind.CANCEL)
    assert cancel.data["outcome"] in ("refused", "unavailable")


def test_cancel_when_highhelp_is_too_slow_changes_nothing(shop: Flask, double: HighHelpDouble) -> None:
    _, number, ref = attempt(shop)
    with shop.app_context():
        highhelp_client().timeouts = (1.0, 0.3)  # the double answers after a second
    client = signed_in(shop, StaffRole.OPERATOR)
    double.reply = lambda path, body: Reply.json(200, answer_for(path, body), delay=1.0)
    csrf = page_csrf(client, f"/merchant/payments/{ref}/cancel")
    client.post(f"/merchant/payments/{ref}/cancel", data={"csrf_token": csrf})
    page = client.get(f"/merchant/orders/{number}?lang=en").get_data(as_text=True)
    assert payment_row(shop, PAYMENT_ID).state == "processing:new"
    assert "did not answer in time" in page


def test_confirm_is_offered_and_sent_only_from_processing_paid(shop: Flask, double: HighHelpDouble) -> None:
    _token, number, ref = attempt(shop, "processing:sent_verification")
    client = signed_in(shop, StaffRole.OPERATOR)
    page = client.get(f"/merchant/orders/{number}?lang=en").get_data(as_text=True)
    assert "Confirm at HighHelp" not in page
    page = act(client, number, f"/merchant/payments/{ref}/confirm")
    assert double.received == []
    assert "This payment&#39;s state does not allow that; nothing was sent." in page or (
        "This payment's state does not allow that; nothing was sent." in page
    )
    assert staff_events(shop, EventKind.CONFIRM) == []


def test_confirm_from_processing_paid_applies_success(shop: Flask, double: HighHelpDouble) -> None:
    token, number, ref = attempt(shop, "processing:paid")
    client = signed_in(shop, StaffRole.OWNER)
    double.reply = answering("success")
    page = act(client, number, f"/merchant/payments/{ref}/confirm")
    # The confirm's answer has no amounts; the order is paid on /info's, read right after.
    assert sent_paths(double) == ["/api/v1/widget/payin/confirm", "/api/v1/widget/payin/info"]
    assert payment_row(shop, PAYMENT_ID).state == "success"
    assert order_status(shop, token) == "paid"
    assert "HighHelp says: success: the money arrived (success)." in page
    assert len(staff_events(shop, EventKind.CONFIRM)) == 1


def test_viewer_gets_403_on_every_action_and_nothing_is_sent(shop: Flask, double: HighHelpDouble) -> None:
    _, number, ref = attempt(shop, "processing:paid")
    client = signed_in(shop, StaffRole.VIEWER)
    csrf = page_csrf(client, f"/merchant/orders/{number}")
    for method, url in [
        ("post", f"/merchant/payments/{ref}/recheck"),
        ("get", f"/merchant/payments/{ref}/cancel"),
        ("post", f"/merchant/payments/{ref}/cancel"),
        ("post", f"/merchant/payments/{ref}/confirm"),
    ]:
        response = getattr(client, method)(url, data={"csrf_token": csrf})
        assert response.status_code == 403, url
    assert double.received == []
    with shop.app_context():
        assert db.session.execute(select(Event.id).where(Event.payment_ref == ref)).first() is None


def test_actions_need_the_csrf_token(shop: Flask, double: HighHelpDouble) -> None:
    _, _, ref = attempt(shop)
    client = signed_in(shop, StaffRole.OPERATOR)
    assert client.post(f"/merchant/payments/{ref}/recheck").status_code == 400
    assert client.post(f"/merchant/payments/{ref}/cancel", data={"csrf_token": "forged"}).status_code == 400
    assert double.received == []


@pytest.mark.parametrize("ref", ["999999", "0", "99999999999999999999", "x"])
def test_unknown_payment_is_404(shop: Flask, ref: str) -> None:
    client = signed_in(shop, StaffRole.OPERATOR)
    csrf = csrf_of(client.get("/merchant/review").get_data(as_text=True))
    assert client.post(f"/merchant/payments/{ref}/recheck", data={"csrf_token": csrf}).status_code == 404


def test_signed_out_action_goes_to_sign_in_and_sends_nothing(shop: Flask, double: HighHelpDouble) -> None:
    _, _, ref = attempt(shop)
    response = shop.test_client().post(f"/merchant/payments/{ref}/recheck")
    assert response.status_code in (302, 400)
    assert double.received == []
    with shop.app_context():
        assert db.session.execute(select(Order.status)).scalar_one() == "open"


def test_a_confirmed_payment_with_the_wrong_amount_never_pays_the_order(
    shop: Flask, double: HighHelpDouble
) -> None:
    token, number, ref = attempt(shop, "processing:paid")
    client = signed_in(shop, StaffRole.OWNER)

    def reply(path: str, body: dict[str, Any]) -> Reply:
        answer = answer_for(path, body)
        answer.update(status="success", sub_status=None)
        if path.endswith("/info"):
            answer["payment_info"]["amount"] = 1_400_000
        return Reply.json(200, answer)

    double.reply = reply
    act(client, number, f"/merchant/payments/{ref}/confirm")
    payment = payment_row(shop, PAYMENT_ID)
    assert payment.state == "success"
    assert payment.needs_review
    assert order_status(shop, token) == "open"


def test_a_confirm_answer_alone_does_not_pay_the_order_until_amounts_arrive(
    shop: Flask, double: HighHelpDouble
) -> None:
    token, number, ref = attempt(shop, "processing:paid")
    client = signed_in(shop, StaffRole.OWNER)

    def reply(path: str, body: dict[str, Any]) -> Reply:
        if path.endswith("/info"):
            return Reply.json(503, {"status": "error", "status_description": "maintenance"})
        answer = answer_for(path, body)
        answer.update(status="success", sub_status=None)
        return Reply.json(200, answer)

    double.reply = reply
    act(client, number, f"/merchant/payments/{ref}/confirm")
    assert payment_row(shop, PAYMENT_ID).state == "success"
    assert order_status(shop, token) == "open"
    # HighHelp's success callback brings the amounts: now the order is paid.
    assert post_alert(shop.test_client(), alert_body(PAYMENT_ID, "success")).status_code == 200
    assert order_status(shop, token) == "paid"
