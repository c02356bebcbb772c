"""Money for people to read: integer minor units, formatted the way Kazakhstan writes them."""

from __future__ import annotations

from .highhelp.wire import CURRENCY_KZT

CURRENCY_SIGNS = {CURRENCY_KZT: "₸"}
MINOR_UNITS = {CURRENCY_KZT: 2}
GROUP_SEPARATOR = "\u00a0"  # a non-breaking space keeps "15 000,00 ₸" on one line


def format_money(amount: int, currency: str) -> str:
    """15 000,00 ₸ for 1500000 KZT: groups of three, a decimal comma, the sign after."""
    digits = MINOR_UNITS.get(currency, 2)
    sign = "-" if amount < 0 else ""
    whole, fraction = divmod(abs(amount), 10**digits)
    grouped = f"{whole:,}".replace(",", GROUP_SEPARATOR)
    text = f"{sign}{grouped},{fraction:0{digits}d}" if digits else f"{sign}{grouped}"
    return f"{text}{GROUP_SEPARATOR}{CURRENCY_SIGNS.get(currency, currency)}"
