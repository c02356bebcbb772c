"""Payment links: the list, the form that creates one, and a link's page with its QR code."""

from __future__ import annotations

from flask import abort, redirect, render_template, url_for
from flask_babel import gettext as _
from werkzeug.wrappers import Response

from ..i18n import current_language
from . import paylinks
from .access import acting, staff
from .blueprint import bp
from .link_form import LANGUAGE_NAMES, LinkForm
from .qr import qr_svg


def _list_page(form: LinkForm, status: int = 200) -> tuple[str, int]:
    return render_template(
        "merchant/links.html",
        form=form,
        links=paylinks.recent_links(),
        can_create=staff().staff_role.can_act,
        link_state=paylinks.link_state,
        max_amount=paylinks.MAX_LINK_AMOUNT_TENGE,
    ), status


@bp.get("/links")
def links() -> tuple[str, int]:
    """Recent payment links and, for those who may, the form to create one."""
    form = LinkForm(formdata=None, language=current_language())
    return _list_page(form)


@bp.post("/links")
@acting
def create_link() -> Response | tuple[str, int]:
    """Create the order of a payment link, then show its page (303)."""
    form = LinkForm()
    if not form.validate():
        return _list_page(form, 422)
    order = paylinks.create_link(
        paylinks.parse_amount(form.amount.data or ""),
        paylinks.check_description(form.description.data or ""),
        form.language.data or current_language(),
        (form.email.data or "").strip() or None,
        by=staff(),
    )
    return redirect(url_for("merchant.link_detail", order_id=order.id), code=303)


@bp.get("/links/<id:order_id>")
def link_detail(order_id: int) -> str:
    """The customer's link, its QR code and whether it was paid."""
    order = paylinks.find_link(order_id)
    if order is None:
        abort(404, description=_("There is no payment link with this number."))
    url = paylinks.customer_url(order)
    return render_template(
        "merchant/link.html",
        order=order,
        url=url,
        qr=qr_svg(url, _("QR code of the payment link for order %(number)s", number=order.id)),
        state=paylinks.link_state(order),
        creator=paylinks.creator(order),
        language_names=LANGUAGE_NAMES,
        can_create=staff().staff_role.can_act,
    )
