"""The order page a customer returns to, in Chromium: a steady live region and focus, local time, cancel."""

from __future__ import annotations

import json
import re
from collections.abc import Callable
from dataclasses import dataclass
from datetime import timedelta
from pathlib import Path
from typing import Any

import pytest
import requests
from axe_playwright_python.sync_playwright import Axe
from flask import Flask
from sqlalchemy import select

from checkout.extensions import db
from checkout.models import Order, Payment
from tests.checkout_support import alert_body, signed_headers
from tests.e2e.conftest import WIDER_THAN_THE_SCREEN
from tests.e2e.test_checkout_flow import (
    PHONE,
    new_page,
    order_first_product,
    pay_on_hosted_page,
    wait_for_phase,
)

pytestmark = pytest.mark.e2e

# A number the sandbox lets succeed once the right code is typed.
SUCCEEDING_PHONE = "+77012345678"
OPERATOR = "KCELL"
# Kazakhstan's one time zone since 2024.
ALMATY_OFFSET = timedelta(hours=5)
TIMEOUT = 10


@dataclass(frozen=True)
class Attempt:
    """What our database holds about an order's newest attempt."""

    payment_id: str
    amount: int
    order_number: int


def newest_attempt(make_app: Callable[..., Flask], order_url: str) -> Attempt:
    token = order_url.split("?")[0].rstrip("/").rsplit("/", 1)[1]
    with make_app().app_context():
        order = db.session.execute(select(Order).where(Order.token == token)).scalar_one()
        payment = (
            db.session.execute(
                select(Payment).where(Payment.order_id == order.id).order_by(Payment.id.desc())
            )
            .scalars()
            .first()
        )
        assert payment is not None, "the order has no attempt"
        return Attempt(payment.payment_id, order.amount, order.id)


def sandbox_control(server: str, path: str, data: dict[str, Any] | None = None) -> dict[str, Any]:
    """The built-in sandbox's control endpoints: what a payer would do on the hosted page."""
    url = f"{server}/sandbox/control/{path}"
    response = requests.post(url, json=data, timeout=TIMEOUT) if data else requests.get(url, timeout=TIMEOUT)
    assert response.status_code == 200, response.text
    answer: dict[str, Any] = response.json()
    return answer


def report(server: str, payment_id: str, status: str, amount: int) -> None:
    """A signed alert as HighHelp sends it (for states no sandbox flow reaches quickly)."""
    body = alert_body(payment_id, status, amount=amount)
    kind = status if status in ("success", "decline") else "info"
    response = requests.post(
        f"{server}/highhelp/callbacks/{kind}",
        data=json.dumps(body),
        headers=signed_headers(body),
        timeout=TIMEOUT,
    )
    assert response.status_code == 200, response.text


def started_payment(page: Any, server: str) -> str:
    """An order whose attempt is open: the customer pressed Pay and came back from the hosted page."""
    order_url = order_first_product(page, server, "en")
    page.locator("#pay-button").click()
    page.wait_for_selector("[data-phase=phone]")
    page.goto(order_url + "?lang=en")
    wait_for_phase(page, "pending")
    return order_url


def is_poll(response: Any) -> bool:
    return "/status?" in response.url


def next_poll(page: Any) -> Any:
    """Wait for the page's next status poll to be answered; the answer."""
    with page.expect_response(is_poll) as polled:
        pass
    return polled.value


def heading(page: Any) -> str:
    return str(page.locator("#status-heading").inner_text()).strip()


def check_page(page: Any, artifacts: Path, name: str) -> None:
    """No sideways scrolling, no axe-core violations, and a screenshot for people to look at."""
    width = page.viewport_size["width"]
    page.screenshot(path=str(artifacts / f"order-{name}-{width}.png"), full_page=True)
    if page.evaluate("document.documentElement.scrollWidth") > width:
        pytest.fail(f"{name} scrolls sideways at {width}px: {page.evaluate(WIDER_THAN_THE_SCREEN)}")
    violations = Axe().run(page).response["violations"]
    described = [
        f"{item['id']}: {item['help']} {[n['target'] for n in item['nodes']]}" for item in violations
    ]
    assert described == [], f"{name} at {width}px"


# Every link and button of the order page, by state; each must be a 44 px tap target.
TAP_TARGETS = {
    "unpaid": ("#pay-button", "#back-to-shop"),
    "pending": ("#continue-payment", "#cancel-payment", "#check-again", "#back-to-shop"),
    "declined": ("#pay-button", "#back-to-shop"),
}
MIN_TAP = 44


def tap_targets_are_big_enough(page: Any, name: str) -> None:
    for selector in TAP_TARGETS.get(name, ("#back-to-shop",)):
        box = page.locator(selector).bounding_box()
        assert box is not None, f"{selector} is not shown in {name}"
        assert min(box["width"], box["height"]) >= MIN_TAP, f"{selector} in {name}: {box}"


def test_polls_keep_focus_and_the_live_region(
    browser: Any, live_server: str, make_app: Callable[..., Flask]
) -> None:
    page = new_page(browser)
    order_url = started_payment(page, live_server)
    attempt = newest_attempt(make_app, order_url)
    page.evaluate("document.getElementById('status-message').keptByTest = true")
    page.locator("#check-again").focus()
    # Nothing changed: two polls, two 204s, and nothing on the page moved.
    assert [next_poll(page).status for _ in range(2)] == [204, 204]
    assert page.evaluate("document.activeElement.id") == "check-again"
    assert page.evaluate("document.getElementById('status-message').keptByTest") is True
    # The time left ticks in the browser although every poll answered 204.
    shown = page.locator(".clock").inner_text()
    page.wait_for_function("shown => document.querySelector('.clock').textContent !== shown", arg=shown)
    # The payer types the number on the hosted page: the step changes, the live region does not.
    sandbox_control(
        live_server, f"payins/{attempt.payment_id}/phone", {"operator": OPERATOR, "phone": SUCCEEDING_PHONE}
    )
    page.wait_for_selector("#payment-status li[aria-current=step] >> text=Code sent by SMS")
    assert page.evaluate("document.activeElement.id") == "check-again"
    assert page.evaluate("document.getElementById('status-message').keptByTest") is True
    assert heading(page) == "Waiting for your payment"
    # … then the code: paid. The same live region now says so, and so do the heading and the title.
    otp = str(sandbox_control(live_server, f"payins/{attempt.payment_id}")["otp"])
    sandbox_control(live_server, f"payins/{attempt.payment_id}/code", {"code": otp})
    wait_for_phase(page, "paid")
    assert page.evaluate("document.getElementById('status-message').keptByTest") is True
    assert heading(page) == f"Paid — order {attempt.order_number}"
    assert page.title().startswith(f"Paid — order {attempt.order_number} · ")
    # Final: the poller has no trigger left, so no poll follows.
    assert page.locator("#status-poll[hx-get]").count() == 0
    page.context.close()


def test_the_paid_time_is_almaty_time(browser: Any, live_server: str, make_app: Callable[..., Flask]) -> None:
    page = new_page(browser)
    order_url = order_first_product(page, live_server, "en")
    pay_on_hosted_page(page)
    page.wait_for_url(order_url, timeout=15_000)
    wait_for_phase(page, "paid")
    page.goto(order_url + "?lang=en")
    token = order_url.rsplit("/", 1)[1]
    with make_app().app_context():
        paid_at = db.session.execute(select(Order.paid_at).where(Order.token == token)).scalar_one()
    assert paid_at is not None
    local = paid_at + ALMATY_OFFSET
    shown = str(page.locator("#payment-status time").inner_text())
    assert shown == f"{local:%B} {local.day}, {local.year}, {local:%H:%M}"
    assert "UTC" not in page.locator("main").inner_text()
    page.context.close()


def test_cancel_then_pay_again(
    browser: Any, live_server: str, make_app: Callable[..., Flask], artifacts: Path
) -> None:
    page = new_page(browser)
    order_url = started_payment(page, live_server)
    attempt = newest_attempt(make_app, order_url)
    assert "Nothing will be charged; you can pay again." in page.locator("#payment-status").inner_text()
    page.locator("#cancel-payment").click()
    page.wait_for_url(order_url)
    wait_for_phase(page, "declined")
    assert heading(page) == "Payment cancelled"
    assert page.title().startswith("Payment cancelled · ")
    assert sandbox_control(live_server, f"payins/{attempt.payment_id}")["state"] == "decline"
    page.screenshot(path=str(artifacts / f"order-cancelled-{PHONE}.png"), full_page=True)
    # "Pay" starts a new attempt, which goes through.
    pay_on_hosted_page(page)
    page.wait_for_url(order_url, timeout=15_000)
    wait_for_phase(page, "paid")
    assert newest_attempt(make_app, order_url).payment_id != attempt.payment_id
    page.context.close()


def test_every_state_at_both_widths_has_no_axe_violations(
    browser: Any, live_server: str, make_app: Callable[..., Flask], artifacts: Path
) -> None:
    maker = new_page(browser)
    states = {"unpaid": order_first_product(maker, live_server, "en")}
    for name in ("pending", "declined", "paid", "review", "cancelled"):
        states[name] = started_payment(maker, live_server)
    for name, status, wrong in (
        ("declined", "decline", 0),
        ("paid", "success", 0),
        ("review", "success", 100),
    ):
        attempt = newest_attempt(make_app, states[name])
        report(live_server, attempt.payment_id, status, attempt.amount + wrong)
    maker.goto(states["cancelled"] + "?lang=en")
    maker.locator("#cancel-payment").click()
    wait_for_phase(maker, "declined")
    maker.context.close()
    for width in (PHONE, 1280):
        page = new_page(browser, width=width)
        for name, url in states.items():
            page.goto(url + "?lang=en")
            wait_for_phase(
                page, "pending" if name == "pending" else "declined" if name == "cancelled" else name
            )
            check_page(page, artifacts, f"{name}-en")
            tap_targets_are_big_enough(page, name)
        for language in ("kk", "ru"):
            page.goto(states["pending"] + f"?lang={language}")
            check_page(page, artifacts, f"pending-{language}")
        page.context.close()


def test_one_language_per_page_from_the_cart_to_the_payment_page(browser: Any, live_server: str) -> None:
    # Ordered in Kazakh, then read and paid in Russian: every line follows the page, and HighHelp
    # gets the description in the language of the Pay press.
    page = new_page(browser)
    order_url = order_first_product(page, live_server, "kk").split("?")[0]
    assert page.locator(".lines .line-name").first.inner_text() == "Домбыра × 1"
    page.goto(f"{order_url}?lang=ru")
    assert page.locator("html").get_attribute("lang") == "ru"
    assert page.locator(".lines .line-name").first.inner_text() == "Домбра × 1"
    page.locator("#pay-button").click()
    page.wait_for_selector("[data-phase=phone]")
    assert page.locator("html").get_attribute("lang") == "ru"
    description = page.locator(".hh-description").inner_text()
    assert re.fullmatch(r"Заказ №\d+: Домбра × 1", description), description
    page.context.close()
