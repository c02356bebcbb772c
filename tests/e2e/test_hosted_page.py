"""The sandbox's hosted payment page in Chromium, on a phone and on a desktop, in kk, ru and en."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import pytest
import requests
from axe_playwright_python.sync_playwright import Axe

from checkout.highhelp import HighHelpClient
from checkout.highhelp.wire import CreatePayinRequest
from checkout.sandbox import scenarios
from tests.conftest import PROJECT_ID, merchant_signer
from tests.sandbox_support import create_body

pytestmark = pytest.mark.e2e

WIDTHS = (360, 1280)
PENDING_PHONE = next(s.phone for s in scenarios.SCENARIOS if s.code == scenarios.STAYS_PENDING)
# Everything a finger may need to hit; each must be at least 44 × 44 px.
TAP_TARGETS = ".hh-languages a, button, a.hh-button, .hh-link, label.hh-operator, summary"
SMALL_TARGETS = f"""() => Array.from(document.querySelectorAll({TAP_TARGETS!r}))
  .filter(e => e.offsetParent !== null)
  .map(e => [e.outerHTML.slice(0, 80), e.getBoundingClientRect()])
  .filter(([, r]) => r.width < 44 || r.height < 44)
  .map(([html, r]) => `${{html}}: ${{Math.round(r.width)}}x${{Math.round(r.height)}}`)"""


def new_payin(live_server: str, payment_id: str, language: str, back: str = "/") -> str:
    client = HighHelpClient(live_server + "/sandbox", PROJECT_ID, merchant_signer())
    body = create_body(payment_id, customer__language=language)
    body["general"]["redirect_url"] = live_server + back
    return client.create_payin(CreatePayinRequest.build(body)).integration.form_url


def new_page(browser: Any, width: int) -> Any:
    context = browser.new_context(viewport={"width": width, "height": 800})
    page = context.new_page()
    page.set_default_timeout(15_000)
    return page


def check_step(page: Any, artifacts: Path, name: str, language: str) -> None:
    """One heading, the page's language, nothing sideways, big enough targets, no axe violation."""
    width = page.viewport_size["width"]
    page.screenshot(path=str(artifacts / f"hosted-{name}-{language}-{width}.png"), full_page=True)
    assert page.locator("h1").count() == 1, name
    assert page.locator("html").get_attribute("lang") == language
    assert page.evaluate("document.documentElement.scrollWidth") <= width, name
    assert page.evaluate(SMALL_TARGETS) == [], name
    violations = Axe().run(page).response["violations"]
    assert [f"{v['id']}: {v['help']} ({len(v['nodes'])}×)" for v in violations] == [], f"{name} {width}"


def hold_the_shop(page: Any, shop_url: str) -> list[str]:
    """Navigations to the shop get 204 (the page stays to be checked); the list records them."""
    asked: list[str] = []

    def answer(route: Any) -> None:
        asked.append(route.request.url)
        route.fulfill(status=204)

    page.route(shop_url, answer)
    return asked


def counts_down_then_returns(page: Any, asked: list[str], shop_url: str) -> None:
    """The "back to the shop in N s" text really counts down, and at zero the browser goes there."""
    first = page.locator("[data-return-text]").inner_text()
    page.wait_for_function(
        "first => document.querySelector('[data-return-text]').innerText !== first", arg=first
    )
    for _ in range(100):  # at most 10 s, for a 5 s countdown
        if asked:
            break
        page.wait_for_timeout(100)
    assert asked == [shop_url]


def submit(page: Any, field: str) -> None:
    with page.expect_navigation():
        page.locator(f"input[name={field}]").press("Enter")


# Each language once and each width at least once: test_every_customer_page.py runs axe and the
# overflow check on every step in the full matrix; these walk the behaviour.
@pytest.mark.parametrize(("language", "width"), [("kk", 360), ("ru", 1280), ("en", 360)])
def test_every_step_walked_through(
    browser: Any, live_server: str, artifacts: Path, width: int, language: str
) -> None:
    page = new_page(browser, width)
    problems: list[str] = []
    page.on("console", lambda message: problems.append(message.text) if message.type == "error" else None)
    page.goto(new_payin(live_server, f"steps-{width}-{language}", language))
    check_step(page, artifacts, "phone", language)
    # The time left to pay ticks down by itself.
    first = page.locator(".hh-time").inner_text()
    page.wait_for_function("first => document.querySelector('.hh-time').innerText !== first", arg=first)

    page.locator("input[name=phone]").fill("+7 601 234")
    submit(page, "phone")
    phone = page.locator("input[name=phone]")
    assert phone.get_attribute("aria-invalid") == "true"
    assert page.locator("[role=radiogroup]").get_attribute("aria-invalid") == "true"
    check_step(page, artifacts, "phone-error", language)

    # The number's prefix (700: Altel only) picks the operator while nothing is picked.
    phone.fill(PENDING_PHONE)
    assert page.locator("input[name=operator][value=ALTEL]").is_checked()
    assert page.locator("[data-operator-hint]").is_visible()
    submit(page, "phone")
    check_step(page, artifacts, "code", language)

    otp = str(page.locator("[data-sandbox-otp]").get_attribute("data-sandbox-otp"))
    page.locator("input[name=code]").fill(str((int(otp) + 1) % 1_000_000).zfill(6))
    submit(page, "code")
    assert page.locator("input[name=code]").get_attribute("aria-invalid") == "true"
    check_step(page, artifacts, "code-error", language)

    page.locator("input[name=code]").fill(otp)
    submit(page, "code")
    page.wait_for_selector("[data-phase=checking]")
    check_step(page, artifacts, "checking", language)
    # "Checking" asks for its step by htmx; the page itself is never reloaded.
    page.evaluate("window.stillTheSamePage = true")
    for _ in range(2):
        with page.expect_response(lambda response: "/step?" in response.url and response.status == 204):
            pass
    assert page.evaluate("window.stillTheSamePage") is True

    asked = hold_the_shop(page, live_server + "/")
    response = requests.post(
        f"{live_server}/sandbox/control/payins/steps-{width}-{language}/expire", timeout=5
    )
    assert response.status_code == 200
    page.wait_for_selector("[data-phase=declined]")
    assert page.evaluate("window.stillTheSamePage") is True
    assert page.evaluate("document.activeElement.tagName") == "H1"
    assert page.title().startswith(page.locator("h1").inner_text())
    check_step(page, artifacts, "declined", language)
    counts_down_then_returns(page, asked, live_server + "/")
    assert problems == []

    page.goto(live_server + "/sandbox/pay/no-such-page?lang=" + language)
    check_step(page, artifacts, "not-found", language)
    page.context.close()


@pytest.mark.parametrize(("language", "width"), [("kk", 360), ("en", 1280)])
def test_paying_on_the_hosted_page(
    browser: Any, live_server: str, artifacts: Path, width: int, language: str
) -> None:
    page = new_page(browser, width)
    problems: list[str] = []
    page.on("console", lambda message: problems.append(message.text) if message.type == "error" else None)
    page.goto(new_payin(live_server, f"pay-{width}-{language}", language))
    page.locator("label.hh-operator").nth(3).click()
    page.locator("input[name=phone]").fill("+7 701 234 56 78")
    page.locator("form button[type=submit]").first.click()
    otp = page.locator("[data-sandbox-otp]").get_attribute("data-sandbox-otp")
    assert otp is not None
    assert len(otp) == 6
    assert page.locator("[data-unlock-button]").is_disabled()
    # The countdown unlocks the re-request button by itself (SANDBOX_RESEND_SECONDS=2 here).
    page.locator("[data-unlock-button]:enabled").wait_for(timeout=5000)

    asked = hold_the_shop(page, live_server + "/")
    page.locator("input[name=code]").fill(otp)
    submit(page, "code")
    page.wait_for_selector("[data-phase=success]")
    check_step(page, artifacts, "success", language)
    counts_down_then_returns(page, asked, live_server + "/")
    assert problems == []
    page.context.close()


def test_a_mistake_and_a_language_switch_keep_what_was_typed(browser: Any, live_server: str) -> None:
    page = new_page(browser, 360)
    page.goto(new_payin(live_server, "kept", "en"))
    page.locator("input[name=phone]").fill("+7 777 12")
    submit(page, "phone")
    # Each error sits at its field and is tied to it.
    phone = page.locator("input[name=phone]")
    assert phone.input_value() == "+7 777 12"
    assert phone.get_attribute("aria-invalid") == "true"
    error = page.locator("#" + str(phone.get_attribute("aria-describedby")))
    assert "Enter a Kazakh mobile number" in error.inner_text()
    assert 0 <= phone.bounding_box()["y"] - error.bounding_box()["y"] < 80
    assert phone.evaluate("e => e === document.activeElement")
    # +7 777 is Beeline's alone: the page picked it while the number was typed, and kept it.
    assert page.locator("input[name=operator][value=BEELINE]").is_checked()
    assert page.locator("[role=radiogroup]").get_attribute("aria-invalid") is None

    # The payer's own pick wins and is kept.
    phone.fill("+7 777 123 45 67")
    page.locator("label.hh-operator").nth(3).click()
    assert page.locator("input[name=operator][value=KCELL]").is_checked()
    assert not page.locator("[data-operator-hint]").is_visible()
    page.locator(".hh-languages a[lang=kk]").click()
    page.wait_for_url("**lang=kk**")
    assert page.locator("html").get_attribute("lang") == "kk"
    assert page.locator("input[name=phone]").input_value() == "+7 777 123 45 67"
    assert page.locator("input[name=operator][value=KCELL]").is_checked()

    submit(page, "phone")
    assert "+7 777 123 45 67" in page.locator("#hh-step").inner_text()
    assert "code" not in page.url.split("?")[-1]
    # Another number before the code is accepted: back to the phone step with the old one to edit.
    with page.expect_navigation():
        page.locator("[data-change-number]").click()
    assert page.locator("[data-phase=phone]").count() == 1
    assert page.locator("input[name=phone]").input_value() == "+7 777 123 45 67"
    page.locator("input[name=phone]").fill("+7 705 000 11 22")
    submit(page, "phone")
    assert "+7 705 000 11 22" in page.locator("#hh-step").inner_text()
    assert page.locator("html").get_attribute("lang") == "kk"
    page.context.close()


def order_page(page: Any, server: str) -> str:
    """A placed order of the first product; the order page's URL."""
    page.goto(f"{server}/?lang=en")
    page.locator(".product-card form button").first.click()
    page.wait_for_url("**/cart")
    page.locator(".checkout-form button[type=submit]").click()
    page.wait_for_url("**/orders/*")
    return str(page.url)


@pytest.mark.parametrize("step", ["phone", "code", "checking"])
def test_cancel_returns_to_the_order_page_showing_the_decline(
    browser: Any, live_server: str, artifacts: Path, step: str
) -> None:
    page = new_page(browser, 360)
    order_url = order_page(page, live_server)
    page.locator("#payment-status form button[type=submit]").first.click()
    page.wait_for_selector("[data-phase=phone]")
    if step != "phone":
        page.locator("input[name=operator][value=ALTEL]").check(force=True)
        page.locator("input[name=phone]").fill(PENDING_PHONE)
        submit(page, "phone")
    if step == "checking":
        page.locator("input[name=code]").fill(
            str(page.locator("[data-sandbox-otp]").get_attribute("data-sandbox-otp"))
        )
        submit(page, "code")
    page.wait_for_selector(f"[data-phase={step}]")
    page.locator(".hh-cancel button").click()
    page.wait_for_url(order_url)
    page.wait_for_selector("#payment-status[data-phase=declined]")
    page.screenshot(path=str(artifacts / f"hosted-cancelled-at-{step}-order-en-360.png"), full_page=True)
    page.context.close()


@pytest.mark.parametrize("width", WIDTHS)
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
