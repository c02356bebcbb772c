"""The append-only history: each payment change writes its line, with the exchange behind it."""

from __future__ import annotations

from collections.abc import Callable
from datetime import datetime, timedelta

import pytest
from flask import Flask
from sqlalchemy import delete, select, text, update
from sqlalchemy.exc import DatabaseError

from checkout.extensions import db
from checkout.gateway import highhelp_client
from checkout.highhelp.client import REDACTED
from checkout.models import Event, EventKind, EventSource, Order, Payment
from checkout.payments.refresh import reconcile
from checkout.payments.start import Customer, StartError, start_payment
from checkout.sqltypes import utcnow
from tests.checkout_support import alert_body, csrf_of, make_attempt, make_order, post_alert
from tests.highhelp_double import HighHelpDouble, Reply, answer_for


@pytest.fixture
def shop(make_app: Callable[..., Flask], double: HighHelpDouble) -> Flask:
    return make_app(HIGHHELP_API_URL=double.url, PUBLIC_BASE_URL="https://shop.example.kz")


def history(app: Flask) -> list[Event]:
    with app.app_context():
        found = list(db.session.execute(select(Event).order_by(Event.id)).scalars())
        for event in found:
            db.session.expunge(event)
        return found


def press_pay(app: Flask, token: str) -> int:
    client = app.test_client()
    page = client.get(f"/orders/{token}").get_data(as_text=True)
    return client.post(f"/orders/{token}/pay", data={"csrf_token": csrf_of(page)}).status_code


def the_payment(app: Flask) -> Payment:
    with app.app_context():
        payment = db.session.execute(select(Payment)).scalar_one()
        db.session.expunge(payment)
        return payment


def test_the_create_request_is_kept_exactly_with_secrets_redacted(
    shop: Flask, double: HighHelpDouble
) -> None:
    token = make_order(shop, email="buyer@example.kz")
    assert press_pay(shop, token) == 303
    payment = the_payment(shop)
    [event] = history(shop)
    assert (event.kind, event.source, event.payment_ref) == (
        EventKind.CREATE_SENT,
        EventSource.CUSTOMER,
        payment.id,
    )
    request, response = event.data["request"], event.data["response"]
    [(path, sent_headers, sent_body)] = double.received
    assert request["path"] == path == "/api/v1/widget/payin"
    assert request["body"] == sent_body == payment.request_body
    assert request["headers"]["x-access-signature"] == REDACTED
    assert request["headers"]["x-access-token"] == REDACTED
    assert request["headers"]["x-access-timestamp"] == sent_headers["x-access-timestamp"]
    assert response == {"http_status": 200, "body": answer_for(path, sent_body)}


def test_a_failed_create_is_kept_with_what_came_back(shop: Flask, double: HighHelpDouble) -> None:
    double.reply = lambda path, body: Reply.json(
        503, {"status": "error", "status_description": "maintenance"}
    )
    token = make_order(shop)
    assert press_pay(shop, token) == 503
    [event] = history(shop)
    assert event.kind == EventKind.CREATE_FAILED
    assert event.data["response"]["http_status"] == 503
    assert event.data["response"]["body"]["status_description"] == "maintenance"
    assert "maintenance" in event.summary


def test_a_create_that_never_reached_highhelp_says_so(shop: Flask, double: HighHelpDouble) -> None:
    double.reply = lambda path, body: Reply.json(200, answer_for(path, body), delay=3)
    token = make_order(shop)
    with shop.app_context():
        highhelp_client().timeouts = (0.5, 0.5)
        order = db.session.execute(select(Order).where(Order.token == token)).scalar_one()
        assert start_payment(order, Customer("cus_1", None), {}).error is StartError.UNAVAILABLE
    [event] = history(shop)
    assert event.kind == EventKind.CREATE_FAILED
    assert "did not answer in time" in event.data["response"]["failure"]
    assert event.data["request"]["body"] == the_payment(shop).request_body


def test_each_new_callback_writes_one_line_and_a_repeat_none(shop: Flask) -> None:
    token = make_order(shop)
    make_attempt(shop, token, "KZ-1")
    client = shop.test_client()
    body = alert_body("KZ-1", "success")
    assert post_alert(client, body).status_code == 200
    assert post_alert(client, body).status_code == 200
    [event] = history(shop)
    assert (event.kind, event.source) == (EventKind.CALLBACK, EventSource.HIGHHELP)
    assert event.data["verdict"] == "applied"
    assert event.data["idempotency_key"].endswith(":KZ-1:success:None")
    assert event.alert_id is not None
    assert event.payment_ref == the_payment(shop).id


def test_an_orphan_callback_is_kept_without_an_order(shop: Flask) -> None:
    assert post_alert(shop.test_client(), alert_body("KZ-unknown", "success")).status_code == 200
    [event] = history(shop)
    assert (event.kind, event.order_id, event.payment_ref) == (EventKind.CALLBACK, None, None)
    assert event.data["verdict"] == "orphan"


def quiet_attempt(app: Flask) -> str:
    """An order whose one attempt has not moved for five minutes; its token."""
    token = make_order(app)
    make_attempt(app, token, "KZ-1")
    with app.app_context():
        old = the_clock_minus(timedelta(minutes=5))
        db.session.execute(update(Payment).values(state_changed_at=old, created_at=old))
        db.session.commit()
    return token


def test_info_reads_say_who_asked(shop: Flask, double: HighHelpDouble) -> None:
    token = quiet_attempt(shop)
    # The customer's return page polls a stale status: one /info read, by the customer.
    assert shop.test_client().get(f"/orders/{token}/status").status_code == 200
    with shop.app_context():
        db.session.execute(update(Payment).values(last_checked_at=None))
        db.session.commit()
        assert reconcile(timedelta(seconds=60)) == 1
    reads = [event for event in history(shop) if event.kind == EventKind.INFO_READ]
    assert [event.source for event in reads] == [EventSource.CUSTOMER, EventSource.RECONCILER]
    assert all(event.data["request"]["path"] == "/api/v1/widget/payin/info" for event in reads)
    assert all(event.data["response"]["http_status"] == 200 for event in reads)


def test_a_failed_info_read_is_kept_too(shop: Flask, double: HighHelpDouble) -> None:
    double.reply = lambda path, body: Reply(502, b"<html>bad gateway</html>")
    quiet_attempt(shop)
    with shop.app_context():
        assert reconcile(timedelta(seconds=60)) == 1
    [event] = history(shop)
    assert event.kind == EventKind.INFO_READ
    assert event.data["response"]["http_status"] == 502
    assert "HTTP 502" in event.summary


def the_clock_minus(age: timedelta) -> datetime:
    return utcnow() - age


@pytest.mark.parametrize("change", ["update", "delete"])
def test_the_history_cannot_be_changed(shop: Flask, change: str) -> None:
    post_alert(shop.test_client(), alert_body("KZ-unknown", "success"))
    with shop.app_context():
        statement = update(Event).values(summary="rewritten") if change == "update" else delete(Event)
        with pytest.raises(DatabaseError, match="append-only"):
            db.session.execute(statement)
        db.session.rollback()
        assert db.session.execute(text("SELECT count(*) FROM events")).scalar_one() == 1
