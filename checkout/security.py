"""Security headers and cookie settings for every response."""

from __future__ import annotations

from flask import Flask, Response

from .config import Settings

CONTENT_SECURITY_POLICY = "; ".join(
    (
        "default-src 'self'",
        "script-src 'self'",
        "style-src 'self'",
        "img-src 'self' data:",
        "object-src 'none'",
        "base-uri 'none'",
        "frame-ancestors 'none'",
    )
)

# Bodies we accept are small forms and callbacks; anything larger is refused early (413), whatever
# its framing: body_limit.py reads a chunked body only up to this.
MAX_BODY_BYTES = 64 * 1024


def init_app(app: Flask, settings: Settings) -> None:
    """Cookie flags from the settings, headers after every request."""
    secure = settings.is_production or (settings.public_base_url or "").startswith("https://")
    app.config.update(
        SESSION_COOKIE_SECURE=secure,
        SESSION_COOKIE_HTTPONLY=True,
        SESSION_COOKIE_SAMESITE="Lax",
        MAX_CONTENT_LENGTH=MAX_BODY_BYTES,
    )

    defaults = response_headers(settings)

    @app.after_request
    def add_security_headers(response: Response) -> Response:
        for name, value in defaults.items():
            response.headers.setdefault(name, value)
        return response


def response_headers(settings: Settings) -> dict[str, str]:
    """The security headers of every answer, static files' included (static_files.py)."""
    headers = {
        "Content-Security-Policy": CONTENT_SECURITY_POLICY,
        "X-Content-Type-Options": "nosniff",
        "Referrer-Policy": "same-origin",
        "X-Frame-Options": "DENY",
    }
    if settings.is_production:
        headers["Strict-Transport-Security"] = "max-age=31536000; includeSubDomains"
    return headers
