"""Reads for the pages every waiting browser polls: no transaction round trips on PostgreSQL."""

from __future__ import annotations

from ..extensions import db

# SQLAlchemy's isolation level for a connection that runs each statement on its own.
AUTOCOMMIT = "AUTOCOMMIT"


def without_transaction() -> None:
    """Run this request's reads outside a transaction on PostgreSQL (call before the first one).

    A read-only request in a transaction costs a BEGIN and a ROLLBACK round trip besides its
    SELECT; autocommit saves both, and each statement still sees committed data only (as each one
    does in a READ COMMITTED transaction). A write before the session's next commit commits by
    itself: the poll's claim of a status check (payments/refresh.py) is one UPDATE, so that changes
    nothing. After that commit the connection goes back to the pool with its usual isolation level,
    and the writes that follow get a transaction as before. SQLite is left alone: its transactions
    cost no round trip.
    """
    session = db.session()
    if db.engine.dialect.name == "postgresql" and not session.in_transaction():
        session.connection(execution_options={"isolation_level": AUTOCOMMIT})
