"""The dashboard: today and the last 7 days at a glance, with payments per hour and per day."""

from __future__ import annotations

from flask import render_template
from flask_babel import format_date, format_percent

from ..payments.phases import DeclineReason
from ..sqltypes import utcnow
from . import charts, stats
from .blueprint import bp

# Reasons in the order the dashboard lists them; "declined" is HighHelp's no without a reason.
DECLINE_ORDER = (
    DeclineReason.WRONG_CODE,
    DeclineReason.OPERATOR,
    DeclineReason.NOT_CONFIRMED,
    DeclineReason.EXPIRED,
    DeclineReason.CANCELLED,
    DeclineReason.DECLINED,
)
# An x label every this many bars: wide enough apart not to collide at 360 px.
HOUR_LABEL_EVERY = 6
DAY_LABEL_EVERY = 7


def _hour_label(bucket: stats.Bucket) -> str:
    return f"{bucket.start:%H}:00"


def _day_label(bucket: stats.Bucket) -> str:
    return str(format_date(bucket.start.date(), "dd.MM"))


@bp.get("/")
def dashboard() -> str:
    """Today and the last 7 days at a glance."""
    figures = stats.dashboard(utcnow())
    return render_template(
        "merchant/dashboard.html",
        figures=figures,
        periods=(("today", figures.today), ("week", figures.week)),
        decline_order=DECLINE_ORDER,
        hour_chart=charts.bar_chart(figures.hours, _hour_label, HOUR_LABEL_EVERY),
        day_chart=charts.bar_chart(figures.days, _day_label, DAY_LABEL_EVERY),
        hour_label=_hour_label,
        day_label=_day_label,
        percent=lambda rate: format_percent(rate, "#,##0.0%"),
    )
