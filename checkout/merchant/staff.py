"""The owner's staff page: accounts, adding one, changing a role, disabling, and the audit trail."""

from __future__ import annotations

from flask import abort, flash, redirect, render_template, url_for
from flask_babel import gettext as _
from werkzeug.wrappers import Response

from ..extensions import db
from ..models import StaffRole, StaffUser
from . import accounts, staff_audit, staff_changes, words
from .access import managing_staff, staff
from .blueprint import bp
from .staff_form import AddStaffForm, DisableForm, RoleForm


def _page(add_form: AddStaffForm, status: int = 200) -> tuple[str, int]:
    return render_template(
        "merchant/staff.html",
        add_form=add_form,
        accounts=accounts.everyone(),
        me=staff(),
        role_form=RoleForm,
        disable_form=DisableForm(),
        changes=staff_audit.staff_changes(),
        actions=staff_audit.payment_actions(),
        action_label=words.action_label,
    ), status


def _target(staff_id: int) -> StaffUser:
    target = db.session.get(StaffUser, staff_id)
    if target is None:
        abort(404, description=_("There is no staff account with this number."))
    return target


def _back() -> Response:
    return redirect(url_for("merchant.staff_list"), code=303)


@bp.get("/staff")
@managing_staff
def staff_list() -> tuple[str, int]:
    """Every account, the form to add one, and what staff did lately."""
    return _page(AddStaffForm(formdata=None))


@bp.post("/staff")
@managing_staff
def add_staff() -> Response | tuple[str, int]:
    """Add an account with an initial password."""
    form = AddStaffForm()
    if not form.validate():
        return _page(form, 422)
    try:
        added = staff_changes.add(
            form.email.data or "", StaffRole(form.role.data), form.password.data or "", by=staff()
        )
    except (staff_changes.Refused, accounts.AccountError) as exc:
        # AccountError's words are English (the CLI shares them): the form's own checks come first.
        message = str(exc) if isinstance(exc, staff_changes.Refused) else _("This account cannot be added.")
        form.email.errors = [message]
        return _page(form, 422)
    flash(_("%(email)s added as %(role)s.", email=added.email, role=words.role_label(added.role)), "success")
    return _back()


@bp.post("/staff/<id:staff_id>/role")
@managing_staff
def change_staff_role(staff_id: int) -> Response:
    """Give an account another role (or enable it again); its open sessions end."""
    target = _target(staff_id)
    form = RoleForm()
    if not form.validate():
        abort(400, description=_("Choose one of the roles."))
    role = StaffRole(form.role.data)
    if target.active and target.role == role:
        flash(_("%(email)s is already %(role)s.", email=target.email, role=words.role_label(role)), "info")
        return _back()
    was_active = target.active
    try:
        changed = staff_changes.change_role(target, role, by=staff())
    except staff_changes.Refused as exc:
        flash(str(exc), "error")
        return _back()
    if was_active:
        message = _("%(email)s is now %(role)s.", email=changed.email, role=words.role_label(changed.role))
    else:
        message = _(
            "%(email)s enabled as %(role)s.", email=changed.email, role=words.role_label(changed.role)
        )
    flash(message, "success")
    return _back()


@bp.post("/staff/<id:staff_id>/disable")
@managing_staff
def disable_staff(staff_id: int) -> Response:
    """Disable an account; it can no longer sign in and its open sessions end."""
    target = _target(staff_id)
    if not DisableForm().validate():
        abort(400)
    if not target.active:
        flash(_("%(email)s is already disabled.", email=target.email), "info")
        return _back()
    try:
        disabled = staff_changes.disable(target, by=staff())
    except staff_changes.Refused as exc:
        flash(str(exc), "error")
        return _back()
    flash(_("%(email)s disabled: they cannot sign in any more.", email=disabled.email), "success")
    return _back()
