"""Scale-out: two web processes and two reconcile workers on one PostgreSQL and Redis, 200 payments.

HighHelp is the sandbox, over HTTP. Its callbacks are not sent by its own sender (the app's callback
URLs are the public ones, behind a router this test plays): the test takes the exact alerts the
sandbox queued and delivers them itself, duplicated, reordered, late or never, across both web
processes, retrying what got no 2xx as HighHelp does. One web process is SIGKILLed mid-run.
"""

from __future__ import annotations

import enum
import logging
import secrets
import threading
import time
from collections import Counter
from collections.abc import Callable, Iterator
from concurrent.futures import ThreadPoolExecutor
from contextlib import ExitStack
from dataclasses import dataclass
from pathlib import Path

import pytest
import requests
from flask import Flask
from sqlalchemy import select

from checkout.extensions import db
from checkout.models import Event, EventKind, EventSource, MailKind, Order, OrderStatus, OutgoingMail, Payment
from checkout.payments.states import Outcome
from tests.checkout_support import make_order
from tests.production_support import ON_POSTGRESQL_ONLY, Customer, Shop, production_environ, wait_until
from tests.redis_support import SHARED_REDIS_URL, shared_redis
from tests.sandbox_support import RunningSandbox, sandbox_config
from tests.scale_out_support import (
    Courier,
    HighHelpFront,
    Router,
    kill_whole,
    overlapping,
    procfile_worker_command,
    running_fronted_sandbox,
    sandbox_alerts,
    via,
    web_process,
    worker_process,
)

pytestmark = ON_POSTGRESQL_ONLY

PAYMENTS = 200
WORKERS = ("worker-1", "worker-2")
# Every /info answer takes this long at HighHelp, so two callers at once would overlap visibly.
INFO_DELAY = 0.05
# How long the late alerts wait: past the reconcilers' --older-than, so /info may settle them first.
LATE_BY = 3.0
# Between one alert of a payment and the next, so "in order" is the order they arrive in.
STEP = 0.05
# After this many payments one web process dies; it comes back while the others go on.
KILL_AFTER = PAYMENTS // 3
BUYERS = 6
PHONE = {"operator": "KCELL", "phone": "+7 701 234 56 78"}
# Every wait of the test together; the test's budget in CI is 120 s.
DEADLINE = 100.0


class Fate(enum.Enum):
    """What happens to a payment's alerts on their way to us."""

    IN_ORDER = "in order"
    TWICE = "each twice, to both web processes at once"
    REORDERED = "the final alert first"
    LATE = "all late"
    DROPPED = "only the first; the final one never comes"


@dataclass
class Purchase:
    """One order, what its payer chooses, and what becomes of its callbacks."""

    index: int
    token: str
    pays: bool
    email: str | None
    fate: Fate
    payment_id: str = ""
    # When the payer's last step at HighHelp began, on the monotonic clock the /info records use.
    last_step_at: float = 0.0


@pytest.fixture
def redis_store() -> Iterator[tuple[str, str]]:
    """The machine's Redis and a key prefix every process of this test shares."""
    with shared_redis() as (_, prefix):
        yield SHARED_REDIS_URL, prefix


class Run:
    """The test's world: the sandbox, the router over the web processes, HighHelp's callback sender."""

    def __init__(self, app: Flask, database_url: str, tmp_path: Path, redis_url: str, prefix: str) -> None:
        self.app = app
        self.database_url = database_url
        self.tmp_path = tmp_path
        self.redis_url = redis_url
        # One PaaS app: every process shares its config, so a session opened on one web process
        # is good on the other.
        self.shared = {"SECRET_KEY": secrets.token_urlsafe(48), "REDIS_KEY_PREFIX": prefix}
        self.stack = ExitStack()
        self.sandbox: RunningSandbox
        self.front: HighHelpFront
        self.router: Router
        self.courier: Courier
        self.press_statuses: Counter[int] = Counter()
        # Purchases through, whether they went well or not: the crash waits for a third of them.
        self.done = 0
        self.progress = threading.Condition()
        self.restarted_at: float | None = None
        self.finished_after_restart = 0

    def start_web(self, index: int, generation: int = 0) -> Shop:
        """Web process `index` (again, for a later generation), until the run ends."""
        folder = self.tmp_path / f"web-{index}-{generation}"
        highhelp_url = via(self.sandbox.url, f"web-{index}")
        return self.stack.enter_context(
            web_process(self.database_url, folder, highhelp_url, self.redis_url, self.shared)
        )

    def start_worker(self, name: str) -> None:
        """A reconcile worker as the Procfile runs it, sweeping every second, until the run ends."""
        command = procfile_worker_command("--interval", "1", "--older-than", "1")
        highhelp_url = via(self.sandbox.url, name)
        # One instance folder, as on one PaaS app: receipts written without SMTP land together.
        folder = self.tmp_path / "workers"
        environ = {
            **production_environ(self.database_url, folder, 0, highhelp_url, self.redis_url),
            **self.shared,
        }
        self.stack.enter_context(worker_process(command, environ, self.tmp_path / f"{name}.log"))

    # -- a customer and a payer ---------------------------------------------------------------

    def buy(self, purchase: Purchase) -> None:
        """Open the order on one web process, press Pay on the other, pay or give up on HighHelp's page."""
        try:
            self._buy(purchase)
        finally:
            with self.progress:
                self.done += 1
                self.progress.notify_all()

    def _buy(self, purchase: Purchase) -> None:
        customer = Customer(self.router.shop(purchase.index))
        self._through_router(purchase.index, lambda: customer.open_order(purchase.token), customer)
        response = self._press(purchase, customer)
        assert response.status_code == 303, (purchase.index, response.status_code, response.text[:300])
        purchase.payment_id = self.payment_id_of(purchase.token)
        path = f"payins/{purchase.payment_id}"
        otp = self.sandbox.control(f"{path}/phone", PHONE)["otp"]
        purchase.last_step_at = time.monotonic()
        if purchase.pays:
            state = self.sandbox.control(f"{path}/code", {"code": otp})["state"]
        else:  # the payer gives up at the code step
            state = self.sandbox.control(f"{path}/cancel", {})["state"]
        assert state == ("success" if purchase.pays else "decline"), (purchase, state)
        self.deliver(purchase)
        with self.progress:
            if self.restarted_at is not None:
                self.finished_after_restart += 1

    def _through_router(
        self, index: int, call: Callable[[], requests.Response], customer: Customer
    ) -> requests.Response:
        """A browser request through the router: a connection that died with its process is retried."""
        for attempt in range(4):
            customer.shop = self.router.shop(index + attempt)
            try:
                return call()
            except requests.ConnectionError:
                continue
        raise AssertionError("no web process answered four tries")

    def _press(self, purchase: Purchase, customer: Customer) -> requests.Response:
        """Press Pay on the other web process; press again while it says busy, as a person would."""
        for _ in range(4):
            response = self._through_router(
                purchase.index + 1, lambda: customer.press_pay(purchase.token), customer
            )
            with self.progress:
                self.press_statuses[response.status_code] += 1
            if response.status_code != 503 or "Retry-After" not in response.headers:
                return response
            time.sleep(0.2)  # the customer's pause before pressing again, not a wait for a result
        return response

    def payment_id_of(self, token: str) -> str:
        """The payment_id of the order's one attempt."""
        with self.app.app_context():
            return db.session.execute(
                select(Payment.payment_id).join(Order).where(Order.token == token)
            ).scalar_one()

    # -- HighHelp's callbacks, as the test lets them arrive -------------------------------------

    def deliver(self, purchase: Purchase) -> None:
        """Hand the alerts the sandbox queued for this payment to the Courier, as the fate says."""
        alerts = sandbox_alerts(self.sandbox.app, purchase.payment_id)
        assert len(alerts) >= 2, alerts  # at least one processing step and the final alert
        web = purchase.index
        if purchase.fate is Fate.IN_ORDER:
            for step, body in enumerate(alerts):
                self.courier.post(body, web + step, after=step * STEP)
        elif purchase.fate is Fate.TWICE:
            for step, body in enumerate(alerts):
                self.courier.post(body, web, after=step * STEP)
                self.courier.post(body, web + 1, after=step * STEP)
        elif purchase.fate is Fate.REORDERED:
            for step, body in enumerate(reversed(alerts)):
                self.courier.post(body, web + step, after=step * STEP)
        elif purchase.fate is Fate.LATE:
            for step, body in enumerate(alerts):
                self.courier.post(body, web + step, after=LATE_BY + step * STEP)
        else:
            self.courier.post(alerts[0], web)

    # -- the crash ------------------------------------------------------------------------------

    def crash_and_restart(self) -> None:
        """Once a third of the payments are through, SIGKILL web process 0 whole and start a new one."""
        with self.progress:
            assert self.progress.wait_for(lambda: self.done >= KILL_AFTER, timeout=DEADLINE)
        victim = self.router.shop(0)
        kill_whole(victim)
        # The router's health check notices; until then requests to it fail and are retried.
        self.router.down(0)
        replacement = self.start_web(0, generation=1)
        self.router.up(0, replacement)
        with self.progress:
            self.restarted_at = time.monotonic()


def settled_by_reconciler(app: Flask) -> set[str]:
    """The payments a reconcile worker's /info moved to their final state."""
    with app.app_context():
        events = db.session.execute(
            select(Payment.payment_id, Event.data)
            .join(Event, Event.payment_ref == Payment.id)
            .where(Event.kind == EventKind.INFO_READ, Event.source == EventSource.RECONCILER)
        ).all()
    return {
        payment_id
        for payment_id, data in events
        if data.get("outcome") == Outcome.APPLIED and data.get("state") in ("success", "decline")
    }


def purchases_for(app: Flask) -> list[Purchase]:
    """Orders for every combination: paid or not, with or without an email, each fate of the alerts."""
    fates = list(Fate)
    purchases = []
    for index in range(PAYMENTS):
        email = None if index % 4 == 3 else f"buyer{index}@example.kz"
        token = make_order(app, email=email)
        purchases.append(Purchase(index, token, index % 3 != 2, email, fates[index % len(fates)]))
    return purchases


def test_two_web_and_two_workers_settle_200_payments_exactly_once(
    app: Flask,
    database_url: str,
    tmp_path: Path,
    redis_store: tuple[str, str],
    caplog: pytest.LogCaptureFixture,
) -> None:
    """Every order ends as its payer chose, once; no /info twice at once; a SIGKILL loses nothing."""
    caplog.set_level(logging.WARNING, logger="werkzeug")  # the sandbox's line per request
    began = time.monotonic()
    run = Run(app, database_url, tmp_path, *redis_store)
    purchases = purchases_for(app)
    with run.stack:
        run.sandbox, run.front = run.stack.enter_context(
            running_fronted_sandbox(sandbox_config(tmp_path), INFO_DELAY)
        )
        # The sandbox keeps every alert instead of sending it; the Courier delivers them.
        run.sandbox.control("faults", {"mode": "drop"})
        run.router = Router([run.start_web(0), run.start_web(1)])
        for name in WORKERS:
            run.start_worker(name)
        run.courier = run.stack.enter_context(Courier(run.router))
        with ThreadPoolExecutor(BUYERS + 1) as pool:
            crash = pool.submit(run.crash_and_restart)
            bought = [pool.submit(run.buy, purchase) for purchase in purchases]
            for future in bought:
                future.result(timeout=max(1.0, DEADLINE - (time.monotonic() - began)))
            crash.result(timeout=30)
        assert run.courier.wait_idle(timeout=max(1.0, DEADLINE - (time.monotonic() - began)))

        def settled() -> bool:
            with app.app_context():
                still_open = db.session.execute(select(Payment.id).where(Payment.is_open.is_(True))).first()
                db.session.remove()
            return still_open is None

        assert wait_until(settled, timeout=max(1.0, DEADLINE - (time.monotonic() - began)), interval=0.2), (
            "payments still open"
        )
        calls = run.front.recorded()

    assert run.finished_after_restart > 0, "the run was over before the killed process came back"
    # Nothing answered 5xx but the busy 503 a person is asked to press again after.
    assert set(run.press_statuses) <= {303, 503}, run.press_statuses
    answers = Counter(sent.answer.status for sent in run.courier.sent)
    assert set(answers) <= {200, None}, answers
    assert not run.courier.undeliverable
    assert {sent.target % 2 for sent in run.courier.sent if sent.answer.status == 200} == {0, 1}

    with app.app_context():
        attempts = Counter(
            tuple(row)
            for row in db.session.execute(
                select(Order.token, Payment.state, Payment.is_open, Payment.needs_review).join(Payment.order)
            )
        )
        statuses = dict(db.session.execute(select(Order.token, Order.status)).all())
        receipts = Counter(
            db.session.execute(
                select(Order.token).join(OutgoingMail).where(OutgoingMail.kind == MailKind.RECEIPT)
            ).scalars()
        )
    wrong = []
    for purchase in purchases:
        final = "success" if purchase.pays else "decline"
        expected = {
            "attempts": Counter({(purchase.token, final, False, False): 1}),
            "order": OrderStatus.PAID if purchase.pays else OrderStatus.OPEN,
            "receipts": 1 if purchase.pays and purchase.email else 0,
        }
        found = {
            "attempts": Counter({key: n for key, n in attempts.items() if key[0] == purchase.token}),
            "order": statuses[purchase.token],
            "receipts": receipts[purchase.token],
        }
        if found != expected:
            wrong.append((purchase.index, purchase.fate.name, purchase.pays, found, expected))
    assert not wrong, f"{len(wrong)} orders ended wrong, e.g. {wrong[:3]}"

    # No payment was asked about by two processes at the same moment …
    assert not overlapping(calls), overlapping(calls)[:5]
    # … both workers shared the sweeps, and they settled every payment whose final alert was lost.
    assert {call.client for call in calls} >= set(WORKERS), Counter(call.client for call in calls)
    # A call answered after the payer's last step began can have seen the final state.
    last_step_at = {purchase.payment_id: purchase.last_step_at for purchase in purchases}
    asked_after_the_end = {
        call.payment_id
        for call in calls
        if call.client in WORKERS and call.end >= last_step_at.get(call.payment_id, float("inf"))
    }
    dropped = {purchase.payment_id for purchase in purchases if purchase.fate is Fate.DROPPED}
    assert dropped <= asked_after_the_end, sorted(dropped - asked_after_the_end)[:5]
    assert dropped <= settled_by_reconciler(app), sorted(dropped - settled_by_reconciler(app))[:5]
