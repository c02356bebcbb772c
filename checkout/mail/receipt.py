"""Writing a receipt: plain text and HTML, in the order's language, from what the database holds."""

from __future__ import annotations

from dataclasses import dataclass
from email.headerregistry import Address
from email.message import EmailMessage
from email.utils import format_datetime, parseaddr

from flask import current_app, render_template
from flask_babel import force_locale, format_date, format_time, gettext

from ..gateway import public_base_url
from ..i18n import DEFAULT_LANGUAGE, LANGUAGES
from ..models import OutgoingMail
from ..money import format_money
from ..sqltypes import utcnow


@dataclass(frozen=True)
class ReceiptLine:
    """One line as the receipt prints it."""

    name: str
    quantity: int
    total: str


def order_link(token: str, language: str) -> str:
    """The order page, absolute, opening in the receipt's language."""
    path = current_app.url_map.bind("").build("pay.order_page", {"token": token, "lang": language})
    return public_base_url() + path


def compose_receipt(mail: OutgoingMail, sender: str) -> EmailMessage:
    """The receipt of `mail`'s order, ready to send; the same Message-ID on every attempt."""
    order = mail.order
    if order.paid_at is None:
        raise ValueError(f"order {order.id} is not paid")
    currency = order.currency
    language = order.language if order.language in LANGUAGES else DEFAULT_LANGUAGE
    with force_locale(language):
        context = {
            "order": order,
            "language": language,
            "lines": [
                ReceiptLine(line.display_name(language), line.quantity, format_money(line.total, currency))
                for line in order.lines
            ],
            "total": format_money(order.amount, order.currency),
            # Stored in UTC; the customer reads Kazakhstan's clock (BABEL_DEFAULT_TIMEZONE).
            "paid_time": gettext(
                "%(date)s, %(time)s (Astana time)",
                date=format_date(order.paid_at, "long"),
                time=format_time(order.paid_at, "HH:mm"),
            ),
            "payment_number": mail.payment.payment_id if mail.payment else None,
            "link": order_link(order.token, language),
        }
        subject = gettext(
            "%(shop)s: receipt for order %(number)s",
            shop=current_app.jinja_env.globals["shop_name"],
            number=order.id,
        )
        text = render_template("mail/receipt.txt", **context)
        html = render_template("mail/receipt.html", **context)
    message = EmailMessage()
    message["Subject"] = subject
    message["From"] = sender
    message["To"] = mail.recipient
    message["Date"] = format_datetime(utcnow())
    message["Message-ID"] = _message_id(mail, sender)
    # RFC 3834: an automatic message, so out-of-office replies stay away.
    message["Auto-Submitted"] = "auto-generated"
    message.set_content(text)
    message.add_alternative(html, subtype="html")
    # After the bodies: setting content drops every Content-* header set before.
    message["Content-Language"] = language
    return message


def _message_id(mail: OutgoingMail, sender: str) -> str:
    """Unique to this row (ids restart with a new database; its creation time does not)."""
    domain = Address(addr_spec=parseaddr(sender)[1]).domain
    return f"<{mail.kind}.{mail.order_id}.{int(mail.created_at.timestamp())}.{mail.id}@{domain}>"
