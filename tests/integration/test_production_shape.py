"""The app in its production shape: the Procfile's gunicorn, PostgreSQL and Redis, driven over HTTP."""

from __future__ import annotations

import os
import signal
import threading
import time
from collections import Counter
from collections.abc import Callable, Iterator
from concurrent.futures import ThreadPoolExecutor
from concurrent.futures import wait as wait_for_futures
from contextlib import ExitStack
from pathlib import Path
from typing import Any

import pytest
import redis
import requests
from flask import Flask
from sqlalchemy import select

from checkout.extensions import db
from checkout.models import CallbackAlert, Order, OutgoingMail, Payment
from checkout.ratelimits import PAY_LIMIT_PER_ORDER
from tests.checkout_support import make_attempt, make_order, order_status, payment_row
from tests.highhelp_double import HighHelpDouble
from tests.processes import free_port
from tests.production_support import (
    HIGHHELP_IP,
    ON_POSTGRESQL_ONLY,
    REDIS_URL,
    Answer,
    Customer,
    Shop,
    SignedAlert,
    StallingServer,
    answered_by,
    bytes_written,
    client_ip,
    production_server,
    send_alert,
    send_from_processes,
    signed_alert,
    wait_until,
)

pytestmark = ON_POSTGRESQL_ONLY

FORM_URL = "https://ppage.example.kz/widget/abc123"  # what the HighHelp double answers
PROGRESS = ("requisites", "awaiting_3ds_result", "sent_verification", "paid")
PROGRESS_ALERTS = (("processing", "requisites"), ("processing", "sent_verification"), ("processing", "paid"))
TABLES = (Order, Payment, CallbackAlert)
# Each process's cap on HighHelp calls at once (the app's default), set so the test knows it.
HIGHHELP_MAX_CALLS = 2


@pytest.fixture
def real_redis() -> str:
    """The machine's Redis, which CI starts; missing Redis skips locally and fails in CI."""
    client = redis.Redis.from_url(REDIS_URL, socket_timeout=1, socket_connect_timeout=1)
    try:
        client.ping()
    except redis.RedisError as exc:
        if os.environ.get("CI"):
            pytest.fail(f"Redis at {REDIS_URL} does not answer: {exc}")
        pytest.skip(f"no Redis at {REDIS_URL}: {exc}")
    finally:
        client.close()
    return REDIS_URL


@pytest.fixture
def shop(database_url: str, tmp_path: Path, double: HighHelpDouble, real_redis: str) -> Iterator[Shop]:
    """The production web process with the HighHelp double and the real Redis."""
    with production_server(database_url, tmp_path, double.url, real_redis) as running:
        yield running


def table_rows(app: Flask) -> dict[str, list[dict[str, Any]]]:
    """Every row of orders, payments and callback_alerts, every column, in id order."""
    with app.app_context():
        return {
            model.__tablename__: [
                dict(row) for row in db.session.execute(select(model.__table__).order_by(model.id)).mappings()
            ]
            for model in TABLES
        }


def alerts_of(app: Flask) -> list[CallbackAlert]:
    """The inbox, oldest first."""
    with app.app_context():
        found = list(db.session.execute(select(CallbackAlert).order_by(CallbackAlert.id)).scalars())
        db.session.expunge_all()
        return found


def payments_of(app: Flask) -> dict[str, Payment]:
    """Every payment by payment_id, with its order loaded."""
    with app.app_context():
        found = list(db.session.execute(select(Payment).order_by(Payment.id)).scalars())
        for payment in found:
            _ = payment.order.status
        db.session.expunge_all()
        return {payment.payment_id: payment for payment in found}


def orders_with_attempts(app: Flask, prefix: str, count: int, state: str) -> list[str]:
    """`count` orders, each with one attempt PREFIX-i in `state`; their payment_ids."""
    payment_ids = [f"{prefix}-{index}" for index in range(count)]
    for payment_id in payment_ids:
        make_attempt(app, make_order(app), payment_id, state=state)
    return payment_ids


def test_duplicate_storm_from_several_processes_is_applied_once(app: Flask, shop: Shop) -> None:
    """4 processes × 10 concurrent copies of one success alert: one applied, 39 duplicates, paid once."""
    token = make_order(app, email="buyer@example.kz")
    make_attempt(app, token, "storm-1", state="processing:paid")
    before = payment_row(app, "storm-1")
    alert = signed_alert("storm-1", "success")

    batches = send_from_processes(shop.url, [[alert]] * 4, repeats=10)

    answers = [answer for batch in batches for _, answer in batch]
    assert [answer.status for answer in answers] == [200] * 40, answers
    assert Counter(answer.verdict for answer in answers) == {"applied": 1, "duplicate": 39}
    stored = alerts_of(app)
    assert [(row.payment_id, row.state, row.verdict) for row in stored] == [("storm-1", "success", "applied")]
    after = payment_row(app, "storm-1")
    assert (after.state, after.version, after.is_open) == ("success", before.version + 1, False)
    assert not after.needs_review
    assert order_status(app, token) == "paid"
    # Paid once, so one receipt queued, whichever worker and thread got there.
    with app.app_context():
        receipts = db.session.execute(select(OutgoingMail.recipient)).scalars().all()
    assert receipts == ["buyer@example.kz"]


def test_an_earlier_alert_replayed_after_success_changes_nothing(app: Flask, shop: Shop) -> None:
    """A replay of an earlier alert, byte for byte, is answered 200 duplicate and no row changes."""
    token = make_order(app)
    make_attempt(app, token, "replay-1", state="processing:new")
    sent = [signed_alert("replay-1", "processing", sub_status) for sub_status in PROGRESS]
    sent.append(signed_alert("replay-1", "success"))
    for alert in sent:
        answer = send_alert(shop.url, alert)
        assert (answer.status, answer.verdict) == (200, "applied"), (alert.state, answer)
    assert order_status(app, token) == "paid"
    before = table_rows(app)

    replay = send_alert(shop.url, sent[1])  # processing/awaiting_3ds_result, exactly as first sent

    assert (replay.status, replay.verdict) == (200, "duplicate"), replay
    assert table_rows(app) == before


def test_success_and_decline_racing_end_in_one_final_state(app: Flask, shop: Shop) -> None:
    """For 20 payments, success and decline sent at once from two processes: one final state each."""
    payment_ids = orders_with_attempts(app, "race", 20, "processing:paid")
    successes = [signed_alert(payment_id, "success") for payment_id in payment_ids]
    declines = [signed_alert(payment_id, "decline") for payment_id in payment_ids]

    batches = send_from_processes(shop.url, [successes, declines])

    answers: dict[str, list[str | None]] = {payment_id: [] for payment_id in payment_ids}
    for batch in batches:
        for alert, answer in batch:
            assert answer.status == 200, (alert.payment_id, alert.state, answer)
            answers[alert.payment_id].append(answer.verdict)
    inbox: dict[str, dict[str, str]] = {payment_id: {} for payment_id in payment_ids}
    for row in alerts_of(app):
        inbox[row.payment_id][row.state] = row.verdict
    payments = payments_of(app)
    for payment_id in payment_ids:
        payment = payments[payment_id]
        assert sorted(answers[payment_id], key=str) == ["applied", "conflict"], payment_id
        assert payment.state in ("success", "decline"), payment_id
        loser = "decline" if payment.state == "success" else "success"
        # The winner is applied; the other final report came later, is kept, and a person looks.
        assert inbox[payment_id] == {payment.state: "applied", loser: "conflict"}, payment_id
        assert payment.needs_review, payment_id
        assert not payment.is_open, payment_id
        # Paid if and only if the payment succeeded: never paid and declined.
        assert (payment.order.status == "paid") == (payment.state == "success"), payment_id


def test_kill_9_of_a_worker_mid_burst_loses_no_acknowledged_alert(app: Flask, shop: Shop) -> None:
    """200 alerts over 50 payments while one worker is SIGKILLed: every 2xx is stored, resends fill in."""
    payment_ids = orders_with_attempts(app, "burst", 50, "processing:new")
    alerts = [signed_alert(payment_id, *state) for payment_id in payment_ids for state in PROGRESS_ALERTS]
    alerts += [signed_alert(payment_id, "success") for payment_id in payment_ids]
    workers = shop.worker_pids()
    victim = min(workers)
    finished = 0
    progress = threading.Condition()

    def send(alert: SignedAlert) -> Answer:
        nonlocal finished
        answer = send_alert(shop.url, alert)
        with progress:
            finished += 1
            progress.notify_all()
        return answer

    with ThreadPoolExecutor(16) as pool:
        futures = [pool.submit(send, alert) for alert in alerts]
        with progress:
            assert progress.wait_for(lambda: finished >= len(alerts) // 4, timeout=30)
            os.kill(victim, signal.SIGKILL)
            killed_at = finished
        answers = [future.result(timeout=60) for future in futures]

    assert killed_at < len(alerts), "the burst was over before the kill"
    # gunicorn replaces the killed worker; wait for the replacement to load the app.
    replaced = shop.wait_for_workers()
    assert victim not in replaced
    assert replaced & workers == workers - {victim}
    failed = [alert for alert, answer in zip(alerts, answers, strict=True) if answer.status is None]
    assert all(answer.status in (200, None) for answer in answers), Counter(a.status for a in answers)
    acknowledged = {
        (alert.payment_id, alert.state)
        for alert, answer in zip(alerts, answers, strict=True)
        if answer.status == 200
    }
    stored = {(row.payment_id, row.state) for row in alerts_of(app)}
    assert acknowledged <= stored, f"acknowledged but lost: {sorted(acknowledged - stored)}"

    # HighHelp retries what got no answer; those requests died with the worker.
    resent = [send_alert(shop.url, alert) for alert in failed]
    assert all(answer.status == 200 for answer in resent), resent

    rows = alerts_of(app)
    keys = Counter((row.payment_id, row.state) for row in rows)
    assert keys == Counter((alert.payment_id, alert.state) for alert in alerts)
    # No inbox row was committed without its decision: alert and payment change are one transaction.
    assert not [row for row in rows if row.verdict == "received"]
    payments = payments_of(app)
    assert {payment.state for payment in payments.values()} == {"success"}
    assert {payment.order.status for payment in payments.values()} == {"paid"}


def timed(call: Callable[[], requests.Response]) -> tuple[requests.Response | None, float]:
    """The response (None when none came before the call's timeout) and the seconds it took."""
    began = time.monotonic()
    try:
        return call(), time.monotonic() - began
    except requests.RequestException:
        return None, time.monotonic() - began


def summary(results: dict[str, tuple[requests.Response | None, float]]) -> dict[str, str]:
    """Status and seconds of each timed call, for assertion messages."""
    return {
        name: f"{'no answer' if response is None else response.status_code} in {elapsed:.2f} s"
        for name, (response, elapsed) in results.items()
    }


def test_stalled_highhelp_leaves_the_shop_responsive(
    app: Flask, database_url: str, tmp_path: Path, real_redis: str
) -> None:
    """HighHelp accepts and never answers: presses over the cap get 503 at once, other pages stay fast."""
    double = HighHelpDouble()
    deadline = time.monotonic() + 30  # the whole stall, from the first press to the last answer
    with ExitStack() as stack:
        stall = stack.enter_context(StallingServer(read_http=True, after_release=answered_by(double)))
        shop = stack.enter_context(
            production_server(
                database_url, tmp_path, stall.url, real_redis, HIGHHELP_MAX_CALLS=str(HIGHHELP_MAX_CALLS)
            )
        )
        presses = 3 * shop.workers * shop.threads
        cap = shop.workers * HIGHHELP_MAX_CALLS
        pool = stack.enter_context(ThreadPoolExecutor(presses + 5))
        # Runs first on the way out, so stuck presses get their answer (a closed connection) and end.
        stack.callback(stall.release)
        tokens = [make_order(app) for _ in range(presses)]
        other = make_order(app)
        make_attempt(app, make_order(app), "stall-other", state="processing:paid")
        customers = {token: Customer(shop) for token in tokens}
        for token, customer in customers.items():
            customer.open_order(token)
        alert = signed_alert("stall-other", "success")

        presses_sent = {
            token: pool.submit(timed, lambda token=token: customers[token].press_pay(token, timeout=30))
            for token in tokens
        }
        assert stall.wait_for(lambda server: server.accepted >= 1, timeout=10), "no press reached HighHelp"
        ip = client_ip()
        probe_calls: dict[str, Callable[[], requests.Response]] = {
            "GET /": lambda: shop.request("GET", "/", ip=ip, timeout=3),
            "GET /orders/<other>": lambda: shop.request("GET", f"/orders/{other}", ip=ip, timeout=3),
            "GET /orders/<t>/status": lambda: shop.request(
                "GET", f"/orders/{tokens[0]}/status", ip=ip, timeout=3
            ),
            "GET /healthz": lambda: shop.request("GET", "/healthz", ip=ip, timeout=3),
            "POST callback": lambda: shop.request(
                "POST", alert.path, ip=HIGHHELP_IP, headers=alert.headers, data=alert.data, timeout=3
            ),
        }
        probes_sent = {name: pool.submit(timed, call) for name, call in probe_calls.items()}
        probes = {name: future.result(timeout=10) for name, future in probes_sent.items()}

        # The presses over the cap are answered while the ones at HighHelp are still stuck.
        wait_until(
            lambda: sum(future.done() for future in presses_sent.values()) >= presses - cap,
            timeout=max(0.1, deadline - 15 - time.monotonic()),
        )
        early = {token: future.result() for token, future in presses_sent.items() if future.done()}
        held = {payment_id for request in stall.stalled_requests if (payment_id := request.payment_id())}
        stall.release()
        wait_for_futures(list(presses_sent.values()), timeout=max(0.1, deadline - time.monotonic()))
        assert all(future.done() for future in presses_sent.values()), "presses still open after 30 s"

        assert all(
            response is not None and response.status_code == 200 and elapsed < 1.0
            for response, elapsed in probes.values()
        ), summary(probes)
        assert probes["POST callback"][0] is not None
        assert probes["POST callback"][0].json()["verdict"] == "applied"
        assert stall.accepted <= cap, f"{stall.accepted} HighHelp calls at once; the cap is {cap}"
        assert len(early) >= presses - cap, f"{len(early)} of {presses} presses answered: {summary(early)}"
        for response, elapsed in early.values():
            assert response is not None, summary(early)
            assert (response.status_code, elapsed < 2.0) == (503, True), summary(early)
            assert "Retry-After" in response.headers, dict(response.headers)

        # After the stall, pressing again sends the very payment_id HighHelp saw first.
        order_of = {payment.payment_id: payment.order.token for payment in payments_of(app).values()}
        stuck = next(order_of[payment_id] for payment_id in sorted(held) if payment_id in order_of)
        turned_away = next(iter(early))
        for token in (stuck, turned_away):
            retry = customers[token].press_pay(token, ip=client_ip())
            assert (retry.status_code, retry.headers.get("Location")) == (303, FORM_URL), retry.text[:300]
        payments = payments_of(app)
        assert Counter(payment.order.token for payment in payments.values())[stuck] == 1
        assert Counter(payment.order.token for payment in payments.values())[turned_away] == 1
        created = [
            body["general"]["payment_id"] for path, _, body in double.received if path.endswith("/payin")
        ]
        assert sorted(payments[payment_id].order.token for payment_id in created) == sorted(
            [stuck, turned_away]
        )
        stuck_id = next(payment_id for payment_id in created if payments[payment_id].order.token == stuck)
        assert stuck_id in held, f"the retry sent {stuck_id}; HighHelp first saw {sorted(held)}"


@pytest.mark.parametrize("redis_fault", ["down", "stalled"])
def test_shop_works_without_redis(
    app: Flask, database_url: str, tmp_path: Path, double: HighHelpDouble, redis_fault: str
) -> None:
    """Redis refusing connections, or accepting and never answering: pay, status and health still work."""
    with ExitStack() as stack:
        if redis_fault == "down":
            redis_url = f"redis://127.0.0.1:{free_port()}/0"
        else:
            stall = stack.enter_context(StallingServer())
            redis_url = f"redis://127.0.0.1:{stall.port}/0"
        shop = stack.enter_context(production_server(database_url, tmp_path, double.url, redis_url))
        if redis_fault == "stalled":
            stack.callback(stall.release)  # first on the way out, so no worker stays stuck
        token = make_order(app)
        customer = Customer(shop)
        customer.open_order(token)

        calls: dict[str, Callable[[], requests.Response]] = {
            "pay": lambda: customer.press_pay(token, timeout=5),
            "status": lambda: shop.request("GET", f"/orders/{token}/status", ip=customer.ip, timeout=5),
            "healthz": lambda: shop.request("GET", "/healthz", ip=customer.ip, timeout=5),
        }
        # All at once: each must answer in time on its own, and a stalled Redis costs one wait, not three.
        with ThreadPoolExecutor(len(calls)) as pool:
            sent = {name: pool.submit(timed, call) for name, call in calls.items()}
            results = {name: future.result(timeout=10) for name, future in sent.items()}

        codes = [None if response is None else response.status_code for response, _ in results.values()]
        assert codes == [303, 200, 200], summary(results)
        pay = results["pay"][0]
        assert pay is not None
        assert pay.headers["Location"] == FORM_URL
        assert all(elapsed < 2.0 for _, elapsed in results.values()), summary(results)


def test_pay_rate_limit_is_shared_by_the_workers_through_redis(app: Flask, shop: Shop) -> None:
    """Twice the limit in presses on one fresh order, each its own connection: half pass, half get 429."""
    token = make_order(app)
    customer = Customer(shop)
    customer.open_order(token)
    # The first press alone creates the payin, so the others only reuse it and the limit is all
    # that differs between them (parallel first presses would also meet the cap on HighHelp calls).
    first = customer.press_pay(token, ip=client_ip())
    assert first.status_code == 303
    written = {pid: bytes_written(pid) for pid in shop.worker_pids()}
    others = 2 * PAY_LIMIT_PER_ORDER - 1
    together = threading.Barrier(others, timeout=10)

    def press(_: int) -> requests.Response:
        together.wait()
        # A fresh address each, so only the per-order limit can bite; a new connection each too.
        return customer.press_pay(token, ip=client_ip())

    with ThreadPoolExecutor(others) as pool:
        responses = [first, *pool.map(press, range(others))]

    codes = Counter(response.status_code for response in responses)
    assert codes == {303: PAY_LIMIT_PER_ORDER, 429: PAY_LIMIT_PER_ORDER}
    assert all("Retry-After" in response.headers for response in responses if response.status_code == 429)
    # Both workers wrote (answers, access-log lines): both served presses, and still counted as one.
    assert all(bytes_written(pid) > before for pid, before in written.items()), "one worker served all"
    assert len(payments_of(app)) == 1
