"""What the buyer browses: the storefront."""

from .views import bp

__all__ = ["bp"]
