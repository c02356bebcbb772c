"""Addresses of the back office's order pages, for pages that point at an order."""

from __future__ import annotations

from flask import url_for
from werkzeug.routing import BuildError


def order_detail_url(order_id: int) -> str:
    """The back office's page for the order."""
    try:
        return url_for("merchant.order_detail", number=order_id)
    except BuildError:
        # The order detail page is built separately; until it is registered, its address by hand.
        return url_for("merchant.orders") + f"/{order_id}"
