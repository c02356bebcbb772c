"""The app's database engines: SQLite tuned for concurrent writers; PostgreSQL as it is."""

from __future__ import annotations

from typing import Any

from flask import Flask
from sqlalchemy import Update

from .config import Settings
from .extensions import db
from .sqlite import WRITE_OPTION, tune_sqlite

# Connections a web process may open beyond one per thread: a request that needs a second one
# briefly (none does today) or a thread that has not yet returned its own.
POOL_OVERFLOW = 2
# Seconds a thread waits for a free connection. With a connection per thread it never waits; if it
# does, something holds connections it should not, and failing fast says so.
POOL_TIMEOUT = 5


def engine_options(settings: Settings) -> dict[str, Any]:
    """SQLAlchemy engine options: a PostgreSQL pool of one connection per web thread.

    Each gunicorn worker is its own process with its own pool, so the database sees at most
    WEB_CONCURRENCY × (WEB_THREADS + POOL_OVERFLOW) connections from the web, plus one per reconcile
    worker and one for the release command (docs/DEPLOY.md has the budget).
    """
    options: dict[str, Any] = {"pool_pre_ping": True}
    if settings.database_url.startswith("postgresql"):
        options.update(pool_size=settings.web_threads, max_overflow=POOL_OVERFLOW, pool_timeout=POOL_TIMEOUT)
    return options


def init_app(app: Flask) -> None:
    """Tune every SQLite engine of the app; PostgreSQL needs nothing here."""
    with app.app_context():
        for engine in db.engines.values():
            if engine.dialect.name == "sqlite":
                tune_sqlite(engine)


def begin_write() -> None:
    """Start the session's next transaction as a write: BEGIN IMMEDIATE on SQLite.

    Call it at the start of a use case that reads and then writes. A read-only transaction
    still open from earlier reads is ended first. On PostgreSQL it changes nothing.
    """
    if db.engine.dialect.name != "sqlite":
        return
    if db.session().in_transaction():
        db.session.commit()
    db.session.connection(execution_options={WRITE_OPTION: True})


def matched(statement: Update) -> bool:
    """Run a conditional UPDATE … RETURNING; True when it matched a row.

    What the database returns is the same on SQLite and PostgreSQL; rowcount is not always.
    """
    returned = db.session.execute(statement.execution_options(synchronize_session=False)).first()
    return returned is not None
