"""Buying and paying in Chromium, through the sandbox's hosted page, as a customer on a phone."""

from __future__ import annotations

import time
from pathlib import Path
from typing import Any

import pytest
import requests

from tests.e2e.conftest import server_environ
from tests.processes import run_flask

pytestmark = pytest.mark.e2e
PHONE = 360


def new_page(browser: Any, width: int = PHONE, javascript: bool = True) -> Any:
    context = browser.new_context(viewport={"width": width, "height": 800}, java_script_enabled=javascript)
    page = context.new_page()
    page.set_default_timeout(20_000)
    return page


def order_first_product(page: Any, server: str, language: str, shots: Path | None = None) -> str:
    """From the catalogue to a placed order; the order page's URL."""
    page.goto(f"{server}/?lang={language}")
    if shots:
        page.screenshot(path=str(shots / f"shop-catalogue-{language}.png"), full_page=True)
    page.locator(".product-card form button").first.click()
    page.wait_for_url("**/cart")
    if shots:
        page.screenshot(path=str(shots / f"shop-cart-{language}.png"), full_page=True)
    page.locator(".checkout-form button[type=submit]").click()
    page.wait_for_url("**/orders/*")
    return str(page.url)


def pay_on_hosted_page(page: Any, phone: str = "+7 701 234 56 78", wrong_codes: int = 0) -> None:
    """Press pay on the order page, pick Kcell, type the number, then the code (or wrong ones)."""
    page.locator("#payment-status form button[type=submit]").click()
    page.wait_for_selector("[data-phase=phone]")
    page.locator("label.hh-operator").nth(3).click()
    page.locator("input[name=phone]").fill(phone)
    page.locator("form button[type=submit]").first.click()
    page.wait_for_selector("[data-sandbox-otp]")
    otp = str(page.locator("[data-sandbox-otp]").get_attribute("data-sandbox-otp"))
    wrong = str((int(otp) + 1) % 1_000_000).zfill(6)
    for code in [wrong] * wrong_codes or [otp]:
        page.locator("input[name=code]").fill(code)
        page.locator("input[name=code]").press("Enter")
        page.wait_for_load_state()


def back_from_the_hosted_page(page: Any, outcome: str, order_url: str) -> None:
    """Wait for the hosted page's result and press its button back to the order page."""
    page.wait_for_selector(f"[data-phase={outcome}]")
    page.locator("a.hh-button").click()
    page.wait_for_url(order_url)


def status_phase(page: Any) -> str:
    return str(page.locator("#payment-status").get_attribute("data-phase"))


def wait_for_phase(page: Any, phase: str, timeout: float = 20_000) -> None:
    # Attached, not visible: under review the status has nothing to show but its message.
    page.wait_for_selector(f"#payment-status[data-phase={phase}]", state="attached", timeout=timeout)


@pytest.mark.parametrize("language", ["kk", "ru", "en"])
def test_buy_and_pay(browser: Any, live_server: str, artifacts: Path, language: str) -> None:
    page = new_page(browser)
    order_url = order_first_product(page, live_server, language, artifacts)
    page.screenshot(path=str(artifacts / f"shop-order-{language}.png"), full_page=True)
    pay_on_hosted_page(page)
    page.wait_for_selector("[data-phase=success]")
    # The hosted page takes the customer back to the order page by itself.
    page.wait_for_url(order_url, timeout=15_000)
    wait_for_phase(page, "paid")
    # The outcome is the page's heading and its title, in the page's language.
    heading = page.locator("#status-message h1").inner_text().strip()
    assert page.title().startswith(heading + " · ")
    assert page.locator("#payment-status .receipt").count() == 1
    assert page.locator("html").get_attribute("lang") == language
    if language == "en":
        assert heading.startswith("Paid — order ")
    assert page.evaluate("document.documentElement.scrollWidth") <= PHONE
    page.screenshot(path=str(artifacts / f"shop-paid-{language}.png"), full_page=True)
    page.context.close()


def test_desktop_layout(browser: Any, live_server: str, artifacts: Path) -> None:
    page = new_page(browser, width=1280)
    order_first_product(page, live_server, "ru")
    page.screenshot(path=str(artifacts / "shop-order-ru-1280.png"), full_page=True)
    page.goto(live_server + "/?lang=ru")
    page.screenshot(path=str(artifacts / "shop-catalogue-ru-1280.png"), full_page=True)
    assert page.evaluate("document.documentElement.scrollWidth") <= 1280
    page.context.close()


def test_three_wrong_codes_then_a_successful_retry(browser: Any, live_server: str, artifacts: Path) -> None:
    page = new_page(browser)
    order_url = order_first_product(page, live_server, "en")
    pay_on_hosted_page(page, wrong_codes=3)
    back_from_the_hosted_page(page, "declined", order_url)
    wait_for_phase(page, "declined")
    status = page.locator("#status-message").inner_text()
    assert "The code from the SMS was entered wrong too many times." in status
    assert "No money was taken." in status
    page.screenshot(path=str(artifacts / "shop-declined-en.png"), full_page=True)
    pay_on_hosted_page(page)
    page.wait_for_url(order_url, timeout=15_000)
    wait_for_phase(page, "paid")
    page.context.close()


def test_operator_declines_after_paid(browser: Any, live_server: str) -> None:
    page = new_page(browser)
    order_url = order_first_product(page, live_server, "en")
    pay_on_hosted_page(page, phone="+7 700 000 00 01")
    back_from_the_hosted_page(page, "declined", order_url)
    wait_for_phase(page, "declined")
    assert "Your operator declined the payment." in page.locator("#status-message").inner_text()
    page.context.close()


def test_payer_returns_before_any_callback(browser: Any, live_server: str, artifacts: Path) -> None:
    requests.post(f"{live_server}/sandbox/control/faults", json={"mode": "delay", "delay": 5}, timeout=5)
    page = new_page(browser)
    order_url = order_first_product(page, live_server, "en")
    pay_on_hosted_page(page)
    back_from_the_hosted_page(page, "success", order_url)
    # Nothing has reached the shop yet: the page shows progress and follows it.
    assert status_phase(page) == "pending"
    page.screenshot(path=str(artifacts / "shop-pending-en.png"), full_page=True)
    wait_for_phase(page, "paid")
    page.context.close()


def test_lost_callbacks_are_settled_by_reconciliation(
    browser: Any, live_server: str, database_url: str, tmp_path: Path
) -> None:
    page = new_page(browser)
    order_url = order_first_product(page, live_server, "en")
    pay_on_hosted_page(page, phone="+7 700 000 00 04")
    back_from_the_hosted_page(page, "success", order_url)
    assert status_phase(page) == "pending"
    port = int(live_server.rsplit(":", 1)[1])
    result = run_flask(
        "payments", "reconcile", "--older-than", "0", environ=server_environ(database_url, tmp_path, port)
    )
    assert result.returncode == 0, result.stderr
    assert "asked HighHelp about 1 payment(s)" in result.stdout
    # Well before the page itself would find the status stale (10 s), it shows the reconciled result.
    wait_for_phase(page, "paid", timeout=6_000)
    page.context.close()


def test_without_javascript(browser: Any, live_server: str, artifacts: Path) -> None:
    requests.post(f"{live_server}/sandbox/control/faults", json={"mode": "delay", "delay": 3}, timeout=5)
    page = new_page(browser, javascript=False)
    order_url = order_first_product(page, live_server, "en")
    pay_on_hosted_page(page)
    back_from_the_hosted_page(page, "success", order_url)
    assert status_phase(page) == "pending"
    assert page.locator("text=Check again").count() == 1
    # Nothing reloads by itself (no timed refresh): the customer presses "Check again" until paid.
    deadline = time.monotonic() + 20
    while status_phase(page) == "pending" and time.monotonic() < deadline:
        page.locator("#check-again").click()
        page.wait_for_load_state()
    assert status_phase(page) == "paid"
    page.screenshot(path=str(artifacts / "shop-paid-nojs-en.png"), full_page=True)
    page.context.close()
