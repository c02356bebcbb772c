"""Helpers for checkout tests: orders in the database, signed callbacks as HighHelp sends them."""

from __future__ import annotations

import json
import re
import time
from typing import Any

from flask import Flask
from flask.testing import FlaskClient
from sqlalchemy import func, select
from werkzeug.test import TestResponse

from checkout.extensions import db
from checkout.highhelp import signing
from checkout.models import CallbackAlert, Order, OrderLine, Payment
from tests.conftest import PROJECT_ID, callback_signer

CSRF = re.compile(r'name="csrf_token"[^>]*value="([^"]+)"')
# The app's htmx, under its plain or content-hashed name (checkout/static_files.py).
HTMX_SCRIPT = re.compile(r"/static/js/htmx-2\.0\.11\.min\.(?:[0-9a-f]{10}\.)?js")


def csrf_of(html: str) -> str:
    """The CSRF token of the first form on a page."""
    match = CSRF.search(html)
    assert match, "no CSRF token on the page"
    return match.group(1)


def make_order(app: Flask, amount: int = 1500000, email: str | None = None) -> str:
    """An unpaid order of one line; its token."""
    with app.app_context():
        order = Order(
            amount=amount, currency="KZT", description="Order for a test", email=email, language="en"
        )
        order.lines.append(OrderLine(name="Dombra", unit_price=amount, quantity=1))
        db.session.add(order)
        db.session.commit()
        return order.token


def make_attempt(
    app: Flask, token: str, payment_id: str, state: str | None = "processing:new", **values: Any
) -> None:
    """A payment attempt as start_payment leaves it after HighHelp answered (or before, with state None)."""
    with app.app_context():
        order = db.session.execute(select(Order).where(Order.token == token)).scalar_one()
        payment = Payment(
            payment_id=payment_id,
            order=order,
            amount=order.amount,
            currency=order.currency,
            state=state,
            form_url=None if state is None else "https://ppage.example.kz/widget/x",
            request_body={"payment": {"lifetime": 600}},
            **values,
        )
        db.session.add(payment)
        db.session.commit()


def alert_body(
    payment_id: str, status: str, sub_status: str | None = None, amount: int = 1500000, **info: Any
) -> dict[str, Any]:
    """An alert in the seed's shape."""
    now = int(time.time())
    payment_info = {
        "amount": amount,
        "old_amount": amount,
        "initial_amount": amount,
        "currency": "KZT",
        "lifetime": 600,
        "expiration_date": now + 600,
        "updated_date": now,
        "created_date": now,
        "method": "mobile-ecom",
        "widget_method": "payin-ecom-mobile",
        "type": "payin",
    }
    payment_info.update(info)
    return {
        "project_id": PROJECT_ID,
        "general": {"request_id": "16a10539fcb34ff5a3e286625a2dc3d3", "payment_id": payment_id},
        "status": {"status": status, "sub_status": sub_status, "status_description": None},
        "payment_info": payment_info,
    }


def signed_headers(body: dict[str, Any], signer: Any = None) -> dict[str, str]:
    """HighHelp's callback headers for `body`."""
    timestamp = str(int(time.time()))
    return {
        "x-access-signature": (signer or callback_signer()).sign(body, timestamp),
        "x-access-timestamp": timestamp,
        "content-type": "application/json",
    }


KIND_OF = {"success": "success", "decline": "decline"}


def post_alert(
    client: FlaskClient, body: dict[str, Any], headers: dict[str, str] | None = None
) -> TestResponse:
    """POST an alert to the URL its status belongs to."""
    kind = KIND_OF.get(body["status"]["status"], "info")
    return client.post(
        f"/highhelp/callbacks/{kind}", data=json.dumps(body), headers=headers or signed_headers(body)
    )


def payment_row(app: Flask, payment_id: str) -> Payment:
    """The payment as stored now."""
    with app.app_context():
        payment = db.session.execute(select(Payment).where(Payment.payment_id == payment_id)).scalar_one()
        db.session.expunge(payment)
        return payment


def order_status(app: Flask, token: str) -> str:
    """open or paid."""
    with app.app_context():
        return db.session.execute(select(Order.status).where(Order.token == token)).scalar_one()


def alert_count(app: Flask) -> int:
    """How many alerts the inbox holds."""
    with app.app_context():
        return db.session.execute(select(func.count()).select_from(CallbackAlert)).scalar_one()


def verdicts(app: Flask) -> list[str]:
    """The verdict of every stored alert, oldest first."""
    with app.app_context():
        return list(db.session.execute(select(CallbackAlert.verdict).order_by(CallbackAlert.id)).scalars())


def sign_with(private_pem: bytes) -> signing.RsaSigner:
    """A signer for another key, to forge alerts."""
    return signing.RsaSigner(signing.load_private_key(private_pem))
