"""What the buyer browses: the storefront."""

from flask import Blueprint

bp = Blueprint("shop", __name__)

from . import views  # noqa: E402,F401  (views register themselves on bp)
