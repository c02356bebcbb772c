"""Callback delivery: retries with backoff, every attempt recorded, and the faults tests can inject."""

from __future__ import annotations

import time
from datetime import timedelta
from pathlib import Path
from typing import Any

from tests.sandbox_support import (
    Alert,
    Receiver,
    RunningSandbox,
    create,
    running_receiver,
    running_sandbox,
    sandbox_config,
)


def pay(sandbox: RunningSandbox, payment_id: str = "order-1") -> None:
    """Go through the page steps with the right code, through the control endpoints."""
    sandbox.control(f"payins/{payment_id}/phone", {"operator": "KCELL", "phone": "+77012345678"})
    otp = sandbox.control(f"payins/{payment_id}")["otp"]
    assert sandbox.control(f"payins/{payment_id}/code", {"code": otp})["state"] == "success"


def final(alerts: list[Alert]) -> bool:
    return any(alert.state == "success" for alert in alerts)


def delivery_of(sandbox: RunningSandbox, state: str, payment_id: str = "order-1") -> dict[str, Any]:
    deliveries = sandbox.control(f"payins/{payment_id}")["deliveries"]
    return next(
        d for d in deliveries if d["status"]["status"] == state or d["status"].get("sub_status") == state
    )


def wait_until(check: Any, timeout: float = 10.0) -> None:
    deadline = time.monotonic() + timeout
    while not check():
        assert time.monotonic() < deadline, "condition not reached in time"
        time.sleep(0.05)


def test_non_2xx_answers_are_retried_and_every_attempt_recorded(
    sandbox: RunningSandbox, receiver: Receiver
) -> None:
    create(sandbox, "order-1", receiver)
    receiver.answers = [500, 503]  # the first two alerts to arrive fail once each
    sandbox.control("payins/order-1/phone", {"operator": "KCELL", "phone": "+77012345678"})
    alerts = receiver.wait_for(lambda got: len(got) >= 4)
    assert [alert.state for alert in alerts].count("processing:requisites") >= 1
    wait_until(lambda: delivery_of(sandbox, "requisites")["state"] == "delivered")
    attempts = [
        attempt["http_status"]
        for d in sandbox.control("payins/order-1")["deliveries"]
        for attempt in d["attempts"]
    ]
    assert attempts.count(500) == 1
    assert attempts.count(503) == 1
    assert attempts.count(200) == 2


def test_timeouts_are_retried(tmp_path: Path, receiver: Receiver) -> None:
    with running_sandbox(sandbox_config(tmp_path, callback_timeouts=(0.5, 0.3))) as sandbox:
        create(sandbox, "order-1", receiver)
        receiver.delay = 0.6
        sandbox.control("payins/order-1/phone", {"operator": "KCELL", "phone": "+77012345678"})
        wait_until(lambda: len(delivery_of(sandbox, "requisites")["attempts"]) >= 2)
        receiver.delay = 0
        wait_until(lambda: delivery_of(sandbox, "requisites")["state"] == "delivered")
        attempts = delivery_of(sandbox, "requisites")["attempts"]
        assert attempts[0]["error"] == "ReadTimeout"
        assert attempts[-1]["http_status"] == 200


def test_gives_up_after_six_tries(sandbox: RunningSandbox, receiver: Receiver) -> None:
    create(sandbox, "order-1", receiver)
    receiver.answers = [500] * 100
    sandbox.control("payins/order-1/phone", {"operator": "KCELL", "phone": "+77012345678"})
    wait_until(lambda: delivery_of(sandbox, "requisites")["state"] == "failed")
    assert [a["http_status"] for a in delivery_of(sandbox, "requisites")["attempts"]] == [500] * 6


def test_default_schedule_is_at_least_five_tries_over_about_a_minute() -> None:
    from checkout.sandbox.config import RETRY_DELAYS

    assert len(RETRY_DELAYS) + 1 >= 5
    assert 45 <= sum(RETRY_DELAYS) <= 90


def test_duplicate_mode_sends_everything_twice(sandbox: RunningSandbox, receiver: Receiver) -> None:
    create(sandbox, "order-1", receiver)
    sandbox.control("payins/order-1/faults", {"mode": "duplicate"})
    pay(sandbox)
    alerts = receiver.wait_for(lambda got: [a.state for a in got].count("success") == 2)
    states = [alert.state for alert in alerts]
    assert states.count("success") == 2
    assert states.count("processing:paid") == 2


def test_out_of_order_mode_sends_informative_after_final(sandbox: RunningSandbox, receiver: Receiver) -> None:
    create(sandbox, "order-1", receiver)
    sandbox.control("payins/order-1/faults", {"mode": "out_of_order"})
    pay(sandbox)
    alerts = receiver.wait_for(lambda got: len(got) == 5)
    states = [alert.state for alert in alerts]
    assert states[0] == "success"
    assert sorted(states[1:]) == sorted(
        [
            "processing:requisites",
            "processing:awaiting_3ds_result",
            "processing:sent_verification",
            "processing:paid",
        ]
    )


def test_delay_mode_holds_each_alert_back(sandbox: RunningSandbox, receiver: Receiver) -> None:
    create(sandbox, "order-1", receiver)
    sandbox.control("payins/order-1/faults", {"mode": "delay", "delay": 1.0})
    started = time.monotonic()
    pay(sandbox)
    # The sandbox queued every alert to go out a second after its status changed …
    payin = sandbox.services.payins.by_payment_id("order-1")
    assert payin is not None
    assert len(payin.deliveries) == 5
    assert {d.due_at - d.created_at for d in payin.deliveries} == {timedelta(seconds=1)}
    # … and the merchant heard nothing before that second was over.
    alerts = receiver.wait_for(final)
    assert alerts[0].at - started >= 1.0


def test_drop_mode_sends_nothing_but_records_it(sandbox: RunningSandbox, receiver: Receiver) -> None:
    create(sandbox, "order-1", receiver)
    sandbox.control("payins/order-1/faults", {"mode": "drop"})
    pay(sandbox)
    sandbox.sender_has_looked()
    assert receiver.alerts == []
    deliveries = sandbox.control("payins/order-1")["deliveries"]
    assert len(deliveries) == 5
    assert {d["state"] for d in deliveries} == {"dropped"}
    assert all(d["attempts"] == [] for d in deliveries)


def test_default_faults_apply_to_new_payins(sandbox: RunningSandbox, receiver: Receiver) -> None:
    sandbox.control("faults", {"mode": "drop"})
    create(sandbox, "order-1", receiver)
    assert sandbox.control("payins/order-1")["fault_mode"] == "drop"


def test_unknown_fault_mode_is_refused(sandbox: RunningSandbox, receiver: Receiver) -> None:
    import requests

    create(sandbox, "order-1", receiver)
    response = requests.post(
        f"{sandbox.url}/control/payins/order-1/faults", json={"mode": "chaos"}, timeout=5
    )
    assert response.status_code == 400
    assert "mode must be one of" in response.json()["status_description"]


def test_overview_shows_payins_and_merchant_answers(sandbox: RunningSandbox, receiver: Receiver) -> None:
    import requests

    create(sandbox, "order-1", receiver)
    receiver.answers = [500]
    pay(sandbox)
    receiver.wait_for(final)
    wait_until(lambda: "500" in requests.get(sandbox.url + "/", timeout=5).text)
    page = requests.get(sandbox.url + "/", timeout=5).text
    assert "order-1" in page
    assert "success" in page
    assert "processing:requisites" in page
    assert '<span class="hh-attempt" title="try again">500</span>' in page


def test_hmac_signed_callbacks_when_configured(tmp_path: Path) -> None:
    from checkout.highhelp import signing
    from tests.conftest import hmac_key

    config = sandbox_config(tmp_path, callback_signer=signing.HmacSigner(hmac_key()))
    with running_receiver(signing.HmacVerifier([hmac_key()])) as receiver, running_sandbox(config) as sandbox:
        create(sandbox, "order-1", receiver)
        pay(sandbox)
        alerts = receiver.wait_for(final)
        assert [alert.state for alert in alerts][-1] == "success"
        assert all(alert.verified for alert in alerts), [alert.reason for alert in alerts]


def test_rsa_signed_callbacks_fail_an_hmac_check(sandbox: RunningSandbox) -> None:
    from checkout.highhelp import signing
    from tests.conftest import hmac_key

    with running_receiver(signing.HmacVerifier([hmac_key()])) as receiver:
        create(sandbox, "order-1", receiver)
        pay(sandbox)
        alerts = receiver.wait_for(lambda got: len(got) >= 5)
        assert alerts
        assert not any(alert.verified for alert in alerts)
