"""Fixtures shared by integration tests: the HighHelp double, the sandbox, a merchant receiving alerts."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path

import pytest
from alembic.script import ScriptDirectory
from sqlalchemy import create_engine, text

from checkout.readiness import MIGRATIONS_DIRECTORY, migration_heads
from tests.highhelp_double import HighHelpDouble, running_double
from tests.sandbox_support import Receiver, RunningSandbox, running_receiver, running_sandbox, sandbox_config


@pytest.fixture
def sandbox(tmp_path: Path) -> Iterator[RunningSandbox]:
    """A fast test-mode sandbox trusting the shared merchant keys."""
    with running_sandbox(sandbox_config(tmp_path)) as running:
        yield running


@pytest.fixture
def receiver() -> Iterator[Receiver]:
    """A merchant's callback URLs that verify each alert with HighHelp's test key."""
    with running_receiver() as running:
        yield running


@pytest.fixture
def double() -> Iterator[HighHelpDouble]:
    """A HighHelp double on a loopback port that checks signatures and answers as the test says."""
    with running_double() as server:
        yield server


def previous_revision() -> str:
    """The revision just before the migrations' head."""
    (head,) = migration_heads()
    down = ScriptDirectory(MIGRATIONS_DIRECTORY).get_revision(head).down_revision
    assert isinstance(down, str)
    return down


@pytest.fixture
def one_revision_behind(database_url: str) -> Iterator[str]:
    """The test database as if the newest migration had not run yet; put back afterwards."""
    engine = create_engine(database_url)
    (head,) = migration_heads()
    with engine.begin() as connection:
        connection.execute(text("UPDATE alembic_version SET version_num = :v"), {"v": previous_revision()})
    try:
        yield database_url
    finally:
        with engine.begin() as connection:
            connection.execute(text("UPDATE alembic_version SET version_num = :v"), {"v": head})
        engine.dispose()
