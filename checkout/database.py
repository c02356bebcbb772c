"""Database engine settings: SQLite in WAL mode with immediate write transactions."""

from __future__ import annotations

from typing import Any

from flask import Flask
from sqlalchemy import event
from sqlalchemy.engine import Connection, Engine

from .extensions import db

WRITE_OPTION = "checkout_write"


def init_app(app: Flask) -> None:
    """Tune every SQLite engine of the app; PostgreSQL needs nothing here."""
    with app.app_context():
        for engine in db.engines.values():
            if engine.dialect.name == "sqlite":
                _tune_sqlite(engine)


def _tune_sqlite(engine: Engine) -> None:
    @event.listens_for(engine, "connect")
    def on_connect(dbapi_connection: Any, _record: Any) -> None:
        # Let SQLAlchemy emit BEGIN itself, so writes can take the lock up front.
        dbapi_connection.isolation_level = None
        cursor = dbapi_connection.cursor()
        cursor.execute("PRAGMA journal_mode=WAL")
        cursor.execute("PRAGMA foreign_keys=ON")
        cursor.execute("PRAGMA busy_timeout=5000")
        cursor.close()

    @event.listens_for(engine, "begin")
    def on_begin(connection: Connection) -> None:
        # A deferred transaction that reads and then writes can fail with "database is locked"
        # when another writer got there first; IMMEDIATE waits for the lock before reading.
        immediate = connection.get_execution_options().get(WRITE_OPTION, False)
        connection.exec_driver_sql("BEGIN IMMEDIATE" if immediate else "BEGIN")


def begin_write() -> None:
    """Start the session's transaction as a write: BEGIN IMMEDIATE on SQLite.

    Call it first in a use case that reads and then writes; on PostgreSQL it changes nothing.
    """
    db.session.connection(execution_options={WRITE_OPTION: True})
