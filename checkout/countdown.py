"""Time left, for people to read; no app state, so the sandbox's hosted page shares it."""

from __future__ import annotations


def format_clock(seconds: float) -> str:
    """M:SS for a countdown; never below 0:00."""
    minutes, rest = divmod(max(0, int(seconds)), 60)
    return f"{minutes}:{rest:02d}"
