"""Fixtures shared by integration tests: the HighHelp double, the sandbox, a merchant receiving alerts."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path

import pytest

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
