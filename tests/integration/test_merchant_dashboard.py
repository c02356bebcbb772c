"""The dashboard: figures for today and the last 7 days on Almaty time, and its SVG charts."""

from __future__ import annotations

import re
import xml.etree.ElementTree as ET
from datetime import UTC, datetime, timedelta

import pytest
from flask import Flask
from flask.testing import FlaskClient
from sqlalchemy import select, update

from checkout.extensions import db
from checkout.merchant import periods
from checkout.merchant.order_state import decline_reason_sql
from checkout.models import Order, OrderStatus, Payment, StaffRole
from checkout.payments.phases import decline_reason
from tests.checkout_support import make_attempt, make_order
from tests.merchant_support import signed_in

SVG = re.compile(r"<svg\b.*?</svg>", re.DOTALL)


def place(
    app: Flask, at: datetime, payment_id: str | None = None, paid: bool = False, **payment: object
) -> None:
    """An order created at `at`, with one attempt created then (paid at `at` when `paid`)."""
    token = make_order(app, amount=1000000)
    if payment_id:
        make_attempt(app, token, payment_id, **payment)
    with app.app_context():
        values: dict[str, object] = {"created_at": at}
        if paid:
            values.update(status=OrderStatus.PAID, paid_at=at)
        db.session.execute(update(Order).where(Order.token == token).values(**values))
        db.session.execute(
            update(Payment)
            .where(Payment.order_id == select(Order.id).where(Order.token == token).scalar_subquery())
            .values(created_at=at)
        )
        db.session.commit()


def section(page: str, key: str) -> str:
    start = page.index(f'id="period-{key}"')
    return page[start : page.index("</section>", start)]


def figure(html: str, name: str) -> str:
    match = re.search(rf'data-figure="{name}"[^>]*>(.*?)</dd>', html, re.DOTALL)
    assert match, name
    # Collapse the template's white space, not the non-breaking spaces inside amounts.
    return re.sub(r"[ \t\n]+", " ", re.sub(r"<[^>]+>", " ", match.group(1))).strip()


def declined(html: str, reason: str) -> int:
    match = re.search(rf'data-reason="{reason}">.*?decline-count">(\d+)<', html, re.DOTALL)
    assert match, reason
    return int(match.group(1))


@pytest.fixture
def staff(app: Flask) -> FlaskClient:
    return signed_in(app, StaffRole.VIEWER)


def test_figures_for_today_and_the_week_follow_almaty_days(app: Flask, staff: FlaskClient) -> None:
    now = datetime.now(UTC)
    midnight = periods.day_start(periods.local_date(now))
    today = midnight + (now - midnight) / 2
    just_before_midnight = midnight - timedelta(seconds=1)
    final = {"is_open": False}
    place(app, today, "T-PAID", paid=True, state="success", **final)
    place(app, today, "T-WRONG", state="decline", decline_step="processing:invalid_verification", **final)
    # Still within its lifetime: pending, not yet stuck for the review queue.
    place(app, today, "T-OPEN", state="processing:requisites", expires_at=now + timedelta(minutes=5))
    place(app, today)  # an order nobody tried to pay yet
    place(
        app, just_before_midnight, "Y-LATE", state="decline", status_description="Lifetime expired", **final
    )
    place(app, just_before_midnight, "Y-OPERATOR", state="decline", decline_step="processing:paid", **final)
    place(app, just_before_midnight, "Y-PAID", paid=True, state="success", **final)
    place(app, midnight - timedelta(days=7), "OLD-PAID", paid=True, state="success", **final)
    place(
        app,
        today,
        "T-ODD",
        state="processing:new",
        needs_review=True,
        review_reason="amount 1 instead of 2",
        expires_at=now + timedelta(minutes=5),
    )

    page = staff.get("/merchant/").get_data(as_text=True)
    today_html, week_html = section(page, "today"), section(page, "week")
    assert figure(today_html, "orders") == "5"
    assert figure(today_html, "attempts") == "4"
    assert figure(today_html, "success-rate").startswith("50")
    assert "1 paid of 2 payments that finished" in figure(today_html, "success-rate")
    assert figure(today_html, "paid-total") == "10\u00a0000,00\u00a0₸"
    assert declined(today_html, "wrong_code") == 1
    assert declined(today_html, "expired") == 0

    assert figure(week_html, "orders") == "8"
    assert figure(week_html, "attempts") == "7"
    assert "2 paid of 5 payments that finished" in figure(week_html, "success-rate")
    assert figure(week_html, "paid-total") == "20\u00a0000,00\u00a0₸"
    assert [
        declined(week_html, reason) for reason in ("wrong_code", "operator", "not_confirmed", "expired")
    ] == [
        1,
        1,
        0,
        1,
    ]
    assert re.search(r'id="pending-now">1<', page)
    assert re.search(r'id="waiting-review">1<', page)


def test_charts_are_well_formed_accessible_svg(app: Flask, staff: FlaskClient) -> None:
    now = datetime.now(UTC)
    place(app, now - timedelta(minutes=1), "C-1", paid=True, state="success", is_open=False)
    place(app, now - timedelta(days=3), "C-2", state="decline", is_open=False)
    page = staff.get("/merchant/").get_data(as_text=True)
    charts = SVG.findall(page)
    assert len(charts) == 2
    bars = []
    for chart in charts:
        root = ET.fromstring(chart)
        assert root.get("role") == "img"
        assert root.get("viewBox")
        names = {child.tag.split("}")[1] for child in root}
        assert {"title", "desc", "rect", "text"} <= names
        bars.append(len([child for child in root if child.tag.endswith("rect")]))
    assert bars == [2, 3]  # last hour: started and paid; 30 days: two started, one paid
    assert "1 payments started, 1 paid." in charts[0]
    assert "2 payments started, 1 paid." in charts[1]
    # The numbers behind each chart, for screen readers and anyone who wants them.
    assert page.count('class="data-table chart-table"') == 2


def test_empty_dashboard(staff: FlaskClient) -> None:
    page = staff.get("/merchant/")
    assert page.status_code == 200
    assert "0 paid of 0 payments that finished" in page.get_data(as_text=True)
    assert len(SVG.findall(page.get_data(as_text=True))) == 2


def test_signed_out_dashboard_asks_to_sign_in(app: Flask) -> None:
    response = app.test_client().get("/merchant/")
    assert response.status_code == 302
    assert "/merchant/login" in response.headers["Location"]


@pytest.mark.parametrize(
    ("description", "step"),
    [
        (None, "processing:invalid_verification"),
        ("Payment TIMEOUT", "processing:sent_verification"),
        (None, "processing:paid"),
        (None, "processing:awaiting_3ds_result"),
        (None, "processing:sent_verification"),
        ("declined by bank", "processing:new"),
        ("cancelled by the payer", "processing:sent_verification"),
        ("Cancelled by the merchant", None),
        (None, None),
    ],
)
def test_decline_reason_in_sql_is_the_pages_reason(
    app: Flask, description: str | None, step: str | None
) -> None:
    token = make_order(app)
    make_attempt(
        app, token, "R-1", state="decline", is_open=False, status_description=description, decline_step=step
    )
    with app.app_context():
        payment = db.session.execute(select(Payment)).scalar_one()
        in_sql = db.session.execute(select(decline_reason_sql(Payment))).scalar_one()
        assert in_sql == decline_reason(payment)
