"""review (being built)."""

from __future__ import annotations

from .blueprint import bp


@bp.get("/review")
def review() -> str:
    """Placeholder until the page is built."""
    return "review"
