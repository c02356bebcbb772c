"""The payment link form: what a person types, checked field by field in the page's language."""

from __future__ import annotations

from typing import Any

from flask_babel import lazy_gettext as _l
from flask_wtf import FlaskForm
from wtforms import EmailField, Field, SelectField, StringField, TextAreaField, ValidationError
from wtforms.fields import SelectChoice
from wtforms.validators import Email, Length, Optional

from ..i18n import LANGUAGES
from .paylinks import DESCRIPTION_MAX_LENGTH, LinkError, check_description, parse_amount

LANGUAGE_NAMES = {"kk": _l("Kazakh"), "ru": _l("Russian"), "en": _l("English")}


def _checked(check: Any) -> Any:
    """A WTForms validator from one of paylinks' checks, keeping its message."""

    def validate(form: FlaskForm, field: Field) -> None:
        try:
            check(field.data or "")
        except LinkError as exc:
            raise ValidationError(str(exc)) from exc

    return validate


class LinkForm(FlaskForm):
    """Amount, description, the customer's language and an optional email for the receipt."""

    amount = StringField(_l("Amount, ₸"), validators=[_checked(parse_amount)])
    description = TextAreaField(
        _l("What the customer pays for, in their language"), validators=[_checked(check_description)]
    )
    language = SelectField(
        _l("Customer's language"),
        choices=[SelectChoice(code, LANGUAGE_NAMES[code]) for code in LANGUAGES],
        validate_choice=True,
    )
    email = EmailField(
        _l("Customer's email for the receipt (optional)"),
        validators=[
            Optional(),
            Length(max=255),
            Email(message=_l("This does not look like an email address.")),
        ],
    )

    description_max_length = DESCRIPTION_MAX_LENGTH
