"""The schema: migrations match the models, and the database itself enforces the money rules."""

from __future__ import annotations

import json
import os
import warnings
from collections.abc import Callable
from datetime import UTC
from pathlib import Path

import pytest
from alembic.autogenerate import compare_metadata
from alembic.migration import MigrationContext
from flask import Flask
from flask_migrate import downgrade, upgrade
from sqlalchemy import create_engine, text
from sqlalchemy.exc import IntegrityError, OperationalError

from checkout import database
from checkout.database import begin_write
from checkout.extensions import db
from checkout.models import CallbackAlert, Order, Payment
from tests.conftest import PROJECT_ID

# The last revision before alert keys were written as the signature writes them.
BEFORE_ALERT_KEYS_AS_SIGNED = "15291726b7d4"


def make_order(**changes: object) -> Order:
    values: dict[str, object] = {
        "amount": 1500000,
        "currency": "KZT",
        "description": "Order",
        "language": "kk",
    }
    values.update(changes)
    return Order(**values)


def make_payment(order: Order, payment_id: str, **changes: object) -> Payment:
    values: dict[str, object] = {"amount": order.amount, "currency": order.currency}
    values.update(changes)
    return Payment(order=order, payment_id=payment_id, **values)


def test_migrations_match_the_models(app: Flask) -> None:
    with app.app_context(), db.engine.connect() as connection, warnings.catch_warnings():
        # SQLite cannot report an index on an expression (lower(email)) back to Alembic; PostgreSQL,
        # where that index exists, compares it like every other.
        warnings.filterwarnings("ignore", "autogenerate skipping metadata-specified expression-based index")
        differences = compare_metadata(MigrationContext.configure(connection), db.metadata)
    assert differences == []


@pytest.mark.parametrize(
    "changes",
    [{"amount": 0}, {"amount": -100}, {"currency": "kzt"}, {"currency": "KZ"}, {"status": "refunded"}],
    ids=["zero", "negative", "lowercase-currency", "short-currency", "unknown-status"],
)
def test_order_constraints(app: Flask, changes: dict[str, object]) -> None:
    with app.app_context():
        db.session.add(make_order(**changes))
        with pytest.raises(IntegrityError):
            db.session.commit()


def test_one_open_attempt_per_order(app: Flask) -> None:
    with app.app_context():
        order = make_order()
        db.session.add(make_payment(order, "attempt-1"))
        db.session.commit()
        db.session.add(make_payment(order, "attempt-2"))
        with pytest.raises(IntegrityError):
            db.session.commit()
        db.session.rollback()
        first = db.session.execute(db.select(Payment)).scalar_one()
        first.is_open = False
        db.session.add(make_payment(first.order, "attempt-2"))
        db.session.commit()
        assert db.session.query(Payment).count() == 2


def test_payment_id_is_unique(app: Flask) -> None:
    with app.app_context():
        db.session.add_all(
            [make_payment(make_order(), "same", is_open=False), make_payment(make_order(), "same")]
        )
        with pytest.raises(IntegrityError):
            db.session.commit()


def test_payment_amount_must_be_positive(app: Flask) -> None:
    with app.app_context():
        db.session.add(make_payment(make_order(), "p-1", amount=0))
        with pytest.raises(IntegrityError):
            db.session.commit()


def test_callback_inbox_key_is_unique(app: Flask) -> None:
    with app.app_context():
        for _ in range(2):
            db.session.add(
                CallbackAlert(
                    idempotency_key="proj:pay:success:",
                    payment_id="pay",
                    kind="success",
                    state="success",
                    verdict="applied",
                    body={},
                )
            )
        with pytest.raises(IntegrityError):
            db.session.commit()


def test_timestamps_come_back_timezone_aware_utc(app: Flask) -> None:
    with app.app_context():
        db.session.add(make_order())
        db.session.commit()
        db.session.expire_all()
        order = db.session.execute(db.select(Order)).scalar_one()
        assert order.created_at.tzinfo is not None
        assert order.created_at.utcoffset() == UTC.utcoffset(None)


def test_naive_timestamps_are_refused(app: Flask) -> None:
    from datetime import datetime

    with app.app_context():
        db.session.add(make_order(created_at=datetime(2026, 1, 1)))  # noqa: DTZ001 - the point of the test
        with pytest.raises(Exception, match="naive datetime"):
            db.session.commit()


def test_sqlite_write_transaction_takes_the_lock_up_front(app: Flask) -> None:
    with app.app_context():
        if db.engine.dialect.name != "sqlite":
            pytest.skip("BEGIN IMMEDIATE is SQLite's; PostgreSQL locks rows instead")
        assert db.session.execute(text("PRAGMA journal_mode")).scalar() == "wal"
        db.session.rollback()
        begin_write()
        db.session.execute(text("SELECT 1"))
        # Another connection cannot start writing while this write transaction is open.
        other = create_engine(db.engine.url, connect_args={"timeout": 0.1})
        with other.connect() as connection, pytest.raises(OperationalError, match="locked"):
            connection.exec_driver_sql("CREATE TABLE scratch (id INTEGER)")
        other.dispose()
        db.session.rollback()


def test_stored_alerts_are_carried_over_and_back_by_the_migrations(
    make_app: Callable[..., Flask], tmp_path: Path
) -> None:
    """Keys of a null sub_status are rewritten as signed, and the old "duplicate" verdict as "unchanged"."""
    app = make_app(DATABASE_URL=f"sqlite:///{tmp_path / 'old.sqlite3'}")
    old_key = f"{PROJECT_ID}:pay-1:success:"
    rows = (
        (old_key, "applied", None),
        (f"{PROJECT_ID}:pay-1:processing:paid", "duplicate", "paid"),
    )
    insert = text(
        "INSERT INTO callback_alerts (idempotency_key, payment_id, kind, state, verdict, body, received_at)"
        " VALUES (:key, 'pay-1', 'info', 'success', :verdict, :body, '2026-11-28 12:00:00')"
    )
    with app.app_context():
        downgrade(revision="base")
        upgrade(revision=BEFORE_ALERT_KEYS_AS_SIGNED)
        with db.engine.begin() as connection:
            for key, verdict, sub_status in rows:
                body = json.dumps({"status": {"status": "x", "sub_status": sub_status}})
                connection.execute(insert, {"key": key, "verdict": verdict, "body": body})
        upgrade()
        stored = stored_alerts()
        assert stored == [
            (f"{PROJECT_ID}:pay-1:success:None", "applied"),
            (f"{PROJECT_ID}:pay-1:processing:paid", "unchanged"),
        ]
        downgrade(revision=BEFORE_ALERT_KEYS_AS_SIGNED)
        assert stored_alerts() == [(old_key, "applied"), (f"{PROJECT_ID}:pay-1:processing:paid", "duplicate")]


def stored_alerts() -> list[tuple[str, str]]:
    with db.engine.connect() as connection:
        rows = connection.execute(text("SELECT idempotency_key, verdict FROM callback_alerts ORDER BY id"))
        return [(key, verdict) for key, verdict in rows]


def _terminate_other_backends(database_url: str) -> int:
    """Cut every other connection to the test database, as a restart or failover would."""
    engine = create_engine(database_url.replace("postgresql://", "postgresql+psycopg://", 1))
    with engine.connect() as connection:
        cut = connection.execute(
            text(
                "SELECT count(pg_terminate_backend(pid)) FROM pg_stat_activity"
                " WHERE datname = current_database() AND pid <> pg_backend_pid()"
            )
        ).scalar_one()
    engine.dispose()
    return int(cut)


def _pings(app: Flask, monkeypatch: pytest.MonkeyPatch) -> list[object]:
    """Record every ping of the app's engine."""
    pinged: list[object] = []
    with app.app_context():
        dialect = db.engine.dialect
    real_ping = dialect.do_ping

    def counting_ping(dbapi_connection: object) -> bool:
        pinged.append(dbapi_connection)
        return real_ping(dbapi_connection)

    monkeypatch.setattr(dialect, "do_ping", counting_ping)
    return pinged


def test_a_connection_back_in_the_pool_moments_ago_is_used_without_a_ping(
    app: Flask, monkeypatch: pytest.MonkeyPatch
) -> None:
    pinged = _pings(app, monkeypatch)
    with app.app_context():
        for _ in range(5):
            assert db.session.execute(text("SELECT 1")).scalar_one() == 1
            db.session.remove()
    assert pinged == []


@pytest.mark.skipif(not os.environ.get("TEST_DATABASE_URL"), reason="cutting connections needs PostgreSQL")
def test_an_idle_connection_cut_by_a_restart_is_replaced_before_use(
    app: Flask, database_url: str, monkeypatch: pytest.MonkeyPatch
) -> None:
    with app.app_context():
        assert db.session.execute(text("SELECT 1")).scalar_one() == 1
        db.session.remove()
    assert _terminate_other_backends(database_url) >= 1
    pinged = _pings(app, monkeypatch)
    # Every pooled connection counts as idle: the cut one is tested, found dead and replaced.
    monkeypatch.setattr(database, "PING_AFTER_IDLE_SECONDS", 0.0)
    with app.app_context():
        assert db.session.execute(text("SELECT 1")).scalar_one() == 1
        db.session.remove()
    assert len(pinged) == 1


@pytest.mark.skipif(not os.environ.get("TEST_DATABASE_URL"), reason="cutting connections needs PostgreSQL")
def test_a_busy_connection_cut_by_a_restart_fails_once_then_the_pool_is_renewed(
    app: Flask, database_url: str
) -> None:
    with app.app_context():
        # Two connections in the pool, both back moments ago.
        first, second = db.engine.connect(), db.engine.connect()
        first.close()
        second.close()
        assert _terminate_other_backends(database_url) >= 2
        with pytest.raises(OperationalError):
            db.session.execute(text("SELECT 1"))
        db.session.rollback()
        db.session.remove()
        # The failure discarded every connection the pool held before it: the next ones are new.
        for _ in range(3):
            assert db.session.execute(text("SELECT 1")).scalar_one() == 1
            db.session.remove()
