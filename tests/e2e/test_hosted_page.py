"""The sandbox's hosted payment page in Chromium, on a phone and on a desktop."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import pytest

from checkout.highhelp import HighHelpClient
from checkout.highhelp.wire import CreatePayinRequest
from tests.conftest import PROJECT_ID, merchant_signer
from tests.sandbox_support import create_body

pytestmark = pytest.mark.e2e


def new_payin(live_server: str, payment_id: str, language: str) -> str:
    client = HighHelpClient(live_server + "/sandbox", PROJECT_ID, merchant_signer())
    body = create_body(payment_id, customer__language=language)
    body["general"]["redirect_url"] = live_server + "/"
    return client.create_payin(CreatePayinRequest.build(body)).integration.form_url


@pytest.mark.parametrize(("width", "language"), [(360, "kk"), (1280, "ru"), (360, "en")])
def test_paying_on_the_hosted_page(
    browser: Any, live_server: str, artifacts: Path, width: int, language: str
) -> None:
    page = browser.new_page(viewport={"width": width, "height": 800})
    problems: list[str] = []
    page.on("console", lambda message: problems.append(message.text) if message.type == "error" else None)
    page.goto(new_payin(live_server, f"e2e-{width}-{language}", language))
    assert page.locator("html").get_attribute("lang") == language
    assert page.evaluate("document.documentElement.scrollWidth") <= width
    page.screenshot(path=str(artifacts / f"hosted-phone-{language}-{width}.png"), full_page=True)

    page.locator("label.hh-operator").nth(3).click()
    page.locator("input[name=phone]").fill("+7 701 234 56 78")
    page.locator("form button[type=submit]").click()
    otp = page.locator("[data-sandbox-otp]").get_attribute("data-sandbox-otp")
    assert otp is not None
    assert len(otp) == 6
    resend = page.locator("[data-unlock-button]")
    assert resend.is_disabled()
    page.screenshot(path=str(artifacts / f"hosted-code-{language}-{width}.png"), full_page=True)
    # The countdown unlocks the re-request button by itself (SANDBOX_RESEND_SECONDS=2 here).
    page.locator("[data-unlock-button]:enabled").wait_for(timeout=5000)

    page.locator("input[name=code]").fill(otp)
    page.locator("input[name=code]").press("Enter")
    page.wait_for_selector("[data-phase=success]")
    assert page.evaluate("document.documentElement.scrollWidth") <= width
    page.screenshot(path=str(artifacts / f"hosted-success-{language}-{width}.png"), full_page=True)
    # Back to the shop by itself after a few seconds.
    page.wait_for_url(live_server + "/", timeout=10000)
    assert problems == []
    page.close()


@pytest.mark.parametrize("width", [360, 1280])
def test_overview_lists_payins_and_callbacks(
    browser: Any, live_server: str, artifacts: Path, width: int
) -> None:
    new_payin(live_server, f"overview-{width}", "en")
    page = browser.new_page(viewport={"width": width, "height": 800})
    page.goto(live_server + "/sandbox/")
    assert page.locator(".hh-payment-id").first.inner_text() == f"overview-{width}"
    assert page.evaluate("document.documentElement.scrollWidth") <= width
    page.screenshot(path=str(artifacts / f"sandbox-overview-{width}.png"), full_page=True)
    page.close()
