"""Payment links: an order made outside the catalogue, shared as a link and a QR code, seen paid."""

from __future__ import annotations

import html
import re

import pytest
import segno
from flask import Flask
from flask.testing import FlaskClient
from sqlalchemy import func, select

from checkout.extensions import db
from checkout.models import Event, EventKind, EventSource, Order, StaffRole, StaffUser
from tests.checkout_support import alert_body, make_attempt, make_order, post_alert
from tests.merchant_support import page_csrf, signed_in

PUBLIC_BASE = "https://shop.example.kz"
DESCRIPTION = "Кожаная сумка, коричневая"
LINK_PAGE = re.compile(r"/merchant/links/(\d+)$")


@pytest.fixture
def shop(make_app) -> Flask:  # type: ignore[no-untyped-def]
    """The app with a public address, so customer links are absolute https URLs."""
    return make_app(PUBLIC_BASE_URL=PUBLIC_BASE)


@pytest.fixture
def operator(shop: Flask) -> FlaskClient:
    """An operator signed in to the back office, reading it in English."""
    client = signed_in(shop, StaffRole.OPERATOR)
    client.set_cookie("lang", "en")
    return client


def create(client: FlaskClient, **fields: str):  # type: ignore[no-untyped-def]
    """POST the link form as a person fills it in."""
    form = {"amount": "15000", "description": DESCRIPTION, "language": "ru", "email": ""}
    form.update(fields)
    form["csrf_token"] = page_csrf(client, "/merchant/links")
    return client.post("/merchant/links", data=form)


def created_order(client: FlaskClient, **fields: str) -> int:
    """Create a link; the id of its order."""
    response = create(client, **fields)
    assert response.status_code == 303, response.get_data(as_text=True)
    match = LINK_PAGE.search(response.headers["Location"])
    assert match, response.headers["Location"]
    return int(match.group(1))


def order_count(app: Flask) -> int:
    """How many orders are stored."""
    with app.app_context():
        return db.session.execute(select(func.count()).select_from(Order)).scalar_one()


def customer_url(app: Flask, order_id: int) -> str:
    """The link the customer gets, as the page should show it."""
    with app.app_context():
        order = db.session.get(Order, order_id)
        assert order is not None
        return f"{PUBLIC_BASE}/orders/{order.token}?lang={order.language}"


def test_an_operator_creates_a_link_stored_with_its_line_creator_and_event(
    shop: Flask, operator: FlaskClient
) -> None:
    order_id = created_order(operator, amount="15 000,50", email="Buyer@Example.kz", language="kk")

    with shop.app_context():
        order = db.session.get(Order, order_id)
        assert order is not None
        staff = db.session.execute(
            select(StaffUser).where(StaffUser.email == "operator@example.kz")
        ).scalar_one()
        assert (order.amount, order.currency, order.language) == (1500050, "KZT", "kk")
        assert order.description == DESCRIPTION
        assert order.email == "Buyer@Example.kz"
        assert order.created_by_id == staff.id
        assert [(line.name, line.unit_price, line.quantity) for line in order.lines] == [
            (DESCRIPTION, 1500050, 1)
        ]
        event = db.session.execute(select(Event).where(Event.order_id == order_id)).scalar_one()
        assert (event.kind, event.source, event.staff_id) == (
            EventKind.ORDER_CREATED,
            EventSource.STAFF,
            staff.id,
        )
        assert event.data == {
            "amount": 1500050,
            "currency": "KZT",
            "description": DESCRIPTION,
            "language": "kk",
            "email": "Buyer@Example.kz",
        }


@pytest.mark.parametrize(
    ("typed", "minor_units"),
    [
        ("15000", 1500000),
        ("15 000", 1500000),
        ("15\u00a0000", 1500000),
        ("15000,50", 1500050),
        ("15000.50", 1500050),
        ("15 000,5", 1500050),
        (" 990 ₸", 99000),
        ("0,01", 1),
        ("1 000 000", 100000000),
    ],
)
def test_amounts_are_read_as_people_type_them(
    shop: Flask, operator: FlaskClient, typed: str, minor_units: int
) -> None:
    order_id = created_order(operator, amount=typed)
    with shop.app_context():
        order = db.session.get(Order, order_id)
        assert order is not None
        assert order.amount == minor_units


@pytest.mark.parametrize(
    ("field", "value", "message"),
    [
        ("amount", "", "Enter the amount in tenge."),
        ("amount", "abc", "Enter the amount in tenge, like 15000 or 15"),
        ("amount", "15.000.00", "Enter the amount in tenge, like 15000 or 15"),
        ("amount", "1 50", "Enter the amount in tenge, like 15000 or 15"),
        ("amount", "15000,505", "Enter the amount in tenge, like 15000 or 15"),
        ("amount", "-500", "Enter the amount in tenge, like 15000 or 15"),
        ("amount", "0", "The amount must be more than zero."),
        ("amount", "0,00", "The amount must be more than zero."),
        ("amount", "1000000,01", "A payment link can ask for at most 1"),
        ("amount", "9" * 40, "Enter the amount in tenge, like 15000 or 15"),
        ("description", "   ", "Describe what the customer pays for."),
        ("description", "x" * 256, "At most 255 characters."),
        ("description", "bag\x07", "Use one line of plain text, without control characters."),
        ("description", "two\nlines", "Use one line of plain text, without control characters."),
        ("description", "evil\u202etxt", "Use one line of plain text, without control characters."),
        ("email", "not an email", "This does not look like an email address."),
        ("language", "de", "Not a valid choice."),
    ],
)
def test_a_bad_field_is_named_at_the_field_keeping_what_was_typed_and_nothing_is_stored(
    shop: Flask, operator: FlaskClient, field: str, value: str, message: str
) -> None:
    response = create(operator, **{field: value})

    assert response.status_code == 422
    page = response.get_data(as_text=True)
    error = re.search(rf'<p class="field-error" id="{field}-error">([^<]*)</p>', page)
    assert error, page
    assert html.unescape(error.group(1)).startswith(message)
    control = re.search(rf'<(?:input|textarea|select)[^>]*\bid="{field}"[^>]*>', page)
    assert control, page
    assert 'aria-invalid="true"' in control.group(0)
    assert f"{field}-error" in re.search(r'aria-describedby="([^"]*)"', control.group(0)).group(1)  # type: ignore[union-attr]
    if field == "amount":
        assert f'value="{value}"' in page
    if field == "description":
        assert html.escape(value) in page
    assert order_count(shop) == 0


def test_a_viewer_sees_the_links_but_gets_403_for_creating_one(shop: Flask, operator: FlaskClient) -> None:
    created_order(operator)
    viewer = signed_in(shop, StaffRole.VIEWER)
    viewer.set_cookie("lang", "en")

    page = viewer.get("/merchant/links").get_data(as_text=True)
    assert DESCRIPTION in page
    assert 'action="/merchant/links"' not in page
    response = create(viewer)

    assert response.status_code == 403
    assert order_count(shop) == 1


def test_the_link_page_shows_the_absolute_customer_link_and_its_qr_code(
    shop: Flask, operator: FlaskClient
) -> None:
    order_id = created_order(operator, language="ru")
    url = customer_url(shop, order_id)

    page = operator.get(f"/merchant/links/{order_id}").get_data(as_text=True)

    assert f'value="{html.escape(url)}"' in page
    assert "Copy link" in page
    svg = re.search(r"<svg[^>]*>.*?</svg>", page, re.S)
    assert svg, page
    assert 'role="img"' in svg.group(0)
    assert "aria-label=" in svg.group(0)
    assert "style=" not in svg.group(0)
    drawn = re.findall(r'\bd="([^"]+)"', svg.group(0))
    expected = re.findall(r'\bd="([^"]+)"', segno.make(url, error="m").svg_inline())
    assert drawn[-1] == expected[-1]  # the dark modules: the same code segno makes for exactly this URL
    assert "Waiting for the customer" in page


def test_the_customer_page_of_a_link_shows_its_description(shop: Flask, operator: FlaskClient) -> None:
    order_id = created_order(operator, amount="7 500")
    path = customer_url(shop, order_id).removeprefix(PUBLIC_BASE)

    page = shop.test_client().get(path)

    assert page.status_code == 200
    text = page.get_data(as_text=True)
    assert DESCRIPTION in text
    assert "7\u00a0500,00\u00a0₸" in text


def test_a_long_description_is_kept_whole_on_the_order_and_its_line(
    shop: Flask, operator: FlaskClient
) -> None:
    description = "Сумка " * 42  # 252 characters
    order_id = created_order(operator, description=description)
    with shop.app_context():
        order = db.session.get(Order, order_id)
        assert order is not None
        assert order.description == description.strip()
        assert order.lines[0].name == order.description


def test_the_link_shows_paid_after_highhelps_success_callback(shop: Flask, operator: FlaskClient) -> None:
    order_id = created_order(operator, amount="15000")
    with shop.app_context():
        token = db.session.get(Order, order_id).token  # type: ignore[union-attr]
    make_attempt(shop, token, "KZLINK-1")
    assert "Being paid" in operator.get(f"/merchant/links/{order_id}").get_data(as_text=True)

    answer = post_alert(shop.test_client(), alert_body("KZLINK-1", "success", amount=1500000))
    assert answer.status_code == 200

    page = operator.get(f"/merchant/links/{order_id}").get_data(as_text=True)
    assert 'class="state state-paid"' in page
    assert "Paid at" in page
    listing = operator.get("/merchant/links").get_data(as_text=True)
    assert 'class="state state-paid"' in listing


def test_the_list_shows_links_newest_first_with_their_creator(shop: Flask, operator: FlaskClient) -> None:
    first = created_order(operator, description="First bag")
    second = created_order(operator, description="Second bag")
    make_order(shop)  # a catalogue order is not a link

    page = operator.get("/merchant/links").get_data(as_text=True)

    assert page.index("Second bag") < page.index("First bag")
    assert "operator@example.kz" in page
    assert f'href="/merchant/links/{second}"' in page
    assert f'href="/merchant/links/{first}"' in page
    assert "Order for a test" not in page


@pytest.mark.parametrize(
    "path", ["/merchant/links/999", "/merchant/links/0", "/merchant/links/99999999999", "/merchant/links/x"]
)
def test_an_unknown_link_is_404(operator: FlaskClient, path: str) -> None:
    assert operator.get(path).status_code == 404


def test_a_catalogue_order_has_no_link_page(shop: Flask, operator: FlaskClient) -> None:
    make_order(shop)
    with shop.app_context():
        order_id = db.session.execute(select(Order.id)).scalar_one()
    assert operator.get(f"/merchant/links/{order_id}").status_code == 404


def test_creating_a_link_needs_the_csrf_token(shop: Flask, operator: FlaskClient) -> None:
    response = operator.post("/merchant/links", data={"amount": "100", "description": "x", "language": "ru"})
    assert response.status_code == 400
    assert order_count(shop) == 0
