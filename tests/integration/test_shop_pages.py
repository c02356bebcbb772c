"""The cart as a customer uses it (remove, unit prices, a wrong email at its field); htmx where used."""

from __future__ import annotations

import re
from collections.abc import Callable

import pytest
from flask import Flask
from flask.testing import FlaskClient

from checkout.models import StaffRole
from checkout.shop.catalog import load_demo_products
from tests.checkout_support import HTMX_SCRIPT, csrf_of, make_attempt, make_order
from tests.merchant_support import signed_in

# An htmx attribute on an element (not the letters hx- in a text).
HX_ATTRIBUTE = re.compile(r"<[^>]*\shx-[a-z]+=")


@pytest.fixture
def shop(make_app: Callable[..., Flask]) -> Flask:
    app = make_app()
    with app.app_context():
        load_demo_products()
    return app


@pytest.fixture
def client(shop: Flask) -> FlaskClient:
    """A customer reading English pages."""
    client = shop.test_client()
    client.set_cookie("lang", "en")
    return client


def add(client: FlaskClient, sku: str, quantity: int) -> str:
    """Put a product in the cart from its page; the product's id."""
    page = client.get(f"/products/{sku}").get_data(as_text=True)
    product_id = re.search(r'/cart/(\d+)"', page).group(1)  # type: ignore[union-attr]
    client.post(f"/cart/{product_id}", data={"csrf_token": csrf_of(page), "quantity": str(quantity)})
    return product_id


def cart_skus(client: FlaskClient) -> list[str]:
    return re.findall(r'class="cart-line" data-sku="([^"]+)"', client.get("/cart").get_data(as_text=True))


def test_cart_shows_unit_price_times_quantity(client: FlaskClient) -> None:
    add(client, "dombra", 2)
    page = client.get("/cart").get_data(as_text=True)
    unit = re.search(
        r'<span class="line-unit" data-unit-price="(\d+)" data-quantity="(\d+)">([^<]*)</span>', page
    )
    assert unit is not None
    assert unit.groups()[:2] == ("4500000", "2")
    assert unit.group(3).replace("\u00a0", " ") == "45 000,00 ₸ × 2"


def test_remove_button_takes_only_that_line_out(client: FlaskClient) -> None:
    dombra = add(client, "dombra", 1)
    add(client, "kese", 3)
    page = client.get("/cart").get_data(as_text=True)
    form = re.search(
        rf'<form class="remove-form" method="post" action="/cart/{dombra}/remove">.*?</form>', page, re.S
    )
    assert form is not None, "no remove button for the dombra"
    assert 'Remove<span class="visually-hidden"> Dombra</span>' in form.group(0)
    response = client.post(f"/cart/{dombra}/remove", data={"csrf_token": csrf_of(form.group(0))})
    assert response.status_code == 303
    assert cart_skus(client) == ["kese"]


def test_remove_without_csrf_token_changes_nothing(client: FlaskClient) -> None:
    dombra = add(client, "dombra", 1)
    assert client.post(f"/cart/{dombra}/remove").status_code == 400
    assert cart_skus(client) == ["dombra"]


@pytest.mark.parametrize("product_id", ["999", "0", "abc", "99999999999"])
def test_removing_what_is_not_in_the_cart_is_harmless(client: FlaskClient, product_id: str) -> None:
    add(client, "dombra", 1)
    token = csrf_of(client.get("/cart").get_data(as_text=True))
    response = client.post(f"/cart/{product_id}/remove", data={"csrf_token": token})
    assert response.status_code in (303, 404)
    assert cart_skus(client) == ["dombra"]


def test_quantity_boxes_are_labelled_with_their_product(client: FlaskClient) -> None:
    dombra = add(client, "dombra", 1)
    page = client.get("/cart").get_data(as_text=True)
    assert f'<label class="visually-hidden" for="quantity-{dombra}">Quantity of Dombra</label>' in page
    assert f'<input id="quantity-{dombra}" type="number" name="quantity" value="1"' in page


def test_a_wrong_email_is_marked_at_its_field(client: FlaskClient) -> None:
    add(client, "dombra", 1)
    token = csrf_of(client.get("/cart").get_data(as_text=True))
    response = client.post("/checkout", data={"csrf_token": token, "email": "not-an-email"})
    assert response.status_code == 400
    page = response.get_data(as_text=True)
    field = re.search(r'<div class="field">(.*?)</div>', page, re.S)
    assert field is not None
    email = re.search(r"<input[^>]*name=\"email\"[^>]*>", field.group(1))
    assert email is not None
    assert 'aria-invalid="true"' in email.group(0)
    assert 'aria-describedby="email-error"' in email.group(0)
    assert 'value="not-an-email"' in email.group(0)
    assert (
        '<p class="field-error" id="email-error">This does not look like an email address.</p>'
        in field.group(1)
    )


def test_a_good_cart_marks_no_field_invalid(client: FlaskClient) -> None:
    add(client, "dombra", 1)
    page = client.get("/cart").get_data(as_text=True)
    assert "aria-invalid" not in page
    assert "email-error" not in page


def pending_order(app: Flask) -> str:
    """An order whose payment is under way, so its page follows the status live."""
    token = make_order(app)
    make_attempt(app, token, "KZ-live-1")
    return f"/orders/{token}"


def page_of(app: Flask, client: FlaskClient, path: str | Callable[[Flask], str]) -> str:
    return client.get(path if isinstance(path, str) else path(app)).get_data(as_text=True)


@pytest.mark.parametrize(
    ("path", "uses_htmx"),
    [
        ("/", False),
        ("/products/dombra", False),
        ("/cart", False),
        ("/no-such-page", False),
        (pending_order, True),
    ],
    ids=["catalogue", "product", "cart", "404", "order-following-a-payment"],
)
def test_htmx_loads_exactly_on_pages_that_use_it(
    shop: Flask, client: FlaskClient, path: str | Callable[[Flask], str], uses_htmx: bool
) -> None:
    page = page_of(shop, client, path)
    assert bool(HX_ATTRIBUTE.search(page)) is uses_htmx
    assert bool(HTMX_SCRIPT.search(page)) is uses_htmx


def test_back_office_loads_htmx_where_a_row_follows_a_payment(shop: Flask) -> None:
    pending_order(shop)
    staff = signed_in(shop, StaffRole.VIEWER)
    orders = staff.get("/merchant/orders").get_data(as_text=True)
    assert HX_ATTRIBUTE.search(orders)
    assert HTMX_SCRIPT.search(orders)
    dashboard = staff.get("/merchant/").get_data(as_text=True)
    assert not HX_ATTRIBUTE.search(dashboard)
    assert not HTMX_SCRIPT.search(dashboard)


def language_links(page: str) -> list[str]:
    nav = re.search(r'<nav class="languages".*?</nav>', page, re.S)
    assert nav is not None
    return re.findall(r'href="([^"]+)"', nav.group(0))


def test_language_links_of_a_page_a_form_rendered_lead_to_a_page(client: FlaskClient) -> None:
    dombra = add(client, "dombra", 1)
    token = csrf_of(client.get("/cart").get_data(as_text=True))
    refused = client.post("/checkout", data={"csrf_token": token, "email": "not-an-email"})
    assert language_links(refused.get_data(as_text=True)) == [
        "/cart?lang=kk",
        "/cart?lang=ru",
        "/cart?lang=en",
    ]
    # A refused remove (no CSRF token) renders the error page at a POST-only address.
    error = client.post(f"/cart/{dombra}/remove").get_data(as_text=True)
    assert language_links(error) == ["/cart?lang=kk", "/cart?lang=ru", "/cart?lang=en"]
    for link in language_links(refused.get_data(as_text=True)) + language_links(error):
        assert client.get(link).status_code == 200


@pytest.mark.parametrize(
    ("path", "links"),
    [
        ("/products/dombra", "/products/dombra?lang="),
        ("/no-such-page", "/?lang="),
        ("/cart/1/nothing/here", "/cart?lang="),
    ],
)
def test_language_links_of_a_get_page_keep_the_page(client: FlaskClient, path: str, links: str) -> None:
    page = client.get(path).get_data(as_text=True)
    assert language_links(page) == [links + code for code in ("kk", "ru", "en")]
