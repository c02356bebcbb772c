"""orders (being built)."""

from __future__ import annotations

from .blueprint import bp


@bp.get("/orders")
def orders() -> str:
    """Placeholder until the page is built."""
    return "orders"
