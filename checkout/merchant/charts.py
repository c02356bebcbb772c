"""Bar charts as geometry for an inline SVG: started vs paid per bucket, no JavaScript.

The SVG scales with its viewBox; its width is close to a phone's, so its 12-unit text stays
readable at 360 px, and a wider screen only makes it larger.
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from dataclasses import dataclass

from .stats import Bucket

WIDTH = 400
HEIGHT = 220
# Room for the y labels on the left, the x labels below, and half the last x label on the right.
LEFT, RIGHT, TOP, BOTTOM = 36, 20, 10, 28
# The paid bar sits inside the started one, this much narrower on each side.
INSET = 0.22


@dataclass(frozen=True)
class Bar:
    """One bucket's two bars, in viewBox units."""

    x: float
    width: float
    started_y: float
    started_height: float
    paid_x: float
    paid_width: float
    paid_y: float
    paid_height: float


@dataclass(frozen=True)
class Tick:
    """A label on an axis and where it goes."""

    position: float
    text: str


@dataclass(frozen=True)
class Chart:
    """Everything the SVG template draws."""

    bars: list[Bar]
    x_ticks: list[Tick]
    y_ticks: list[Tick]
    width: int = WIDTH
    height: int = HEIGHT
    left: int = LEFT
    right: int = WIDTH - RIGHT
    baseline: int = HEIGHT - BOTTOM
    top: int = TOP


def nice_ceiling(value: int) -> int:
    """The smallest 1, 2 or 5 × 10ⁿ at or above `value` (at least 1): a round top for the y axis."""
    step = 1
    while True:
        for factor in (1, 2, 5):
            if step * factor >= value:
                return step * factor
        step *= 10


def bar_chart(buckets: Sequence[Bucket], label: Callable[[Bucket], str], label_every: int) -> Chart:
    """Bars for `buckets`, an x label on every `label_every`-th bucket counted from the last."""
    top = nice_ceiling(max((bucket.started for bucket in buckets), default=0))
    plot_width = WIDTH - LEFT - RIGHT
    plot_height = HEIGHT - TOP - BOTTOM
    slot = plot_width / max(len(buckets), 1)
    bars, x_ticks = [], []
    for index, bucket in enumerate(buckets):
        x = LEFT + index * slot + slot * 0.1
        width = slot * 0.8
        started_height = plot_height * bucket.started / top
        paid_height = plot_height * min(bucket.paid, top) / top
        inset = width * INSET
        baseline = HEIGHT - BOTTOM
        bars.append(
            Bar(
                round(x, 2),
                round(width, 2),
                round(baseline - started_height, 2),
                round(started_height, 2),
                round(x + inset, 2),
                round(width - 2 * inset, 2),
                round(baseline - paid_height, 2),
                round(paid_height, 2),
            )
        )
        if (len(buckets) - 1 - index) % label_every == 0:
            x_ticks.append(Tick(round(x + width / 2, 2), label(bucket)))
    # 0, the top and, when it is a whole number, the middle: never one label twice.
    values = sorted({0, top, top // 2 if top % 2 == 0 else 0})
    y_ticks = [Tick(round(HEIGHT - BOTTOM - plot_height * value / top, 2), str(value)) for value in values]
    return Chart(bars, x_ticks, y_ticks)
