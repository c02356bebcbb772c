"""The shop's pages in a real browser, in kk, ru and en at 360 and 1280 px.

Catalogue, product, empty cart, filled cart, cart with a wrong email and a missing page: axe-core finds
no violation, nothing scrolls sideways, every header link and every cart control is at least 44×44 px,
and the header (brand, cart, three languages) stays one row. Screenshots: test-artifacts/shop/.
"""

from __future__ import annotations

from pathlib import Path
from typing import Any

import pytest
from axe_playwright_python.sync_playwright import Axe

pytestmark = pytest.mark.e2e
LANGUAGES = ("kk", "ru", "en")
WIDTHS = (360, 1280)
MIN_TAP_PX = 44
# Passes the browser's own check of type=email but not the server's (no dot in the domain).
BAD_EMAIL = "buyer@example"
# Everything a thumb taps on the shop's pages: header links, the cart's controls, the way back.
TAP_TARGETS = (
    ".site-header a, .back-link, .quantity-form input[type=number], .quantity-form button, .button-remove"
)
BOXES = """
selector => [...document.querySelectorAll(selector)].map(e => {
  const box = e.getBoundingClientRect();
  return {name: (e.textContent || e.getAttribute('aria-label') || e.id || e.tagName).trim().slice(0, 30),
          width: box.width, height: box.height, top: box.top, bottom: box.bottom};
})
"""


def boxes(page: Any, selector: str) -> list[dict[str, Any]]:
    """The on-screen boxes of the elements matching `selector`."""
    return list(page.evaluate(BOXES, selector))


def check(page: Any, shots: Path, name: str, language: str) -> None:
    """The page speaks `language`, fits, passes axe, has big tap targets and a one-row header."""
    width = page.viewport_size["width"]
    page.screenshot(path=str(shots / f"{name}-{language}-{width}.png"), full_page=True)
    where = f"{name} in {language} at {width}px"
    assert page.locator("html").get_attribute("lang") == language, where
    assert page.evaluate("document.documentElement.scrollWidth") <= width, f"{where} scrolls sideways"
    violations = Axe().run(page).response["violations"]
    assert [f"{item['id']}: {item['help']}" for item in violations] == [], where
    small = [box for box in boxes(page, TAP_TARGETS) if min(box["width"], box["height"]) < MIN_TAP_PX]
    assert small == [], f"{where}: tap targets under {MIN_TAP_PX}px"
    header = boxes(page, ".site-header > *")
    # One row: every part of the header shares some height with every other part.
    assert max(box["top"] for box in header) < min(box["bottom"] for box in header), f"{where}: {header}"
    assert page.evaluate("typeof window.htmx") == "undefined", f"{where} loads htmx it does not use"


@pytest.fixture
def shots(artifacts: Path) -> Path:
    folder = artifacts / "shop"
    folder.mkdir(exist_ok=True)
    return folder


@pytest.mark.parametrize("width", WIDTHS)
@pytest.mark.parametrize("language", LANGUAGES)
def test_every_shop_page_fits_passes_axe_and_is_easy_to_tap(
    browser: Any, live_server: str, shots: Path, language: str, width: int
) -> None:
    context = browser.new_context(viewport={"width": width, "height": 800})
    page = context.new_page()
    problems: list[str] = []
    page.on("pageerror", lambda error: problems.append(str(error)))
    # A refused form (400) and the missing page (404) are meant; a missing style or image is not.
    page.on(
        "response",
        lambda response: (
            problems.append(f"{response.status} {response.url}")
            if response.status >= 400 and response.request.resource_type != "document"
            else None
        ),
    )
    page.on(
        "console",
        lambda message: (
            problems.append(message.text)
            if message.type == "error" and not message.text.startswith("Failed to load resource")
            else None
        ),
    )

    page.goto(f"{live_server}/?lang={language}")
    check(page, shots, "catalogue", language)
    page.goto(f"{live_server}/products/dombra")
    check(page, shots, "product", language)
    page.goto(f"{live_server}/cart")
    assert page.locator(".cart-line").count() == 0
    check(page, shots, "cart-empty", language)

    page.goto(f"{live_server}/products/dombra")
    page.locator(".add-form button").click()
    page.wait_for_url("**/cart")
    page.goto(f"{live_server}/products/kese")
    page.locator(".add-form button").click()
    page.wait_for_url("**/cart")
    assert page.locator("[data-cart-count]").get_attribute("data-cart-count") == "2"
    check(page, shots, "cart", language)

    email = page.locator("input[name=email]")
    email.fill(BAD_EMAIL)
    page.locator(".checkout-form button[type=submit]").click()
    page.wait_for_selector("input[name=email][aria-invalid=true]")
    error_id = email.get_attribute("aria-describedby")
    assert error_id
    assert page.locator(f"#{error_id}").is_visible()
    # The customer lands on the field to correct, with what they typed still there.
    assert page.evaluate("document.activeElement.name") == "email"
    assert email.input_value() == BAD_EMAIL
    check(page, shots, "cart-bad-email", language)

    page.locator(".cart-line[data-sku=dombra] .button-remove").click()
    page.wait_for_url("**/cart")
    assert page.locator(".cart-line").evaluate_all("lines => lines.map(line => line.dataset.sku)") == ["kese"]

    response = page.goto(f"{live_server}/no-such-page")
    assert response is not None
    assert response.status == 404
    check(page, shots, "not-found", language)
    assert problems == []
    context.close()
