"""Logs as an operator reads them: gunicorn per the Procfile in production writes one JSON object per line."""

from __future__ import annotations

import contextlib
import dataclasses
import json
import logging
import re
import subprocess
import sys
from collections.abc import Callable, Iterator
from dataclasses import dataclass
from datetime import datetime
from io import StringIO
from pathlib import Path
from typing import Any

import pytest
import requests
from flask import Flask
from sqlalchemy import select

from checkout import logs
from checkout.extensions import db
from checkout.models import Order
from tests.checkout_support import make_order
from tests.conftest import KEYS, make_environ
from tests.highhelp_double import HighHelpDouble, Reply, answer_for
from tests.processes import ROOT, clean_environ, free_port, serving
from tests.production_support import (
    HIGHHELP_IP,
    REDIS_URL,
    Customer,
    Shop,
    client_ip,
    procfile_web_command,
    production_environ,
    send_alert,
    signed_alert,
)

GENERATED_ID = re.compile(r"[0-9a-f]{32}")
# What a HighHelp error page might echo back: the customer's phone and email, our signature, a key.
PHONE = "+7 701 123-45-67"
EMAIL = "aigerim.n@example.kz"
PEM = (KEYS / "merchant_private.pem").read_text("ascii").strip()
PEM_BODY = PEM.splitlines()[1]  # a line of the key itself
SIGNATURE = signed_alert("echo", "success").headers["x-access-signature"]


@dataclass
class Served:
    """The production web process and its combined stdout and stderr."""

    url: str
    log: Path

    def get(self, path: str, request_id: str | None = None, **kwargs: Any) -> requests.Response:
        """One request through the router (one trusted proxy), with the router's X-Request-ID if given."""
        headers = {"X-Forwarded-Proto": "https", "X-Forwarded-For": HIGHHELP_IP}
        if request_id is not None:
            headers["X-Request-ID"] = request_id
        return requests.get(self.url + path, headers=headers, timeout=10, allow_redirects=False, **kwargs)


def read_lines(log: Path) -> list[dict[str, Any]]:
    """Every line of the output, each of which must be one JSON object."""
    lines = log.read_text("utf-8").splitlines()
    assert lines, "the server wrote nothing"
    parsed = []
    for number, line in enumerate(lines, 1):
        try:
            item = json.loads(line)
        except ValueError:
            pytest.fail(f"line {number} is not JSON: {line!r}")
        assert isinstance(item, dict), f"line {number} is not a JSON object: {line!r}"
        parsed.append(item)
    return parsed


def request_lines(lines: list[dict[str, Any]], request_id: str) -> list[dict[str, Any]]:
    """The `request` lines of one request id."""
    return [
        line for line in lines if line.get("message") == "request" and line.get("request_id") == request_id
    ]


@contextlib.contextmanager
def serving_production(database_url: str, tmp_path: Path, highhelp_url: str) -> Iterator[Served]:
    """gunicorn exactly as the Procfile's web line starts it, APP_ENV=production and LOG_FORMAT unset."""
    port = free_port()
    environ = production_environ(database_url, tmp_path, port, highhelp_url, REDIS_URL)
    environ.pop("LOG_FORMAT", None)
    log = tmp_path / "web.log"
    with serving(procfile_web_command(port), environ, port, log) as url:
        yield Served(url, log)


def press_pay(customer: Customer, token: str, request_id: str) -> requests.Response:
    """Customer.press_pay, with the router's X-Request-ID."""
    headers = {
        "Cookie": f"session={customer.cookie}",
        "Referer": f"https://{customer.shop.url.removeprefix('http://')}/orders/{token}",
        "X-Request-ID": request_id,
    }
    data = {"csrf_token": customer.csrf_token}
    return customer.shop.request("POST", f"/orders/{token}/pay", ip=customer.ip, headers=headers, data=data)


def latest_payment_id(app: Flask, token: str) -> str:
    """The payment_id of the order's newest attempt."""
    with app.app_context():
        order = db.session.execute(select(Order).where(Order.token == token)).scalar_one()
        return order.payments[-1].payment_id


def highhelp_refusing_create_with_secrets(path: str, body: dict[str, Any]) -> Reply:
    """HighHelp down for create, its error page echoing a phone, an email, a signature and a key."""
    if not path.endswith("/payin"):
        return Reply.json(200, answer_for(path, body))
    echoed = f"gateway error for {PHONE} ({EMAIL}); x-access-signature: {SIGNATURE}; key {PEM}"
    return Reply.json(502, {"status": "error", "status_description": echoed})


def test_production_writes_one_json_object_per_line_with_request_ids(
    app: Flask, database_url: str, tmp_path: Path, double: HighHelpDouble
) -> None:
    """Requests, a payment, a callback and a failing HighHelp: every line parses and tells who did what."""
    paid = make_order(app, email="buyer@example.kz")
    refused = make_order(app)
    insane = ["has space", "x" * 129, "naïve", "a/b"]
    with serving_production(database_url, tmp_path, double.url) as shop:
        health = shop.get("/healthz", request_id="router-1.abc_DEF-9")
        generated = [shop.get("/healthz", request_id=bad) for bad in insane] + [shop.get("/healthz")]
        missing = shop.get("/no/such/page", request_id="router-404")
        too_large = requests.post(
            shop.url + "/highhelp/callbacks/info",
            data=b"{" + b" " * (70 * 1024) + b"}",
            headers={"X-Request-ID": "router-413", "X-Forwarded-For": HIGHHELP_IP},
            timeout=10,
        )
        # Customer only needs the URL of the Shop it goes through; no worker is inspected here.
        router = Shop(shop.url, master_pid=0, workers=0, threads=0, log=shop.log)
        customer = Customer(router, ip=client_ip())
        page = customer.open_order(paid)
        pressed = press_pay(customer, paid, "router-pay")
        payment_id = latest_payment_id(app, paid)
        alert = signed_alert(payment_id, "success")
        alert = dataclasses.replace(alert, headers={**alert.headers, "X-Request-ID": "router-cb"})
        answer = send_alert(shop.url, alert)
        double.reply = highhelp_refusing_create_with_secrets
        other = Customer(router, ip=client_ip())
        other.open_order(refused)
        unavailable = press_pay(other, refused, "router-down")
    lines = read_lines(shop.log)

    assert health.headers["X-Request-ID"] == "router-1.abc_DEF-9"
    ids = [response.headers["X-Request-ID"] for response in generated]
    assert all(GENERATED_ID.fullmatch(value) for value in ids), ids
    assert len(set(ids)) == len(ids)
    assert (missing.status_code, missing.headers["X-Request-ID"]) == (404, "router-404")
    assert (too_large.status_code, too_large.headers["X-Request-ID"]) == (413, "router-413")
    assert page.headers["X-Request-ID"]
    assert (pressed.status_code, pressed.headers["X-Request-ID"]) == (303, "router-pay")
    assert (answer.status, answer.verdict) == (200, "applied")
    assert (unavailable.status_code, unavailable.headers["X-Request-ID"]) == (503, "router-down")

    for line in lines:
        assert list(line)[:4] == ["time", "level", "logger", "message"], line
        assert datetime.fromisoformat(line["time"]).utcoffset() is not None, line
    # gunicorn's own lines come out as JSON too, and its access log is off (the request line replaces it).
    assert any(line["logger"] == "gunicorn.error" for line in lines)
    assert not any(line["logger"] == "gunicorn.access" for line in lines)

    [healthz] = request_lines(lines, "router-1.abc_DEF-9")
    assert healthz["route"] == "/healthz"
    assert (healthz["method"], healthz["status"], healthz["ip"]) == ("GET", 200, HIGHHELP_IP)
    assert healthz["duration_ms"] >= 0
    for request_id in ids:
        [line] = request_lines(lines, request_id)
        assert line["route"] == "/healthz"
    text = shop.log.read_text("utf-8")
    assert not any(bad in text for bad in insane[:2])
    [not_found] = request_lines(lines, "router-404")
    assert (not_found["status"], not_found["route"]) == (404, None)
    [refused_body] = request_lines(lines, "router-413")
    assert refused_body["status"] == 413

    # The order page's line names the URL rule: the token is a secret, and appears nowhere.
    with app.app_context():
        order = db.session.execute(select(Order).where(Order.token == paid)).scalar_one()
    [pay] = request_lines(lines, "router-pay")
    assert (pay["route"], pay["status"]) == ("/orders/<token>/pay", 303)
    assert (pay["payment_id"], pay["order"], pay["ip"]) == (payment_id, order.id, customer.ip)
    assert paid not in text
    assert refused not in text
    during_pay = [line for line in lines if line.get("request_id") == "router-pay"]
    [create] = [line for line in during_pay if line.get("endpoint") == "create"]
    assert (create["payment_id"], create["outcome"], create["http_status"]) == (payment_id, "ok", 200)
    assert create["latency_ms"] >= 0

    [callback] = request_lines(lines, "router-cb")
    assert callback["route"].startswith("/highhelp/callbacks/")
    assert (callback["status"], callback["payment_id"]) == (200, payment_id)
    applied = [line for line in lines if line.get("request_id") == "router-cb"]
    assert any("verdict=applied" in line["message"] for line in applied), applied

    # What HighHelp's error page echoed passed through two lines, redacted in both.
    down = [
        line for line in lines if line.get("request_id") == "router-down" and line["message"] != "request"
    ]
    assert len(down) >= 2, down
    assert all("[redacted]" in line["message"] for line in down), down
    for secret in (PHONE, EMAIL, "buyer@example.kz", SIGNATURE, PEM_BODY, "BEGIN PRIVATE KEY", "BEGIN RSA"):
        assert secret not in text, f"{secret[:30]!r} leaked into the log"


# --- In one process: answers that never reach a view, and the context of one request only --------


@pytest.fixture
def json_lines(caplog: pytest.LogCaptureFixture) -> Iterator[Callable[[], list[dict[str, Any]]]]:
    """Our JSON handler on the root logger, as gunicorn's logconfig puts it; the lines so far, parsed."""
    stream = StringIO()
    handler = logs.handler(logs.LogFormat.JSON, stream)
    caplog.set_level(logging.INFO)
    root = logging.getLogger()
    root.addHandler(handler)
    yield lambda: [json.loads(line) for line in stream.getvalue().splitlines()]
    root.removeHandler(handler)


def test_an_answer_before_the_app_still_carries_and_logs_a_request_id(
    app: Flask, json_lines: Callable[[], list[dict[str, Any]]]
) -> None:
    """A Host that is not a host name is refused before Flask: the id is still returned and logged."""
    response = app.test_client().get("/healthz", headers={"Host": "a..b", "X-Request-ID": "router-host"})
    assert (response.status_code, response.headers["X-Request-ID"]) == (400, "router-host")
    [line] = request_lines(json_lines(), "router-host")
    assert (line["status"], line["route"], line["method"]) == (400, None, "GET")


def test_a_crash_is_logged_with_its_request_id_and_the_next_request_starts_clean(
    app: Flask, json_lines: Callable[[], list[dict[str, Any]]]
) -> None:
    """A 500: the traceback and the request line share the id; nothing of it sticks to the next request."""

    def crash(token: str) -> str:
        logs.bind(payment_id="KZ000042-1-abcdef", order=42)
        raise RuntimeError("customer 8 701 123 45 67 could not be charged")

    app.add_url_rule("/crash/<token>", view_func=crash)
    client = app.test_client()
    crashed = client.get("/crash/secret-token", headers={"X-Request-ID": "router-crash"})
    after = client.get("/healthz", headers={"X-Request-ID": "router-after"})
    lines = json_lines()

    assert (crashed.status_code, crashed.headers["X-Request-ID"]) == (500, "router-crash")
    during = [line for line in lines if line.get("request_id") == "router-crash"]
    [failure] = [line for line in during if "exception" in line]
    assert "RuntimeError: customer [redacted] could not be charged" in failure["exception"]
    assert failure["payment_id"] == "KZ000042-1-abcdef"
    [request] = request_lines(lines, "router-crash")
    assert (request["level"], request["status"], request["route"]) == ("error", 500, "/crash/<token>")
    assert (request["payment_id"], request["order"]) == ("KZ000042-1-abcdef", 42)
    assert "secret-token" not in json.dumps(lines)
    assert after.status_code == 200
    [clean] = request_lines(lines, "router-after")
    assert "payment_id" not in clean
    assert "order" not in clean


def log_from_a_fresh_process(database_url: str, tmp_path: Path, **settings: str) -> str:
    """What a process that builds the app (a CLI command, `flask run`) writes to stderr for one warning."""
    script = (
        "from checkout import create_app; import logging; create_app(); "
        "logging.getLogger('checkout.mail').warning('no answer for %s', 'buyer@example.kz')"
    )
    environ = clean_environ(**make_environ(database_url, INSTANCE_PATH=str(tmp_path / "i"), **settings))
    done = subprocess.run(
        [sys.executable, "-c", script], cwd=ROOT, env=environ, capture_output=True, text=True, timeout=60
    )
    assert done.returncode == 0, done.stderr
    return done.stderr


def test_outside_gunicorn_logs_are_text_locally_and_json_when_asked(
    database_url: str, tmp_path: Path
) -> None:
    """No one set logging up before the app: it does, in the format APP_ENV and LOG_FORMAT choose."""
    [text] = log_from_a_fresh_process(database_url, tmp_path, APP_ENV="development").splitlines()
    assert "no answer for [redacted]" in text
    assert "[warning" in text
    assert not text.startswith("{")
    [line] = log_from_a_fresh_process(database_url, tmp_path, LOG_FORMAT="json").splitlines()
    assert json.loads(line)["message"] == "no answer for [redacted]"
