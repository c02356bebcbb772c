"""A HighHelp that accepts and does not answer holds only the calls the process allows for it."""

from __future__ import annotations

import contextlib
import socket
import threading
import time
from collections.abc import Callable, Iterator
from concurrent.futures import ThreadPoolExecutor
from contextlib import contextmanager
from typing import Any

import pytest
from flask import Flask
from sqlalchemy import select

from checkout.extensions import db
from checkout.highhelp import Busy, HighHelpClient, Unavailable
from checkout.highhelp.wire import CreatePayinRequest
from checkout.models import Payment
from checkout.pay.views import RETRY_AFTER_SECONDS
from tests.checkout_support import csrf_of, make_attempt, make_order
from tests.conftest import PROJECT_ID, VECTORS, merchant_signer
from tests.highhelp_double import HighHelpDouble, Reply, answer_for

STALL_LIMIT = 30  # seconds: the longest any test here lets a stalled call hang


class Stall:
    """A double's reply that holds every request until released, counting who is held."""

    def __init__(self) -> None:
        self.released = threading.Event()
        self.held = 0
        self.lock = threading.Condition()

    def __call__(self, path: str, body: dict[str, Any]) -> Reply:
        with self.lock:
            self.held += 1
            self.lock.notify_all()
        self.released.wait(STALL_LIMIT)
        return Reply.json(200, answer_for(path, body))

    def wait_until_held(self, count: int) -> None:
        with self.lock:
            assert self.lock.wait_for(lambda: self.held >= count, timeout=STALL_LIMIT)


@pytest.fixture
def shop(make_app: Callable[..., Flask], double: HighHelpDouble) -> Flask:
    return make_app(
        HIGHHELP_API_URL=double.url, PUBLIC_BASE_URL="https://shop.example.kz", HIGHHELP_MAX_CALLS="1"
    )


def press_pay(app: Flask, token: str) -> Any:
    """Open the order page in a fresh browser and press Pay."""
    client = app.test_client()
    page = client.get(f"/orders/{token}?lang=en").get_data(as_text=True)
    return client.post(f"/orders/{token}/pay", data={"csrf_token": csrf_of(page)})


def stored_payment_ids(app: Flask) -> dict[int, list[str]]:
    with app.app_context():
        rows = db.session.execute(select(Payment.order_id, Payment.payment_id).order_by(Payment.id)).all()
    found: dict[int, list[str]] = {}
    for order_id, payment_id in rows:
        found.setdefault(order_id, []).append(payment_id)
    return found


def created_ids(double: HighHelpDouble) -> list[str]:
    return [body["general"]["payment_id"] for path, _, body in double.received if path.endswith("/payin")]


def test_presses_beyond_the_allowed_calls_are_told_to_retry_at_once(
    shop: Flask, double: HighHelpDouble
) -> None:
    stall = Stall()
    double.reply = stall
    first, second = make_order(shop), make_order(shop)
    with ThreadPoolExecutor(max_workers=1) as pool:
        held = pool.submit(press_pay, shop, first)
        stall.wait_until_held(1)
        started = time.monotonic()
        busy = press_pay(shop, second)
        waited = time.monotonic() - started
        assert busy.status_code == 503
        assert busy.headers["Retry-After"] == str(RETRY_AFTER_SECONDS)
        assert "Many customers are paying right now" in busy.get_data(as_text=True)
        assert waited < 1
        stall.released.set()
        assert held.result(timeout=STALL_LIMIT).status_code == 303
    # The busy press stored its attempt and sent nothing; the retry sends that same payment_id.
    [kept] = [ids for ids in stored_payment_ids(shop).values() if ids[0] not in created_ids(double)]
    double.reply = None
    assert press_pay(shop, second).status_code == 303
    assert created_ids(double)[-1] == kept[0]
    assert len(kept) == 1
    assert all(len(ids) == 1 for ids in stored_payment_ids(shop).values())


def test_a_polled_status_skips_its_refresh_while_calls_are_taken(shop: Flask, double: HighHelpDouble) -> None:
    stall = Stall()
    double.reply = stall
    paying, waiting = make_order(shop), make_order(shop)
    make_attempt(shop, waiting, "pay-stale", state="processing:requisites")
    with shop.app_context():
        payment = db.session.execute(select(Payment).where(Payment.payment_id == "pay-stale")).scalar_one()
        payment.state_changed_at = payment.created_at.replace(year=2020)
        db.session.commit()
    with ThreadPoolExecutor(max_workers=1) as pool:
        held = pool.submit(press_pay, shop, paying)
        stall.wait_until_held(1)
        started = time.monotonic()
        status = shop.test_client().get(f"/orders/{waiting}/status")
        assert status.status_code == 200
        assert time.monotonic() - started < 1
        stall.released.set()
        held.result(timeout=STALL_LIMIT)
    info_asked = [body for path, _, body in double.received if path.endswith("/info")]
    assert info_asked == []


def test_the_client_sends_nothing_beyond_its_calls_in_flight(double: HighHelpDouble) -> None:
    stall = Stall()
    double.reply = stall
    client = HighHelpClient(double.url, PROJECT_ID, merchant_signer(), max_in_flight=2)
    create = CreatePayinRequest.build(next(v["body"] for v in VECTORS if v["name"] == "widget_payin_create"))
    with ThreadPoolExecutor(max_workers=2) as pool:
        info = pool.submit(client.payin_info, "pay-0")
        stall.wait_until_held(1)
        # Refreshes may not take the last slot: it is kept for a customer pressing Pay.
        with pytest.raises(Busy):
            client.payin_info("pay-1")
        created = pool.submit(client.create_payin, create)
        stall.wait_until_held(2)
        with pytest.raises(Busy):
            client.create_payin(create)
        stall.released.set()
        assert info.result(timeout=STALL_LIMIT).status == "processing"
        assert created.result(timeout=STALL_LIMIT).integration.form_url
    sent = sorted(path.rsplit("/", 1)[-1] for path, _, _ in double.received)
    assert sent == ["info", "payin"]
    # The slots are free again once the calls are over.
    assert client.payin_info("pay-1").status == "processing"


@pytest.mark.parametrize(
    ("byte_every", "words"),
    [(0.2, "too slowly"), (STALL_LIMIT, "did not answer in time")],
    ids=["trickle", "stall"],
)
def test_an_answer_that_does_not_come_whole_is_cut_at_the_deadline(byte_every: float, words: str) -> None:
    """A server sending its body a byte at a time, or stopping half-way, never holds a call for long."""
    with trickling_server(byte_every) as url:
        client = HighHelpClient(url, PROJECT_ID, merchant_signer(), timeouts=(0.5, 0.5))
        started = time.monotonic()
        with pytest.raises(Unavailable, match=words):
            client.payin_info("pay-1")
        # connect + read for the whole answer, plus at most one read in progress.
        assert time.monotonic() - started < 0.5 + 0.5 + 0.5 + 0.5


@contextmanager
def trickling_server(byte_every: float) -> Iterator[str]:
    """A loopback HTTP server that answers with headers, then one body byte every `byte_every` s."""
    listener = socket.create_server(("127.0.0.1", 0))
    stop = threading.Event()

    def serve() -> None:
        listener.settimeout(STALL_LIMIT)
        with contextlib.suppress(OSError), listener.accept()[0] as connection:
            connection.recv(65536)
            connection.sendall(
                b"HTTP/1.1 200 OK\r\nContent-Type: application/json\r\nContent-Length: 100000\r\n\r\n"
            )
            while not stop.wait(byte_every):
                connection.sendall(b" ")

    thread = threading.Thread(target=serve, daemon=True)
    thread.start()
    try:
        yield f"http://127.0.0.1:{listener.getsockname()[1]}"
    finally:
        stop.set()
        listener.close()
        thread.join(timeout=5)
