"""The hosted page forgives mistakes: kept input, errors at their fields, a suggested operator,
another number, cancelling, and a heading, the merchant and the amount on every step."""

from __future__ import annotations

import re
from pathlib import Path
from urllib.parse import parse_qs, urlsplit

import pytest
from flask.testing import FlaskClient

from checkout.highhelp import signing
from checkout.sandbox import MountedApp, build_config
from checkout.sandbox.config import DEFAULT_MERCHANT_NAME
from checkout.sandbox.payins import MAX_RESENDS
from checkout.sandbox.store import SandboxPayin
from tests.conftest import hmac_key, merchant_signer
from tests.sandbox_support import Alert, Receiver, RunningSandbox, create

DECLINE_PATH = "/callbacks/decline"
BACK = "http://127.0.0.1:5000/back"


class Page:
    """The hosted page of one payin, through the sandbox app's test client (no JavaScript)."""

    def __init__(self, sandbox: RunningSandbox, receiver: Receiver, payment_id: str = "order-1") -> None:
        self.sandbox = sandbox
        self.path = urlsplit(create(sandbox, payment_id, receiver).integration.form_url).path
        self.payment_id = payment_id
        self.client: FlaskClient = sandbox.app.test_client()
        self.html = ""

    def open(self, **args: str) -> str:
        response = self.client.get(self.path, query_string=args)
        assert response.status_code == 200
        self.html = response.get_data(as_text=True)
        return self.html

    def post(self, step: str, follow: bool = True, **form: str) -> str:
        """POST a step; returns where it sent the browser, after following it unless told not to."""
        response = self.client.post(f"{self.path}/{step}", data=form)
        assert response.status_code == 303, response.status_code
        location = response.headers["Location"]
        if follow and location.startswith("/"):
            target = urlsplit(location)
            self.html = self.client.get(target.path, query_string=target.query).get_data(as_text=True)
        return location

    def phase(self) -> str:
        match = re.search(r'data-phase="(\w+)"', self.html)
        assert match, self.html[:500]
        return match.group(1)

    def otp(self) -> str:
        match = re.search(r'data-sandbox-otp="(\d+)"', self.html)
        assert match, "no SMS code on the page"
        return match.group(1)

    def state(self) -> str:
        return str(self.sandbox.control(f"payins/{self.payment_id}")["state"])

    def checked_operator(self) -> str | None:
        match = re.search(r'name="operator" value="(\w+)"\s+checked', self.html)
        return match.group(1) if match else None

    def phone_value(self) -> str:
        match = re.search(r'name="phone"[^>]*value="([^"]*)"', self.html)
        assert match, "no phone field"
        return match.group(1)

    def tag(self, marker: str) -> str:
        """The whole start tag that contains `marker`."""
        match = re.search(r"<[^<>]*" + re.escape(marker) + r"[^<>]*>", self.html)
        assert match, marker
        return match.group(0)


@pytest.fixture
def page(sandbox: RunningSandbox, receiver: Receiver) -> Page:
    hosted = Page(sandbox, receiver)
    hosted.open(lang="en")
    return hosted


def declined(alerts: list[Alert]) -> bool:
    return any(alert.path == DECLINE_PATH for alert in alerts)


def test_a_wrong_number_keeps_what_was_typed_and_says_so_at_the_field(page: Page) -> None:
    location = page.post("phone", operator="TELE2", phone="+7 601 234")
    assert "code" not in parse_qs(urlsplit(location).query)
    assert page.phase() == "phone"
    assert page.phone_value() == "+7 601 234"
    assert page.checked_operator() == "TELE2"
    field = page.tag('name="phone"')
    assert 'aria-invalid="true"' in field
    assert 'aria-describedby="phone-error"' in field
    assert 'id="phone-error">Enter a Kazakh mobile number' in page.html
    assert 'aria-invalid="true"' not in page.tag('role="radiogroup"')
    assert "<title>Error: " in page.html
    assert page.state() == "processing:new"


def test_both_mistakes_are_shown_at_their_fields(page: Page) -> None:
    page.post("phone", phone="12")
    group = page.tag('role="radiogroup"')
    assert 'aria-invalid="true"' in group
    assert 'aria-describedby="operator-error"' in group
    assert 'id="operator-error">Choose the operator of this number' in page.html
    assert 'aria-invalid="true"' in page.tag('name="phone"')
    assert page.phone_value() == "12"
    assert page.checked_operator() is None


@pytest.mark.parametrize(
    ("phone", "suggested"),
    [
        ("+7 705 123 45 67", "BEELINE"),
        ("87471234567", "TELE2"),
        ("7081234567", "ALTEL"),
        ("+77011234567", None),
    ],
)
def test_the_number_suggests_an_operator_only_when_its_prefix_names_one(
    page: Page, phone: str, suggested: str | None
) -> None:
    page.post("phone", phone=phone)
    assert page.phase() == "phone"
    assert page.checked_operator() == suggested
    if suggested:
        # Pre-selected but not taken for granted: the payer checks it and sends again.
        assert "Check the operator and press again" in page.html
        assert "data-operator-hint hidden" not in page.html
        assert "operator-hint" in page.tag('role="radiogroup"')
        page.post("phone", phone=phone, operator=suggested)
        assert page.phase() == "code"
    else:  # Kcell and Activ share 701: nothing is picked for the payer
        assert "Choose the operator of this number" in page.html
        assert "data-operator-hint hidden" in page.html


def test_a_suggestion_never_overrides_the_payers_choice(page: Page) -> None:
    page.open(lang="en", phone="+7 777 123 45 67", operator="KCELL")
    assert page.checked_operator() == "KCELL"
    assert "data-suggested" not in page.html
    page.open(lang="en", phone="+7 777 123 45 67")
    assert page.checked_operator() == "BEELINE"
    assert "data-suggested" in page.html


def test_the_language_switch_carries_what_was_typed(page: Page) -> None:
    # After a mistake the language links carry the typed values (in the browser, languages.js keeps
    # them current while typing); the page reads them back into the form.
    page.post("phone", operator="ACTIV", phone="+7 702 000 11")
    links = re.findall(r'<a href="([^"]+)" lang="(\w\w)"\s+data-keep-typed', page.html)
    assert [lang for _, lang in links] == ["kk", "ru", "en"]
    kazakh = parse_qs(urlsplit(links[0][0].replace("&amp;", "&")).query)
    assert kazakh == {"lang": ["kk"], "phone": ["+7 702 000 11"], "operator": ["ACTIV"]}
    page.open(lang="kk", phone="+7 702 000 11", operator="ACTIV")
    assert '<html lang="kk">' in page.html
    assert page.phone_value() == "+7 702 000 11"
    assert page.checked_operator() == "ACTIV"
    # Whatever is typed into the address, only a real operator code is ever checked.
    page.open(lang="kk", phone="x" * 100, operator="MTS")
    assert page.checked_operator() is None
    assert page.phone_value() == "x" * 32
    # The code step's links carry nothing.
    page.post("phone", operator="ACTIV", phone="+7 702 000 11 22")
    assert page.phase() == "code"
    assert "data-keep-typed" not in page.html
    assert "phone=" not in page.html


def test_another_number_before_the_code_is_accepted(page: Page, receiver: Receiver) -> None:
    page.post("phone", operator="KCELL", phone="+7 701 234 56 78")
    old = page.otp()
    assert "data-change-number" in page.html
    page.post("change-number")
    assert page.phase() == "phone"
    assert page.phone_value() == "+7 701 234 56 78"
    assert page.checked_operator() == "KCELL"
    assert page.state() == "processing:awaiting_3ds_result"
    # The old code is gone: typing it changes nothing.
    page.post("code", code=old)
    assert page.phase() == "phone"
    assert page.sandbox.control("payins/order-1")["wrong_codes"] == 0
    # The new number is the operator-decline test number: its scenario is the one that counts.
    page.post("phone", operator="BEELINE", phone="+7 700 000 00 01")
    assert page.phase() == "code"
    assert "+7 700 000 00 01" in page.html
    assert f"New codes left: {MAX_RESENDS - 1}" in page.html
    page.post("code", code=page.otp())
    assert page.phase() == "declined"
    assert "Your operator declined the payment" in page.html
    # Once the code was accepted there is no going back to the phone step.
    page.post("change-number")
    assert page.phase() == "declined"
    alerts = receiver.wait_for(declined)
    assert [alert.state for alert in alerts].count("processing:awaiting_3ds_result") == 1


def test_no_other_number_once_no_code_may_be_sent(page: Page) -> None:
    page.post("phone", operator="KCELL", phone="+7 701 234 56 78")
    with page.sandbox.services.store.transaction() as session:
        session.query(SandboxPayin).update({SandboxPayin.resends: MAX_RESENDS})
    page.open(lang="en")
    assert "data-change-number" not in page.html
    page.post("change-number")
    assert page.phase() == "code"
    assert "No more codes can be sent, so the number cannot be changed" in page.html


def _to_checking(page: Page) -> None:
    page.post("phone", operator="ALTEL", phone="+7 700 000 00 03")
    page.post("code", code=page.otp())
    assert page.phase() == "checking"


@pytest.mark.parametrize("step", ["phone", "code", "checking"])
def test_cancel_on_any_step_declines_and_returns_to_the_shop(
    page: Page, receiver: Receiver, step: str
) -> None:
    if step == "code":
        page.post("phone", operator="KCELL", phone="+7 701 234 56 78")
    elif step == "checking":
        _to_checking(page)
    assert page.phase() == step
    assert 'class="hh-cancel"' in page.html
    assert page.post("cancel", follow=False) == BACK
    assert page.state() == "decline"
    alerts = receiver.wait_for(declined)
    assert alerts[-1].body["status"]["status_description"] == "cancelled by the payer"
    page.open(lang="en")
    assert page.phase() == "declined"
    assert "You cancelled the payment" in page.html
    assert 'class="hh-cancel"' not in page.html


def test_cancel_after_success_changes_nothing(page: Page) -> None:
    page.post("phone", operator="KCELL", phone="+7 701 234 56 78")
    page.post("code", code=page.otp())
    assert page.post("cancel") != BACK
    assert page.phase() == "success"
    assert page.state() == "success"


def test_checking_asks_for_its_step_until_it_changes(page: Page) -> None:
    _to_checking(page)
    step_url = f"{page.path}/step"
    unchanged = page.client.get(step_url, query_string={"seen": "checking", "lang": "en"})
    assert unchanged.status_code == 204
    assert unchanged.get_data() == b""
    page.sandbox.control("payins/order-1/expire", {})
    changed = page.client.get(step_url, query_string={"seen": "checking", "lang": "en"})
    assert changed.status_code == 200
    fragment = changed.get_data(as_text=True)
    assert '<div id="hh-step"' in fragment
    assert 'data-phase="declined"' in fragment
    assert "<h1" in fragment
    assert "The time to pay ran out" in fragment
    assert "hx-get" not in fragment  # a final step stops the polling
    assert "<html" not in fragment


def test_every_step_has_one_heading_the_merchant_and_the_amount(page: Page) -> None:
    def check(phase: str, heading: str) -> None:
        assert page.phase() == phase
        assert re.findall(r"<h1[^>]*>(.*?)</h1>", page.html) == [heading]
        assert DEFAULT_MERCHANT_NAME in page.html
        assert "15\u00a0000,00\u00a0₸" in page.html

    check("phone", "Pay from your mobile balance")
    page.post("phone", operator="KCELL", phone="+7 701 234 56 78")
    check("code", "Enter the code from the SMS")
    page.post("change-number")
    check("phone", "Pay from your mobile balance")
    _to_checking(page)
    check("checking", "Checking the payment")
    page.sandbox.control("payins/order-1/expire", {})
    page.open(lang="en")
    check("declined", "Payment declined")


def test_unknown_tokens_are_404_everywhere(sandbox: RunningSandbox) -> None:
    client = sandbox.app.test_client()
    assert client.get("/pay/nope/step?seen=checking").status_code == 404
    for step in ("phone", "code", "resend", "change-number", "cancel"):
        assert (
            client.post(f"/pay/nope/{step}", data={"phone": "+77011234567", "operator": "KCELL"}).status_code
            == 404
        )
    missing = client.get("/pay/nope")
    assert missing.status_code == 404
    assert re.search(r"<h1>[^<]+</h1>", missing.get_data(as_text=True))


def test_the_merchant_name_comes_from_the_app_or_the_setting(tmp_path: Path) -> None:
    mounted = MountedApp(
        project_id="p",
        request_signer=merchant_signer(),
        callback_verifier=signing.HmacVerifier([hmac_key()]),
        test_mode=True,
        merchant_name="Kazakh Books",
    )
    assert build_config({}, tmp_path, mounted).merchant_name == "Kazakh Books"
    named = build_config({"SANDBOX_MERCHANT_NAME": " Steppe Tea "}, tmp_path, mounted)
    assert named.merchant_name == "Steppe Tea"
    assert build_config({}, tmp_path).merchant_name == DEFAULT_MERCHANT_NAME


def test_every_script_and_style_the_steps_name_is_served(page: Page) -> None:
    """htmx is the app's own file, served through a symlink in the sandbox's static folder."""
    names = set(re.findall(r'(?:src|href)="(/static/[^"]+)"', page.html))
    _to_checking(page)
    names |= set(re.findall(r'(?:src|href)="(/static/[^"]+)"', page.html))
    assert "/static/htmx-2.0.11.min.js" in names
    served = {}
    for name in names:
        with page.client.get(name) as response:
            assert response.status_code == 200, name
            served[name] = response.get_data()
    app_htmx = Path(__file__).resolve().parents[2] / "static" / "js" / "htmx-2.0.11.min.js"
    assert served["/static/htmx-2.0.11.min.js"] == app_htmx.read_bytes()


def test_an_empty_code_is_explained_at_the_field(page: Page) -> None:
    page.post("phone", operator="KCELL", phone="+7 701 234 56 78")
    page.post("code", code="  ")
    assert page.phase() == "code"
    field = page.tag('name="code"')
    assert 'aria-invalid="true"' in field
    assert 'aria-describedby="code-error"' in field
    assert 'id="code-error">' in page.html
    assert "Enter the code" in page.html
    assert page.sandbox.control("payins/order-1")["wrong_codes"] == 0


def test_control_takes_the_new_payer_steps(page: Page) -> None:
    page.post("phone", operator="KCELL", phone="+7 701 234 56 78")
    changed = page.sandbox.control("payins/order-1/change-number", {})
    assert changed["otp"] is None
    assert changed["state"] == "processing:awaiting_3ds_result"
    cancelled = page.sandbox.control("payins/order-1/cancel", {})
    assert cancelled["state"] == "decline"
    assert cancelled["status_description"] == "cancelled by the payer"


def test_an_old_address_with_errors_shows_none_on_another_step(page: Page) -> None:
    page.post("phone", operator="KCELL", phone="+7 701 234 56 78")
    page.open(lang="en", m="bad_phone")
    assert page.phase() == "code"
    assert 'aria-invalid="true"' not in page.html
    assert "<title>Error" not in page.html
    page.open(lang="en", m="wrong_code")
    assert 'aria-invalid="true"' in page.tag('name="code"')


def test_digits_from_other_scripts_are_a_mistake_not_a_crash(page: Page) -> None:
    # Full-width and Arabic-Indic digits pass str.isdigit(); neither may reach a stored number or
    # compare_digest (which raises on non-ASCII text).
    page.post("phone", operator="ALTEL", phone="+7 700 000 00 0١")
    assert page.phase() == "phone"
    assert 'aria-invalid="true"' in page.tag('name="phone"')
    page.post("phone", operator="KCELL", phone="+7 701 234 56 78")
    page.post("code", code="００００００")
    assert page.phase() == "code"
    assert 'aria-invalid="true"' in page.tag('name="code"')
    assert page.sandbox.control("payins/order-1")["wrong_codes"] == 1
