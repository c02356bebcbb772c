"""The back office in Chromium: staff find, follow and settle sandbox payments, on a phone and a desktop."""

from __future__ import annotations

import csv
import io
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import pytest
import requests
from axe_playwright_python.sync_playwright import Axe
from sqlalchemy import create_engine, text

from tests.e2e.conftest import WIDER_THAN_THE_SCREEN, server_environ
from tests.e2e.test_checkout_flow import new_page, order_first_product, pay_on_hosted_page, wait_for_phase
from tests.processes import run_flask

pytestmark = pytest.mark.e2e
PASSWORD = "a long e2e password"
OPERATOR = "operator@example.kz"
VIEWER = "viewer@example.kz"
OWNER = "owner@example.kz"
WIDTHS = (360, 1280)


@dataclass(frozen=True)
class BackOffice:
    """The live server with staff accounts, and a way to read its database."""

    url: str
    database_url: str

    def order_number(self, order_url: str) -> int:
        """The order number (orders.id) behind a customer's order page."""
        token = order_url.rstrip("/").rsplit("/", 1)[1]
        return self._count("SELECT id FROM orders WHERE token = :token", token=token)

    def callbacks_of(self, number: int) -> int:
        """How many callbacks the inbox holds for the order's payments."""
        query = (
            "SELECT count(*) FROM callback_alerts WHERE payment_id IN "
            "(SELECT payment_id FROM payments WHERE order_id = :number)"
        )
        return self._count(query, number=number)

    def _count(self, query: str, **values: object) -> int:
        engine = create_engine(self.database_url.replace("postgresql://", "postgresql+psycopg://", 1))
        try:
            with engine.connect() as connection:
                return int(connection.execute(text(query), values).scalar_one())
        finally:
            engine.dispose()


@pytest.fixture
def back_office(live_server: str, database_url: str, tmp_path: Path) -> BackOffice:
    """The live server with an owner, an operator and a viewer created from the command line."""
    environ = server_environ(database_url, tmp_path, int(live_server.rsplit(":", 1)[1]))
    for email, role in ((OWNER, "owner"), (OPERATOR, "operator"), (VIEWER, "viewer")):
        args = ("merchant", "create-user", email, "--role", role, "--password-stdin")
        result = run_flask(*args, environ=environ, stdin=PASSWORD + "\n")
        assert result.returncode == 0, result.stderr
    return BackOffice(live_server, database_url)


def signed_in_page(browser: Any, back_office: BackOffice, email: str, width: int = 360) -> Any:
    """A new browser page signed in as `email` through the sign-in form."""
    page = new_page(browser, width=width)
    page.goto(f"{back_office.url}/merchant/?lang=en")
    page.wait_for_url("**/merchant/login**")
    page.get_by_label("Email").fill(email)
    page.get_by_label("Password").fill(PASSWORD)
    page.get_by_role("button", name="Sign in").click()
    page.wait_for_url(lambda url: "/merchant/" in url and "/login" not in url)
    return page


def check_page(page: Any, artifacts: Path, name: str) -> None:
    """No horizontal scrolling, no axe-core violations, and a screenshot for people to look at."""
    width = page.viewport_size["width"]
    page.screenshot(path=str(artifacts / f"merchant-{name}-{width}.png"), full_page=True)
    if page.evaluate("document.documentElement.scrollWidth") > width:
        pytest.fail(f"{name} scrolls sideways at {width}px: {page.evaluate(WIDER_THAN_THE_SCREEN)}")
    violations = Axe().run(page).response["violations"]
    described = [f"{item['id']}: {item['help']} ({len(item['nodes'])}×)" for item in violations]
    assert described == [], f"{name} at {width}px"


def paid_order(browser: Any, back_office: BackOffice) -> str:
    """A customer buys and pays through the sandbox; the order page's URL."""
    customer = new_page(browser)
    order_url = order_first_product(customer, back_office.url, "en")
    pay_on_hosted_page(customer)
    customer.wait_for_url(order_url, timeout=15_000)
    wait_for_phase(customer, "paid")
    customer.context.close()
    return order_url


def test_signed_out_every_page_leads_to_sign_in(browser: Any, back_office: BackOffice) -> None:
    page = new_page(browser)
    for path in ("/merchant/", "/merchant/orders", "/merchant/review", "/merchant/links", "/merchant/staff"):
        page.goto(back_office.url + path)
        assert "/merchant/login" in page.url, path
    assert requests.get(back_office.url + "/merchant/orders.csv", timeout=10).status_code == 401
    page.context.close()


def test_an_operator_finds_a_paid_order_and_reads_its_story(
    browser: Any, back_office: BackOffice, artifacts: Path
) -> None:
    order_url = paid_order(browser, back_office)
    number = back_office.order_number(order_url)
    for width in WIDTHS:
        page = signed_in_page(browser, back_office, OPERATOR, width)
        check_page(page, artifacts, "dashboard")
        page.get_by_role("link", name="Orders", exact=True).click()
        page.wait_for_url("**/merchant/orders**")
        page.get_by_label("Order number, payment ID or email").fill(str(number))
        page.get_by_role("button", name="Show").click()
        page.wait_for_url("**q=*")
        check_page(page, artifacts, "orders")
        page.get_by_role("link", name=f"№\u00a0{number}", exact=True).first.click()
        page.wait_for_url(f"**/merchant/orders/{number}**")
        timeline = page.locator(".timeline").first.inner_text()
        assert "POST /api/v1/widget/payin" in timeline
        assert "[redacted]" in timeline
        assert "success" in timeline
        # Every callback the inbox received for the payment is on the timeline, once.
        callbacks = page.locator(".timeline-entry.timeline-callback").count()
        assert callbacks == back_office.callbacks_of(number) > 0
        check_page(page, artifacts, "order")
        page.get_by_role("button", name="Re-check with HighHelp").first.click()
        page.wait_for_load_state()
        assert OPERATOR in page.locator(".timeline").first.inner_text()
        page.context.close()


def test_an_operator_cancels_a_pending_payment(
    browser: Any, back_office: BackOffice, artifacts: Path
) -> None:
    customer = new_page(browser)
    order_url = order_first_product(customer, back_office.url, "en")
    customer.locator("#payment-status form button[type=submit]").click()
    customer.wait_for_selector("[data-phase=phone]")
    number = back_office.order_number(order_url)
    page = signed_in_page(browser, back_office, OPERATOR)
    page.goto(f"{back_office.url}/merchant/orders/{number}?lang=en")
    page.get_by_role("link", name="Cancel payment…").click()
    check_page(page, artifacts, "cancel")
    page.get_by_role("button", name="Cancel the payment").click()
    page.wait_for_url(f"**/merchant/orders/{number}**")
    assert "declined" in page.locator(".attempt").first.inner_text().lower()
    customer.goto(order_url)
    wait_for_phase(customer, "declined")
    customer.context.close()
    page.context.close()


def test_a_payment_link_is_paid_by_a_customer_and_counted(
    browser: Any, back_office: BackOffice, artifacts: Path
) -> None:
    page = signed_in_page(browser, back_office, OPERATOR, 1280)
    page.get_by_role("link", name="Payment links").click()
    page.get_by_label("Amount, ₸").fill("2 500,50")
    page.get_by_label("What the customer pays for, in their language").fill("Instagram order: two scarves")
    page.get_by_role("button", name="Create the link").click()
    page.wait_for_url("**/merchant/links/*")
    assert page.locator("svg").count() >= 1
    customer_url = page.locator("#customer-link").input_value()
    check_page(page, artifacts, "link")
    customer = new_page(browser)
    customer.goto(customer_url)
    pay_on_hosted_page(customer)
    customer.wait_for_url(customer_url.split("?")[0] + "**", timeout=15_000)
    wait_for_phase(customer, "paid")
    customer.context.close()
    page.reload()
    assert "Paid" in page.locator("main").inner_text()
    page.get_by_role("link", name="Dashboard").click()
    assert "2\u00a0500,50\u00a0₸" in page.locator("main").inner_text()
    cookies = {cookie["name"]: cookie["value"] for cookie in page.context.cookies()}
    export = requests.get(f"{back_office.url}/merchant/orders.csv?sep=comma", cookies=cookies, timeout=30)
    assert export.status_code == 200
    rows = list(csv.reader(io.StringIO(export.content.decode("utf-8-sig"))))
    assert any("2500.50" in row and "paid" in row for row in rows[1:]), rows[:3]
    page.context.close()


def test_a_viewer_sees_everything_and_can_change_nothing(
    browser: Any, back_office: BackOffice, artifacts: Path
) -> None:
    order_url = paid_order(browser, back_office)
    number = back_office.order_number(order_url)
    page = signed_in_page(browser, back_office, VIEWER)
    page.goto(f"{back_office.url}/merchant/orders/{number}?lang=en")
    assert page.get_by_role("button", name="Re-check with HighHelp").count() == 0
    token = page.locator("input[name=csrf_token]").first.get_attribute("value")
    for path in (
        "/merchant/payments/1/recheck",
        "/merchant/payments/1/cancel",
        "/merchant/payments/1/confirm",
        "/merchant/review/payment/1/resolve",
        "/merchant/links",
    ):
        answer = page.context.request.post(back_office.url + path, form={"csrf_token": token, "note": "x"})
        assert answer.status == 403, path
    assert page.context.request.get(back_office.url + "/merchant/staff").status == 403
    page.context.close()


@pytest.mark.parametrize("width", WIDTHS)
def test_every_page_in_every_language_fits_and_passes_axe(
    browser: Any, back_office: BackOffice, artifacts: Path, width: int
) -> None:
    paid_order(browser, back_office)
    page = signed_in_page(browser, back_office, OWNER, width)
    for language in ("kk", "ru", "en"):
        for name, path in (
            ("dashboard", "/merchant/"),
            ("orders", "/merchant/orders"),
            ("order", "/merchant/orders/1"),
            ("review", "/merchant/review"),
            ("links", "/merchant/links"),
            ("staff", "/merchant/staff"),
        ):
            page.goto(f"{back_office.url}{path}?lang={language}")
            assert page.locator("html").get_attribute("lang") == language
            check_page(page, artifacts, f"{name}-{language}")
    page.context.close()
    login = new_page(browser, width=width)
    login.goto(f"{back_office.url}/merchant/login?lang=kk")
    check_page(login, artifacts, "login-kk")
    login.context.close()
