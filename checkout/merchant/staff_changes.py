"""An owner's changes to staff accounts, with the guards that keep the shop from losing its owners."""

from __future__ import annotations

from flask_babel import lazy_gettext as _l
from sqlalchemy import select

from ..database import begin_write
from ..extensions import db
from ..models import StaffRole, StaffUser
from . import accounts


class Refused(ValueError):
    """A change the guards do not allow, said so the owner understands why."""


def add(email: str, role: StaffRole, password: str, *, by: StaffUser) -> StaffUser:
    """A new account; never overwrites an existing one (its password stays its own). Commits."""
    begin_write()
    address = accounts.normalized_email(email)
    if accounts.find(address) is not None:
        db.session.rollback()
        raise Refused(_l("An account with this email already exists: change its role in the list."))
    return accounts.save(address, role, password, by=by).staff


def change_role(target: StaffUser, role: StaffRole, *, by: StaffUser) -> StaffUser:
    """Give the account a new role (and enable it if it was disabled); its sessions end. Commits."""
    begin_write()
    _keep_an_owner(target, role is StaffRole.OWNER, by)
    return accounts.save(target.email, role, None, by=by).staff


def disable(target: StaffUser, *, by: StaffUser) -> StaffUser:
    """Disable the account; its sessions end. Commits."""
    begin_write()
    _keep_an_owner(target, False, by)
    return accounts.disable(target.email, by=by)


def _keep_an_owner(target: StaffUser, stays_owner: bool, by: StaffUser) -> None:
    """Refuse (and roll back) a change that demotes or disables oneself or the last enabled owner."""
    if stays_owner:
        return
    if target.id == by.id:
        db.session.rollback()
        raise Refused(_l("You cannot demote or disable your own account. Ask another owner to do it."))
    if target.active and target.role == StaffRole.OWNER and _enabled_owners() <= {target.id}:
        db.session.rollback()
        raise Refused(
            _l("%(email)s is the last enabled owner. Make someone else an owner first.", email=target.email)
        )


def _enabled_owners() -> set[int]:
    """The enabled owners' ids, rows locked (PostgreSQL): two owners cannot demote each other at once."""
    query = (
        select(StaffUser.id)
        .where(StaffUser.role == StaffRole.OWNER, StaffUser.active.is_(True))
        .with_for_update()
    )
    return set(db.session.execute(query).scalars())
