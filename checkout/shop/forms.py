"""Forms the buyer fills in; each checks its input and names the problem in the buyer's language."""

from __future__ import annotations

from flask_babel import lazy_gettext as _l
from flask_wtf import FlaskForm
from wtforms import EmailField, IntegerField
from wtforms.validators import Email, Length, NumberRange, Optional

from .cart import MAX_QUANTITY


class CheckoutForm(FlaskForm):
    """Placing the order: an email for the receipt is optional."""

    email = EmailField(
        _l("Email for the receipt (optional)"),
        validators=[
            Optional(),
            Length(max=255),
            Email(message=_l("This does not look like an email address.")),
        ],
    )


class QuantityForm(FlaskForm):
    """How many of a product; 0 removes it from the cart."""

    quantity = IntegerField(
        _l("Quantity"),
        default=1,
        validators=[NumberRange(min=0, max=MAX_QUANTITY, message=_l("Choose from %(min)s to %(max)s."))],
    )
