"""The orders list: keyset pages, filters, search, live rows, and the CSV export."""

from __future__ import annotations

import csv
import io
import re
import tracemalloc
from datetime import UTC, datetime

import pytest
from flask import Flask
from flask.testing import FlaskClient
from sqlalchemy import select, text, update

from checkout.extensions import db
from checkout.models import Order, Payment, StaffRole
from tests.checkout_support import alert_body, make_attempt, make_order, post_alert
from tests.merchant_support import signed_in

ROW_ID = re.compile(r'<tr id="order-(\d+)"')


def listed(client: FlaskClient, query: str = "") -> list[int]:
    """Order numbers on a page of the list, top to bottom."""
    response = client.get(f"/merchant/orders{query}")
    assert response.status_code == 200, response.get_data(as_text=True)[:500]
    return [int(number) for number in ROW_ID.findall(response.get_data(as_text=True))]


def order_id(app: Flask, token: str) -> int:
    with app.app_context():
        return db.session.execute(select(Order.id).where(Order.token == token)).scalar_one()


def set_order(app: Flask, token: str, **values: object) -> None:
    with app.app_context():
        db.session.execute(update(Order).where(Order.token == token).values(**values))
        db.session.commit()


def set_payment(app: Flask, payment_id: str, **values: object) -> None:
    with app.app_context():
        db.session.execute(update(Payment).where(Payment.payment_id == payment_id).values(**values))
        db.session.commit()


@pytest.fixture
def staff(app: Flask) -> FlaskClient:
    return signed_in(app, StaffRole.VIEWER)


@pytest.fixture
def one_of_each(app: Flask) -> dict[str, int]:
    """An order in every state, by state name."""
    orders: dict[str, int] = {}
    token = make_order(app, email="paid@example.kz")
    make_attempt(app, token, "KZ-PAID")
    assert post_alert(app.test_client(), alert_body("KZ-PAID", "success")).status_code == 200
    orders["paid"] = order_id(app, token)
    token = make_order(app)
    make_attempt(app, token, "KZ-PENDING", "processing:sent_verification")
    orders["pending"] = order_id(app, token)
    token = make_order(app)
    make_attempt(app, token, "KZ-WRONG", "processing:invalid_verification")
    post_alert(app.test_client(), alert_body("KZ-WRONG", "decline"))
    orders["declined"] = order_id(app, token)
    token = make_order(app)
    make_attempt(
        app, token, "KZ-LATE", is_open=False, state="decline", status_description="Payment lifetime expired"
    )
    orders["expired"] = order_id(app, token)
    token = make_order(app)
    make_attempt(app, token, "KZ-ODD", needs_review=True, review_reason="amount 1 instead of 1500000")
    orders["review"] = order_id(app, token)
    orders["not_created"] = order_id(app, make_order(app))
    token = make_order(app)
    make_attempt(app, token, "KZ-UNANSWERED", state=None)
    orders["unanswered"] = order_id(app, token)
    return orders


def test_pages_follow_each_other_without_repeating_or_skipping(app: Flask, staff: FlaskClient) -> None:
    for _ in range(120):
        make_order(app)
    first = listed(staff)
    assert first == list(range(120, 70, -1))
    page = staff.get("/merchant/orders").get_data(as_text=True)
    assert "before=71" in page
    assert "after=" not in page
    second = listed(staff, "?before=71")
    third = listed(staff, f"?before={second[-1]}")
    assert first + second + third == list(range(120, 0, -1))
    assert "Next page" not in staff.get(f"/merchant/orders?before={second[-1]}").get_data(as_text=True)
    # Newer from the second page gives the first page back exactly, even after a new order came.
    make_order(app)
    assert listed(staff, f"?after={second[0]}") == first


@pytest.mark.parametrize("state", ["paid", "pending", "declined", "expired", "review", "not_created"])
def test_each_state_filter_lists_exactly_its_orders(
    staff: FlaskClient, one_of_each: dict[str, int], state: str
) -> None:
    expected = {one_of_each[state]}
    if state == "not_created":
        expected.add(one_of_each["unanswered"])
    found = listed(staff, f"?state={state}")
    assert set(found) == expected
    page = staff.get(f"/merchant/orders?state={state}").get_data(as_text=True)
    assert all(f'data-state="{state}"' in row for row in page.split("<tr")[2:])


def test_states_shown_in_the_unfiltered_list(staff: FlaskClient, one_of_each: dict[str, int]) -> None:
    page = staff.get("/merchant/orders").get_data(as_text=True)
    for state, number in one_of_each.items():
        shown = "not_created" if state == "unanswered" else state
        assert f'<tr id="order-{number}" data-state="{shown}"' in page


def test_date_range_uses_almaty_days(app: Flask, staff: FlaskClient) -> None:
    late = make_order(app)
    early = make_order(app)
    # 23:59:59 on 9 March and 00:00 on 10 March in Almaty (UTC+5).
    set_order(app, late, created_at=datetime(2026, 3, 9, 18, 59, 59, tzinfo=UTC))
    set_order(app, early, created_at=datetime(2026, 3, 9, 19, 0, 0, tzinfo=UTC))
    assert listed(staff, "?from=2026-03-10&to=2026-03-10") == [order_id(app, early)]
    assert listed(staff, "?to=2026-03-09") == [order_id(app, late)]
    assert listed(staff, "?from=2026-03-09&to=2026-03-10") == [order_id(app, early), order_id(app, late)]


def test_search_by_number_payment_id_and_email(app: Flask, staff: FlaskClient) -> None:
    token = make_order(app, email="Aigerim.S@Example.kz")
    make_attempt(app, token, "KZ000001-1-abc123")
    other = make_order(app, email="someone@example.kz")
    number = order_id(app, token)
    assert listed(staff, f"?q={number}") == [number]
    assert listed(staff, "?q=KZ000001-1-abc123") == [number]
    assert listed(staff, "?q=aigerim.s@example.KZ") == [number]
    assert listed(staff, "?q=+someone@example.kz+") == [order_id(app, other)]
    assert listed(staff, "?q=KZ000001") == []  # payment_id is exact
    assert listed(staff, "?q=99999999999") == []  # beyond any order number: no match, no error
    assert "No orders match" in staff.get("/merchant/orders?q=nobody@example.kz").get_data(as_text=True)


@pytest.mark.parametrize(
    "query",
    [
        "state=refunded",
        "from=2026-13-01",
        "from=26-1-1",
        "to=99999-01-01",
        "from=1000-01-01",
        "from=2026-03-10&to=2026-03-09",
        "before=abc",
        "before=0",
        "before=99999999999",
        "after=-5",
        "before=5&after=3",
        "before=1e3",
        "q=" + "x" * 255,
        "q=a%00b",
    ],
)
def test_bad_filters_are_refused_with_400(staff: FlaskClient, query: str) -> None:
    # The CSV has every page in one: it reads the filters, not the page cursor.
    paths = (
        ["/merchant/orders"]
        if "before" in query or "after" in query
        else ["/merchant/orders", "/merchant/orders.csv"]
    )
    for path in paths:
        response = staff.get(f"{path}?{query}")
        assert response.status_code == 400, (path, query)


def test_bad_row_and_csv_parameters(staff: FlaskClient, one_of_each: dict[str, int]) -> None:
    pending = one_of_each["pending"]
    assert staff.get(f"/merchant/orders/{pending}/row?since=yesterday").status_code == 400
    assert staff.get(f"/merchant/orders/{pending}/row?since=99999999999").status_code == 400
    assert staff.get("/merchant/orders/999999/row").status_code == 404
    assert staff.get("/merchant/orders/99999999999/row").status_code == 404
    assert staff.get("/merchant/orders.csv?sep=tab").status_code == 400


def test_pending_row_polls_until_final(app: Flask, staff: FlaskClient) -> None:
    token = make_order(app)
    make_attempt(app, token, "KZ-LIVE", "processing:requisites")
    number = order_id(app, token)
    page = staff.get("/merchant/orders").get_data(as_text=True)
    assert f'hx-get="/merchant/orders/{number}/row?since=' in page
    assert 'hx-trigger="every 3s"' in page
    # Watched for more than a minute: it slows down.
    row = staff.get(f"/merchant/orders/{number}/row?since=1000", headers={"HX-Request": "true"})
    assert row.status_code == 200
    assert 'hx-trigger="every 10s"' in row.get_data(as_text=True)
    assert post_alert(app.test_client(), alert_body("KZ-LIVE", "success")).status_code == 200
    final = staff.get(f"/merchant/orders/{number}/row?since=1000", headers={"HX-Request": "true"})
    html = final.get_data(as_text=True)
    assert 'data-state="paid"' in html
    assert "hx-trigger" not in html
    assert "hx-get" not in html


def test_signed_out_fragments_and_csv_get_401(app: Flask, one_of_each: dict[str, int]) -> None:
    client = app.test_client()
    number = one_of_each["pending"]
    assert client.get(f"/merchant/orders/{number}/row", headers={"HX-Request": "true"}).status_code == 401
    assert client.get("/merchant/orders.csv").status_code == 401
    page = client.get("/merchant/orders")
    assert page.status_code == 302
    assert "/merchant/login" in page.headers["Location"]


def read_csv(response_bytes: bytes, delimiter: str = ";") -> list[list[str]]:
    assert response_bytes.startswith("\ufeff".encode())
    return list(csv.reader(io.StringIO(response_bytes.decode("utf-8-sig"), newline=""), delimiter=delimiter))


def test_csv_is_excel_friendly_and_matches_the_list(app: Flask, staff: FlaskClient) -> None:
    token = make_order(app, amount=1234567, email="айгерим@пример.kz")
    make_attempt(app, token, "KZ-CSV-1")
    for email in ("=HYPERLINK(1)@x.kz", "+1@x.kz", "-2@x.kz", "@3.kz"):
        make_order(app, email=email)
    response = staff.get("/merchant/orders.csv")
    assert response.status_code == 200
    assert response.mimetype == "text/csv"
    assert re.fullmatch(r"attachment; filename=orders-\d{8}\.csv", response.headers["Content-Disposition"])
    rows = read_csv(response.data)
    header, body = rows[0], rows[1:]
    assert len(header) == 8
    assert [int(row[0]) for row in body] == listed(staff)
    first = body[-1]
    assert first[0] == str(order_id(app, token))
    assert re.fullmatch(r"\d{4}-\d\d-\d\dT\d\d:\d\d:\d\d\+05:00", first[1])
    assert first[2:] == ["pending", "12345.67", "KZT", "айгерим@пример.kz", "KZ-CSV-1", ""]
    assert [row[5] for row in body[:4]] == ["'@3.kz", "'-2@x.kz", "'+1@x.kz", "'=HYPERLINK(1)@x.kz"]
    comma = read_csv(staff.get("/merchant/orders.csv?sep=comma").data, delimiter=",")
    assert comma == rows


def test_csv_follows_the_filters(staff: FlaskClient, one_of_each: dict[str, int]) -> None:
    for query in ("state=pending", "state=not_created", "q=paid@example.kz"):
        rows = read_csv(staff.get(f"/merchant/orders.csv?{query}").data)
        assert [int(row[0]) for row in rows[1:]] == listed(staff, f"?{query}")
    paid = read_csv(staff.get("/merchant/orders.csv?state=paid").data)[1]
    assert paid[2] == "paid"
    assert paid[7].endswith("+05:00")


SEEDED = 100_000
SEED = text(
    """
    WITH RECURSIVE n(i) AS (SELECT 1 UNION ALL SELECT i + 1 FROM n WHERE i < :count)
    INSERT INTO orders (token, amount, currency, description, email, language, status, created_at)
    SELECT 'seed-' || i, 1500000 + i, 'KZT', 'Seeded order', 'buyer' || i || '@example.kz', 'ru', 'open',
           :created_at
    FROM n
    """
)


def test_csv_stays_flat_in_memory_for_100000_rows(app: Flask, staff: FlaskClient) -> None:
    with app.app_context():
        db.session.execute(SEED, {"count": SEEDED, "created_at": datetime(2026, 3, 1, tzinfo=UTC)})
        db.session.execute(
            text(
                "INSERT INTO payments (payment_id, order_id, amount, currency, state, is_open, needs_review,"
                " request_body, version, created_at, updated_at, state_changed_at)"
                " SELECT 'seed-pay-' || id, id, amount, currency, 'decline', :false, :false, '{}', 0,"
                " created_at, created_at, created_at FROM orders WHERE id % 2 = 0"
            ),
            {"false": False},
        )
        db.session.commit()
    tracemalloc.start()
    try:
        response = staff.get("/merchant/orders.csv", buffered=False)
        rows = size = 0
        for chunk in response.response:
            size += len(chunk)
            rows += chunk.count(b"\r\n") if isinstance(chunk, bytes) else chunk.count("\r\n")
        response.close()
        _, peak = tracemalloc.get_traced_memory()
    finally:
        tracemalloc.stop()
    assert rows == SEEDED + 1
    # The CSV text alone is several megabytes, and 100 000 rows as Python objects far more;
    # streamed, only a batch of rows is ever held.
    assert size > 6_000_000
    assert peak < 4_000_000, f"peak {peak} bytes while streaming {size} bytes"
