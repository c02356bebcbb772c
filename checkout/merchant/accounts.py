"""Staff accounts: created, changed and disabled from the CLI or by an owner; passwords hashed with scrypt."""

from __future__ import annotations

from dataclasses import dataclass

from email_validator import EmailNotValidError, validate_email
from sqlalchemy import select
from werkzeug.security import check_password_hash, generate_password_hash

from ..extensions import db
from ..models import EMAIL_LENGTH, EventKind, EventSource, StaffRole, StaffUser, new_token
from ..payments import events

# Long enough that a throttled guesser never gets there; no other rule (NIST SP 800-63B).
MIN_PASSWORD_LENGTH = 12
MAX_PASSWORD_LENGTH = 256
PASSWORD_METHOD = "scrypt"
# Checked when the email is unknown, so a wrong email costs as long as a wrong password.
_UNKNOWN_ACCOUNT_HASH = generate_password_hash("no account has this password", method=PASSWORD_METHOD)


class AccountError(ValueError):
    """A staff change that cannot be made, said so a person can fix it."""


@dataclass(frozen=True)
class Change:
    """What a create-or-update did."""

    staff: StaffUser
    created: bool


def normalized_email(raw: str) -> str:
    """The address as it is stored: checked, trimmed and lower case."""
    try:
        checked = validate_email(raw.strip(), check_deliverability=False)
    except EmailNotValidError as exc:
        raise AccountError(f"not an email address: {exc}") from exc
    return checked.normalized.lower()


def check_password(password: str) -> None:
    """Refuse a password that is too short or too long."""
    if len(password) < MIN_PASSWORD_LENGTH:
        raise AccountError(f"the password must have at least {MIN_PASSWORD_LENGTH} characters")
    if len(password) > MAX_PASSWORD_LENGTH:
        raise AccountError(f"the password must have at most {MAX_PASSWORD_LENGTH} characters")


def find(email: str) -> StaffUser | None:
    """The account with this address, enabled or not."""
    return db.session.execute(select(StaffUser).where(StaffUser.email == email.strip().lower())).scalar()


def authenticate(email: str, password: str) -> StaffUser | None:
    """The enabled account these credentials open; None, in the same time, for any wrong pair."""
    # An address with control characters (NUL would reach the database) can name no account.
    staff = find(email) if len(email) <= EMAIL_LENGTH and email.isprintable() else None
    password = password[:MAX_PASSWORD_LENGTH]
    if staff is None:
        check_password_hash(_UNKNOWN_ACCOUNT_HASH, password)
        return None
    if not check_password_hash(staff.password_hash, password) or not staff.active:
        return None
    return staff


def save(email: str, role: StaffRole, password: str | None, *, by: StaffUser | None = None) -> Change:
    """Create the account or update its role (and password); other sessions of it end. Commits."""
    address = normalized_email(email)
    staff = find(address)
    if staff is None and password is None:
        raise AccountError("a new account needs a password")
    if password is not None:
        check_password(password)
    created = staff is None
    if staff is None:
        staff = StaffUser(email=address)
        db.session.add(staff)
    staff.role = role
    staff.active = True
    if password is not None:
        staff.password_hash = generate_password_hash(password, method=PASSWORD_METHOD)
    staff.session_token = new_token()
    db.session.flush()
    verb = "added" if created else "updated"
    _record(
        f"{address} {verb} as {role}",
        by,
        {"email": address, "role": role, "password_set": password is not None},
    )
    db.session.commit()
    return Change(staff, created)


def disable(email: str, *, by: StaffUser | None = None) -> StaffUser:
    """Disable the account and end its sessions. Commits."""
    staff = find(email)
    if staff is None:
        raise AccountError(f"no account for {email.strip().lower()}")
    staff.active = False
    staff.session_token = new_token()
    _record(f"{staff.email} disabled", by, {"email": staff.email, "disabled": True})
    db.session.commit()
    return staff


def everyone() -> list[StaffUser]:
    """Every account, enabled first, by address."""
    query = select(StaffUser).order_by(StaffUser.active.desc(), StaffUser.email)
    return list(db.session.execute(query).scalars())


def _record(summary: str, by: StaffUser | None, data: dict[str, object]) -> None:
    # From the CLI nobody is signed in: the change is the deployer's, recorded as such.
    data = {**data, "via": "back office" if by is not None else "command line"}
    events.record(
        EventKind.STAFF_CHANGED, EventSource.STAFF, summary, staff_id=by.id if by else None, data=data
    )
