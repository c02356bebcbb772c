"""What the buyer sees after ordering: the order page, its live status, and starting a payment."""

from .views import bp

__all__ = ["bp"]
