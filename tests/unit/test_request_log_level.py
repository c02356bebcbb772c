"""The `request` line's level: on-call pages on ERROR, so designed answers must not be errors."""

from __future__ import annotations

import logging

import pytest

from checkout.logs.request_log import request_level


@pytest.mark.parametrize(
    ("status", "level"),
    [
        (200, logging.INFO),
        (404, logging.INFO),
        (429, logging.INFO),
        # HighHelp down, or every call slot busy: the page says so and the customer presses again.
        (503, logging.WARNING),
        (500, logging.ERROR),
        (502, logging.ERROR),
    ],
)
def test_request_line_level(status: int, level: int) -> None:
    assert request_level(status) == level
