"""What a poll and the order page cost: one statement, no transaction on PostgreSQL, no thread per hit."""

from __future__ import annotations

import threading
import time
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from datetime import timedelta
from typing import Any

import pytest
from flask import Flask, render_template_string
from flask_babel import force_locale, gettext
from sqlalchemy import event, select

from checkout.extensions import db
from checkout.models import Payment
from checkout.ratelimits import SweepingMemoryStorage
from checkout.sqltypes import utcnow
from tests.checkout_support import make_attempt, make_order
from tests.highhelp_double import HighHelpDouble
from tests.integration.test_order_page import poll_url


@pytest.fixture
def shop(make_app: Callable[..., Flask], double: HighHelpDouble) -> Flask:
    return make_app(HIGHHELP_API_URL=double.url, PUBLIC_BASE_URL="https://shop.example.kz")


@contextmanager
def statements(app: Flask) -> Iterator[list[tuple[str, bool]]]:
    """Each SQL statement the app runs meanwhile, and whether it ran outside a transaction.

    SQLite's BEGIN (which checkout/sqlite.py sends itself, at no round trip's cost) is not counted.
    """
    seen: list[tuple[str, bool]] = []

    def record(connection: Any, cursor: Any, statement: str, *rest: Any) -> None:
        if statement.startswith("BEGIN"):
            return
        autocommit = bool(getattr(connection.connection.dbapi_connection, "autocommit", False))
        seen.append((statement, autocommit))

    with app.app_context():
        engine = db.engine
    event.listen(engine, "before_cursor_execute", record)
    try:
        yield seen
    finally:
        event.remove(engine, "before_cursor_execute", record)


def test_a_poll_and_the_order_page_read_once_and_on_postgresql_outside_a_transaction(shop: Flask) -> None:
    token = make_order(shop)
    make_attempt(shop, token, "pay-1", state="processing:new")
    client = shop.test_client()
    with statements(shop) as seen:
        page = client.get(f"/orders/{token}?lang=en")
    assert page.status_code == 200
    assert "Dombra" in page.get_data(as_text=True)
    assert len(seen) == 1, seen  # the order, its attempts and its lines in one read
    url = poll_url(page.get_data(as_text=True))
    for expected in (200, 204):
        with statements(shop) as seen:
            answer = client.get(url if expected == 204 else f"/orders/{token}/status")
        assert answer.status_code == expected
        assert len(seen) == 1, seen
    with shop.app_context():
        postgresql = db.engine.dialect.name == "postgresql"
    # No BEGIN before it and no ROLLBACK after it: a SELECT's round trip and nothing more.
    assert all(autocommit for _, autocommit in seen) is postgresql


def test_a_stale_payment_checked_lately_is_not_claimed_again_by_a_poll(
    shop: Flask, double: HighHelpDouble
) -> None:
    token = make_order(shop)
    make_attempt(shop, token, "pay-stale", state="processing:requisites")
    with shop.app_context():
        payment = db.session.execute(select(Payment).where(Payment.payment_id == "pay-stale")).scalar_one()
        payment.state_changed_at = payment.created_at - timedelta(minutes=5)
        payment.last_checked_at = utcnow() - timedelta(seconds=1)
        db.session.commit()
    with statements(shop) as seen:
        assert shop.test_client().get(f"/orders/{token}/status").status_code == 200
    assert [statement for statement, _ in seen if statement.lstrip().upper().startswith("UPDATE")] == []
    assert not [path for path, _, _ in double.received if path.endswith("/info")]
    # Once the interval is over the poll claims the check and asks HighHelp, as before.
    with shop.app_context():
        payment = db.session.execute(select(Payment).where(Payment.payment_id == "pay-stale")).scalar_one()
        payment.last_checked_at = utcnow() - timedelta(minutes=1)
        db.session.commit()
    assert shop.test_client().get(f"/orders/{token}/status").status_code == 200
    assert [path for path, _, _ in double.received if path.endswith("/info")]


def test_in_process_limits_start_no_thread_per_hit_and_sweep_what_is_over() -> None:
    storage = SweepingMemoryStorage()
    threads = threading.active_count()
    for number in range(200):
        storage.incr(f"order-{number}", expiry=60)
        storage.incr("short", expiry=0.001)
    assert threading.active_count() <= threads
    assert storage.get("order-1") == 1
    time.sleep(0.01)  # the short window is over …
    storage._next_sweep = 0.0  # … and so is the sweep interval
    storage.incr("after", expiry=60)
    assert "short" not in storage.storage
    assert storage.get("order-199") == 1


def test_templates_translate_as_flask_babel_does(app: Flask) -> None:
    template = '{{ _("Pay %(amount)s", amount="<b>1</b>") }}|{{ gettext("Cart") }}|{{ _("100%% sure") }}'
    with app.test_request_context("/?lang=ru"):
        assert render_template_string(template) == (
            f"{gettext('Pay %(amount)s', amount='&lt;b&gt;1&lt;/b&gt;')}|{gettext('Cart')}|100% sure"
        )
        russian = render_template_string('{{ _("Cart") }}')
        with force_locale("kk"):
            kazakh = render_template_string('{{ _("Cart") }}')
        assert russian != kazakh
        assert render_template_string('{{ _("Cart") }}') == russian
