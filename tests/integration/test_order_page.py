"""The order page: outcome first, local time, polls that answer only what changed."""

from __future__ import annotations

import html
import re
from collections.abc import Callable
from datetime import UTC, datetime

import pytest
from flask import Flask
from flask.testing import FlaskClient
from sqlalchemy import update

from checkout.extensions import db
from checkout.models import Order
from tests.checkout_support import alert_body, make_attempt, make_order, post_alert
from tests.highhelp_double import HighHelpDouble

POLL = re.compile(r'id="status-poll"[^>]*hx-get="([^"]+)"')
TITLE = re.compile(r"<title>([^<]*)</title>")
H1 = re.compile(r'<h1 id="status-heading"[^>]*>([^<]*)</h1>')


@pytest.fixture
def shop(make_app: Callable[..., Flask], double: HighHelpDouble) -> Flask:
    return make_app(HIGHHELP_API_URL=double.url, PUBLIC_BASE_URL="https://shop.example.kz")


def poll_url(page: str) -> str:
    """The URL the page's poller asks, with what the page shows in it."""
    match = POLL.search(page)
    assert match, "the page does not poll"
    return html.unescape(match.group(1))


def pending_order(app: Flask, email: str | None = None) -> str:
    token = make_order(app, email=email)
    make_attempt(app, token, "pay-1", state="processing:new")
    return token


def test_an_unchanged_status_answers_204_and_the_poll_goes_on(shop: Flask) -> None:
    token = pending_order(shop)
    client = shop.test_client()
    url = poll_url(client.get(f"/orders/{token}?lang=en").get_data(as_text=True))
    for _ in range(2):
        answer = client.get(url)
        assert answer.status_code == 204
        assert answer.get_data() == b""


def test_a_new_outcome_replaces_the_live_regions_content_title_and_details(shop: Flask) -> None:
    token = pending_order(shop, email="buyer@example.kz")
    client = shop.test_client()
    page = client.get(f"/orders/{token}?lang=en").get_data(as_text=True)
    assert H1.search(page).group(1) == "Waiting for your payment"  # type: ignore[union-attr]
    url = poll_url(page)
    post_alert(client, alert_body("pay-1", "success"))
    answer = client.get(url)
    assert answer.status_code == 200
    assert "HX-Reswap" not in answer.headers
    update_ = answer.get_data(as_text=True)
    # The live region's content, not the live region: the element on the page stays.
    assert "aria-live" not in update_
    assert H1.search(update_).group(1).startswith("Paid — order ")  # type: ignore[union-attr]
    assert TITLE.search(update_).group(1).startswith("Paid — order ")  # type: ignore[union-attr]
    assert "We will email a receipt to buyer@example.kz." in update_
    assert re.search(r'id="payment-status"[^>]*data-phase="paid"[^>]*hx-swap-oob="true"', update_)
    # Final: the poller comes back without a trigger, so polling stops.
    assert re.search(r'<div id="status-poll" hidden hx-swap-oob="true"></div>', update_)
    assert "hx-trigger" not in update_


def test_a_new_step_updates_the_details_but_does_not_re_announce(shop: Flask) -> None:
    token = pending_order(shop)
    client = shop.test_client()
    url = poll_url(client.get(f"/orders/{token}?lang=en").get_data(as_text=True))
    post_alert(client, alert_body("pay-1", "processing", "sent_verification"))
    answer = client.get(url)
    assert answer.status_code == 200
    # Nothing goes into the live region: htmx is told not to swap it (only the out-of-band parts).
    assert answer.headers["HX-Reswap"] == "none"
    update_ = answer.get_data(as_text=True)
    assert "status-heading" not in update_
    assert "<title>" not in update_
    assert re.search(r'<li class="current"\s+aria-current="step">\s*Checking the code', update_)
    # The new poller carries the new step, so the next poll is a 204 again.
    assert client.get(poll_url(update_)).status_code == 204


def test_after_a_minute_the_poll_slows_down_without_touching_the_page(shop: Flask) -> None:
    token = pending_order(shop)
    client = shop.test_client()
    url = poll_url(client.get(f"/orders/{token}?lang=en").get_data(as_text=True))
    assert "every=2" in url
    # The same page, a minute later: `since` is when it started following the payment.
    later = re.sub(r"since=\d+", "since=1", url)
    answer = client.get(later)
    assert answer.headers["HX-Reswap"] == "none"
    update_ = answer.get_data(as_text=True)
    assert 'hx-trigger="every 5s"' in update_
    assert "payment-status" not in update_
    assert "status-heading" not in update_
    assert client.get(poll_url(update_)).status_code == 204


def test_a_poll_without_what_it_shows_gets_everything(shop: Flask) -> None:
    token = pending_order(shop)
    update_ = shop.test_client().get(f"/orders/{token}/status?lang=en").get_data(as_text=True)
    assert "Waiting for your payment" in update_
    assert 'data-phase="pending"' in update_
    assert 'hx-trigger="every 2s"' in update_


@pytest.mark.parametrize(
    ("language", "words"),
    [
        ("en", "November 28, 2026, 21:15"),
        # CLDR puts a narrow no-break space before the year's abbreviation.
        ("ru", "28 ноября 2026\u202fг., 21:15"),
        ("kk", "2026\u202fж. 28 қараша, 21:15"),
    ],
)
def test_the_paid_time_is_almaty_time_in_the_page_language(shop: Flask, language: str, words: str) -> None:
    token = pending_order(shop)
    client = shop.test_client()
    post_alert(client, alert_body("pay-1", "success"))
    with shop.app_context():
        paid_at = datetime(2026, 11, 28, 16, 15, 30, tzinfo=UTC)
        db.session.execute(update(Order).where(Order.token == token).values(paid_at=paid_at))
        db.session.commit()
    page = client.get(f"/orders/{token}?lang={language}").get_data(as_text=True)
    assert words in page
    assert '<time datetime="2026-11-28T16:15:30Z">' in page
    assert "UTC" not in page


@pytest.mark.parametrize(
    ("state", "heading"),
    [
        (None, "Pay for order {number}"),
        ("processing:new", "Waiting for your payment"),
        ("decline", "The payment did not go through"),
        ("success", "We are checking your payment"),
    ],
)
def test_title_and_heading_state_the_outcome(shop: Flask, state: str | None, heading: str) -> None:
    token = make_order(shop)
    if state is not None:
        make_attempt(shop, token, "pay-1", state=state, is_open=state.startswith("processing"))
    page = shop.test_client().get(f"/orders/{token}?lang=en").get_data(as_text=True)
    with shop.app_context():
        number = db.session.execute(db.select(Order.id).where(Order.token == token)).scalar_one()
    expected = heading.format(number=number)
    assert H1.search(page).group(1) == expected  # type: ignore[union-attr]
    assert TITLE.search(page).group(1).startswith(expected + " · ")  # type: ignore[union-attr]
    # The outcome comes before the order's lines.
    assert page.index('id="status-heading"') < page.index('id="order-heading"')


def test_pay_and_try_again_state_the_amount(shop: Flask) -> None:
    client: FlaskClient = shop.test_client()
    token = make_order(shop, amount=4_500_000)
    page = client.get(f"/orders/{token}?lang=en").get_data(as_text=True)
    assert re.search(r'id="pay-button"[^>]*>\s*Pay 45\u00a0000,00\u00a0₸', page)
    make_attempt(shop, token, "pay-1", state="decline", is_open=False)
    page = client.get(f"/orders/{token}?lang=en").get_data(as_text=True)
    assert re.search(r'id="pay-button"[^>]*>\s*Try again: pay 45\u00a0000,00\u00a0₸', page)


def test_pending_page_says_what_each_choice_does_and_works_without_javascript(shop: Flask) -> None:
    token = pending_order(shop)
    page = shop.test_client().get(f"/orders/{token}?lang=en").get_data(as_text=True)
    assert 'id="continue-payment"' in page
    assert "Enter the code from the SMS there." in page
    assert f'action="/orders/{token}/cancel"' in page
    assert "Nothing will be charged; you can pay again." in page
    assert 'http-equiv="refresh"' not in page
    assert f'href="/orders/{token}">Check again</a>' in page
