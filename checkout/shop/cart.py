"""The cart, kept in the signed session cookie as {product id: quantity}."""

from __future__ import annotations

from dataclasses import dataclass

from flask import session
from sqlalchemy import select

from ..extensions import db
from ..models import Product

CART_KEY = "cart"
MAX_QUANTITY = 20
MAX_LINES = 20


@dataclass(frozen=True)
class CartLine:
    """A product in the cart and how many."""

    product: Product
    quantity: int

    @property
    def total(self) -> int:
        """Price × quantity in minor units."""
        return self.product.price * self.quantity


def quantities() -> dict[int, int]:
    """The cart as stored: product id → quantity."""
    stored = session.get(CART_KEY, {})
    return {int(key): int(value) for key, value in stored.items()} if isinstance(stored, dict) else {}


def set_quantity(product_id: int, quantity: int) -> None:
    """Put `quantity` of a product in the cart; 0 removes it."""
    cart = quantities()
    if quantity <= 0:
        cart.pop(product_id, None)
    elif product_id in cart or len(cart) < MAX_LINES:
        cart[product_id] = min(quantity, MAX_QUANTITY)
    session[CART_KEY] = {str(key): value for key, value in cart.items()}


def add(product_id: int, quantity: int = 1) -> None:
    """Add to what is already in the cart."""
    set_quantity(product_id, quantities().get(product_id, 0) + quantity)


def clear() -> None:
    """Empty the cart after an order is placed."""
    session.pop(CART_KEY, None)


def lines() -> list[CartLine]:
    """The cart's products that are still on sale, in a stable order."""
    cart = quantities()
    if not cart:
        return []
    products = db.session.execute(
        select(Product).where(Product.id.in_(cart), Product.active.is_(True)).order_by(Product.id)
    ).scalars()
    return [CartLine(product, cart[product.id]) for product in products]


def count() -> int:
    """How many items the cart holds, for the header."""
    return sum(quantities().values())
