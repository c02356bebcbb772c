"""The hosted page without JavaScript, for every outcome, with the merchant receiving signed alerts."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path

import pytest

from tests.sandbox_support import (
    Alert,
    ManualClock,
    Payer,
    Receiver,
    RunningSandbox,
    create,
    running_sandbox,
    sandbox_config,
)

INFO_PATH, SUCCESS_PATH, DECLINE_PATH = "/callbacks/info", "/callbacks/success", "/callbacks/decline"


def payer_for(
    sandbox: RunningSandbox, receiver: Receiver, payment_id: str = "order-1", **changes: object
) -> Payer:
    payer = Payer(create(sandbox, payment_id, receiver, **changes).integration.form_url)
    payer.open()
    return payer


@pytest.fixture
def clock() -> ManualClock:
    return ManualClock()


@pytest.fixture
def timed_sandbox(tmp_path: Path, clock: ManualClock) -> Iterator[RunningSandbox]:
    """A sandbox whose clock moves only when the test advances it."""
    with running_sandbox(sandbox_config(tmp_path), clock) as running:
        yield running


def final_alert(alerts: list[Alert]) -> bool:
    return any(alert.path in (SUCCESS_PATH, DECLINE_PATH) for alert in alerts)


def states_of(alerts: list[Alert]) -> list[str]:
    return [alert.state for alert in alerts]


def test_the_right_code_pays(sandbox: RunningSandbox, receiver: Receiver) -> None:
    payer = payer_for(sandbox, receiver)
    assert payer.phase() == "phone"
    assert "15\u00a0000,00\u00a0₸" in payer.html
    assert "Order 42" in payer.html
    for operator in ("BEELINE", "TELE2", "ALTEL", "KCELL", "ACTIV"):
        assert f'value="{operator}"' in payer.html
    payer.choose()
    assert payer.phase() == "code"
    assert "+7 701 234 56 78" in payer.html
    payer.enter(payer.otp())
    assert payer.phase() == "success"
    assert 'href="http://127.0.0.1:5000/back"' in payer.html
    # The way back is the link, and a JavaScript countdown; never a timed refresh (axe: critical).
    assert 'data-return-url="http://127.0.0.1:5000/back" data-return-seconds="5"' in payer.html
    assert "http-equiv" not in payer.html
    alerts = receiver.wait_for(final_alert)
    assert all(alert.verified for alert in alerts), [alert.reason for alert in alerts]
    assert states_of(alerts) == [
        "processing:requisites",
        "processing:awaiting_3ds_result",
        "processing:sent_verification",
        "processing:paid",
        "success",
    ]
    assert [alert.path for alert in alerts] == [INFO_PATH] * 4 + [SUCCESS_PATH]
    success = alerts[-1].body
    assert success["project_id"] == sandbox.services.config.project_id
    assert success["general"]["payment_id"] == "order-1"
    assert success["payment_info"]["amount"] == success["payment_info"]["old_amount"] == 1500000
    assert success["payment_info"]["currency"] == "KZT"
    assert sandbox.client.payin_info("order-1").status == "success"


def test_operator_declines_after_the_right_code(sandbox: RunningSandbox, receiver: Receiver) -> None:
    payer = payer_for(sandbox, receiver)
    payer.choose("+7 700 000 00 01", "BEELINE")
    payer.enter(payer.otp())
    assert payer.phase() == "declined"
    assert "Your operator declined the payment" in payer.html
    alerts = receiver.wait_for(final_alert)
    assert states_of(alerts)[-2:] == ["processing:paid", "decline"]
    assert alerts[-1].path == DECLINE_PATH
    assert alerts[-1].body["status"]["status_description"] == "the operator declined the payment"


def test_success_without_paid(sandbox: RunningSandbox, receiver: Receiver) -> None:
    payer = payer_for(sandbox, receiver)
    payer.choose("87000000002", "ALTEL")
    payer.enter(payer.otp())
    assert payer.phase() == "success"
    alerts = receiver.wait_for(final_alert)
    assert "processing:paid" not in states_of(alerts)
    assert states_of(alerts)[-2:] == ["processing:sent_verification", "success"]


def test_pending_until_the_lifetime_ends(sandbox: RunningSandbox, receiver: Receiver) -> None:
    payer = payer_for(sandbox, receiver)
    payer.choose("+77000000003", "ACTIV")
    payer.enter(payer.otp())
    assert payer.phase() == "checking"
    # htmx asks for the step; without JavaScript a link does: never a timed refresh.
    assert 'http-equiv="refresh"' not in payer.html
    assert "<noscript>To see the result, press “Refresh”.</noscript>" in payer.html
    assert 'hx-trigger="every 2s"' in payer.html
    receiver.wait_for(lambda alerts: "processing:paid" in states_of(alerts))
    sandbox.control("payins/order-1/expire", {})
    payer.open()
    assert payer.phase() == "declined"
    assert "The time to pay ran out" in payer.html
    alerts = receiver.wait_for(final_alert)
    assert alerts[-1].body["status"]["status_description"] == "payin lifetime expired"


def test_lost_callbacks_leave_only_info(sandbox: RunningSandbox, receiver: Receiver) -> None:
    payer = payer_for(sandbox, receiver)
    payer.choose("+7 700 000 00 04", "TELE2")
    payer.enter(payer.otp())
    assert payer.phase() == "success"
    sandbox.sender_has_looked()
    assert receiver.alerts == []
    deliveries = sandbox.control("payins/order-1")["deliveries"]
    assert deliveries
    assert {delivery["state"] for delivery in deliveries} == {"dropped"}
    assert all(delivery["attempts"] == [] for delivery in deliveries)
    assert sandbox.client.payin_info("order-1").status == "success"


def test_three_wrong_codes_decline(sandbox: RunningSandbox, receiver: Receiver) -> None:
    payer = payer_for(sandbox, receiver)
    payer.choose()
    payer.enter("000000" if payer.otp() != "000000" else "111111")
    assert "Wrong code. Attempts left: 2" in payer.html
    payer.enter("wrong1")
    assert "Attempts left: 1" in payer.html
    payer.enter("wrong2")
    assert payer.phase() == "declined"
    assert "The code was wrong 3 times" in payer.html
    alerts = receiver.wait_for(final_alert)
    # Every wrong code is a status change of its own, even though the idempotency key repeats.
    assert states_of(alerts).count("processing:invalid_verification") == 3
    assert alerts[-1].state == "decline"
    assert alerts[-1].body["status"]["status_description"] == "declined after three wrong codes"


def test_wrong_code_then_right_code_pays(sandbox: RunningSandbox, receiver: Receiver) -> None:
    payer = payer_for(sandbox, receiver)
    payer.choose()
    payer.enter("999999x")
    payer.enter(payer.otp())
    assert payer.phase() == "success"


def test_new_code_only_after_the_timer_and_a_fourth_request_declines(
    timed_sandbox: RunningSandbox, receiver: Receiver, clock: ManualClock
) -> None:
    resend_seconds = timed_sandbox.services.config.resend_seconds
    payer = payer_for(timed_sandbox, receiver)
    payer.choose()
    first = payer.otp()
    assert "data-unlock-button disabled" in payer.html
    payer.resend()
    assert "A new code can be requested in" in payer.html
    assert payer.otp() == first
    clock.advance(resend_seconds - 0.5)
    payer.resend()
    assert "A new code can be requested in" in payer.html
    assert payer.otp() == first
    clock.advance(0.5)
    previous = first
    for left in (2, 1, 0):
        payer.resend()
        assert "A new code was sent" in payer.html
        assert f"New codes left: {left}" in payer.html
        assert payer.otp() != previous  # a new code is never the one it replaces
        previous = payer.otp()
        clock.advance(resend_seconds)
    payer.resend()
    assert payer.phase() == "declined"
    assert "Too many new codes were requested" in payer.html
    alerts = receiver.wait_for(final_alert)
    assert (
        alerts[-1].body["status"]["status_description"] == "declined after more than three code re-requests"
    )


def test_an_old_code_stops_working_after_a_new_one(
    timed_sandbox: RunningSandbox, receiver: Receiver, clock: ManualClock
) -> None:
    payer = payer_for(timed_sandbox, receiver)
    payer.choose()
    old = payer.otp()
    clock.advance(timed_sandbox.services.config.resend_seconds)
    payer.resend()
    assert "A new code was sent" in payer.html
    assert payer.otp() != old
    payer.enter(old)
    assert "Wrong code" in payer.html
    payer.enter(payer.otp())
    assert payer.phase() == "success"


def test_a_new_code_is_never_the_one_it_replaces(
    timed_sandbox: RunningSandbox, receiver: Receiver, clock: ManualClock, monkeypatch: pytest.MonkeyPatch
) -> None:
    from checkout.sandbox import payins

    payer = payer_for(timed_sandbox, receiver)
    payer.choose()
    old = payer.otp()
    other = old[1:] + old[0] if len(set(old)) > 1 else "".join(str((int(d) + 1) % 10) for d in old)
    # The random digits first come out as the old code again, then as another one.
    digits = iter(old + other)
    monkeypatch.setattr(payins.secrets, "choice", lambda alphabet: next(digits))
    clock.advance(timed_sandbox.services.config.resend_seconds)
    payer.resend()
    assert "A new code was sent" in payer.html
    assert payer.otp() == other


def test_lifetime_end_declines_without_anyone_looking(sandbox: RunningSandbox, receiver: Receiver) -> None:
    from sqlalchemy import update

    from checkout.sandbox.store import SandboxPayin
    from checkout.sqltypes import utcnow

    payer_for(sandbox, receiver)
    with sandbox.services.store.transaction() as session:
        session.execute(update(SandboxPayin).values(expires_at=utcnow()))
    alerts = receiver.wait_for(final_alert)
    assert alerts[-1].state == "decline"
    assert alerts[-1].body["status"]["status_description"] == "payin lifetime expired"


@pytest.mark.parametrize(
    ("phone", "operator"),
    [("12345", "KCELL"), ("+7 601 234 56 78", "KCELL"), ("+7 701 234 56 78", "MTS"), ("", "KCELL")],
)
def test_bad_phone_or_operator_is_explained(
    sandbox: RunningSandbox, receiver: Receiver, phone: str, operator: str
) -> None:
    payer = payer_for(sandbox, receiver)
    payer.choose(phone, operator)
    assert payer.phase() == "phone"
    expected = (
        "Choose the operator of this number"
        if operator == "MTS"
        else "Enter a Kazakh mobile number: +7 7XX XXX XX XX"
    )
    assert expected in payer.html
    assert 'aria-invalid="true"' in payer.html
    assert sandbox.control("payins/order-1")["state"] == "processing:new"


@pytest.mark.parametrize(
    ("language", "words"),
    [("kk", "Операторды таңдаңыз"), ("ru", "Выберите оператора"), ("en", "Choose your operator")],
)
def test_page_speaks_the_payers_language(
    sandbox: RunningSandbox, receiver: Receiver, language: str, words: str
) -> None:
    payer = payer_for(sandbox, receiver, customer__language=language)
    assert f'<html lang="{language}">' in payer.html
    assert words in payer.html


def test_unknown_page_token_is_404(sandbox: RunningSandbox) -> None:
    payer = Payer(f"{sandbox.url}/pay/not-a-real-token")
    payer.open()
    assert "Страница оплаты не найдена" in payer.html
