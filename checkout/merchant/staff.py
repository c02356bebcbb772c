"""staff (being built)."""

from __future__ import annotations

from .blueprint import bp


@bp.get("/staff")
def staff_list() -> str:
    """Placeholder until the page is built."""
    return "staff"
