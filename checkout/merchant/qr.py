"""QR codes as inline SVG, drawn by segno, safe under a strict CSP (no style attributes)."""

from __future__ import annotations

import segno
from markupsafe import Markup, escape

# Medium error correction: still reads from a cracked phone screen or a creased print-out.
ERROR_CORRECTION = "m"


def qr_svg(data: str, label: str) -> Markup:
    """An `<svg role="img">` of `data` for embedding in a page; `label` names it for screen readers."""
    code = segno.make(data, error=ERROR_CORRECTION)
    # Sized by CSS (omitsize); dark modules on a white quiet zone so any scanner reads it on any theme.
    svg = code.svg_inline(omitsize=True, svgclass="qr-code", lineclass="qr-dark", dark="#000", light="#fff")
    opening = Markup('<svg role="img" aria-label="{}" ').format(escape(label))
    return Markup(svg.replace("<svg ", str(opening), 1))
