"""The order page's weight on the wire as Chromium counts it: a first visit, then one with a warm cache."""

from __future__ import annotations

from typing import Any

import pytest

from tests.e2e.test_checkout_flow import new_page, order_first_product

pytestmark = pytest.mark.e2e

COLD_BUDGET = 25_000
WARM_BUDGET = 3_000


class WireCount:
    """Bytes Chromium received (headers and bodies, as sent) for each request of a page, by URL."""

    def __init__(self, page: Any) -> None:
        self.urls: dict[str, str] = {}
        self.received: dict[str, int] = {}
        session = page.context.new_cdp_session(page)
        session.on("Network.requestWillBeSent", self._sent)
        session.on("Network.loadingFinished", self._finished)
        session.send("Network.enable")

    def _sent(self, event: dict[str, Any]) -> None:
        self.urls[event["requestId"]] = event["request"]["url"]

    def _finished(self, event: dict[str, Any]) -> None:
        self.received[self.urls.get(event["requestId"], "?")] = int(event["encodedDataLength"])

    def load(self, page: Any, url: str) -> dict[str, int]:
        """Open url and wait for it and all it loads; the bytes per URL, the status poll's left out."""
        self.received.clear()
        page.goto(url, wait_until="networkidle")
        return {url: size for url, size in self.received.items() if "/status" not in url}


def test_the_order_page_weighs_at_most_25_kb_cold_and_3_kb_warm_in_chromium(
    browser: Any, live_server: str
) -> None:
    shopper = new_page(browser)
    order_url = order_first_product(shopper, live_server, "en")
    # Pressing Pay leaves a payment waiting for the customer: the order page polls.
    shopper.locator("#payment-status form button[type=submit]").click()
    shopper.wait_for_selector("[data-phase=phone]")
    shopper.context.close()

    page = new_page(browser)
    count = WireCount(page)
    cold = count.load(page, order_url)
    assert any(".js" in url for url in cold), cold
    assert any(".css" in url for url in cold), cold
    assert sum(cold.values()) <= COLD_BUDGET, cold
    page.goto("about:blank")
    warm = count.load(page, order_url)
    assert sum(warm.values()) <= WARM_BUDGET, warm
    page.context.close()
