"""Signed alerts to the merchant: queued with each status change, sent later by a background thread."""

from __future__ import annotations

import json
import logging
import os
import threading
import time
from collections.abc import Callable
from datetime import datetime, timedelta
from typing import TYPE_CHECKING, Any

import requests
from sqlalchemy import select, update
from sqlalchemy.exc import SQLAlchemyError
from sqlalchemy.orm import Session

from ..highhelp import assumed
from ..sqltypes import utcnow
from .config import SandboxConfig
from .store import SandboxAttempt, SandboxDelivery, Store

if TYPE_CHECKING:
    from .store import SandboxPayin

log = logging.getLogger(__name__)

FAULT_MODES = ("none", "duplicate", "out_of_order", "delay", "drop")
RELEASE_AFTER_FINAL = timedelta(milliseconds=300)
BATCH = 20


def alert_body(payin: SandboxPayin) -> dict[str, Any]:
    """The alert for the payin's current status, in the shape of PROTOCOL.md §4."""
    return {
        "project_id": payin.project_id,
        "general": {"request_id": payin.request_id, "payment_id": payin.payment_id},
        "status": {
            "status": payin.status,
            "sub_status": payin.sub_status,
            "status_description": payin.status_description,
        },
        "payment_info": payment_info(payin),
    }


def payment_info(payin: SandboxPayin) -> dict[str, Any]:
    """Amounts, lifetime and dates as `info` and the alerts report them."""
    return {
        "amount": payin.amount,
        "old_amount": payin.amount,
        "initial_amount": payin.amount,
        "currency": payin.currency,
        "lifetime": payin.lifetime,
        "expiration_date": int(payin.expires_at.timestamp()),
        "updated_date": int(payin.updated_at.timestamp()),
        "created_date": int(payin.created_at.timestamp()),
        "method": "mobile-ecom",
        "widget_method": "payin-ecom-mobile",
        "type": "payin",
    }


def alert_target(payin: SandboxPayin) -> tuple[str, str | None]:
    """Which of the three URLs an alert about the current status goes to."""
    if payin.status == "success":
        return "success", payin.success_url
    if payin.status == "decline":
        return "decline", payin.decline_url
    # [assumed] informative alerts share the final alerts' shape (assumed.INFORMATIVE_ALERT_STATUS).
    return assumed.INFORMATIVE_ALERT_STATUS, payin.callback_url


class Outbox:
    """Queues alerts in the payin's own transaction and delivers them from one background thread."""

    def __init__(
        self,
        store: Store,
        config: SandboxConfig,
        http: requests.Session | None = None,
        clock: Callable[[], datetime] = utcnow,
    ) -> None:
        self.store = store
        self.config = config
        self.http = http or requests.Session()
        self.clock = clock
        self.sweep: Callable[[], object] = lambda: None
        self._wake = threading.Event()
        self._stopping = threading.Event()
        self._thread: threading.Thread | None = None
        self._owner_pid: int | None = None
        self._start_lock = threading.Lock()
        # Whole passes of the sender, so that a test can wait until it has looked (and sent nothing).
        self.passes = 0

    # -- queueing, inside the transaction that changed the payin ---------------------------

    def enqueue(self, session: Session, payin: SandboxPayin) -> None:
        """Queue the alert for the payin's new status according to its fault mode."""
        kind, url = alert_target(payin)
        if url is None:
            return
        now = self.clock()
        mode = payin.fault_mode
        delay = timedelta(seconds=payin.fault_delay if mode == "delay" else 0)
        state = "pending"
        if mode == "drop":
            state = "dropped"
        elif mode == "out_of_order" and kind == assumed.INFORMATIVE_ALERT_STATUS:
            state = "held"
        copies = 2 if mode == "duplicate" else 1
        for _ in range(copies):
            session.add(
                SandboxDelivery(
                    payin_id=payin.id,
                    kind=kind,
                    url=url,
                    body=alert_body(payin),
                    state=state,
                    due_at=now + delay,
                    created_at=now,
                )
            )
        if mode == "out_of_order" and payin.is_final:
            # The informative alerts held back so far now arrive after the final one.
            session.execute(
                update(SandboxDelivery)
                .where(SandboxDelivery.payin_id == payin.id, SandboxDelivery.state == "held")
                .values(state="pending", due_at=now + RELEASE_AFTER_FINAL)
            )

    # -- the background sender ---------------------------------------------------------------

    def wake(self) -> None:
        """Make sure the sender runs in this process and let it look for work now."""
        self._ensure_running()
        self._wake.set()

    def stop(self) -> None:
        """Stop the sender thread and wait for it."""
        self._stopping.set()
        self._wake.set()
        if self._thread is not None:
            self._thread.join(timeout=10)

    def _ensure_running(self) -> None:
        # A forked worker (gunicorn) inherits no threads: start one per process, on first use.
        with self._start_lock:
            alive = self._thread is not None and self._thread.is_alive()
            if alive and self._owner_pid == os.getpid():
                return
            self._owner_pid = os.getpid()
            self._stopping.clear()
            self._thread = threading.Thread(target=self._run, name="sandbox-callbacks", daemon=True)
            self._thread.start()

    def _run(self) -> None:
        while not self._stopping.is_set():
            try:
                self.sweep()
                self.deliver_due()
            except SQLAlchemyError:
                log.exception("sandbox sender: database error; trying again shortly")
            else:
                self.passes += 1
            self._wake.wait(timeout=self.config.sender_interval)
            self._wake.clear()

    def deliver_due(self) -> int:
        """Send every alert that is due now; how many were tried."""
        with self.store.transaction() as session:
            due = (
                session.execute(
                    select(SandboxDelivery.id)
                    .where(SandboxDelivery.state == "pending", SandboxDelivery.due_at <= self.clock())
                    .order_by(SandboxDelivery.due_at, SandboxDelivery.id)
                    .limit(BATCH)
                )
                .scalars()
                .all()
            )
        tried = 0
        for delivery_id in due:
            if self._claim(delivery_id):
                self._send(delivery_id)
                tried += 1
        return tried

    def _claim(self, delivery_id: int) -> bool:
        # Compare-and-set, so two processes never send the same try; RETURNING says whether this
        # one won on every database (rowcount is not reported alike).
        with self.store.transaction() as session:
            claimed = session.execute(
                update(SandboxDelivery)
                .where(SandboxDelivery.id == delivery_id, SandboxDelivery.state == "pending")
                .values(state="sending", attempts_made=SandboxDelivery.attempts_made + 1)
                .returning(SandboxDelivery.id)
            ).first()
            return claimed is not None

    def _send(self, delivery_id: int) -> None:
        with self.store.transaction() as session:
            delivery = session.get_one(SandboxDelivery, delivery_id)
            url, body, tries = delivery.url, delivery.body, delivery.attempts_made
        timestamp = str(int(time.time()))
        headers = {
            "x-access-signature": self.config.callback_signer.sign(body, timestamp),
            "x-access-timestamp": timestamp,
            "content-type": "application/json",
        }
        started = time.monotonic()
        status: int | None = None
        error = answer = None
        try:
            response = self.http.post(
                url,
                data=json.dumps(body, ensure_ascii=False).encode("utf-8"),
                headers=headers,
                timeout=self.config.callback_timeouts,
                allow_redirects=False,
            )
            status, answer = response.status_code, response.text[:255]
        except requests.RequestException as exc:
            error = exc.__class__.__name__
        delivered = status is not None and 200 <= status < 300
        with self.store.transaction() as session:
            delivery = session.get_one(SandboxDelivery, delivery_id)
            session.add(
                SandboxAttempt(
                    delivery_id=delivery_id,
                    started_at=self.clock(),
                    http_status=status,
                    error=error,
                    answer=answer,
                    duration_ms=int((time.monotonic() - started) * 1000),
                )
            )
            if delivered:
                delivery.state = "delivered"
            elif tries > len(self.config.retry_delays):
                delivery.state = "failed"
            else:
                delivery.state = "pending"
                delivery.due_at = self.clock() + timedelta(seconds=self.config.retry_delays[tries - 1])
        log.info("sandbox callback %s try %d: %s", delivery.kind, tries, status or error)
