"""Storefront pages: catalogue, product, cart and placing the order."""

from __future__ import annotations

from flask import Blueprint, abort, flash, redirect, render_template, url_for
from sqlalchemy import select
from werkzeug.wrappers import Response

from ..extensions import db
from ..highhelp.wire import CURRENCY_KZT
from ..i18n import current_language
from ..models import Product
from . import cart
from .forms import CheckoutForm, QuantityForm
from .orders import place_order

bp = Blueprint("shop", __name__)


def _product(product_id: int) -> Product:
    product = db.session.get(Product, product_id)
    if product is None or not product.active:
        abort(404)
    return product


def _render_cart(lines: list[cart.CartLine], form: CheckoutForm) -> str:
    return render_template(
        "shop/cart.html",
        lines=lines,
        total=sum(line.total for line in lines),
        currency=CURRENCY_KZT,
        max_quantity=cart.MAX_QUANTITY,
        form=form,
    )


@bp.get("/")
def index() -> str:
    """The catalogue."""
    products = db.session.execute(
        select(Product).where(Product.active.is_(True)).order_by(Product.id)
    ).scalars()
    return render_template("shop/index.html", products=list(products))


@bp.get("/products/<sku>")
def product(sku: str) -> str:
    """One product."""
    found = db.session.execute(select(Product).where(Product.sku == sku, Product.active.is_(True))).scalar()
    if found is None:
        abort(404)
    return render_template("shop/product.html", product=found)


@bp.post("/cart/<id:product_id>")
def add_to_cart(product_id: int) -> Response:
    """Add a product to the cart."""
    product = _product(product_id)
    form = QuantityForm()
    if form.validate() and form.quantity.data:
        cart.add(product.id, form.quantity.data)
    return redirect(url_for("shop.show_cart"), code=303)


@bp.post("/cart/<id:product_id>/quantity")
def change_quantity(product_id: int) -> Response:
    """Change how many of a product are in the cart; 0 removes it."""
    form = QuantityForm()
    if form.validate() and form.quantity.data is not None:
        cart.set_quantity(product_id, form.quantity.data)
    else:
        for message in form.quantity.errors:
            flash(str(message), "error")
    return redirect(url_for("shop.show_cart"), code=303)


@bp.post("/cart/<id:product_id>/remove")
def remove_from_cart(product_id: int) -> Response:
    """Take a product out of the cart (removing one that is not there changes nothing)."""
    cart.set_quantity(product_id, 0)
    return redirect(url_for("shop.show_cart"), code=303)


@bp.get("/cart")
def show_cart() -> str:
    """What is in the cart, and the form to order it."""
    return _render_cart(cart.lines(), CheckoutForm())


@bp.post("/checkout")
def checkout() -> Response | tuple[str, int]:
    """Place the order and go to its page, where it is paid."""
    lines = cart.lines()
    form = CheckoutForm()
    if not lines:
        return redirect(url_for("shop.show_cart"), code=303)
    if not form.validate():
        return _render_cart(lines, form), 400
    order = place_order(lines, form.email.data, current_language())
    cart.clear()
    return redirect(url_for("pay.order_page", token=order.token), code=303)
