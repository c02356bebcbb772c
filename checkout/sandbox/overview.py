"""The sandbox's front page: recent payins and every callback attempt with the merchant's answer."""

from __future__ import annotations

from flask import Blueprint, render_template
from sqlalchemy import select
from sqlalchemy.orm import selectinload

from ..money import format_money
from . import scenarios
from .services import services
from .store import SandboxDelivery, SandboxPayin

bp = Blueprint("overview", __name__)
RECENT = 30


@bp.get("/")
def index() -> str:
    """Recent payins, newest first, with their callbacks."""
    sandbox = services()
    with sandbox.store.transaction() as session:
        payins = (
            session.execute(
                select(SandboxPayin)
                .order_by(SandboxPayin.id.desc())
                .limit(RECENT)
                .options(selectinload(SandboxPayin.deliveries).selectinload(SandboxDelivery.attempts))
            )
            .scalars()
            .all()
        )
    return render_template(
        "overview.html",
        payins=payins,
        format_money=format_money,
        test_numbers=[(scenarios.format_phone(s.phone), s.summary) for s in scenarios.SCENARIOS],
        config=sandbox.config,
    )
