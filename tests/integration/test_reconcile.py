"""Reconciliation: open attempts whose callbacks never came are settled by asking HighHelp."""

from __future__ import annotations

import json
import threading
import time
from collections.abc import Callable
from datetime import timedelta
from typing import Any

import pytest
from flask import Flask
from sqlalchemy import update

from checkout.extensions import db
from checkout.models import Payment
from checkout.payments import refresh
from checkout.payments.refresh import REFRESH_INTERVAL, reconcile
from checkout.sqltypes import utcnow
from tests.checkout_support import make_attempt, make_order, order_status, payment_row
from tests.highhelp_double import HighHelpDouble, Reply, answer_for


@pytest.fixture
def shop(make_app: Callable[..., Flask], double: HighHelpDouble) -> Flask:
    return make_app(HIGHHELP_API_URL=double.url)


def reports(state: str, sub_status: str | None = None, **info: Any) -> Callable[[str, dict[str, Any]], Reply]:
    def reply(path: str, body: dict[str, Any]) -> Reply:
        answer = {**answer_for(path, body), "status": state, "sub_status": sub_status}
        answer["payment_info"] = {"amount": 1500000, "old_amount": 1500000, "currency": "KZT", **info}
        return Reply.json(200, answer)

    return reply


def age(app: Flask, seconds: int, **values: Any) -> None:
    """Make every payment's state `seconds` old, as if nothing had moved since."""
    then = utcnow() - timedelta(seconds=seconds)
    with app.app_context():
        db.session.execute(update(Payment).values(updated_at=then, state_changed_at=then, **values))
        db.session.commit()


def quiet_attempts(app: Flask, double: HighHelpDouble, count: int) -> None:
    """`count` open attempts pay-0, pay-1 … quiet for 300 s, about which HighHelp has no news."""
    for number in range(count):
        make_attempt(app, make_order(app), f"pay-{number}", state="processing:requisites")
    age(app, 300)
    double.reply = reports("processing", "requisites")


def run_reconcile(app: Flask, older_than: int = 60) -> int:
    with app.app_context():
        return reconcile(timedelta(seconds=older_than))


def info_calls(double: HighHelpDouble) -> list[str]:
    return [body["general"]["payment_id"] for path, _, body in double.received if path.endswith("/info")]


def test_lost_success_is_found_and_the_order_paid(shop: Flask, double: HighHelpDouble) -> None:
    token = make_order(shop)
    make_attempt(shop, token, "pay-1", state="processing:awaiting_3ds_result")
    age(shop, 300)
    double.reply = reports("success")
    assert run_reconcile(shop) == 1
    assert order_status(shop, token) == "paid"
    assert payment_row(shop, "pay-1").state == "success"


def test_quiet_but_recent_attempts_are_left_alone(shop: Flask, double: HighHelpDouble) -> None:
    token = make_order(shop)
    make_attempt(shop, token, "pay-1", state="processing:awaiting_3ds_result")
    age(shop, 10)
    assert run_reconcile(shop, older_than=60) == 0
    assert info_calls(double) == []


def test_past_lifetime_is_asked_about_even_if_recent(shop: Flask, double: HighHelpDouble) -> None:
    token = make_order(shop)
    make_attempt(shop, token, "pay-1", state="processing:paid")
    age(shop, 1, expires_at=utcnow() - timedelta(seconds=1))
    double.reply = reports("processing", "paid")
    assert run_reconcile(shop, older_than=600) == 1
    # HighHelp has not confirmed anything final: the attempt stays open.
    payment = payment_row(shop, "pay-1")
    assert payment.is_open
    assert payment.state == "processing:paid"


def test_expired_is_closed_only_when_highhelp_declines(shop: Flask, double: HighHelpDouble) -> None:
    token = make_order(shop)
    make_attempt(shop, token, "pay-1", state="processing:awaiting_3ds_result")
    age(shop, 700, expires_at=utcnow() - timedelta(seconds=100))
    double.reply = lambda path, body: Reply(503, b"")
    run_reconcile(shop)
    assert payment_row(shop, "pay-1").is_open
    double.reply = reports("decline")
    age(shop, 700, last_checked_at=None)
    run_reconcile(shop)
    payment = payment_row(shop, "pay-1")
    assert (payment.state, payment.is_open) == ("decline", False)
    assert order_status(shop, token) == "open"


def test_reconciled_amount_mismatch_needs_review(shop: Flask, double: HighHelpDouble) -> None:
    token = make_order(shop)
    make_attempt(shop, token, "pay-1", state="processing:paid")
    age(shop, 300)
    double.reply = reports("success", amount=1000)
    run_reconcile(shop)
    assert payment_row(shop, "pay-1").needs_review
    assert order_status(shop, token) == "open"


def test_attempt_highhelp_never_created_is_closed_after_its_lifetime(
    shop: Flask, double: HighHelpDouble
) -> None:
    token = make_order(shop)
    make_attempt(shop, token, "pay-1", state=None)
    with shop.app_context():
        db.session.execute(update(Payment).values(created_at=utcnow() - timedelta(minutes=20)))
        db.session.commit()
    double.reply = lambda path, body: Reply.json(
        404, {"status": "error", "status_description": "payin not found"}
    )
    run_reconcile(shop)
    payment = payment_row(shop, "pay-1")
    assert not payment.is_open
    assert "payin not found" in (payment.last_error or "")


def test_each_payment_is_asked_about_once_per_sweep(shop: Flask, double: HighHelpDouble) -> None:
    quiet_attempts(shop, double, 3)
    assert run_reconcile(shop) == 3
    assert sorted(info_calls(double)) == ["pay-0", "pay-1", "pay-2"]


def test_two_workers_never_refresh_the_same_payment_at_once(
    shop: Flask, double: HighHelpDouble, make_app: Callable[..., Flask]
) -> None:
    quiet_attempts(shop, double, 6)
    in_flight: dict[str, int] = {}
    overlaps: list[str] = []
    lock = threading.Lock()

    def slow_info(path: str, body: dict[str, Any]) -> Reply:
        payment_id = body["general"]["payment_id"]
        with lock:
            in_flight[payment_id] = in_flight.get(payment_id, 0) + 1
            if in_flight[payment_id] > 1:
                overlaps.append(payment_id)
        time.sleep(0.2)
        with lock:
            in_flight[payment_id] -= 1
        return reports("processing", "requisites")(path, body)

    double.reply = slow_info
    counts: list[int] = []
    # Two worker processes: two apps, each with its own HighHelp client and its own slots.
    other = make_app(HIGHHELP_API_URL=double.url)
    workers = [
        threading.Thread(target=lambda app=app: counts.append(run_reconcile(app))) for app in (shop, other)
    ]
    for worker in workers:
        worker.start()
    for worker in workers:
        worker.join(timeout=30)
    assert overlaps == []
    assert sum(counts) == 6
    assert sorted(info_calls(double)) == [f"pay-{number}" for number in range(6)]


def test_reconcile_command(shop: Flask, double: HighHelpDouble) -> None:
    token = make_order(shop)
    make_attempt(shop, token, "pay-1", state="processing:awaiting_3ds_result")
    age(shop, 30)
    double.reply = reports("success")
    result = shop.test_cli_runner().invoke(args=["payments", "reconcile", "--older-than", "10"])
    assert result.exit_code == 0, result.output
    assert "asked HighHelp about 1 payment(s)" in result.output
    assert order_status(shop, token) == "paid"


def test_reconcile_command_waits_for_the_configured_quiet_time(
    make_app: Callable[..., Flask], double: HighHelpDouble
) -> None:
    shop = make_app(HIGHHELP_API_URL=double.url, RECONCILE_AFTER="600")
    token = make_order(shop)
    make_attempt(shop, token, "pay-1", state="processing:awaiting_3ds_result")
    age(shop, 300)
    double.reply = reports("success")
    result = shop.test_cli_runner().invoke(args=["payments", "reconcile"])
    assert "asked HighHelp about 0 payment(s)" in result.output
    age(shop, 601)
    result = shop.test_cli_runner().invoke(args=["payments", "reconcile"])
    assert "asked HighHelp about 1 payment(s)" in result.output
    assert order_status(shop, token) == "paid"


def test_a_second_reconciler_skips_what_the_first_just_checked(shop: Flask, double: HighHelpDouble) -> None:
    quiet_attempts(shop, double, 3)
    assert run_reconcile(shop) == 3
    # Another worker starting its own sweep right after: HighHelp was just asked, it is not asked again.
    assert run_reconcile(shop) == 0
    assert sorted(info_calls(double)) == ["pay-0", "pay-1", "pay-2"]
    # Once the check is older than the refresh interval, the payment is due again.
    with shop.app_context():
        db.session.execute(update(Payment).values(last_checked_at=utcnow() - REFRESH_INTERVAL))
        db.session.commit()
    assert run_reconcile(shop) == 3


def test_a_payment_a_browser_just_refreshed_is_skipped(shop: Flask, double: HighHelpDouble) -> None:
    token = make_order(shop)
    make_attempt(shop, token, "pay-1", state="processing:requisites")
    age(shop, 300)
    double.reply = reports("processing", "requisites")
    assert shop.test_client().get(f"/orders/{token}/status").status_code == 200
    assert info_calls(double) == ["pay-1"]
    assert run_reconcile(shop) == 0
    assert info_calls(double) == ["pay-1"]


def test_a_check_that_finds_nothing_new_does_not_restart_the_quiet_time(
    shop: Flask, double: HighHelpDouble
) -> None:
    token = make_order(shop)
    make_attempt(shop, token, "pay-1", state="processing:requisites")
    age(shop, 300)
    double.reply = reports("processing", "requisites")
    assert run_reconcile(shop, older_than=60) == 1
    quiet_since = payment_row(shop, "pay-1").state_changed_at
    with shop.app_context():
        db.session.execute(update(Payment).values(last_checked_at=utcnow() - REFRESH_INTERVAL))
        db.session.commit()
    # Still quiet for 300 s: the check did not count as a change.
    assert run_reconcile(shop, older_than=60) == 1
    assert payment_row(shop, "pay-1").state_changed_at == quiet_since
    double.reply = reports("processing", "paid")
    with shop.app_context():
        db.session.execute(update(Payment).values(last_checked_at=utcnow() - REFRESH_INTERVAL))
        db.session.commit()
    assert run_reconcile(shop, older_than=60) == 1
    moved = payment_row(shop, "pay-1")
    assert moved.state == "processing:paid"
    assert moved.state_changed_at > quiet_since
    assert run_reconcile(shop, older_than=60) == 0


def test_a_polled_status_asks_again_after_the_refresh_interval(shop: Flask, double: HighHelpDouble) -> None:
    """A check that found nothing new does not make the status fresh: the next is due 5 s later."""
    token = make_order(shop)
    make_attempt(shop, token, "pay-1", state="processing:requisites")
    age(shop, 300)
    double.reply = reports("processing", "requisites")
    client = shop.test_client()
    client.get(f"/orders/{token}/status")
    client.get(f"/orders/{token}/status")
    assert info_calls(double) == ["pay-1"]
    with shop.app_context():
        db.session.execute(update(Payment).values(last_checked_at=utcnow() - REFRESH_INTERVAL))
        db.session.commit()
    client.get(f"/orders/{token}/status")
    assert info_calls(double) == ["pay-1", "pay-1"]


def test_an_answer_with_nul_text_does_not_stop_the_sweep(shop: Flask, double: HighHelpDouble) -> None:
    quiet_attempts(shop, double, 2)
    declined = reports("decline")
    double.reply = lambda path, body: Reply.json(
        200, {**json.loads(declined(path, body).body), "status_description": "lifetime\x00 expired"}
    )
    assert run_reconcile(shop) == 2
    for payment_id in ("pay-0", "pay-1"):
        payment = payment_row(shop, payment_id)
        assert (payment.state, payment.status_description) == ("decline", "lifetime\ufffd expired")


def test_sweeps_take_turns_when_more_are_due_than_one_sweep_asks(shop: Flask, double: HighHelpDouble) -> None:
    """After an outage more attempts are due than a sweep asks about: each sweep reaches new ones."""
    quiet_attempts(shop, double, 3)
    with shop.app_context():
        for number in range(3):
            # pay-0 has been quiet longest, pay-2 least.
            quiet_since = utcnow() - timedelta(seconds=600 - number)
            db.session.execute(
                update(Payment)
                .where(Payment.payment_id == f"pay-{number}")
                .values(state_changed_at=quiet_since)
            )
        db.session.commit()
    for _ in range(3):
        with shop.app_context():
            assert reconcile(timedelta(seconds=60), limit=1) == 1
            # The next sweep comes after the refresh interval: what this one asked about is due again.
            db.session.execute(
                update(Payment)
                .where(Payment.last_checked_at.is_not(None))
                .values(last_checked_at=utcnow() - REFRESH_INTERVAL - timedelta(seconds=1))
            )
            db.session.commit()
    assert info_calls(double) == ["pay-0", "pay-1", "pay-2"]


def test_a_slow_answer_keeps_the_other_worker_away_until_it_ends(
    shop: Flask, double: HighHelpDouble, make_app: Callable[..., Flask], monkeypatch: pytest.MonkeyPatch
) -> None:
    """HighHelp answering slower than the refresh interval: the second worker still waits for the first."""
    quiet_attempts(shop, double, 1)
    monkeypatch.setattr(refresh, "REFRESH_INTERVAL", timedelta(milliseconds=100))
    asking = threading.Event()
    answer = threading.Event()

    def slow_info(path: str, body: dict[str, Any]) -> Reply:
        asking.set()
        answer.wait(timeout=10)
        return reports("processing", "requisites")(path, body)

    double.reply = slow_info
    first = threading.Thread(target=run_reconcile, args=(shop, 60))
    first.start()
    assert asking.wait(timeout=10)
    # Longer than the refresh interval into the first worker's call, a second worker sweeps.
    other = make_app(HIGHHELP_API_URL=double.url)
    started = time.monotonic()
    while time.monotonic() - started < 0.3:
        assert run_reconcile(other, 60) == 0
    answer.set()
    first.join(timeout=10)
    assert info_calls(double) == ["pay-0"]
    # Once the answer is in, the next check waits the interval from the answer, not the lease.
    with shop.app_context():
        checked = payment_row(shop, "pay-0").last_checked_at
    assert checked is not None
    assert checked <= utcnow()
