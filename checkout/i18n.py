"""The customer's language: from the URL, else a cookie, else the browser."""

from __future__ import annotations

from flask import Flask, Response, current_app, request
from flask_babel import get_locale

from .highhelp.wire import LANGUAGES as WIRE_LANGUAGES

# The shop speaks the languages of HighHelp's hosted page, so a customer never changes language.
LANGUAGES = WIRE_LANGUAGES
LANGUAGE_LABELS = (("kk", "Қаз"), ("ru", "Рус"), ("en", "Eng"))
DEFAULT_LANGUAGE = "ru"
LANGUAGE_COOKIE = "lang"
COOKIE_MAX_AGE = 365 * 24 * 3600
DISPLAY_TIMEZONE = "Asia/Almaty"


def select_language() -> str:
    """kk, ru or en: `?lang=`, then the cookie, then Accept-Language."""
    for candidate in (request.args.get("lang"), request.cookies.get(LANGUAGE_COOKIE)):
        if candidate in LANGUAGES:
            return candidate
    return request.accept_languages.best_match(LANGUAGES) or DEFAULT_LANGUAGE


def current_language() -> str:
    """The language of the page being rendered."""
    return str(get_locale() or DEFAULT_LANGUAGE)


def init_app(app: Flask) -> None:
    """Expose the language to templates and remember a choice made in the URL."""
    app.jinja_env.globals.update(current_language=current_language, language_choices=LANGUAGE_LABELS)

    @app.after_request
    def remember_language(response: Response) -> Response:
        chosen = request.args.get("lang")
        if chosen in LANGUAGES and request.cookies.get(LANGUAGE_COOKIE) != chosen:
            response.set_cookie(
                LANGUAGE_COOKIE,
                chosen,
                max_age=COOKIE_MAX_AGE,
                samesite="Lax",
                httponly=True,
                # Over https only wherever the session cookie is (security.py decides).
                secure=current_app.config["SESSION_COOKIE_SECURE"],
            )
        return response
