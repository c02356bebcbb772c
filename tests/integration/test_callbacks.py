"""HighHelp's callbacks at our endpoints: authentication, idempotency, order and money rules."""

from __future__ import annotations

import json
from concurrent.futures import ThreadPoolExecutor

import pytest
import requests
from flask import Flask
from flask.testing import FlaskClient
from sqlalchemy import select

from checkout.extensions import db
from checkout.highhelp import assumed
from checkout.models import CallbackAlert, Order, Payment
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


def table_snapshot(app: Flask) -> dict[str, list[dict[str, object]]]:
    """Every row of the tables a callback may touch, column by column."""
    with app.app_context():
        return {
            table.name: [dict(row._mapping) for row in db.session.execute(select(table).order_by(table.c.id))]
            for table in (Order.__table__, Payment.__table__, CallbackAlert.__table__)
        }


def test_an_earlier_alert_replayed_after_later_ones_changes_nothing(app: Flask, client: FlaskClient) -> None:
    token = make_order(app)
    make_attempt(app, token, "pay-1", state="processing:new")
    sequence = [
        alert_body("pay-1", "processing", "requisites"),
        alert_body("pay-1", "processing", "awaiting_3ds_result"),
        alert_body("pay-1", "processing", "sent_verification"),
        alert_body("pay-1", "processing", "paid"),
    ]
    sent = [(json.dumps(body), signed_headers(body)) for body in sequence]
    for raw, headers in sent:
        assert client.post("/highhelp/callbacks/info", data=raw, headers=headers).json["verdict"] == "applied"
    before = table_snapshot(app)
    for raw, headers in sent[:3]:
        response = client.post("/highhelp/callbacks/info", data=raw, headers=headers)
        assert response.status_code == 200
        assert response.json == {"status": "ok", "verdict": "duplicate"}
    assert table_snapshot(app) == before
    assert payment_row(app, "pay-1").state == "processing:paid"


def test_a_replayed_success_after_the_order_is_paid_changes_nothing(app: Flask, client: FlaskClient) -> None:
    token = make_order(app)
    make_attempt(app, token, "pay-1", state="processing:paid")
    success = alert_body("pay-1", "success")
    raw, headers = json.dumps(success), signed_headers(success)
    assert client.post("/highhelp/callbacks/success", data=raw, headers=headers).json["verdict"] == "applied"
    post_alert(client, alert_body("pay-1", "processing", "paid"))
    before = table_snapshot(app)
    replay = client.post("/highhelp/callbacks/success", data=raw, headers=headers)
    assert replay.json == {"status": "ok", "verdict": "duplicate"}
    assert table_snapshot(app) == before


@pytest.mark.parametrize("variant", ["None-text", "empty-object"])
def test_a_signature_equivalent_body_is_the_same_alert(
    app: Flask, client: FlaskClient, paid_setup: str, variant: str
) -> None:
    """A captured success re-sent with "None" for null (or an extra {}) verifies, and is a duplicate."""
    body = alert_body("pay-1", "success")
    assert post_alert(client, body).json["verdict"] == "applied"
    before = table_snapshot(app)
    resent = json.loads(json.dumps(body))
    if variant == "None-text":
        resent["status"]["sub_status"] = "None"
    else:
        resent["padding"] = {}
    # The signature made for the original body verifies the variant too.
    headers = signed_headers(body)
    response = client.post("/highhelp/callbacks/success", data=json.dumps(resent), headers=headers)
    assert response.status_code == 200
    assert response.json["verdict"] == "duplicate"
    assert table_snapshot(app) == before
    payment = payment_row(app, "pay-1")
    assert (payment.state, payment.needs_review) == ("success", False)


def test_a_first_alert_with_none_text_is_read_as_null(
    app: Flask, client: FlaskClient, paid_setup: str
) -> None:
    body = alert_body("pay-1", "success")
    body["status"]["sub_status"] = "None"
    assert post_alert(client, body).json["verdict"] == "applied"
    payment = payment_row(app, "pay-1")
    assert (payment.state, payment.needs_review) == ("success", False)
    assert order_status(app, paid_setup) == "paid"


def test_an_unknown_long_sub_status_is_stored_and_never_final(
    app: Flask, client: FlaskClient, paid_setup: str
) -> None:
    sub_status = "awaiting_operator_balance_reserve"  # 33 characters, unknown to the seed
    response = post_alert(client, alert_body("pay-1", "processing", sub_status))
    assert response.status_code == 200
    assert response.json["verdict"] == "applied"
    payment = payment_row(app, "pay-1")
    assert (payment.state, payment.is_open) == (f"processing:{sub_status}", True)
    assert post_alert(client, alert_body("pay-1", "success")).json["verdict"] == "applied"
    assert order_status(app, paid_setup) == "paid"


def test_longest_status_values_fit_the_database(app: Flask, client: FlaskClient, paid_setup: str) -> None:
    longest = "s" * assumed.STATUS_MAX_LENGTH
    body = alert_body(
        "pay-1", longest, "ы" * assumed.STATUS_MAX_LENGTH, method="m" * assumed.STATUS_MAX_LENGTH
    )
    body["status"]["status_description"] = "d" * 5000
    assert post_alert(client, body).status_code == 200
    payment = payment_row(app, "pay-1")
    assert payment.state == f"{longest}:{'ы' * assumed.STATUS_MAX_LENGTH}"
    assert payment.is_open
    assert len(payment.status_description or "") == assumed.DESCRIPTION_STORED_LENGTH


def test_a_refused_body_with_booleans_says_they_are_the_likely_cause(
    app: Flask, client: FlaskClient, paid_setup: str, caplog: pytest.LogCaptureFixture
) -> None:
    body = alert_body("pay-1", "success")
    body["payment_info"]["is_test"] = True
    # HighHelp might have written `true` where we write 1: simulate with a body signed differently.
    signed = json.loads(json.dumps(body))
    signed["payment_info"]["is_test"] = "true"
    response = client.post(
        "/highhelp/callbacks/success", data=json.dumps(body), headers=signed_headers(signed)
    )
    assert response.status_code == 401
    assert "booleans" in caplog.text
    assert alert_count(app) == 0
    caplog.clear()
    plain = alert_body("pay-1", "success")
    forged = signed_headers(plain, sign_with((KEYS / "merchant_private.pem").read_bytes()))
    assert post_alert(client, plain, forged).status_code == 401
    assert "booleans" not in caplog.text


def test_a_description_with_nul_is_stored_readably(app: Flask, client: FlaskClient, paid_setup: str) -> None:
    body = alert_body("pay-1", "decline")
    body["status"]["status_description"] = "Operator\x00 said no"
    assert post_alert(client, body).json["verdict"] == "applied"
    payment = payment_row(app, "pay-1")
    assert (payment.state, payment.status_description) == ("decline", "Operator\ufffd said no")


@pytest.mark.parametrize(
    ("path", "value"),
    [
        (("general", "payment_id"), "pay-1\x00"),
        (("status", "status"), "success:x"),
        (("status", "sub_status"), "\x00"),
    ],
    ids=["nul-payment-id", "separator-in-status", "nul-sub-status"],
)
def test_identifiers_a_database_cannot_hold_are_refused(
    app: Flask, client: FlaskClient, paid_setup: str, path: tuple[str, str], value: str
) -> None:
    body = alert_body("pay-1", "processing", "paid")
    body[path[0]][path[1]] = value
    response = post_alert(client, body)
    assert response.status_code == 400
    assert alert_count(app) == 0
    assert payment_row(app, "pay-1").state == "processing:awaiting_3ds_result"
