"""The review queue: flagged payments, orphan callbacks, stuck attempts; resolved with a required note."""

from __future__ import annotations

from collections.abc import Callable
from datetime import timedelta

import pytest
from flask import Flask
from flask.testing import FlaskClient
from sqlalchemy import func, select

from checkout.extensions import db
from checkout.models import Event, EventKind, Order, Payment, ReviewResolution, StaffRole
from checkout.payments.review_queue import open_item_count
from checkout.sqltypes import utcnow
from tests.checkout_support import alert_body, make_attempt, make_order, payment_row, post_alert
from tests.merchant_support import page_csrf, signed_in

NOTE = "Refunded in the cabinet, ref R-20931"


@pytest.fixture
def shop(make_app: Callable[..., Flask]) -> Flask:
    return make_app(PUBLIC_BASE_URL="https://shop.example.kz")


def queue(client: FlaskClient) -> str:
    response = client.get("/merchant/review?lang=en")
    assert response.status_code == 200
    return response.get_data(as_text=True)


def ref_of(app: Flask, payment_id: str) -> int:
    return payment_row(app, payment_id).id


def order_number(app: Flask, token: str) -> int:
    with app.app_context():
        return db.session.execute(select(Order.id).where(Order.token == token)).scalar_one()


def resolve(client: FlaskClient, kind: str, ref: int, note: str) -> tuple[int, str]:
    """Press Resolved on one item; the status and the page shown after."""
    csrf = page_csrf(client, "/merchant/review")
    response = client.post(f"/merchant/review/{kind}/{ref}/resolve", data={"csrf_token": csrf, "note": note})
    if response.status_code == 303:
        return 303, queue(client)
    return response.status_code, response.get_data(as_text=True)


def resolutions(app: Flask) -> int:
    with app.app_context():
        return db.session.execute(select(func.count()).select_from(ReviewResolution)).scalar_one()


def count(app: Flask) -> int:
    with app.app_context():
        return open_item_count()


def test_double_payment_is_listed_with_what_to_do(shop: Flask) -> None:
    token = make_order(shop)
    make_attempt(shop, token, "KZ1-1-aaaaaa", "success", is_open=False)
    make_attempt(
        shop,
        token,
        "KZ1-2-bbbbbb",
        "success",
        is_open=False,
        needs_review=True,
        review_reason="order was already paid by another payment",
    )
    page = queue(signed_in(shop, StaffRole.VIEWER))
    assert "The order was already paid by another payment: the customer paid twice." in page
    assert "Refund this second payment in HighHelp&#39;s merchant cabinet" in page or (
        "Refund this second payment in HighHelp's merchant cabinet" in page
    )
    assert "KZ1-2-bbbbbb" in page
    assert "KZ1-1-aaaaaa" not in page
    assert f'href="/merchant/orders/{order_number(shop, token)}#attempt-' in page
    assert 'name="note"' not in page  # a viewer gets no Resolved form
    assert count(shop) == 1


def test_amount_mismatch_from_a_callback_is_listed(shop: Flask) -> None:
    token = make_order(shop)
    make_attempt(shop, token, "KZ1-1-aaaaaa")
    assert (
        post_alert(shop.test_client(), alert_body("KZ1-1-aaaaaa", "success", amount=100)).status_code == 200
    )
    page = queue(signed_in(shop, StaffRole.VIEWER))
    assert "HighHelp reports another amount or currency than the order" in page
    assert "amount 100 instead of 1500000" in page


def test_orphan_callback_is_listed_and_resolved_without_an_order(shop: Flask) -> None:
    assert post_alert(shop.test_client(), alert_body("KZ-UNKNOWN-1", "success")).status_code == 200
    client = signed_in(shop, StaffRole.OPERATOR, "op@example.kz")
    page = queue(client)
    assert "a payment_id this shop does not know" in page
    assert "KZ-UNKNOWN-1" in page
    assert count(shop) == 1
    with shop.app_context():
        alert_id = db.session.execute(select(func.max(Event.alert_id))).scalar_one()
    status, page = resolve(client, "alert", alert_id, NOTE)
    assert status == 303
    assert "KZ-UNKNOWN-1" not in page
    assert count(shop) == 0
    with shop.app_context():
        event = db.session.execute(select(Event).where(Event.kind == EventKind.REVIEW_RESOLVED)).scalar_one()
        assert (event.order_id, event.payment_ref, event.alert_id) == (None, None, alert_id)
        assert event.data["note"] == NOTE


def test_stuck_attempts_are_listed_only_past_lifetime_and_grace(shop: Flask) -> None:
    now = utcnow()
    for payment_id, state, values in [
        ("KZ1-1-stuck1", "processing:new", {"expires_at": now - timedelta(minutes=11)}),
        ("KZ2-1-fresh1", "processing:new", {"expires_at": now - timedelta(minutes=5)}),
        # HighHelp never answered: its lifetime (600 s) counts from when it was stored.
        ("KZ3-1-never1", None, {"created_at": now - timedelta(minutes=21)}),
        ("KZ4-1-never2", None, {"created_at": now - timedelta(minutes=15)}),
    ]:
        make_attempt(shop, make_order(shop), payment_id, state, **values)
    page = queue(signed_in(shop, StaffRole.VIEWER))
    assert "KZ1-1-stuck1" in page
    assert "KZ3-1-never1" in page
    assert "KZ2-1-fresh1" not in page
    assert "KZ4-1-never2" not in page
    assert "the reconciler could not settle it" in page
    assert count(shop) == 2


def test_items_are_newest_first(shop: Flask) -> None:
    now = utcnow()
    make_attempt(
        shop, make_order(shop), "KZ1-1-older1", "processing:new", expires_at=now - timedelta(hours=2)
    )
    make_attempt(
        shop, make_order(shop), "KZ2-1-newer1", "processing:new", expires_at=now - timedelta(hours=1)
    )
    page = queue(signed_in(shop, StaffRole.VIEWER))
    assert page.index("KZ2-1-newer1") < page.index("KZ1-1-older1")


def test_resolve_needs_a_note(shop: Flask) -> None:
    token = make_order(shop)
    make_attempt(
        shop,
        token,
        "KZ1-1-aaaaaa",
        "success",
        is_open=False,
        needs_review=True,
        review_reason="amount 1 instead of 1500000",
    )
    client = signed_in(shop, StaffRole.OPERATOR)
    status, page = resolve(client, "payment", ref_of(shop, "KZ1-1-aaaaaa"), "   ")
    assert status == 400
    assert "Write a note: what you found and what you did." in page
    assert 'aria-invalid="true"' in page
    assert resolutions(shop) == 0
    assert payment_row(shop, "KZ1-1-aaaaaa").needs_review is True
    assert count(shop) == 1


def test_resolved_payment_leaves_the_queue_and_its_note_stays_with_staff(shop: Flask) -> None:
    token = make_order(shop)
    reason = "order was already paid by another payment"
    make_attempt(
        shop, token, "KZ1-1-aaaaaa", "success", is_open=False, needs_review=True, review_reason=reason
    )
    client = signed_in(shop, StaffRole.OPERATOR, "op@example.kz")
    ref = ref_of(shop, "KZ1-1-aaaaaa")

    status, page = resolve(client, "payment", ref, NOTE)
    assert status == 303
    assert (
        "Resolved. The note is kept with the item&#39;s history." in page
        or "Resolved. The note is kept" in page
    )
    assert "KZ1-1-aaaaaa" not in page
    payment = payment_row(shop, "KZ1-1-aaaaaa")
    assert (payment.needs_review, payment.review_reason) == (False, reason)
    assert count(shop) == 0

    detail = client.get(f"/merchant/orders/{order_number(shop, token)}?lang=en").get_data(as_text=True)
    assert "Review item resolved" in detail
    assert NOTE in detail
    assert "op@example.kz" in detail
    customer = shop.test_client()
    assert NOTE not in customer.get(f"/orders/{token}?lang=en").get_data(as_text=True)
    assert NOTE not in customer.get(f"/orders/{token}/status?lang=en").get_data(as_text=True)


def test_second_resolve_of_the_same_item_is_harmless(shop: Flask) -> None:
    token = make_order(shop)
    make_attempt(shop, token, "KZ1-1-stuck1", "processing:new", expires_at=utcnow() - timedelta(hours=1))
    first, second = (
        signed_in(shop, StaffRole.OPERATOR, "a@example.kz"),
        signed_in(shop, StaffRole.OWNER, "b@example.kz"),
    )
    ref = ref_of(shop, "KZ1-1-stuck1")
    assert resolve(first, "stuck", ref, NOTE)[0] == 303
    status, page = resolve(second, "stuck", ref, "me too")
    assert status == 303
    assert "This item was already resolved; nothing more was stored." in page
    assert resolutions(shop) == 1
    with shop.app_context():
        kinds = db.session.execute(select(Event.kind).where(Event.kind == EventKind.REVIEW_RESOLVED)).all()
        assert len(kinds) == 1
        assert db.session.get(Payment, ref).is_open is True  # resolving changes no payment state


def test_resolving_nothing_open_stores_nothing(shop: Flask) -> None:
    token = make_order(shop)
    make_attempt(shop, token, "KZ1-1-aaaaaa")  # fine: not in the queue
    client = signed_in(shop, StaffRole.OPERATOR)
    status, page = resolve(client, "payment", ref_of(shop, "KZ1-1-aaaaaa"), NOTE)
    assert status == 303
    assert "This item is no longer open; nothing was stored." in page
    assert resolutions(shop) == 0


@pytest.mark.parametrize(
    "path",
    [
        "/merchant/review/other/1/resolve",
        "/merchant/review/payment/0/resolve",
        "/merchant/review/payment/99999999999999/resolve",
    ],
)
def test_bad_item_addresses_are_404(shop: Flask, path: str) -> None:
    client = signed_in(shop, StaffRole.OPERATOR)
    csrf = page_csrf(client, "/merchant/review")
    assert client.post(path, data={"csrf_token": csrf, "note": NOTE}).status_code == 404


def test_viewer_cannot_resolve(shop: Flask) -> None:
    token = make_order(shop)
    make_attempt(shop, token, "KZ1-1-aaaaaa", "success", is_open=False, needs_review=True, review_reason="x")
    client = signed_in(shop, StaffRole.VIEWER)
    status, _ = resolve(client, "payment", ref_of(shop, "KZ1-1-aaaaaa"), NOTE)
    assert status == 403
    assert resolutions(shop) == 0


def test_empty_queue_says_so(shop: Flask) -> None:
    assert "Nothing waits for review." in queue(signed_in(shop, StaffRole.VIEWER))


def test_a_cleared_amount_mismatch_never_lets_a_wrong_success_pay_the_order(shop: Flask) -> None:
    token = make_order(shop)
    make_attempt(shop, token, "KZ-1")
    client = shop.test_client()
    wrong = alert_body("KZ-1", "processing", "paid", amount=1499999)
    post_alert(client, wrong)
    assert payment_row(shop, "KZ-1").needs_review
    operator = signed_in(shop, StaffRole.OPERATOR)
    assert resolve(operator, "payment", ref_of(shop, "KZ-1"), NOTE)[0] == 303
    assert not payment_row(shop, "KZ-1").needs_review
    # HighHelp then reports success with the same wrong amount: flagged again, never paid.
    post_alert(client, alert_body("KZ-1", "success", amount=1499999))
    payment = payment_row(shop, "KZ-1")
    assert payment.state == "success"
    assert payment.needs_review
    with shop.app_context():
        assert db.session.execute(select(Order.status).where(Order.token == token)).scalar_one() == "open"


def test_a_note_with_control_characters_is_stored_without_them(shop: Flask) -> None:
    assert post_alert(shop.test_client(), alert_body("KZ-nobody", "success")).status_code == 200
    with shop.app_context():
        alert_id = db.session.execute(select(func.min(Event.alert_id))).scalar_one()
    operator = signed_in(shop, StaffRole.OPERATOR)
    assert resolve(operator, "alert", alert_id, "Checked\x00 in the cabinet\nnot ours")[0] == 303
    with shop.app_context():
        note = db.session.execute(select(ReviewResolution.note)).scalar_one()
    assert note == "Checked in the cabinet\nnot ours"
