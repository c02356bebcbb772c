"""What the buyer sees after ordering: the order page, its live status, and starting a payment."""

from flask import Blueprint

bp = Blueprint("pay", __name__, url_prefix="/orders")

from . import views  # noqa: E402,F401  (views register themselves on bp)
