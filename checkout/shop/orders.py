"""Turning a cart into an order: prices from the catalogue, never from the browser."""

from __future__ import annotations

from ..database import begin_write
from ..extensions import db
from ..highhelp.wire import CURRENCY_KZT
from ..models import Order, OrderLine
from ..payments.start import describe_order
from .cart import CartLine


def place_order(cart_lines: list[CartLine], email: str | None, language: str) -> Order:
    """Store an order for the cart's products at today's prices."""
    begin_write()
    order = Order(
        amount=sum(line.total for line in cart_lines),
        currency=CURRENCY_KZT,
        description="",
        email=email or None,
        language=language,
    )
    for line in cart_lines:
        order.lines.append(
            OrderLine(
                product_id=line.product.id,
                name=line.product.name(language),
                unit_price=line.product.price,
                quantity=line.quantity,
            )
        )
    db.session.add(order)
    db.session.flush()
    # The back office's record; HighHelp gets one in the language of the Pay press (payments/start.py).
    order.description = describe_order(order, language)
    db.session.commit()
    return order
