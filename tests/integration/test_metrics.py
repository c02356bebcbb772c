"""/metrics: behind METRICS_TOKEN, counting what on-call watches, in-process and under gunicorn."""

from __future__ import annotations

import json
import secrets
from collections.abc import Callable, Iterator
from concurrent.futures import ThreadPoolExecutor
from dataclasses import replace
from pathlib import Path
from typing import Any

import pytest
from flask import Flask
from flask.testing import FlaskClient
from prometheus_client.parser import text_string_to_metric_families
from sqlalchemy import select

from checkout.config import ConfigError, load_settings
from checkout.extensions import db
from checkout.merchant.login import FAILURES_PER_ACCOUNT
from checkout.models import Payment
from tests.checkout_support import (
    alert_body,
    csrf_of,
    make_order,
    order_status,
    post_alert,
    sign_with,
    signed_headers,
)
from tests.conftest import KEYS, PRODUCTION
from tests.highhelp_double import HighHelpDouble
from tests.processes import serving_wsgi
from tests.production_support import (
    Customer,
    client_ip,
    production_server,
    send_alert,
    signed_alert,
    wait_until,
)
from tests.redis_support import SHARED_REDIS_URL, shared_redis
from tests.sandbox_support import Payer, RunningSandbox

TOKEN = secrets.token_urlsafe(32)
BEARER = {"Authorization": f"Bearer {TOKEN}"}
Samples = dict[tuple[str, frozenset[tuple[str, str]]], float]


def parse(text: str) -> Samples:
    """Every sample of a scrape by name and labels."""
    return {
        (sample.name, frozenset(sample.labels.items())): sample.value
        for family in text_string_to_metric_families(text)
        for sample in family.samples
    }


def value(samples: Samples, name: str, **labels: str) -> float:
    """One sample's value; 0 when the scrape does not show it."""
    return samples.get((name, frozenset(labels.items())), 0.0)


def scrape(client: FlaskClient) -> Samples:
    """One authorized scrape."""
    response = client.get("/metrics", headers=BEARER)
    assert response.status_code == 200, response.get_data(as_text=True)[:500]
    assert response.mimetype == "text/plain"
    return parse(response.get_data(as_text=True))


def test_no_metrics_without_a_token(make_app: Callable[..., Flask]) -> None:
    response = make_app().test_client().get("/metrics", headers=BEARER)
    assert response.status_code == 404


@pytest.mark.parametrize(
    "authorization",
    [None, f"Bearer {TOKEN}x", "Bearer ", f"Basic {TOKEN}", TOKEN, f"Bearer {TOKEN[:-1]}"],
    ids=["missing", "longer", "empty", "basic", "no-scheme", "shorter"],
)
def test_metrics_ask_for_the_bearer_token(make_app: Callable[..., Flask], authorization: str | None) -> None:
    client = make_app(METRICS_TOKEN=TOKEN).test_client()
    headers = {"Authorization": authorization} if authorization is not None else {}
    response = client.get("/metrics", headers=headers)
    assert response.status_code == 401
    assert response.headers["WWW-Authenticate"].startswith("Bearer")
    assert "checkout_" not in response.get_data(as_text=True)


def test_metrics_with_the_token(make_app: Callable[..., Flask]) -> None:
    client = make_app(METRICS_TOKEN=TOKEN).test_client()
    response = client.get("/metrics", headers={"Authorization": f"bearer  {TOKEN} "})
    assert response.status_code == 200
    # Prometheus 3 refuses a scrape whose Content-Type it cannot parse (a repeated charset, say).
    assert response.headers["Content-Type"] == "text/plain; version=1.0.0; charset=utf-8"
    samples = parse(response.get_data(as_text=True))
    # Every series an alert may watch is there from the start, at zero or more.
    assert ("checkout_payins_total", frozenset({("outcome", "unavailable")})) in samples
    assert ("checkout_reconcile_sweeps_total", frozenset({("result", "failed")})) in samples
    assert value(samples, "checkout_review_waiting") == 0
    assert ("checkout_mail_outbox", frozenset({("status", "failed")})) in samples


@pytest.mark.parametrize(
    ("token", "problem"),
    [
        ("short-but-random-Zq81", "METRICS_TOKEN: must be at least 32 characters"),
        ("changeme-changeme-changeme-changeme-1", "METRICS_TOKEN: looks like a placeholder"),
    ],
)
def test_production_refuses_a_weak_token(token: str, problem: str, tmp_path: Path) -> None:
    with pytest.raises(ConfigError) as refused:
        load_settings({**PRODUCTION, "METRICS_TOKEN": token}, tmp_path)
    assert any(found.startswith(problem) for found in refused.value.problems), refused.value.problems
    assert token not in str(refused.value)


def test_database_gauges_are_left_out_when_the_database_is_down(make_app: Callable[..., Flask]) -> None:
    app = make_app(METRICS_TOKEN=TOKEN, DATABASE_URL="postgresql+psycopg://postgres@127.0.0.1:9/none")
    samples = scrape(app.test_client())
    assert ("checkout_review_waiting", frozenset()) not in samples
    assert ("checkout_payins_total", frozenset({("outcome", "created")})) in samples


@pytest.fixture
def served_shop(make_app: Callable[..., Flask], sandbox: RunningSandbox) -> Iterator[Flask]:
    """The app on a loopback port, paying through the sandbox, which calls it back there."""
    holder: dict[str, Any] = {}
    with serving_wsgi(lambda environ, start: holder["app"](environ, start)) as url:
        holder["app"] = make_app(METRICS_TOKEN=TOKEN, HIGHHELP_API_URL=sandbox.url, PUBLIC_BASE_URL=url)
        yield holder["app"]


def test_counters_move_after_a_sandbox_payment(served_shop: Flask) -> None:
    app = served_shop
    client = app.test_client()
    before = scrape(client)
    token = make_order(app, email="buyer@example.kz")
    order_path = f"/orders/{token}"
    pressed = client.post(order_path + "/pay", data={"csrf_token": csrf_of(client.get(order_path).text)})
    assert pressed.status_code == 303, pressed.text[:500]
    payer = Payer(pressed.headers["Location"])
    payer.open()
    payer.choose()
    payer.enter(payer.otp())
    assert wait_until(lambda: order_status(app, token) == "paid", timeout=15), "the order was never paid"
    # A forged and a malformed alert, and one about a payment we never asked for.
    orphan = alert_body("never-ours-1", "processing", "new")
    assert post_alert(client, orphan, _forged_headers(orphan)).status_code == 401
    unreadable = {"project_id": "not an alert"}
    assert post_alert_to(client, "decline", unreadable).status_code == 400
    assert post_alert(client, orphan).status_code == 200
    # Read from the database: the receipt waits for the worker, the orphan for a person.
    waiting = scrape(client)
    assert value(waiting, "checkout_mail_outbox", status="pending") == 1
    assert value(waiting, "checkout_review_waiting") == 1
    swept = app.test_cli_runner().invoke(args=["payments", "reconcile"])
    assert swept.exit_code == 0, swept.output
    after = scrape(client)

    def moved(name: str, **labels: str) -> float:
        return value(after, name, **labels) - value(before, name, **labels)

    assert moved("checkout_payins_total", outcome="created") == 1
    assert moved("checkout_highhelp_request_seconds_count", endpoint="create", outcome="ok") == 1
    assert moved("checkout_highhelp_request_seconds_sum", endpoint="create", outcome="ok") > 0
    assert moved("checkout_callbacks_total", kind="success", verdict="applied") == 1
    assert moved("checkout_callbacks_total", kind="info", verdict="forged") == 1
    assert moved("checkout_callbacks_total", kind="info", verdict="orphan") == 1
    assert moved("checkout_callbacks_total", kind="decline", verdict="malformed") == 1
    assert moved("checkout_state_transitions_total", outcome="applied", phase="paid") == 1
    assert moved("checkout_reconcile_sweeps_total", result="ok") == 1
    # The sweep also sent the receipt; the orphan still waits for a person.
    assert value(after, "checkout_mail_outbox", status="pending") == 0
    assert value(after, "checkout_review_waiting") == 1


def test_rate_limit_refusals_are_counted(make_app: Callable[..., Flask]) -> None:
    app = make_app(METRICS_TOKEN=TOKEN)
    client = app.test_client()
    before = scrape(client)
    form = {"email": f"{secrets.token_hex(6)}@example.kz", "password": "wrong"}
    statuses = []
    for _ in range(FAILURES_PER_ACCOUNT + 2):
        form["csrf_token"] = csrf_of(client.get("/merchant/login").text)
        statuses.append(client.post("/merchant/login", data=form).status_code)
    assert statuses == [401] * FAILURES_PER_ACCOUNT + [429, 429]
    after = scrape(client)
    login = {"endpoint": "merchant.login"}
    moved = value(after, "checkout_rate_limit_refusals_total", **login) - value(
        before, "checkout_rate_limit_refusals_total", **login
    )
    assert moved == 2


def post_alert_to(client: FlaskClient, kind: str, body: dict[str, Any]) -> Any:
    """POST a body signed with HighHelp's key to one callback URL."""
    return client.post(f"/highhelp/callbacks/{kind}", data=json.dumps(body), headers=signed_headers(body))


def _forged_headers(body: dict[str, Any]) -> dict[str, str]:
    """Headers signed with a key that is not HighHelp's."""
    return signed_headers(body, sign_with((KEYS / "merchant_private.pem").read_bytes()))


def worker_pids_counting(folder: Path) -> set[int]:
    """The processes that wrote counts to the multiprocess folder (counter_<pid>.db)."""
    return {int(path.stem.removeprefix("counter_")) for path in folder.glob("counter_*.db")}


def test_gunicorn_workers_add_up_in_one_scrape(
    app: Flask, database_url: str, tmp_path: Path, double: HighHelpDouble
) -> None:
    """Payments and callbacks through both workers of the Procfile's gunicorn, each scrape the sum."""
    if not database_url.startswith("postgresql"):
        pytest.skip("gunicorn runs on PostgreSQL only (TEST_DATABASE_URL)")
    folder = tmp_path / "prometheus"
    folder.mkdir()
    presses = 6
    tokens = [make_order(app) for _ in range(presses)]
    with (
        shared_redis(),
        production_server(
            database_url,
            tmp_path,
            double.url,
            SHARED_REDIS_URL,
            METRICS_TOKEN=TOKEN,
            PROMETHEUS_MULTIPROC_DIR=str(folder),
        ) as shop,
        ThreadPoolExecutor(8) as pool,
    ):

        def shop_scrape() -> Samples:
            response = shop.request("GET", "/metrics", ip=client_ip(), headers=BEARER)
            assert response.status_code == 200, response.text[:500]
            return parse(response.text)

        before = shop_scrape()
        customers = {token: Customer(shop) for token in tokens}
        for token, customer in customers.items():
            customer.open_order(token)
        answers = list(pool.map(lambda token: customers[token].press_pay(token).status_code, tokens))
        created = answers.count(303)
        assert created >= 1, answers
        paid = _payment_ids(app)
        assert len(paid) == created
        alerts = [signed_alert(payment_id, "success") for payment_id in paid]
        assert {answer.status for answer in pool.map(lambda alert: send_alert(shop.url, alert), alerts)} == {
            200
        }
        # Forged alerts, each on a new connection, until both workers have counted something.
        forged = replace(signed_alert("never-ours", "processing", "new"), headers=_forged_headers({}))
        sent = 0
        while len(worker_pids_counting(folder) & shop.worker_pids()) < 2 and sent < 400:
            batch = list(pool.map(lambda _: send_alert(shop.url, forged).status, range(8)))
            assert set(batch) == {401}, batch
            sent += len(batch)
        assert len(worker_pids_counting(folder) & shop.worker_pids()) == 2, "one worker served everything"
        scrapes = [shop_scrape() for _ in range(6)]

    def moved(samples: Samples, name: str, **labels: str) -> float:
        return value(samples, name, **labels) - value(before, name, **labels)

    for samples in scrapes:
        # Whichever worker answered the scrape, it shows every worker's counts.
        assert moved(samples, "checkout_payins_total", outcome="created") == created
        assert moved(samples, "checkout_payins_total", outcome="busy") == presses - created
        assert moved(samples, "checkout_callbacks_total", kind="success", verdict="applied") == created
        assert moved(samples, "checkout_callbacks_total", kind="info", verdict="forged") == sent
        assert moved(samples, "checkout_state_transitions_total", outcome="applied", phase="paid") == created
        assert value(samples, "checkout_review_waiting") == 0


def _payment_ids(app: Flask) -> list[str]:
    """The payment_id of every attempt HighHelp created."""
    with app.app_context():
        query = select(Payment.payment_id).where(Payment.form_url.is_not(None))
        return list(db.session.execute(query).scalars())
