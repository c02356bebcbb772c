"""What the order page tells the customer: every phase and every decline reason, without I/O."""

from __future__ import annotations

from dataclasses import replace
from datetime import UTC, datetime, timedelta
from typing import Any

import pytest

from checkout.models import Order, Payment
from checkout.pay.status import (
    FAST_POLL_SECONDS,
    SLOW_DOWN_AFTER,
    SLOW_POLL_SECONDS,
    decline_reason,
    payment_view,
)

NOW = datetime(2026, 11, 28, 12, 0, tzinfo=UTC)


def order(status: str = "open") -> Order:
    return Order(amount=1500000, currency="KZT", description="Order", language="en", status=status)


def payment(**values: Any) -> Payment:
    defaults: dict[str, Any] = {
        "payment_id": "pay-1",
        "amount": 1500000,
        "currency": "KZT",
        "state": "processing:new",
        "is_open": True,
        "needs_review": False,
        "form_url": "https://ppage.example.kz/w",
        "expires_at": NOW + timedelta(seconds=600),
        "created_at": NOW - timedelta(seconds=10),
        "updated_at": NOW,
        "state_changed_at": NOW,
    }
    defaults.update(values)
    return Payment(**defaults)


def declined(decline_step: str | None, description: str | None = None, **values: Any) -> Payment:
    return payment(
        state="decline", is_open=False, decline_step=decline_step, status_description=description, **values
    )


@pytest.mark.parametrize(
    ("decline_step", "description", "reason"),
    [
        ("processing:invalid_verification", "declined after three wrong codes", "wrong_code"),
        ("processing:paid", "the operator declined the payment", "operator"),
        ("processing:awaiting_3ds_result", None, "not_confirmed"),
        ("processing:sent_verification", "declined", "not_confirmed"),
        ("processing:awaiting_3ds_result", "payin lifetime expired", "expired"),
        ("processing:new", "Payment Timeout", "expired"),
        ("processing:requisites", None, "declined"),
        (None, "cancelled by the merchant", "cancelled"),
        ("processing:sent_verification", "Cancelled by the payer", "cancelled"),
        ("processing:some_new_step", None, "declined"),
    ],
)
def test_decline_reason_comes_from_what_highhelp_said(
    decline_step: str | None, description: str | None, reason: str
) -> None:
    assert decline_reason(declined(decline_step, description)) == reason


def test_a_wrong_code_reported_after_the_lifetime_is_still_a_wrong_code() -> None:
    late = declined(
        "processing:invalid_verification",
        "declined after three wrong codes",
        expires_at=NOW - timedelta(seconds=60),
        updated_at=NOW,
        state_changed_at=NOW,
    )
    assert decline_reason(late) == "wrong_code"


def test_a_paid_order_is_paid_whatever_the_attempt_says() -> None:
    view = payment_view(order("paid"), payment(state="success", is_open=False), NOW, NOW.timestamp())
    assert (view.phase, view.step, view.poll_seconds, view.can_pay) == ("paid", 4, None, False)


def test_no_attempt_yet_can_pay() -> None:
    view = payment_view(order(), None, NOW, NOW.timestamp())
    assert (view.phase, view.can_pay) == ("unpaid", True)


def test_an_attempt_highhelp_has_not_created_can_be_retried() -> None:
    view = payment_view(order(), payment(state=None, form_url=None), NOW, NOW.timestamp())
    assert (view.phase, view.can_pay) == ("not_created", True)


@pytest.mark.parametrize(
    ("state", "step"),
    [
        ("processing:new", 0),
        ("processing:requisites", 1),
        ("processing:awaiting_3ds_result", 1),
        ("processing:sent_verification", 2),
        ("processing:invalid_verification", 2),
        ("processing:paid", 3),
        ("processing:an_unknown_step", 1),
        ("dispute:no_payment", 1),
    ],
)
def test_pending_shows_the_step_and_time_left(state: str, step: int) -> None:
    view = payment_view(
        order(), payment(state=state, expires_at=NOW + timedelta(seconds=95)), NOW, NOW.timestamp()
    )
    assert (view.phase, view.step, view.seconds_left, view.can_pay) == ("pending", step, 95, False)


def test_pending_polls_fast_then_slows_down() -> None:
    fresh = payment_view(order(), payment(), NOW, NOW.timestamp())
    assert fresh.poll_seconds == FAST_POLL_SECONDS
    later = payment_view(order(), payment(), NOW, NOW.timestamp() - SLOW_DOWN_AFTER - 1)
    assert later.poll_seconds == SLOW_POLL_SECONDS


def test_past_its_lifetime_a_pending_payment_shows_no_negative_time() -> None:
    view = payment_view(order(), payment(expires_at=NOW - timedelta(seconds=30)), NOW, NOW.timestamp())
    assert (view.phase, view.seconds_left) == ("pending", 0)


def test_a_payment_under_review_offers_no_retry() -> None:
    view = payment_view(order(), payment(needs_review=True, review_reason="amount"), NOW, NOW.timestamp())
    assert (view.phase, view.can_pay, view.poll_seconds) == ("review", False, None)


def test_success_without_a_paid_order_is_for_review() -> None:
    view = payment_view(order(), payment(state="success", is_open=False), NOW, NOW.timestamp())
    assert (view.phase, view.can_pay) == ("review", False)


def test_declined_says_why_and_can_pay_again() -> None:
    view = payment_view(order(), declined("processing:paid", "the operator declined"), NOW, NOW.timestamp())
    assert (view.phase, view.reason, view.can_pay, view.poll_seconds) == ("declined", "operator", True, None)


def test_only_a_pending_attempt_can_be_cancelled() -> None:
    pending = payment_view(order(), payment(), NOW, NOW.timestamp())
    declined_view = payment_view(order(), declined("processing:paid"), NOW, NOW.timestamp())
    unpaid = payment_view(order(), None, NOW, NOW.timestamp())
    review = payment_view(order(), payment(needs_review=True), NOW, NOW.timestamp())
    assert [view.can_cancel for view in (pending, declined_view, unpaid, review)] == [
        True,
        False,
        False,
        False,
    ]


def test_a_new_step_changes_the_details_but_not_the_message() -> None:
    new = payment_view(order(), payment(id=7, state="processing:new"), NOW, NOW.timestamp())
    code_sent = payment_view(order(), payment(id=7, state="processing:requisites"), NOW, NOW.timestamp())
    assert new.message_key == code_sent.message_key
    assert new.details_key != code_sent.details_key


def test_time_passing_changes_neither_key() -> None:
    now = payment_view(order(), payment(id=7), NOW, NOW.timestamp())
    later = payment_view(order(), payment(id=7), NOW + timedelta(seconds=90), NOW.timestamp())
    assert (now.seconds_left, now.poll_seconds) != (later.seconds_left, later.poll_seconds)
    assert (now.message_key, now.details_key) == (later.message_key, later.details_key)


def test_each_outcome_has_its_own_message() -> None:
    views = [
        payment_view(order(), payment(id=7), NOW, NOW.timestamp()),
        payment_view(order("paid"), payment(id=7, state="success", is_open=False), NOW, NOW.timestamp()),
        payment_view(order(), declined("processing:paid", id=7), NOW, NOW.timestamp()),
        payment_view(order(), declined("processing:invalid_verification", id=7), NOW, NOW.timestamp()),
        payment_view(order(), payment(id=8), NOW, NOW.timestamp()),
    ]
    cancelled = replace(views[2], cancelled=True)
    keys = [view.message_key for view in (*views, cancelled)]
    assert len(set(keys)) == len(keys)
