"""Words the back office shows for stored values, in the page's language."""

from __future__ import annotations

from flask_babel import lazy_gettext as _l

from ..models import StaffRole

ROLE_LABELS = {
    StaffRole.VIEWER: _l("viewer"),
    StaffRole.OPERATOR: _l("operator"),
    StaffRole.OWNER: _l("owner"),
}


def role_label(role: str) -> str:
    """A role's name in the page's language."""
    return str(ROLE_LABELS.get(StaffRole(role), role))
