"""The front page in a real browser, on a phone and on a desktop."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import pytest

pytestmark = pytest.mark.e2e


@pytest.mark.parametrize("width", [360, 1280])
def test_front_page_fits_the_screen_without_errors(
    browser: Any, live_server: str, artifacts: Path, width: int
) -> None:
    page = browser.new_page(viewport={"width": width, "height": 800})
    problems: list[str] = []
    page.on("console", lambda message: problems.append(message.text) if message.type == "error" else None)
    page.on("pageerror", lambda error: problems.append(str(error)))
    response = page.goto(live_server + "/")
    assert response is not None
    assert response.status == 200
    assert page.locator("h1").inner_text() == "Pay from your mobile balance"
    assert page.evaluate("document.documentElement.scrollWidth") <= width
    # The front page follows nothing live: no htmx (52 KB) is loaded for it.
    assert page.evaluate("typeof window.htmx") == "undefined"
    page.screenshot(path=str(artifacts / f"front-page-{width}.png"), full_page=True)
    assert problems == []
    page.close()


def test_language_switch(browser: Any, live_server: str) -> None:
    page = browser.new_page(viewport={"width": 360, "height": 800})
    page.goto(live_server + "/")
    page.get_by_role("link", name="Қаз").click()
    page.wait_for_url("**/?lang=kk")
    assert page.locator("html").get_attribute("lang") == "kk"
    page.goto(live_server + "/")
    assert page.locator("html").get_attribute("lang") == "kk"
    page.close()
