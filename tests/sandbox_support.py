"""Sandbox test helpers: the sandbox on a port, a merchant receiving alerts, a payer without JS."""

from __future__ import annotations

import re
import threading
import time
from collections.abc import Callable, Iterable, Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field
from datetime import datetime, timedelta
from pathlib import Path
from typing import Any

import requests
from flask import Flask
from werkzeug.wrappers import Request, Response

from checkout.highhelp import HighHelpClient, signing
from checkout.highhelp.errors import BadPayload, BadSignature
from checkout.highhelp.wire import CreatePayinAnswer, CreatePayinRequest
from checkout.sandbox import build_sandbox
from checkout.sandbox.config import SandboxConfig
from checkout.sandbox.services import EXTENSION_KEY, Services
from checkout.sqltypes import utcnow
from tests.conftest import KEYS, PROJECT_ID, callback_signer, hmac_key, merchant_signer
from tests.processes import serving_wsgi

OTP_PATTERN = re.compile(r'data-sandbox-otp="(\d+)"')
# Generous: the sender passes every sender_interval (0.05 s here); only a stuck sender takes this long.
SENDER_PASS_TIMEOUT = 10.0


def sandbox_config(tmp_path: Path, **changes: Any) -> SandboxConfig:
    """A fast sandbox trusting the shared merchant keys and signing with the shared callback key."""
    values: dict[str, Any] = {
        "project_id": PROJECT_ID,
        "database_url": f"sqlite:///{tmp_path / 'sandbox.sqlite3'}",
        "callback_signer": callback_signer(),
        "rsa_verifier": signing.RsaVerifier(
            signing.load_public_keys((KEYS / "merchant_public.pem").read_bytes())
        ),
        "hmac_verifier": signing.HmacVerifier([hmac_key()]),
        "test_mode": True,
        "resend_seconds": 1,
        "retry_delays": (0.2, 0.2, 0.2, 0.2, 0.2),
        "callback_timeouts": (0.5, 0.5),
        "sender_interval": 0.05,
    }
    values.update(changes)
    return SandboxConfig(**values)


@dataclass
class RunningSandbox:
    """A sandbox served over HTTP, with a client that signs like the checkout."""

    url: str
    app: Flask
    client: HighHelpClient

    @property
    def services(self) -> Services:
        found: Services = self.app.extensions[EXTENSION_KEY]
        return found

    def payin_count(self) -> int:
        """How many payins the sandbox has stored."""
        from sqlalchemy import func, select

        from checkout.sandbox.store import SandboxPayin

        with self.services.store.transaction() as session:
            return session.execute(select(func.count()).select_from(SandboxPayin)).scalar_one()

    def sender_has_looked(self) -> None:
        """Wait for a whole pass of the callback sender begun after this call: all that was due is sent."""
        outbox = self.services.outbox
        # The pass under way may have read the queue before the caller's change; the next one has not.
        wanted = outbox.passes + 2
        deadline = time.monotonic() + SENDER_PASS_TIMEOUT
        while outbox.passes < wanted:
            assert time.monotonic() < deadline, "the callback sender made no pass"
            outbox.wake()
            time.sleep(0.01)

    def control(self, path: str, data: dict[str, Any] | None = None) -> dict[str, Any]:
        """Call a control endpoint: GET without data, POST with it."""
        if data is None:
            response = requests.get(f"{self.url}/control/{path}", timeout=5)
        else:
            response = requests.post(f"{self.url}/control/{path}", json=data, timeout=5)
        assert response.status_code == 200, response.text
        result: dict[str, Any] = response.json()
        return result


class ManualClock:
    """The sandbox's clock in a test: it moves only when the test advances it."""

    def __init__(self) -> None:
        self.now: datetime = utcnow()

    def __call__(self) -> datetime:
        return self.now

    def advance(self, seconds: float) -> None:
        """Let `seconds` pass for the sandbox, at once."""
        self.now += timedelta(seconds=seconds)


@contextmanager
def running_sandbox(
    config: SandboxConfig, clock: Callable[[], datetime] = utcnow
) -> Iterator[RunningSandbox]:
    """Serve a sandbox built from `config` until the block ends, then stop its sender."""
    app = build_sandbox(config, clock)
    try:
        with serving_wsgi(app) as url:
            yield RunningSandbox(
                url, app, HighHelpClient(url, PROJECT_ID, merchant_signer(), timeouts=(2, 5))
            )
    finally:
        app.extensions[EXTENSION_KEY].close()


@dataclass
class Alert:
    """One callback as the merchant received it."""

    path: str
    body: dict[str, Any]
    verified: bool
    reason: str
    at: float

    @property
    def state(self) -> str:
        status = self.body.get("status", {})
        return (
            f"{status.get('status')}:{status.get('sub_status')}"
            if status.get("sub_status")
            else str(status.get("status"))
        )


@dataclass
class Receiver:
    """The merchant's three callback URLs: verifies each alert with HighHelp's key, answers as told."""

    answers: list[int] = field(default_factory=list)
    delay: float = 0.0
    alerts: list[Alert] = field(default_factory=list)
    url: str = ""
    verifier: signing.Verifier = field(
        default_factory=lambda: signing.RsaVerifier(
            signing.load_public_keys((KEYS / "highhelp_callback_public.pem").read_bytes())
        )
    )

    def __post_init__(self) -> None:
        self.lock = threading.Lock()

    def __call__(self, environ: dict[str, Any], start_response: Callable[..., Any]) -> Iterable[bytes]:
        request = Request(environ)
        raw = request.get_data()
        try:
            body = signing.verify_signed_body(
                raw,
                request.headers.get("x-access-signature"),
                request.headers.get("x-access-timestamp"),
                self.verifier,
            )
            verified, reason = True, ""
        except (BadSignature, BadPayload) as exc:
            body, verified, reason = {}, False, str(exc)
        with self.lock:
            self.alerts.append(Alert(request.path, body, verified, reason, time.monotonic()))
            status = self.answers.pop(0) if self.answers else 200
        if self.delay:
            time.sleep(self.delay)
        return Response("ok" if status < 300 else "try again", status)(environ, start_response)

    def wait_for(self, done: Callable[[list[Alert]], bool], timeout: float = 10.0) -> list[Alert]:
        """Wait until `done(alerts)` holds; the alerts so far either way."""
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            with self.lock:
                snapshot = list(self.alerts)
            if done(snapshot):
                return snapshot
            time.sleep(0.05)
        return list(self.alerts)

    def urls(self) -> dict[str, str]:
        """The three callback URLs for a create request."""
        return {
            "merchant_callback_url": f"{self.url}/callbacks/info",
            "merchant_success_callback_url": f"{self.url}/callbacks/success",
            "merchant_decline_callback_url": f"{self.url}/callbacks/decline",
        }


@contextmanager
def running_receiver(verifier: signing.Verifier | None = None) -> Iterator[Receiver]:
    """A Receiver on a free loopback port, verifying with HighHelp's RSA test key unless told otherwise."""
    receiver = Receiver() if verifier is None else Receiver(verifier=verifier)
    with serving_wsgi(receiver) as url:
        receiver.url = url
        yield receiver


def create_body(payment_id: str, receiver: Receiver | None = None, **changes: Any) -> dict[str, Any]:
    """A complete, valid create request body."""
    general = {
        "project_id": PROJECT_ID,
        "payment_id": payment_id,
        "redirect_url": "http://127.0.0.1:5000/back",
    }
    if receiver is not None:
        general.update(receiver.urls())
    body: dict[str, Any] = {
        "general": general,
        "payment": {
            "amount": 1500000,
            "currency": "KZT",
            "lifetime": 600,
            "description": "Order 42",
            "widget_method": "payin-ecom-mobile",
        },
        "customer": {"id": "cus_1", "ip_address": "192.0.2.1", "country": "KZ", "language": "en"},
    }
    for path, value in changes.items():
        section, name = path.split("__")
        body[section][name] = value
    return body


def create(
    sandbox: RunningSandbox, payment_id: str, receiver: Receiver | None = None, **changes: Any
) -> CreatePayinAnswer:
    """Create a payin through the signed API."""
    return sandbox.client.create_payin(CreatePayinRequest.build(create_body(payment_id, receiver, **changes)))


class Payer:
    """A person on the hosted page with JavaScript off: plain GETs and form POSTs."""

    def __init__(self, form_url: str) -> None:
        self.form_url = form_url
        self.http = requests.Session()
        self.html = ""

    def open(self) -> str:
        response = self.http.get(self.form_url, timeout=5)
        self.html = response.text
        return self.html

    def _post(self, step: str, data: dict[str, str]) -> str:
        response = self.http.post(f"{self.form_url}/{step}", data=data, timeout=5)
        assert response.history, f"no redirect after {step}: {response.status_code}"
        assert response.history[0].status_code == 303
        self.html = response.text
        return self.html

    def choose(self, phone: str = "+7 701 234 56 78", operator: str = "KCELL") -> str:
        return self._post("phone", {"operator": operator, "phone": phone})

    def otp(self) -> str:
        match = OTP_PATTERN.search(self.html or self.open())
        assert match, "no SMS code on the page"
        return match.group(1)

    def enter(self, code: str) -> str:
        return self._post("code", {"code": code})

    def resend(self) -> str:
        return self._post("resend", {})

    def phase(self) -> str:
        match = re.search(r'data-phase="(\w+)"', self.html)
        assert match, self.html[:500]
        return match.group(1)
