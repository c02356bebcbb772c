"""The review queue: what needs a person, what to do next, and "resolved" with a required note."""

from __future__ import annotations

from flask import abort, flash, redirect, render_template, request, url_for
from flask_babel import gettext as _
from flask_babel import lazy_gettext as _l
from werkzeug.wrappers import Response

from ..payments import actions
from ..payments.actions import EmptyNote, InvalidNote, ResolveOutcome
from ..payments.review_queue import ItemKind, open_items
from . import words
from .access import acting, staff
from .blueprint import bp
from .timeline import pretty

RESOLVE_MESSAGES = {
    ResolveOutcome.RESOLVED: ("success", _l("Resolved. The note is kept with the item's history.")),
    ResolveOutcome.ALREADY_RESOLVED: ("info", _l("This item was already resolved; nothing more was stored.")),
    ResolveOutcome.GONE: ("info", _l("This item is no longer open; nothing was stored.")),
}


def _page(errors: dict[str, str] | None = None, notes: dict[str, str] | None = None) -> str:
    return render_template(
        "merchant/review.html",
        items=open_items(),
        errors=errors or {},
        notes=notes or {},
        words=words,
        pretty=pretty,
        note_max=actions.NOTE_MAX_LENGTH,
    )


@bp.get("/review")
def review() -> str:
    """The open items, newest first."""
    return _page()


@bp.post("/review/<kind>/<id:ref>/resolve")
@acting
def resolve(kind: str, ref: int) -> Response | tuple[str, int]:
    """Settle one item with a note; an empty note stores nothing and says so."""
    try:
        item_kind = ItemKind(kind)
    except ValueError:
        abort(404)
    note = request.form.get("note", "")
    try:
        outcome = actions.resolve(item_kind, ref, staff().id, note)
    except InvalidNote as exc:
        field = f"{item_kind.value}-{ref}"
        message = (
            _("Write a note: what you found and what you did.")
            if isinstance(exc, EmptyNote)
            else _("The note is too long: at most %(count)d characters.", count=actions.NOTE_MAX_LENGTH)
        )
        return _page({field: message}, {field: note}), 400
    category, message = RESOLVE_MESSAGES[outcome]
    flash(str(message), category)
    return redirect(url_for("merchant.review"), code=303)
