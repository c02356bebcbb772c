"""Every page and state a customer sees, shop and hosted sandbox page, in kk, ru and en at 360 and 1280 px.

Each state is brought about once through real flows (browser, the sandbox's API and control endpoints),
then visited in every language and width: axe-core finds no violation, nothing scrolls sideways, and a
full-page screenshot lands in test-artifacts/customer/<page>-<state>-<lang>-<width>.png.
"""

from __future__ import annotations

import json
import re
import uuid
from collections.abc import Callable, Iterator
from dataclasses import dataclass, field
from typing import Any
from urllib.parse import urlsplit

import pytest
from axe_playwright_python.sync_playwright import Axe
from playwright.sync_api import Error as PlaywrightError

from checkout import create_app
from checkout.extensions import db
from checkout.payments.phases import Phase
from checkout.sandbox import scenarios
from checkout.shop.catalog import load_demo_products
from tests.conftest import empty_database, make_environ
from tests.e2e.conftest import ARTIFACTS, WIDER_THAN_THE_SCREEN, server_environ
from tests.e2e.customer_states import (
    CANCEL_BUTTON,
    PAY_BUTTON,
    Sandbox,
    cancel_payment,
    hosted_scenario_phone,
    place_order,
    report_wrong_amount,
    start_payment,
    wait_for_order_phase,
)
from tests.processes import free_port, local_gunicorn, serving

pytestmark = pytest.mark.e2e
LANGUAGES = ("kk", "ru", "en")
WIDTHS = (360, 1280)
SHOTS = ARTIFACTS / "customer"
PRODUCT_SKU = "dombra"
# Passes the browser's own check of type=email but not the server's (no dot in the domain).
BAD_EMAIL = "buyer@example"
BAD_PHONE = "+7 123"
# A message the page shows at a field or as an alert after a refused submission.
SHOWN_ERROR = "[aria-invalid=true], [role=alert]"
AXE = Axe()  # reads axe-core's script once
# States that are the answer to a refused submission: the page must show why.
ERROR_STATES = ("-error", "-wrong", "bad-email")
SCRIPT_ELEMENT = re.compile(r"<script\b.*?</script\s*>", re.IGNORECASE | re.DOTALL)
NOSCRIPT_TAG = re.compile(r"</?noscript\s*>", re.IGNORECASE)


@dataclass(frozen=True)
class Site:
    """The shop with its built-in sandbox, and the same shop on a second port whose HighHelp is down."""

    url: str
    down_url: str
    sandbox: Sandbox


@dataclass
class States:
    """The URLs (and cookies) that show each state, each brought about once."""

    orders: dict[str, str] = field(default_factory=dict)
    payins: dict[str, str] = field(default_factory=dict)
    cart_cookies: list[dict[str, Any]] = field(default_factory=list)


@dataclass(frozen=True)
class Visit:
    """One state of one page: `show(page, language)` brings the browser to it."""

    page: str
    state: str
    show: Callable[[Any, str], None]
    javascript: bool = True


def with_language(url: str, language: str) -> str:
    return f"{url}{'&' if '?' in url else '?'}lang={language}"


@pytest.fixture(scope="module")
def module_database(migrated_database: str, tmp_path_factory: pytest.TempPathFactory) -> Iterator[str]:
    """A migrated, empty database for this module's one server (conftest's is per test)."""
    yield from empty_database(migrated_database, tmp_path_factory.mktemp("customer-db"))


@pytest.fixture(scope="module")
def site(module_database: str, tmp_path_factory: pytest.TempPathFactory) -> Iterator[Site]:
    """Both servers on one database with the demo catalogue, for the whole module."""
    folder = tmp_path_factory.mktemp("customer-servers")
    app = create_app(make_environ(module_database), instance_path=folder / "instance")
    with app.app_context():
        load_demo_products()
        db.session.remove()
        for engine in db.engines.values():
            engine.dispose()
    port, down_port, nobody = free_port(), free_port(), free_port()
    environ = server_environ(module_database, folder / "up", port)
    # Nobody listens on `nobody`: every call to HighHelp fails at once, as when it is unreachable.
    down = server_environ(module_database, folder / "down", down_port)
    down["HIGHHELP_API_URL"] = f"http://127.0.0.1:{nobody}"
    with (
        serving(local_gunicorn(port), environ, port, folder / "up.log") as url,
        serving(local_gunicorn(down_port), down, down_port, folder / "down.log") as down_url,
    ):
        yield Site(url, down_url, Sandbox(url))


@pytest.fixture(scope="module")
def states(site: Site, browser: Any) -> States:
    """Every order and payin state, brought about once through the shop, the sandbox and its callbacks."""
    found = States()
    context = browser.new_context(viewport={"width": 1280, "height": 800})
    page = context.new_page()
    page.set_default_timeout(20_000)
    sandbox = site.sandbox
    down_states = [f"{state}-{width}" for state in ("unavailable", "cancel-unavailable") for width in WIDTHS]
    for name in ("unpaid", "pending", "paid", "declined", "review", "cancelled", *down_states):
        found.orders[name] = place_order(page, site.url)
    # Back from the hosted page before paying: the attempt is open, nothing is decided.
    for name in ("pending", "cancelled", *(f"cancel-unavailable-{width}" for width in WIDTHS)):
        start_payment(page, sandbox, found.orders[name])
    cancel_payment(page, found.orders["cancelled"])
    sandbox.pay(start_payment(page, sandbox, found.orders["paid"]))
    sandbox.decline_with_wrong_codes(start_payment(page, sandbox, found.orders["declined"]))
    report_wrong_amount(site.url, sandbox, start_payment(page, sandbox, found.orders["review"]))
    for name, phase in (
        ("pending", Phase.PENDING),
        ("paid", Phase.PAID),
        ("declined", Phase.DECLINED),
        ("review", Phase.REVIEW),
        ("cancelled", Phase.DECLINED),
    ):
        wait_for_order_phase(found.orders[name], phase)

    # What the payer has done on each hosted payin before the page is looked at.
    payer_steps: dict[str, Callable[[str], None]] = {
        "phone": lambda payment_id: None,
        "phone-error": lambda payment_id: None,  # the error comes from a submission, at each visit
        "code": sandbox.enter_phone,
        # The operator never confirms: the payin stays "checking" until its lifetime ends.
        "checking": lambda payment_id: sandbox.pay(
            payment_id, hosted_scenario_phone(scenarios.STAYS_PENDING)
        ),
        "success": sandbox.pay,
        "declined": sandbox.decline_with_wrong_codes,
        "cancelled": sandbox.cancel_by_payer,
    }
    for name, step in payer_steps.items():
        payment_id, found.payins[name] = sandbox.new_payin("en", site.url + "/")
        step(payment_id)
    found.payins["not-found"] = f"{site.url}/sandbox/pay/{uuid.uuid4().hex}"

    page.goto(f"{site.url}/?lang=en")
    page.locator(".product-card form button").first.click()
    page.wait_for_url("**/cart")
    found.cart_cookies = context.cookies()
    context.close()
    return found


def visits(site: Site, states: States) -> list[Visit]:
    """Every page and state, in the order they are visited."""

    def goto(url: str) -> Callable[[Any, str], None]:
        return lambda page, language: page.goto(with_language(url, language))

    def cart(items: bool) -> Callable[[Any, str], None]:
        def show(page: Any, language: str) -> None:
            page.context.clear_cookies()
            if items:
                page.context.add_cookies(states.cart_cookies)
            page.goto(with_language(site.url + "/cart", language))

        return show

    def cart_with_bad_email(page: Any, language: str) -> None:
        cart(items=True)(page, language)
        page.locator("input[name=email]").fill(BAD_EMAIL)
        _submit(page, page.locator(".checkout-form button[type=submit]"), expected_status=400)

    def unreachable(state: str, button: str) -> Callable[[Any, str], None]:
        """Press `button` on the shop whose HighHelp does not answer (one order per width: rate limits)."""

        def show(page: Any, language: str) -> None:
            width = page.viewport_size["width"]
            token_path = urlsplit(states.orders[f"{state}-{width}"]).path
            page.goto(with_language(site.down_url + token_path, language))
            _submit(page, page.locator(button), expected_status=503)

        return show

    def phone_error(page: Any, language: str) -> None:
        page.goto(with_language(states.payins["phone-error"], language))
        page.locator("input[name=operator][value=KCELL]").check(force=True)
        page.locator("input[name=phone]").fill(BAD_PHONE)
        _submit(page, page.locator("input[name=phone]"), press="Enter")

    def wrong_code(page: Any, language: str) -> None:
        # A fresh payin each time: the third wrong code would decline it.
        payment_id, form_url = site.sandbox.new_payin("en", site.url + "/")
        site.sandbox.enter_phone(payment_id)
        page.goto(with_language(form_url, language))
        otp = str(page.locator("[data-sandbox-otp]").get_attribute("data-sandbox-otp"))
        page.locator("input[name=code]").fill(str((int(otp) + 1) % 1_000_000).zfill(len(otp)))
        _submit(page, page.locator("input[name=code]"), press="Enter")

    orders, payins = states.orders, states.payins
    return [
        Visit("shop", "catalogue", goto(site.url + "/")),
        Visit("shop", "product", goto(f"{site.url}/products/{PRODUCT_SKU}")),
        Visit("shop", "cart-empty", cart(items=False)),
        Visit("shop", "cart-items", cart(items=True)),
        Visit("shop", "cart-bad-email", cart_with_bad_email),
        Visit("shop", "not-found", goto(f"{site.url}/no-such-page")),
        Visit("order", "unpaid", goto(orders["unpaid"])),
        Visit("order", "pending", goto(orders["pending"])),
        Visit("order", "pending-nojs", goto(orders["pending"]), javascript=False),
        Visit("order", "paid", goto(orders["paid"])),
        Visit("order", "declined", goto(orders["declined"])),
        Visit("order", "review", goto(orders["review"])),
        Visit("order", "cancelled", goto(orders["cancelled"])),
        Visit("order", "unavailable", unreachable("unavailable", PAY_BUTTON)),
        Visit("order", "cancel-unavailable", unreachable("cancel-unavailable", CANCEL_BUTTON)),
        Visit("hosted", "phone", goto(payins["phone"])),
        Visit("hosted", "phone-error", phone_error),
        Visit("hosted", "code", goto(payins["code"])),
        Visit("hosted", "code-wrong", wrong_code),
        Visit("hosted", "checking", goto(payins["checking"])),
        Visit("hosted", "checking-nojs", goto(payins["checking"]), javascript=False),
        Visit("hosted", "success", goto(payins["success"])),
        Visit("hosted", "declined", goto(payins["declined"])),
        Visit("hosted", "cancelled", goto(payins["cancelled"])),
        Visit("hosted", "not-found", goto(payins["not-found"])),
    ]


def _submit(page: Any, target: Any, press: str | None = None, expected_status: int | None = None) -> None:
    """Submit a form by clicking `target` (or pressing a key in it) and wait for the answer page."""
    with page.expect_navigation(timeout=10_000) as navigation:
        if press:
            target.press(press)
        else:
            target.click()
    page.wait_for_load_state("load")
    status = navigation.value.status if navigation.value else None
    if expected_status is not None and status != expected_status:
        raise AssertionError(f"answered {status}, expected {expected_status}")


class Freezer:
    """Holds a context's pages still while one is checked."""

    def __init__(self, context: Any) -> None:
        self.on = False
        context.route("**/*", self._route)

    def _route(self, route: Any) -> None:
        # A navigation the page starts by itself (meta refresh, the hosted page's return to the shop)
        # gets 204 No Content, which leaves the current document in place.
        if self.on and route.request.is_navigation_request():
            route.fulfill(status=204)
        else:
            route.continue_()


def as_seen_without_javascript(shown: Any, auditor: Any) -> None:
    """Show `auditor` (JavaScript on, so axe can run) the document `shown` rendered without JavaScript.

    axe-core cannot run where scripts are off, so the no-JS document is served to a page that has them:
    its <noscript> content is kept as the no-JS browser parsed it, its scripts are left out.
    """
    html = NOSCRIPT_TAG.sub("", SCRIPT_ELEMENT.sub("", shown.content()))
    origin = "{0.scheme}://{0.netloc}".format(urlsplit(shown.url))
    snapshot = f"{origin}/__seen-without-javascript__/{uuid.uuid4().hex}"

    def serve(route: Any) -> None:
        route.fulfill(status=200, content_type="text/html", body=html)

    auditor.route(snapshot, serve)
    auditor.goto(snapshot)
    auditor.unroute(snapshot, serve)


def check(page: Any, auditor: Any, visit: Visit, language: str, width: int) -> list[str]:
    """What is wrong with the page as shown: wrong language, sideways scroll, axe violations."""
    name = f"{visit.page}/{visit.state}/{language}/{width}"
    page.screenshot(path=str(SHOTS / f"{visit.page}-{visit.state}-{language}-{width}.png"), full_page=True)
    problems = []
    lang = page.locator("html").get_attribute("lang")
    if lang != language:
        problems.append(f"{name}: <html lang={lang!r}>, expected {language!r}")
    if page.evaluate("document.documentElement.scrollWidth") > width:
        problems.append(f"{name}: scrolls sideways: {page.evaluate(WIDER_THAN_THE_SCREEN)}")
    if auditor is not page:
        as_seen_without_javascript(page, auditor)
    for violation in AXE.run(auditor).response["violations"]:
        nodes = violation["nodes"]
        targets = ", ".join(" ".join(map(str, node["target"])) for node in nodes[:5])
        more = f" (+{len(nodes) - 5} more)" if len(nodes) > 5 else ""
        problems.append(
            f"{name}: axe {violation['id']} [{violation['impact']}] {violation['help']}: {targets}{more}"
        )
    return problems


def browse(browser: Any, width: int, javascript: bool = True) -> tuple[Any, Freezer]:
    """A page in a new context of `width`, with its freezer."""
    context = browser.new_context(viewport={"width": width, "height": 800}, java_script_enabled=javascript)
    page = context.new_page()
    page.set_default_timeout(20_000)
    return page, Freezer(context)


def test_every_customer_page_and_state(browser: Any, site: Site, states: States) -> None:
    SHOTS.mkdir(parents=True, exist_ok=True)
    problems: list[str] = []
    all_visits = visits(site, states)
    for width in WIDTHS:
        # The page with JavaScript also runs axe on what the page without it shows.
        with_js, js_freezer = browse(browser, width)
        without_js, nojs_freezer = browse(browser, width, javascript=False)
        for visit in all_visits:
            page = with_js if visit.javascript else without_js
            for language in LANGUAGES:
                name = f"{visit.page}/{visit.state}/{language}/{width}"
                try:
                    visit.show(page, language)
                except (AssertionError, PlaywrightError) as exc:
                    shot = SHOTS / f"{visit.page}-{visit.state}-{language}-{width}-NOT-REACHED.png"
                    page.screenshot(path=str(shot), full_page=True)
                    problems.append(f"{name}: state not reached at {page.url} (see {shot.name}): {exc}")
                    continue
                if visit.state.endswith(ERROR_STATES) and not page.locator(SHOWN_ERROR).count():
                    problems.append(f"{name}: state not reached: no error is shown")
                js_freezer.on = nojs_freezer.on = True
                try:
                    problems.extend(check(page, with_js, visit, language, width))
                finally:
                    js_freezer.on = nojs_freezer.on = False
        with_js.context.close()
        without_js.context.close()
    (SHOTS / "problems.json").write_text(json.dumps(problems, ensure_ascii=False, indent=1), "utf-8")
    assert problems == [], f"{len(problems)} problem(s):\n" + "\n".join(problems)
