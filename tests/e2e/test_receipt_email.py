"""A customer who gave an email pays in Chromium; the worker's drain writes the receipt they get."""

from __future__ import annotations

import email
from datetime import UTC, datetime, timedelta
from email.message import EmailMessage
from email.policy import default as default_policy
from pathlib import Path
from typing import Any

import pytest
from axe_playwright_python.sync_playwright import Axe

from tests.e2e.conftest import server_environ
from tests.e2e.test_checkout_flow import PHONE, new_page, pay_on_hosted_page, wait_for_phase
from tests.processes import run_flask

pytestmark = pytest.mark.e2e
CUSTOMER = "aigerim@example.kz"
ALMATY_OFFSET = timedelta(hours=5)
# The page rules (one main landmark, all content in landmarks) are for web pages: webmail puts an
# email inside its own page, so the email is an article, checked against WCAG itself.
WCAG_ONLY = {"runOnly": {"type": "tag", "values": ["wcag2a", "wcag2aa", "wcag21a", "wcag21aa", "wcag22aa"]}}


def order_with_email(page: Any, server: str, language: str) -> str:
    """The first product in the cart, an email for the receipt, the order placed; the order's URL."""
    page.goto(f"{server}/?lang={language}")
    page.locator(".product-card form button").first.click()
    page.wait_for_url("**/cart")
    page.locator(".checkout-form input[name=email]").fill(CUSTOMER)
    page.locator(".checkout-form button[type=submit]").click()
    page.wait_for_url("**/orders/*")
    return str(page.url)


def test_the_paid_order_gets_its_receipt(
    browser: Any, live_server: str, database_url: str, tmp_path: Path, artifacts: Path
) -> None:
    page = new_page(browser)
    order_url = order_with_email(page, live_server, "en")
    pay_on_hosted_page(page)
    page.wait_for_url(order_url, timeout=15_000)
    wait_for_phase(page, "paid")
    paid_seen = datetime.now(UTC)
    mail_folder = tmp_path / "instance" / "mail"
    assert not mail_folder.exists() or not list(mail_folder.glob("*.eml")), "nothing is sent by the web app"

    port = int(live_server.rsplit(":", 1)[1])
    result = run_flask("mail", "send", environ=server_environ(database_url, tmp_path, port))
    assert result.returncode == 0, result.stderr
    assert "sent 1 email(s)" in result.stdout
    [path] = mail_folder.glob("*.eml")
    message = email.message_from_bytes(path.read_bytes(), policy=default_policy)
    assert isinstance(message, EmailMessage)
    assert message["To"] == CUSTOMER
    token = order_url.rsplit("/", 1)[1]
    number = message["Subject"].rsplit(" ", 1)[1]
    assert message["Subject"] == f"Dala Mobile Shop: receipt for order {number}"
    text = message.get_body(preferencelist=("plain",))
    html = message.get_body(preferencelist=("html",))
    assert text is not None
    assert html is not None
    text_content, html_content = str(text.get_content()), str(html.get_content())
    assert f"Thank you! Your order {number} is paid." in text_content
    assert "Dombra × 1" in text_content
    assert "Total: 45\u00a0000,00\u00a0₸" in text_content
    # Paid within the last minutes, shown on Kazakhstan's clock (UTC+5) whatever the server's zone.
    local = paid_seen + ALMATY_OFFSET
    shown = [f"{moment:%H:%M}" for moment in (local - timedelta(minutes=1), local)]
    assert any(f"{clock} (Astana time)" in text_content for clock in shown), text_content
    assert f"{live_server}/orders/{token}?lang=en" in text_content
    assert f'href="{live_server}/orders/{token}?lang=en"' in html_content

    # The receipt as a mail client shows it, on a phone and on a desktop.
    for width in (PHONE, 1280):
        viewer = new_page(browser, width=width)
        viewer.set_content(html_content)
        assert viewer.evaluate("document.documentElement.scrollWidth") <= width
        viewer.screenshot(path=str(artifacts / f"mail-receipt-en-{width}.png"), full_page=True)
        assert Axe().run(viewer, options=WCAG_ONLY).response["violations"] == []
        viewer.context.close()
    page.context.close()
