"""links (being built)."""

from __future__ import annotations

from .blueprint import bp


@bp.get("/links")
def links() -> str:
    """Placeholder until the page is built."""
    return "links"
