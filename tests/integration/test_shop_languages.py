"""One language per page: order lines and the description HighHelp shows follow the customer's language."""

from __future__ import annotations

import re
from collections.abc import Callable
from typing import Any

import pytest
from flask import Flask
from flask.testing import FlaskClient
from sqlalchemy import select

from checkout.extensions import db
from checkout.models import Order, StaffRole
from checkout.shop.catalog import load_demo_products
from tests.checkout_support import csrf_of
from tests.highhelp_double import HighHelpDouble, Reply
from tests.merchant_support import page_csrf, signed_in

LINK_DESCRIPTION = "Кожаная сумка, коричневая"


@pytest.fixture
def shop(make_app: Callable[..., Flask], double: HighHelpDouble) -> Flask:
    app = make_app(HIGHHELP_API_URL=double.url, PUBLIC_BASE_URL="https://shop.example.kz")
    with app.app_context():
        load_demo_products()
    return app


def order_dombras(client: FlaskClient, language: str) -> str:
    """Two dombras ordered by a customer reading `language`; the order page's path."""
    client.set_cookie("lang", language)
    page = client.get("/products/dombra").get_data(as_text=True)
    product_id = re.search(r'/cart/(\d+)"', page).group(1)  # type: ignore[union-attr]
    client.post(f"/cart/{product_id}", data={"csrf_token": csrf_of(page), "quantity": "2"})
    cart = client.get("/cart").get_data(as_text=True)
    response = client.post("/checkout", data={"csrf_token": csrf_of(cart), "email": ""})
    assert response.status_code == 303, response.get_data(as_text=True)
    return str(response.headers["Location"])


def press_pay(client: FlaskClient, path: str, language: str) -> Any:
    """Press Pay on the order page read in `language`."""
    client.set_cookie("lang", language)
    token = csrf_of(client.get(path).get_data(as_text=True))
    return client.post(path + "/pay", data={"csrf_token": token})


def creates(double: HighHelpDouble) -> list[dict[str, Any]]:
    return [body for path, _, body in double.received if path == "/api/v1/widget/payin"]


def stored_order(app: Flask, path: str) -> Order:
    with app.app_context():
        order = db.session.execute(select(Order).where(Order.token == path.rsplit("/", 1)[1])).scalar_one()
        db.session.expunge(order)
        return order


DOMBRA = {"kk": "Домбыра × 2", "ru": "Домбра × 2", "en": "Dombra × 2"}


@pytest.mark.parametrize("language", DOMBRA)
def test_order_page_names_each_line_in_the_page_language(shop: Flask, language: str) -> None:
    client = shop.test_client()
    path = order_dombras(client, "kk" if language != "kk" else "en")
    page = client.get(f"{path}?lang={language}").get_data(as_text=True)
    assert [code for code, line in DOMBRA.items() if line in page] == [language]


def test_a_line_names_its_product_in_any_language_and_a_link_line_as_written(shop: Flask) -> None:
    client = shop.test_client()
    path = order_dombras(client, "kk")
    with shop.app_context():
        order = db.session.execute(select(Order).where(Order.token == path.rsplit("/", 1)[1])).scalar_one()
        [line] = order.lines
        assert line.name == "Домбыра"  # as stored when ordered
        assert [line.display_name(code) for code in ("kk", "ru", "en")] == ["Домбыра", "Домбра", "Dombra"]
    operator = signed_in(shop, StaffRole.OPERATOR)
    link_order = create_link(operator)
    with shop.app_context():
        [link_line] = db.session.get(Order, link_order).lines  # type: ignore[union-attr]
        assert [link_line.display_name(code) for code in ("kk", "en")] == [LINK_DESCRIPTION] * 2


def test_highhelp_gets_the_description_in_the_language_of_the_pay_press(
    shop: Flask, double: HighHelpDouble
) -> None:
    client = shop.test_client()
    path = order_dombras(client, "en")
    order = stored_order(shop, path)
    assert order.description == f"Order {order.id}: Dombra × 2"
    assert press_pay(client, path, "kk").status_code == 303
    [body] = creates(double)
    assert body["payment"]["description"] == f"№{order.id} тапсырыс: Домбыра × 2"
    assert body["customer"]["language"] == "kk"
    # The receipt speaks the language the customer paid in; the back office's record stays.
    paid_in = stored_order(shop, path)
    assert (paid_in.language, paid_in.description) == ("kk", order.description)


def test_a_retried_create_sends_the_same_body_after_a_language_change(
    shop: Flask, double: HighHelpDouble
) -> None:
    client = shop.test_client()
    path = order_dombras(client, "en")
    double.reply = lambda path, body: Reply(503, b"down")
    assert press_pay(client, path, "ru").status_code == 503
    double.reply = None
    assert press_pay(client, path, "kk").status_code == 303
    first, retried = creates(double)
    assert retried == first
    assert first["customer"]["language"] == "ru"
    assert first["payment"]["description"].startswith("Заказ №")
    assert stored_order(shop, path).language == "ru"


def create_link(operator: FlaskClient) -> int:
    """A payment link written in Russian by staff; its order's id."""
    form = {"amount": "15000", "description": LINK_DESCRIPTION, "language": "ru", "email": ""}
    form["csrf_token"] = page_csrf(operator, "/merchant/links")
    response = operator.post("/merchant/links", data=form)
    assert response.status_code == 303, response.get_data(as_text=True)
    return int(response.headers["Location"].rsplit("/", 1)[1])


def test_a_payment_link_keeps_its_description_as_written(shop: Flask, double: HighHelpDouble) -> None:
    order_id = create_link(signed_in(shop, StaffRole.OPERATOR))
    with shop.app_context():
        token = db.session.get(Order, order_id).token  # type: ignore[union-attr]
    customer = shop.test_client()
    path = f"/orders/{token}"
    page = customer.get(path + "?lang=kk").get_data(as_text=True)
    assert f"{LINK_DESCRIPTION} × 1" in page
    assert press_pay(customer, path, "kk").status_code == 303
    [body] = creates(double)
    assert body["payment"]["description"] == LINK_DESCRIPTION
    assert body["customer"]["language"] == "kk"
    # The link keeps the language staff wrote it in: its receipt, URL and QR code do not change.
    with shop.app_context():
        assert db.session.get(Order, order_id).language == "ru"  # type: ignore[union-attr]
