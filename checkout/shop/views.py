"""Storefront pages."""

from flask import render_template

from ..gateway import current_settings
from . import bp


@bp.get("/")
def index() -> str:
    """The front page."""
    return render_template("shop/index.html", settings=current_settings())
