"""Bringing orders and sandbox payins into each state a customer can see, through real flows over HTTP."""

from __future__ import annotations

import json
import re
import time
import uuid
from dataclasses import dataclass
from typing import Any

import requests

from checkout.highhelp import HighHelpClient
from checkout.highhelp.wire import CreatePayinRequest
from checkout.payments.phases import Phase
from checkout.sandbox import scenarios
from tests.checkout_support import alert_body, signed_headers
from tests.conftest import PROJECT_ID, merchant_signer
from tests.e2e.test_checkout_flow import order_first_product
from tests.sandbox_support import create_body

# The operator the sandbox's hosted page is paid with in these flows.
OPERATOR = "KCELL"
# A number that succeeds after the right code (any one not in scenarios.SCENARIOS does).
SUCCEEDING_PHONE = "+77012345678"
# How long a state may take to settle: callbacks arrive within a second or two on a quiet machine.
SETTLE_SECONDS = 20.0
PAYMENT_ID = re.compile(r'class="hh-payment-id">\s*([^<\s]+)\s*<')
PHASE = re.compile(r'id="payment-status"[^>]*data-phase="(\w+)"|data-phase="(\w+)"[^>]*id="payment-status"')
TIMEOUT = 10
# The order page's two choices, by where their forms post.
PAY_BUTTON = "#payment-status form[action$='/pay'] button[type=submit]"
CANCEL_BUTTON = "#payment-status form[action$='/cancel'] button[type=submit]"


@dataclass(frozen=True)
class Sandbox:
    """The built-in sandbox of a live server, driven the way a tester drives it: API and control endpoints."""

    server: str

    @property
    def url(self) -> str:
        return self.server + "/sandbox"

    def control(self, path: str, data: dict[str, Any] | None = None) -> dict[str, Any]:
        """GET a control endpoint, or POST `data` to it; its JSON answer."""
        target = f"{self.url}/control/{path}"
        if data is None:
            response = requests.get(target, timeout=TIMEOUT)
        else:
            response = requests.post(target, json=data, timeout=TIMEOUT)
        assert response.status_code == 200, f"{target}: {response.status_code} {response.text[:300]}"
        answer: dict[str, Any] = response.json()
        return answer

    def newest_payment_id(self) -> str:
        """The payment_id of the payin created last (the overview lists the newest first)."""
        page = requests.get(self.url + "/", timeout=TIMEOUT)
        match = PAYMENT_ID.search(page.text)
        assert match, "the sandbox overview lists no payin"
        return match.group(1)

    def new_payin(self, language: str, redirect_url: str) -> tuple[str, str]:
        """A payin created through the signed API as a merchant would; its payment_id and form_url."""
        payment_id = f"e2e-{uuid.uuid4().hex[:12]}"
        client = HighHelpClient(self.url, PROJECT_ID, merchant_signer())
        body = create_body(payment_id, customer__language=language, payment__description="Dombra × 1")
        body["general"]["redirect_url"] = redirect_url
        return payment_id, client.create_payin(CreatePayinRequest.build(body)).integration.form_url

    def enter_phone(self, payment_id: str, phone: str = SUCCEEDING_PHONE) -> None:
        """The payer picks the operator and types the number: the SMS code is sent."""
        self.control(f"payins/{payment_id}/phone", {"operator": OPERATOR, "phone": phone})

    def enter_code(self, payment_id: str, right: bool = True) -> None:
        """The payer types the code from the SMS, or a wrong one."""
        otp = str(self.control(f"payins/{payment_id}")["otp"])
        code = otp if right else str((int(otp) + 1) % 1_000_000).zfill(len(otp))
        self.control(f"payins/{payment_id}/code", {"code": code})

    def pay(self, payment_id: str, phone: str = SUCCEEDING_PHONE) -> None:
        """Number, then the right code: what happens next is the number's scenario."""
        self.enter_phone(payment_id, phone)
        self.enter_code(payment_id)

    def decline_with_wrong_codes(self, payment_id: str) -> None:
        """Three wrong codes: the sandbox declines the payin."""
        self.enter_phone(payment_id)
        for _ in range(3):
            self.enter_code(payment_id, right=False)

    def cancel_by_payer(self, payment_id: str) -> None:
        """The payer gives up on the hosted page: the sandbox declines the payin."""
        self.control(f"payins/{payment_id}/cancel", {})

    def state(self, payment_id: str) -> str:
        """The payin's state key, e.g. processing:new."""
        return str(self.control(f"payins/{payment_id}")["state"])

    def amount(self, payment_id: str) -> int:
        """What the payin asks for, in tiyn, from the signed info call."""
        client = HighHelpClient(self.url, PROJECT_ID, merchant_signer())
        info = client.payin_info(payment_id).payment_info
        assert info is not None, f"no payment_info for {payment_id}"
        return int(info.amount)


def place_order(page: Any, server: str) -> str:
    """The customer puts the first product in the cart and orders it; the order page's URL."""
    return order_first_product(page, server, "en")


def start_payment(page: Any, sandbox: Sandbox, order_url: str) -> str:
    """Press pay on the order page and land on the hosted page; the new attempt's payment_id."""
    page.goto(order_url + "?lang=en")
    page.locator(PAY_BUTTON).click()
    page.wait_for_url("**/sandbox/pay/**")
    return sandbox.newest_payment_id()


def cancel_payment(page: Any, order_url: str) -> None:
    """Back on the order page, the customer cancels the payment in progress."""
    page.goto(order_url + "?lang=en")
    with page.expect_navigation():
        page.locator(CANCEL_BUTTON).click()


def order_phase(order_url: str) -> str | None:
    """The phase the order page shows now, read as a browser without JavaScript would."""
    match = PHASE.search(requests.get(order_url + "?lang=en", timeout=TIMEOUT).text)
    return (match.group(1) or match.group(2)) if match else None


def wait_for_order_phase(order_url: str, phase: Phase) -> None:
    """Wait until the order page shows `phase` (the callbacks arrive on their own)."""
    deadline = time.monotonic() + SETTLE_SECONDS
    seen = order_phase(order_url)
    while seen != phase:
        assert time.monotonic() < deadline, f"{order_url} stayed {seen}, expected {phase}"
        time.sleep(0.2)
        seen = order_phase(order_url)


def report_wrong_amount(server: str, sandbox: Sandbox, payment_id: str) -> None:
    """HighHelp's signed alert for the payin's current status, with an amount that is not the order's.

    No sandbox scenario reports a wrong amount, so this alert is posted the way HighHelp posts one.
    """
    status, _, sub_status = sandbox.state(payment_id).partition(":")
    body = alert_body(payment_id, status, sub_status or None, amount=sandbox.amount(payment_id) + 100_000)
    response = requests.post(
        f"{server}/highhelp/callbacks/info",
        data=json.dumps(body),
        headers=signed_headers(body),
        timeout=TIMEOUT,
    )
    assert response.status_code < 300, response.text


def hosted_scenario_phone(code: str) -> str:
    """The test number of a sandbox scenario, as the sandbox documents it."""
    return next(scenario.phone for scenario in scenarios.SCENARIOS if scenario.code == code)
