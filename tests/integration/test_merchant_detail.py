"""Order detail: lines, customer, attempts, and each attempt's timeline as the events table keeps it."""

from __future__ import annotations

import json
from collections.abc import Callable
from datetime import timedelta
from typing import Any

import pytest
from flask import Flask
from flask.testing import FlaskClient
from markupsafe import escape
from sqlalchemy import select

from checkout.extensions import db
from checkout.models import CallbackAlert, EventKind, EventSource, Order, StaffRole, StaffUser
from checkout.payments import events
from checkout.payments.refresh import reconcile
from tests.checkout_support import alert_body, csrf_of, make_order, payment_row, post_alert
from tests.highhelp_double import HighHelpDouble
from tests.merchant_support import signed_in


@pytest.fixture
def shop(make_app: Callable[..., Flask], double: HighHelpDouble) -> Flask:
    return make_app(HIGHHELP_API_URL=double.url, PUBLIC_BASE_URL="https://shop.example.kz")


def order_number(app: Flask, token: str) -> int:
    with app.app_context():
        return db.session.execute(select(Order.id).where(Order.token == token)).scalar_one()


def customer_pays(app: Flask, token: str) -> str:
    """A customer opens the order page and presses Pay; the new attempt's payment_id."""
    customer = app.test_client()
    page = customer.get(f"/orders/{token}?lang=en").get_data(as_text=True)
    response = customer.post(f"/orders/{token}/pay", data={"csrf_token": csrf_of(page)})
    assert response.status_code == 303, response.get_data(as_text=True)
    with app.app_context():
        order = db.session.execute(select(Order).where(Order.token == token)).scalar_one()
        return order.payments[-1].payment_id


def shown_json(value: Any) -> str:
    """JSON as the page shows it: pretty-printed, then HTML-escaped like any text."""
    return str(escape(json.dumps(value, indent=2, ensure_ascii=False)))


def detail(client: FlaskClient, number: int) -> str:
    response = client.get(f"/merchant/orders/{number}?lang=en")
    assert response.status_code == 200, response.get_data(as_text=True)
    return response.get_data(as_text=True)


def test_timeline_shows_the_create_request_exactly_and_the_answer(
    shop: Flask, double: HighHelpDouble
) -> None:
    token = make_order(shop, email="buyer@example.kz")
    payment_id = customer_pays(shop, token)
    [(path, sent_headers, _)] = double.received
    page = detail(signed_in(shop, StaffRole.VIEWER), order_number(shop, token))

    payment = payment_row(shop, payment_id)
    assert payment_id in page
    assert "16a10539fcb34ff5a3e286625a2dc3d3" in page  # request_id from HighHelp's answer
    assert f"POST {path}" in page
    assert "x-access-signature" in page
    assert "[redacted]" in page
    assert sent_headers["x-access-signature"] not in page
    assert sent_headers["x-access-token"] not in page
    assert shown_json(payment.request_body) in page
    assert "HTTP 200" in page
    assert "https://ppage.example.kz/widget/abc123" in page
    assert str(escape("the customer's Pay button")) in page


def test_each_callback_shows_its_key_verdict_and_raw_json(shop: Flask) -> None:
    token = make_order(shop)
    payment_id = customer_pays(shop, token)
    callback = shop.test_client()
    for body in (
        alert_body(payment_id, "processing", "requisites"),
        alert_body(payment_id, "processing", "requisites"),  # a repeat: stored once
        alert_body(payment_id, "success"),
    ):
        assert post_alert(callback, body).status_code == 200
    page = detail(signed_in(shop, StaffRole.VIEWER), order_number(shop, token))

    with shop.app_context():
        alerts = list(db.session.execute(select(CallbackAlert).order_by(CallbackAlert.id)).scalars())
    assert len(alerts) == 2
    for alert in alerts:
        assert str(escape(alert.idempotency_key)) in page
        assert shown_json(alert.body) in page
    assert page.count("valid (only callbacks with a valid signature are stored)") == 2
    assert "Applied: the payment moved to the reported state." in page
    assert "success alert" in page
    assert "progress alert" in page
    assert "Paid" in page


def test_hostile_text_from_highhelp_is_escaped(shop: Flask) -> None:
    token = make_order(shop)
    payment_id = customer_pays(shop, token)
    body = alert_body(payment_id, "decline")
    body["status"]["status_description"] = "<script>alert(1)</script>"
    assert post_alert(shop.test_client(), body).status_code == 200
    page = detail(signed_in(shop, StaffRole.VIEWER), order_number(shop, token))
    assert "<script>alert(1)</script>" not in page
    assert "&lt;script&gt;alert(1)&lt;/script&gt;" in page


def test_info_reads_say_who_asked(shop: Flask) -> None:
    token = make_order(shop)
    customer_pays(shop, token)
    with shop.app_context():
        assert reconcile(timedelta(0)) == 1
    page = detail(signed_in(shop, StaffRole.VIEWER), order_number(shop, token))
    assert "Status read from HighHelp (/info)" in page
    assert "the reconciler (background check)" in page
    assert "POST /api/v1/widget/payin/info" in page


def test_payment_link_event_shows_at_the_order_level(shop: Flask) -> None:
    client = signed_in(shop, StaffRole.OPERATOR, "maker@example.kz")
    token = make_order(shop)
    with shop.app_context():
        maker = db.session.execute(
            select(StaffUser).where(StaffUser.email == "maker@example.kz")
        ).scalar_one()
        order = db.session.execute(select(Order).where(Order.token == token)).scalar_one()
        order.created_by_id = maker.id
        events.record(
            EventKind.ORDER_CREATED,
            EventSource.STAFF,
            "payment link created",
            order_id=order.id,
            staff_id=maker.id,
        )
        db.session.commit()
    page = detail(client, order_number(shop, token))
    assert "Order history" in page
    assert "Payment link created" in page
    assert "a payment link by maker@example.kz" in page
    assert "The customer has not pressed Pay yet." in page


def test_order_facts_and_the_customer_link(shop: Flask) -> None:
    token = make_order(shop, amount=1500000, email="buyer@example.kz")
    page = detail(signed_in(shop, StaffRole.VIEWER), order_number(shop, token))
    assert "buyer@example.kz" in page
    assert "Dombra" in page
    assert "15\u00a0000,00\u00a0₸" in page
    assert f'href="/orders/{token}"' in page
    assert "an order from the shop's catalogue" in page
    assert "not created" in page


def test_viewer_sees_no_action_buttons(shop: Flask) -> None:
    token = make_order(shop)
    customer_pays(shop, token)
    page = detail(signed_in(shop, StaffRole.VIEWER), order_number(shop, token))
    assert "Re-check with HighHelp" not in page
    assert "Cancel payment…" not in page
    operator_page = detail(signed_in(shop, StaffRole.OPERATOR), order_number(shop, token))
    assert "Re-check with HighHelp" in operator_page
    assert "Cancel payment…" in operator_page
    assert "Confirm at HighHelp" not in operator_page  # only a paid payin can be confirmed


@pytest.mark.parametrize("number", ["999999", "0", "99999999999999999999", "abc", "-1", "1.5", "%00"])
def test_unknown_or_garbage_order_numbers_are_404(shop: Flask, number: str) -> None:
    make_order(shop)
    client = signed_in(shop, StaffRole.VIEWER)
    assert client.get(f"/merchant/orders/{number}").status_code == 404


def test_signed_out_detail_goes_to_sign_in(shop: Flask) -> None:
    token = make_order(shop)
    response = shop.test_client().get(f"/merchant/orders/{order_number(shop, token)}")
    assert response.status_code == 302
    assert "/merchant/login" in response.headers["Location"]
