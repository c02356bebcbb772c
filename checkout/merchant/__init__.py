"""The back office under /merchant: staff follow orders and payments and settle the odd ones."""

from . import dashboard, detail, links, login, orders, review, staff  # noqa: F401  (each adds its routes)
from .blueprint import bp
from .cli import merchant_cli

__all__ = ["bp", "merchant_cli"]
