"""The dashboard: today and the last days at a glance (being built)."""

from __future__ import annotations

from flask import render_template

from .blueprint import bp


@bp.get("/")
def dashboard() -> str:
    """Today and the last 7 days at a glance."""
    return render_template("merchant/dashboard.html")
