"""Buying and paying: cart, order, store-then-create, failures while creating, the order page."""

from __future__ import annotations

import re
from collections.abc import Callable
from typing import Any

import pytest
from flask import Flask
from flask.testing import FlaskClient
from sqlalchemy import func, select
from sqlalchemy.exc import IntegrityError

from checkout.extensions import db
from checkout.models import Order, Payment
from checkout.ratelimits import PAY_LIMIT_PER_ORDER
from checkout.shop.catalog import load_demo_products
from tests.checkout_support import alert_body, csrf_of, make_attempt, make_order, order_status, post_alert
from tests.highhelp_double import HighHelpDouble, Reply, answer_for


@pytest.fixture
def shop(make_app: Callable[..., Flask], double: HighHelpDouble) -> Flask:
    app = make_app(HIGHHELP_API_URL=double.url, PUBLIC_BASE_URL="https://shop.example.kz")
    with app.app_context():
        load_demo_products()
    return app


def fill_cart(client: FlaskClient, quantity: int = 1) -> str:
    """Put the catalogue's first product in the cart; its id."""
    page = client.get("/?lang=en").get_data(as_text=True)
    product_id = re.search(r'/cart/(\d+)"', page).group(1)  # type: ignore[union-attr]
    client.post(f"/cart/{product_id}", data={"csrf_token": csrf_of(page), "quantity": str(quantity)})
    return product_id


def order_via_cart(client: FlaskClient, email: str = "") -> str:
    """Add the first product twice and place the order; the order page's URL path."""
    fill_cart(client, quantity=2)
    cart = client.get("/cart").get_data(as_text=True)
    response = client.post("/checkout", data={"csrf_token": csrf_of(cart), "email": email})
    assert response.status_code == 303, response.get_data(as_text=True)
    return response.headers["Location"]


def press_pay(client: FlaskClient, order_path: str, token: str | None = None) -> Any:
    """Press the pay button of the order page (or submit the same form again with `token`)."""
    token = token or csrf_of(client.get(order_path).get_data(as_text=True))
    return client.post(order_path + "/pay", data={"csrf_token": token})


def payments(app: Flask) -> list[Payment]:
    with app.app_context():
        found = list(db.session.execute(select(Payment).order_by(Payment.id)).scalars())
        for payment in found:
            db.session.expunge(payment)
        return found


def creates(double: HighHelpDouble) -> list[dict[str, Any]]:
    return [body for path, _, body in double.received if path == "/api/v1/widget/payin"]


def test_order_from_the_cart_has_catalogue_prices(shop: Flask, double: HighHelpDouble) -> None:
    client = shop.test_client()
    path = order_via_cart(client, "buyer@example.kz")
    with shop.app_context():
        order = db.session.execute(select(Order)).scalar_one()
        assert order.amount == 2 * 4_500_000
        assert order.email == "buyer@example.kz"
        assert [(line.name, line.quantity) for line in order.lines] == [("Dombra", 2)]
        assert path == f"/orders/{order.token}"
    page = client.get(path + "?lang=ru").get_data(as_text=True)
    assert "90\u00a0000,00\u00a0₸" in page
    # The pay button states what will be charged.
    english = client.get(path + "?lang=en").get_data(as_text=True)
    assert "Pay 90\u00a0000,00\u00a0₸" in english


def test_invalid_email_is_explained_and_nothing_is_ordered(shop: Flask) -> None:
    client = shop.test_client()
    fill_cart(client)
    cart = client.get("/cart").get_data(as_text=True)
    response = client.post("/checkout", data={"csrf_token": csrf_of(cart), "email": "not-an-email"})
    assert response.status_code == 400
    assert "This does not look like an email address." in response.get_data(as_text=True)
    with shop.app_context():
        assert db.session.execute(select(func.count()).select_from(Order)).scalar_one() == 0


def test_pay_stores_then_creates_and_redirects_to_highhelp(shop: Flask, double: HighHelpDouble) -> None:
    client = shop.test_client()
    path = order_via_cart(client, "buyer@example.kz")
    response = press_pay(client, path)
    assert response.status_code == 303
    assert response.headers["Location"] == "https://ppage.example.kz/widget/abc123"
    [body] = creates(double)
    [payment] = payments(shop)
    assert body["general"]["payment_id"] == payment.payment_id
    assert (
        body["general"]["merchant_success_callback_url"]
        == "https://shop.example.kz/highhelp/callbacks/success"
    )
    assert (
        body["general"]["merchant_decline_callback_url"]
        == "https://shop.example.kz/highhelp/callbacks/decline"
    )
    assert body["general"]["merchant_callback_url"] == "https://shop.example.kz/highhelp/callbacks/info"
    assert body["general"]["redirect_url"] == "https://shop.example.kz" + path
    assert body["payment"] == {
        "amount": 9_000_000,
        "currency": "KZT",
        "lifetime": 600,
        "widget_method": "payin-ecom-mobile",
        "description": body["payment"]["description"],
    }
    assert body["payment"]["description"].startswith("Order ")
    assert body["customer"]["country"] == "KZ"
    assert body["customer"]["language"] == "en"
    assert body["customer"]["ip_address"] == "127.0.0.1"
    assert body["customer"]["email"] == "buyer@example.kz"
    assert body["customer"]["id"].startswith("cus_")
    assert (payment.state, payment.form_url, payment.is_open) == (
        "processing:new",
        "https://ppage.example.kz/widget/abc123",
        True,
    )


def test_double_click_creates_one_payin(shop: Flask, double: HighHelpDouble) -> None:
    client = shop.test_client()
    path = order_via_cart(client)
    token = csrf_of(client.get(path).get_data(as_text=True))
    first, second = press_pay(client, path, token), press_pay(client, path, token)
    assert first.headers["Location"] == second.headers["Location"]
    assert len(creates(double)) == 1
    assert len(payments(shop)) == 1


def test_database_refuses_a_second_open_attempt(shop: Flask) -> None:
    token = make_order(shop)
    make_attempt(shop, token, "a-1")
    with pytest.raises(IntegrityError):
        make_attempt(shop, token, "a-2")


@pytest.mark.parametrize(
    ("reply", "words"),
    [
        (Reply(503, b"down for maintenance"), "The payment service did not answer"),
        (Reply.json(200, {}, delay=30), "The payment service did not answer"),
        (
            Reply.json(400, {"status": "error", "status_description": "limit exceeded"}),
            "could not start this payment",
        ),
    ],
    ids=["5xx", "timeout", "refused"],
)
def test_highhelp_failure_shows_a_clear_page_keeps_the_attempt_and_retry_works(
    shop: Flask, double: HighHelpDouble, reply: Reply, words: str
) -> None:
    from checkout.gateway import highhelp_client

    with shop.test_request_context():
        highhelp_client().timeouts = (1.0, 1.0)
    client = shop.test_client()
    path = order_via_cart(client)
    double.reply = lambda p, body: reply
    failed = press_pay(client, path)
    assert failed.status_code == 503
    page = failed.get_data(as_text=True)
    assert words in page
    assert "Nothing was charged" in page
    assert "Try again" in page
    [kept] = payments(shop)
    assert kept.is_open
    assert kept.last_error
    double.reply = None
    retried = press_pay(client, path)
    assert retried.status_code == 303
    ids = [body["general"]["payment_id"] for body in creates(double)]
    assert ids == [kept.payment_id] * len(ids)
    assert len(ids) >= 2
    assert [p.payment_id for p in payments(shop)] == [kept.payment_id]


def test_error_page_speaks_russian(shop: Flask, double: HighHelpDouble) -> None:
    client = shop.test_client()
    path = order_via_cart(client)
    client.get(path + "?lang=ru")
    double.reply = lambda p, body: Reply(502, b"")
    page = press_pay(client, path).get_data(as_text=True)
    assert "Платёжный сервис не ответил. Деньги не списаны." in page


def test_after_a_decline_a_new_attempt_gets_a_new_payment_id(shop: Flask, double: HighHelpDouble) -> None:
    client = shop.test_client()
    path = order_via_cart(client)
    press_pay(client, path)
    [first] = payments(shop)
    post_alert(client, alert_body(first.payment_id, "decline", amount=9_000_000))
    page = client.get(path + "?lang=en").get_data(as_text=True)
    assert "The payment did not go through" in page
    assert "No money was taken." in page
    assert press_pay(client, path).status_code == 303
    ids = [p.payment_id for p in payments(shop)]
    assert len(ids) == 2
    assert ids[0] != ids[1]
    assert [p.is_open for p in payments(shop)] == [False, True]


def test_paid_order_is_not_paid_again(shop: Flask, double: HighHelpDouble) -> None:
    client = shop.test_client()
    path = order_via_cart(client)
    token = csrf_of(client.get(path).get_data(as_text=True))
    press_pay(client, path, token)
    [payment] = payments(shop)
    post_alert(client, alert_body(payment.payment_id, "success", amount=9_000_000))
    page = client.get(path + "?lang=en").get_data(as_text=True)
    assert 'data-phase="paid"' in page
    assert "Thank you!" in page
    assert 'id="pay-button"' not in page
    again = press_pay(client, path, token)
    assert again.status_code == 303
    assert again.headers["Location"] == path
    assert len(creates(double)) == 1


def test_query_parameters_never_change_the_status(shop: Flask) -> None:
    token = make_order(shop)
    make_attempt(shop, token, "pay-1", state="processing:awaiting_3ds_result")
    client = shop.test_client()
    page = client.get(f"/orders/{token}?lang=en&status=success&sub_status=&paid=1").get_data(as_text=True)
    assert 'data-phase="pending"' in page
    assert "Thank you!" not in page
    assert order_status(shop, token) == "open"


def test_pending_status_polls_and_final_status_stops(shop: Flask) -> None:
    token = make_order(shop)
    make_attempt(shop, token, "pay-1", state="processing:awaiting_3ds_result")
    client = shop.test_client()
    pending = client.get(f"/orders/{token}/status?lang=en").get_data(as_text=True)
    assert 'hx-trigger="every 2s"' in pending
    assert "Code sent by SMS" in pending
    slow = client.get(f"/orders/{token}/status?since=1").get_data(as_text=True)
    assert 'hx-trigger="every 5s"' in slow
    post_alert(client, alert_body("pay-1", "success"))
    final = client.get(f"/orders/{token}/status?lang=en").get_data(as_text=True)
    assert "hx-trigger" not in final
    assert 'data-phase="paid"' in final
    assert "Thank you!" in final
    page = client.get(f"/orders/{token}?lang=en").get_data(as_text=True)
    assert "<noscript>" not in page


def test_pending_page_works_without_javascript(shop: Flask) -> None:
    token = make_order(shop)
    make_attempt(shop, token, "pay-1", state="processing:awaiting_3ds_result")
    page = shop.test_client().get(f"/orders/{token}?lang=en").get_data(as_text=True)
    # No timed refresh (axe: meta-refresh); the link does it, and the page says so without JS.
    assert 'http-equiv="refresh"' not in page
    assert "<noscript>To see the latest status, press “Check again”.</noscript>" in page
    assert f'href="/orders/{token}">Check again</a>' in page


def test_stale_status_asks_highhelp_once_per_interval(shop: Flask, double: HighHelpDouble) -> None:
    from datetime import timedelta

    from sqlalchemy import update

    from checkout.sqltypes import utcnow

    token = make_order(shop)
    make_attempt(shop, token, "pay-1", state="processing:awaiting_3ds_result")
    with shop.app_context():
        db.session.execute(update(Payment).values(state_changed_at=utcnow() - timedelta(minutes=1)))
        db.session.commit()
    double.reply = lambda path, body: Reply.json(
        200, {**answer_for(path, body), "status": "success", "sub_status": None}
    )
    client = shop.test_client()
    for _ in range(5):
        client.get(f"/orders/{token}/status")
    infos = [path for path, _, _ in double.received if path.endswith("/info")]
    assert infos == ["/api/v1/widget/payin/info"]
    assert order_status(shop, token) == "paid"


def test_fresh_status_does_not_ask_highhelp(shop: Flask, double: HighHelpDouble) -> None:
    token = make_order(shop)
    make_attempt(shop, token, "pay-1", state="processing:awaiting_3ds_result")
    for _ in range(3):
        shop.test_client().get(f"/orders/{token}/status")
    assert double.received == []


def test_unknown_order_is_404(shop: Flask) -> None:
    assert shop.test_client().get("/orders/not-a-token").status_code == 404


def test_cart_quantity_limits(shop: Flask) -> None:
    client = shop.test_client()
    product_id = fill_cart(client)
    cart = client.get("/cart?lang=en").get_data(as_text=True)
    client.post(f"/cart/{product_id}/quantity", data={"csrf_token": csrf_of(cart), "quantity": "99"})
    assert "Choose from 0 to 20." in client.get("/cart?lang=en").get_data(as_text=True)
    client.post(f"/cart/{product_id}/quantity", data={"csrf_token": csrf_of(cart), "quantity": "0"})
    assert "Your cart is empty." in client.get("/cart?lang=en").get_data(as_text=True)


def test_demo_catalogue_loads_again_without_duplicates(shop: Flask) -> None:
    from checkout.models import Product

    with shop.app_context():
        assert load_demo_products() == 5
        assert db.session.execute(select(func.count()).select_from(Product)).scalar_one() == 5


def test_payment_creation_is_rate_limited_per_order(shop: Flask) -> None:
    token = make_order(shop)
    client = shop.test_client()
    page = client.get(f"/orders/{token}?lang=en").get_data(as_text=True)
    csrf = csrf_of(page)
    presses = range(PAY_LIMIT_PER_ORDER + 1)
    codes = [client.post(f"/orders/{token}/pay", data={"csrf_token": csrf}).status_code for _ in presses]
    assert codes == [303] * PAY_LIMIT_PER_ORDER + [429]
    assert "Too many requests" in client.post(f"/orders/{token}/pay", data={"csrf_token": csrf}).get_data(
        as_text=True
    )


def test_a_refused_press_says_what_to_do_in_the_pages_language_and_leads_back(shop: Flask) -> None:
    token = make_order(shop)
    client = shop.test_client()
    csrf = csrf_of(client.get(f"/orders/{token}?lang=kk").get_data(as_text=True))
    for _ in range(PAY_LIMIT_PER_ORDER):
        client.post(f"/orders/{token}/pay", data={"csrf_token": csrf})
    limited = client.post(f"/orders/{token}/pay", data={"csrf_token": csrf})
    page = limited.get_data(as_text=True)
    assert limited.status_code == 429
    seconds = limited.headers["Retry-After"]
    # Not the limiter's own English ("6 per 1 minute"), but how long to wait, in Kazakh.
    assert "per 1 minute" not in page
    assert f"{seconds} секунд" in page
    assert f'href="/orders/{token}"' in page
    forged = client.post(f"/orders/{token}/cancel", data={})
    page = forged.get_data(as_text=True)
    assert forged.status_code == 400
    assert "CSRF" not in page
    assert "cookie" in page.lower()
    assert f'href="/orders/{token}"' in page
    # An order that does not exist offers no way back to it.
    missing = client.post("/orders/no-such-order/pay", data={"csrf_token": csrf})
    assert missing.status_code == 404
    assert 'href="/orders/no-such-order"' not in missing.get_data(as_text=True)


def test_rate_limits_are_shared_through_redis(make_app: Callable[..., Flask], double: HighHelpDouble) -> None:
    from tests.redis_support import SHARED_REDIS_URL, counters, shared_redis

    with shared_redis() as (store, prefix):
        settings = {"HIGHHELP_API_URL": double.url, "REDIS_URL": SHARED_REDIS_URL, "REDIS_KEY_PREFIX": prefix}
        first, second = make_app(**settings), make_app(**settings)
        for app in (first, second):
            app.config["WTF_CSRF_ENABLED"] = False  # this test is about the limit, not the form
        token = make_order(first)
        codes = [
            (first, second)[press % 2].test_client().post(f"/orders/{token}/pay").status_code
            for press in range(PAY_LIMIT_PER_ORDER + 1)
        ]
        # The limit's presses through two apps pass; one more is refused because the count is shared.
        assert codes == [303] * PAY_LIMIT_PER_ORDER + [429]
        # And it is Redis that counted them: one counter for this order under this run's prefix.
        assert counters(store, prefix, token) == [PAY_LIMIT_PER_ORDER + 1]


def test_language_cookie_is_secure_where_the_session_cookie_is(
    shop: Flask, make_app: Callable[..., Flask]
) -> None:
    assert shop.config["SESSION_COOKIE_SECURE"]  # an https PUBLIC_BASE_URL, as in production
    cookie = shop.test_client().get("/?lang=kk").headers["Set-Cookie"]
    assert cookie.startswith("lang=kk;")
    assert "Secure" in cookie
    local = make_app()  # plain http on a laptop: a Secure cookie would never come back
    assert not local.config["SESSION_COOKIE_SECURE"]
    cookie = local.test_client().get("/?lang=kk").headers["Set-Cookie"]
    assert cookie.startswith("lang=kk;")
    assert "Secure" not in cookie


def test_error_pages_keep_the_headers_of_the_error(shop: Flask) -> None:
    response = shop.test_client().post("/healthz")
    assert response.status_code == 405
    assert set(response.headers["Allow"].split(", ")) == {"GET", "HEAD", "OPTIONS"}
    assert response.content_type == "text/html; charset=utf-8"
    assert "405" in response.get_data(as_text=True)


def test_a_rate_limited_press_says_when_to_come_back_and_others_say_nothing(
    shop: Flask, double: HighHelpDouble
) -> None:
    token = make_order(shop)
    client = shop.test_client()
    page = client.get(f"/orders/{token}").get_data(as_text=True)
    presses = range(PAY_LIMIT_PER_ORDER + 1)
    answers = [client.post(f"/orders/{token}/pay", data={"csrf_token": csrf_of(page)}) for _ in presses]
    assert [answer.status_code for answer in answers] == [303] * PAY_LIMIT_PER_ORDER + [429]
    assert answers[-1].headers["Retry-After"] == "60"
    # Only a refusal carries Retry-After: an answer that went through has nothing to retry.
    assert all("Retry-After" not in answer.headers for answer in answers[:-1])


def test_a_success_after_a_decline_blocks_a_second_charge(shop: Flask, double: HighHelpDouble) -> None:
    client = shop.test_client()
    path = order_via_cart(client)
    press_pay(client, path)
    [payment] = payments(shop)
    post_alert(client, alert_body(payment.payment_id, "decline", amount=payment.amount))
    # The customer keeps the declined page open, with its "Try again" form …
    declined_page = client.get(path + "?lang=en").get_data(as_text=True)
    assert "Try again" in declined_page
    # … and HighHelp then reports that the money did arrive: a person must look first.
    post_alert(client, alert_body(payment.payment_id, "success", amount=payment.amount))
    response = press_pay(client, path, csrf_of(declined_page))
    assert response.status_code == 303
    assert len(creates(double)) == 1, "no second payin"
    assert len(payments(shop)) == 1
    assert "We are checking your payment" in client.get(path + "?lang=en").get_data(as_text=True)
