"""The app's database engines: SQLite tuned for concurrent writers; PostgreSQL as it is."""

from __future__ import annotations

from flask import Flask
from sqlalchemy import Update

from .extensions import db
from .sqlite import WRITE_OPTION, tune_sqlite


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
