"""Liveness (/healthz, the process alone) and readiness (/readyz, what the process depends on)."""

from __future__ import annotations

import time
from collections.abc import Callable
from pathlib import Path

import pytest
from flask import Flask
from flask.testing import FlaskClient
from sqlalchemy import event

from checkout import create_app, readiness
from checkout.readiness import DATABASE_TIMEOUT_SECONDS, migration_heads, probe_engine
from tests.conftest import make_environ
from tests.integration.conftest import previous_revision
from tests.processes import free_port
from tests.production_support import StallingServer
from tests.redis_support import shared_redis

CHECKS = {"database", "migrations", "keys", "highhelp_url"}
# Generous against a closed port (refused at once); what matters is not waiting for a pool or the OS.
QUICK_SECONDS = 5.0
DB_PASSWORD = "s3cret-db-password"


def down_database_url() -> str:
    """A PostgreSQL URL, with a password, where nothing listens: the database is down."""
    return f"postgresql+psycopg://shop:{DB_PASSWORD}@127.0.0.1:{free_port()}/shop"


@pytest.fixture
def down_app(tmp_path: Path) -> Flask:
    """The app whose database is down (it starts anyway: nothing connects at start-up)."""
    return create_app(make_environ(down_database_url()), instance_path=tmp_path / "instance")


def test_healthz_answers_with_the_database_down(down_app: Flask) -> None:
    started = time.monotonic()
    response = down_app.test_client().get("/healthz")
    assert response.status_code == 200
    assert response.json == {"status": "ok"}
    assert time.monotonic() - started < QUICK_SECONDS


def test_readyz_is_ready_when_every_check_passes(client: FlaskClient) -> None:
    response = client.get("/readyz")
    assert response.status_code == 200
    body = response.json
    assert body["status"] == "ready"
    assert set(body["checks"]) == CHECKS
    for name, check in body["checks"].items():
        assert check["ok"] is True, name
        assert check["ms"] >= 0, name
        assert check["detail"], name
    (head,) = migration_heads()
    assert head in body["checks"]["migrations"]["detail"]
    assert "failed" not in body


def test_readyz_names_the_database_when_it_is_down_and_answers_quickly(down_app: Flask) -> None:
    started = time.monotonic()
    response = down_app.test_client().get("/readyz")
    assert time.monotonic() - started < QUICK_SECONDS
    assert response.status_code == 503
    body = response.json
    assert body["status"] == "not ready"
    assert "database" in body["failed"]
    assert body["checks"]["database"]["ok"] is False
    assert body["checks"]["keys"]["ok"] is True
    # The URL's password, user and host never reach an unauthenticated page.
    assert DB_PASSWORD not in response.text
    assert "shop:" not in response.text


def test_readyz_does_not_wait_for_a_stalled_database(tmp_path: Path) -> None:
    # A database host that accepts the connection and then says nothing (overloaded, half-open).
    with StallingServer() as stall:
        url = f"postgresql+psycopg://shop:{DB_PASSWORD}@127.0.0.1:{stall.port}/shop"
        app = create_app(make_environ(url), instance_path=tmp_path / "instance")
        started = time.monotonic()
        response = app.test_client().get("/readyz")
        elapsed = time.monotonic() - started
        assert stall.accepted >= 1
    assert response.status_code == 503
    assert response.json["failed"] == ["database", "migrations"]
    assert elapsed < DATABASE_TIMEOUT_SECONDS + QUICK_SECONDS


def test_readyz_names_migrations_when_the_database_is_one_behind(
    make_app: Callable[..., Flask], one_revision_behind: str
) -> None:
    response = make_app().test_client().get("/readyz")
    assert response.status_code == 503
    body = response.json
    assert body["failed"] == ["migrations"]
    detail = body["checks"]["migrations"]["detail"]
    (head,) = migration_heads()
    assert previous_revision() in detail
    assert head in detail
    assert body["checks"]["database"]["ok"] is True


def test_readyz_names_migrations_when_the_database_was_never_migrated(tmp_path: Path) -> None:
    app = create_app(
        make_environ(f"sqlite:///{tmp_path / 'empty.sqlite3'}"), instance_path=tmp_path / "instance"
    )
    response = app.test_client().get("/readyz")
    assert response.status_code == 503
    assert response.json["failed"] == ["migrations"]
    assert "never migrated" in response.json["checks"]["migrations"]["detail"]


def test_readyz_is_degraded_not_failed_when_redis_is_down(make_app: Callable[..., Flask]) -> None:
    app = make_app(REDIS_URL=f"redis://127.0.0.1:{free_port()}/0")
    started = time.monotonic()
    response = app.test_client().get("/readyz")
    assert time.monotonic() - started < QUICK_SECONDS
    assert response.status_code == 200
    body = response.json
    assert body["status"] == "degraded"
    assert body["failed"] == ["redis"]
    assert body["checks"]["redis"]["ok"] is False
    assert all(body["checks"][name]["ok"] for name in CHECKS)


def test_readyz_checks_redis_when_it_is_configured(make_app: Callable[..., Flask]) -> None:
    with shared_redis() as (_, prefix):
        app = make_app(REDIS_URL="redis://127.0.0.1:6379/15", REDIS_KEY_PREFIX=prefix)
        response = app.test_client().get("/readyz")
    assert response.status_code == 200
    assert response.json["status"] == "ready"
    assert response.json["checks"]["redis"]["ok"] is True


def test_a_flood_of_readiness_probes_opens_one_database_connection(
    app: Flask, monkeypatch: pytest.MonkeyPatch
) -> None:
    """/readyz is public: asked many times a second, it must not open a connection per request."""
    opened: list[object] = []
    with app.app_context():
        event.listen(probe_engine(app), "connect", lambda connection, record: opened.append(connection))
    client = app.test_client()
    monkeypatch.setattr(readiness, "ANSWER_REUSED_SECONDS", 60.0)
    assert {client.get("/readyz").status_code for _ in range(20)} == {200}
    assert len(opened) == 1
    # Once the answer is old, the next request probes again.
    monkeypatch.setattr(readiness, "ANSWER_REUSED_SECONDS", 0.0)
    assert {client.get("/readyz").status_code for _ in range(3)} == {200}
    assert len(opened) == 4
