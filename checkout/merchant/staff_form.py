"""The owner's forms for staff accounts; a password is checked here and never sent back to the page."""

from __future__ import annotations

from flask_babel import lazy_gettext as _l
from flask_wtf import FlaskForm
from wtforms import EmailField, PasswordField, SelectField
from wtforms.fields import SelectChoice
from wtforms.validators import Email, InputRequired, Length

from ..models import EMAIL_LENGTH, StaffRole
from .accounts import MAX_PASSWORD_LENGTH, MIN_PASSWORD_LENGTH
from .words import ROLE_LABELS

ROLE_CHOICES = [SelectChoice(role.value, ROLE_LABELS[role]) for role in StaffRole]


class AddStaffForm(FlaskForm):
    """A new account: email, role and an initial password the person changes by asking again."""

    email = EmailField(
        _l("Email"),
        validators=[
            InputRequired(message=_l("Enter the person's email.")),
            Length(max=EMAIL_LENGTH),
            Email(message=_l("This does not look like an email address.")),
        ],
    )
    role = SelectField(_l("Role"), choices=ROLE_CHOICES, default=StaffRole.VIEWER.value)
    password = PasswordField(
        _l("Initial password"),
        validators=[
            InputRequired(message=_l("Enter an initial password.")),
            Length(
                min=MIN_PASSWORD_LENGTH,
                max=MAX_PASSWORD_LENGTH,
                message=_l("From %(min)d to %(max)d characters."),
            ),
        ],
    )

    min_password_length = MIN_PASSWORD_LENGTH


class RoleForm(FlaskForm):
    """A new role for an existing account."""

    role = SelectField(_l("Role"), choices=ROLE_CHOICES)


class DisableForm(FlaskForm):
    """Disabling an account: nothing to fill in but the CSRF token."""
