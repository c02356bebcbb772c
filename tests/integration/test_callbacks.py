"""HighHelp's callbacks at our endpoints: authentication, idempotency, order and money rules."""

from __future__ import annotations

import json
from concurrent.futures import ThreadPoolExecutor

import pytest
import requests
from flask import Flask
from flask.testing import FlaskClient

from tests.checkout_support import (
    alert_body,
    alert_count,
    make_attempt,
    make_order,
    order_status,
    payment_row,
    post_alert,
    sign_with,
    signed_headers,
    verdicts,
)
from tests.conftest import KEYS, merchant_signer
from tests.processes import serving_wsgi


@pytest.fixture
def paid_setup(app: Flask) -> str:
    token = make_order(app)
    make_attempt(app, token, "pay-1", state="processing:awaiting_3ds_result")
    return token


def test_success_marks_the_order_paid(app: Flask, client: FlaskClient, paid_setup: str) -> None:
    response = post_alert(client, alert_body("pay-1", "success"))
    assert response.status_code == 200
    assert response.json == {"status": "ok", "verdict": "applied"}
    assert order_status(app, paid_setup) == "paid"
    payment = payment_row(app, "pay-1")
    assert (payment.state, payment.is_open, payment.needs_review) == ("success", False, False)


@pytest.mark.parametrize(
    "case", ["merchant-key", "no-signature", "no-timestamp", "garbled", "other-timestamp", "tampered"]
)
def test_forged_or_broken_signatures_change_nothing(
    app: Flask, client: FlaskClient, paid_setup: str, case: str
) -> None:
    body = alert_body("pay-1", "success")
    headers = signed_headers(body)
    raw = json.dumps(body)
    if case == "merchant-key":
        headers = signed_headers(body, merchant_signer())
    elif case == "no-signature":
        del headers["x-access-signature"]
    elif case == "no-timestamp":
        del headers["x-access-timestamp"]
    elif case == "garbled":
        headers["x-access-signature"] = "%%%not-base64%%%"
    elif case == "other-timestamp":
        headers["x-access-timestamp"] = str(int(headers["x-access-timestamp"]) + 1)
    elif case == "tampered":
        raw = raw.replace('"success"', '"decline"', 1)
    response = client.post("/highhelp/callbacks/success", data=raw, headers=headers)
    assert response.status_code == 401
    assert "signature check failed" in response.json["reason"]
    assert alert_count(app) == 0
    assert order_status(app, paid_setup) == "open"
    assert payment_row(app, "pay-1").state == "processing:awaiting_3ds_result"


def test_malformed_but_signed_body_is_refused(app: Flask, client: FlaskClient, paid_setup: str) -> None:
    body = {"project_id": "x", "general": {"payment_id": "pay-1"}}
    response = post_alert(client, {**body, "status": {"status": "success"}})
    assert response.status_code == 400
    assert "payment_info" in response.json["reason"]
    assert alert_count(app) == 0


def test_duplicate_alert_has_no_effect(app: Flask, client: FlaskClient, paid_setup: str) -> None:
    body = alert_body("pay-1", "success")
    assert post_alert(client, body).json["verdict"] == "applied"
    version = payment_row(app, "pay-1").version
    assert post_alert(client, body).json == {"status": "ok", "verdict": "duplicate"}
    assert payment_row(app, "pay-1").version == version
    assert alert_count(app) == 1


def test_twenty_concurrent_duplicate_successes_pay_once(app: Flask, paid_setup: str) -> None:
    body = alert_body("pay-1", "success")
    with serving_wsgi(app) as url:

        def send(_: int) -> requests.Response:
            return requests.post(
                f"{url}/highhelp/callbacks/success",
                data=json.dumps(body),
                headers=signed_headers(body),
                timeout=30,
            )

        with ThreadPoolExecutor(max_workers=20) as pool:
            responses = list(pool.map(send, range(20)))
    assert [response.status_code for response in responses] == [200] * 20
    answered = sorted(response.json()["verdict"] for response in responses)
    assert answered == ["applied"] + ["duplicate"] * 19
    assert alert_count(app) == 1
    assert order_status(app, paid_setup) == "paid"
    payment = payment_row(app, "pay-1")
    assert payment.state == "success"
    # new → success is one transition: the version moved exactly once.
    assert payment.version == 1


def test_informative_after_final_keeps_final(app: Flask, client: FlaskClient, paid_setup: str) -> None:
    post_alert(client, alert_body("pay-1", "success"))
    response = post_alert(client, alert_body("pay-1", "processing", "paid"))
    assert response.json["verdict"] == "final_kept"
    assert payment_row(app, "pay-1").state == "success"
    assert order_status(app, paid_setup) == "paid"


def test_late_informative_alert_is_stale(app: Flask, client: FlaskClient, paid_setup: str) -> None:
    post_alert(client, alert_body("pay-1", "processing", "paid"))
    assert post_alert(client, alert_body("pay-1", "processing", "requisites")).json["verdict"] == "stale"
    assert payment_row(app, "pay-1").state == "processing:paid"


@pytest.mark.parametrize(
    ("changes", "reason"),
    [
        ({"amount": 1499999}, "amount 1499999 instead of 1500000"),
        ({"currency": "USD"}, "currency USD instead of KZT"),
        ({"old_amount": 1600000}, "changed the amount"),
    ],
    ids=["amount", "currency", "amount-changed"],
)
def test_amount_mismatch_needs_review_and_is_not_paid(
    app: Flask, client: FlaskClient, paid_setup: str, changes: dict[str, object], reason: str
) -> None:
    body = alert_body("pay-1", "success")
    body["payment_info"].update(changes)
    assert post_alert(client, body).status_code == 200
    payment = payment_row(app, "pay-1")
    assert payment.state == "success"
    assert payment.needs_review
    assert reason in (payment.review_reason or "")
    assert order_status(app, paid_setup) == "open"
    page = client.get(f"/orders/{paid_setup}?lang=en").get_data(as_text=True)
    assert "We are checking your payment" in page
    assert "Try again" not in page


def test_decline_after_success_is_a_conflict_for_review(
    app: Flask, client: FlaskClient, paid_setup: str
) -> None:
    post_alert(client, alert_body("pay-1", "success"))
    assert post_alert(client, alert_body("pay-1", "decline")).json["verdict"] == "conflict"
    payment = payment_row(app, "pay-1")
    assert payment.state == "success"
    assert payment.needs_review
    assert order_status(app, paid_setup) == "paid"


def test_second_successful_attempt_is_flagged_not_paid_twice(app: Flask, client: FlaskClient) -> None:
    token = make_order(app)
    make_attempt(app, token, "pay-1", state="processing:paid", is_open=False)
    make_attempt(app, token, "pay-2", state="processing:paid")
    post_alert(client, alert_body("pay-2", "success"))
    post_alert(client, alert_body("pay-1", "success"))
    assert order_status(app, token) == "paid"
    late = payment_row(app, "pay-1")
    assert late.needs_review
    assert late.review_reason == "order was already paid by another payment"


def test_callback_before_the_create_answer_lands(app: Flask, client: FlaskClient) -> None:
    token = make_order(app)
    make_attempt(app, token, "pay-early", state=None)
    assert (
        post_alert(client, alert_body("pay-early", "processing", "requisites")).json["verdict"] == "applied"
    )
    assert post_alert(client, alert_body("pay-early", "success")).json["verdict"] == "applied"
    assert order_status(app, token) == "paid"


def test_unknown_payment_is_acknowledged_and_kept_as_orphan(app: Flask, client: FlaskClient) -> None:
    response = post_alert(client, alert_body("never-seen", "success"))
    assert response.status_code == 200
    assert response.json["verdict"] == "orphan"
    assert verdicts(app) == ["orphan"]


def test_alert_for_another_cash_register_is_an_orphan(
    app: Flask, client: FlaskClient, paid_setup: str
) -> None:
    body = alert_body("pay-1", "success")
    body["project_id"] = "another-register"
    assert post_alert(client, body).json["verdict"] == "orphan"
    assert order_status(app, paid_setup) == "open"


def test_oversized_body_is_refused(app: Flask, client: FlaskClient, paid_setup: str) -> None:
    body = alert_body("pay-1", "success")
    body["padding"] = "x" * 70_000
    response = post_alert(client, body)
    assert response.status_code == 413
    assert alert_count(app) == 0
    assert order_status(app, paid_setup) == "open"


def test_callbacks_need_no_csrf_token_but_forms_do(app: Flask, paid_setup: str) -> None:
    app.config["WTF_CSRF_ENABLED"] = True
    client = app.test_client()
    assert post_alert(client, alert_body("pay-1", "success")).status_code == 200
    assert client.post(f"/orders/{paid_setup}/pay").status_code == 400


def test_unknown_key_file_is_not_trusted(app: Flask, client: FlaskClient, paid_setup: str) -> None:
    body = alert_body("pay-1", "success")
    forged = sign_with((KEYS / "merchant_private.pem").read_bytes())
    assert post_alert(client, body, signed_headers(body, forged)).status_code == 401
