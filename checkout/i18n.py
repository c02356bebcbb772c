"""The customer's language: from the URL, else a cookie, else the browser."""

from __future__ import annotations

from typing import Any

from babel import Locale
from babel.support import NullTranslations
from flask import Flask, Response, current_app, g, request, url_for
from flask_babel import get_locale, get_translations
from jinja2.nodes import EvalContext
from jinja2.utils import pass_eval_context
from markupsafe import Markup
from werkzeug.exceptions import HTTPException
from werkzeug.routing import RoutingException

from .highhelp.wire import LANGUAGES as WIRE_LANGUAGES

# The shop speaks the languages of HighHelp's hosted page, so a customer never changes language.
LANGUAGES = WIRE_LANGUAGES
LANGUAGE_LABELS = (("kk", "Қаз"), ("ru", "Рус"), ("en", "Eng"))
DEFAULT_LANGUAGE = "ru"
LANGUAGE_COOKIE = "lang"
COOKIE_MAX_AGE = 365 * 24 * 3600
DISPLAY_TIMEZONE = "Asia/Almaty"
# Where a request keeps the catalog its templates translate with, and the locale it is for.
CATALOG_KEY = "_checkout_catalog"


def select_language() -> str:
    """kk, ru or en: `?lang=`, then the cookie, then Accept-Language."""
    for candidate in (request.args.get("lang"), request.cookies.get(LANGUAGE_COOKIE)):
        if candidate in LANGUAGES:
            return candidate
    return request.accept_languages.best_match(LANGUAGES) or DEFAULT_LANGUAGE


def current_language() -> str:
    """The language of the page being rendered."""
    return str(get_locale() or DEFAULT_LANGUAGE)


def language_url(language: str, fallback: str) -> str:
    """This page in `language`; for a page a form's POST rendered, the nearest page above its address.

    A POST-only address (/checkout, /orders/<token>/pay) answers a GET with 405, so the language
    switch of the page it rendered goes up the address (/orders/<token>) and, at the top, to `fallback`.
    """
    if request.endpoint and request.method in ("GET", "HEAD"):
        return url_for(request.endpoint, **dict(request.view_args or {}, lang=language))
    adapter = current_app.url_map.bind_to_environ(request.environ)
    path = request.path.rstrip("/")
    while path:
        try:
            endpoint, values = adapter.match(path, "GET")
        except (HTTPException, RoutingException):
            path = path.rpartition("/")[0]
            continue
        return url_for(endpoint, **dict(values, lang=language))
    return url_for(fallback, lang=language)


def catalog() -> NullTranslations:
    """The translations of the language being rendered, looked up once per request and language.

    Flask-Babel's template gettext looks the catalog up anew for every string (about 9 µs each,
    a page has dozens); force_locale() changes the locale, so the cache is kept per locale.
    """
    if not g:
        outside: NullTranslations = get_translations()
        return outside
    locale = get_locale()
    cached: tuple[Locale | None, NullTranslations] | None = g.get(CATALOG_KEY)
    if cached is None or cached[0] is not locale:
        cached = (locale, get_translations())
        setattr(g, CATALOG_KEY, cached)
    return cached[1]


@pass_eval_context
def translate(eval_context: EvalContext, string: str, **variables: Any) -> str:
    """A template's `_()`: Jinja's newstyle gettext (escaped variables, always %-formatted)."""
    translated = catalog().ugettext(string)
    return (Markup(translated) if eval_context.autoescape else translated) % variables


def init_app(app: Flask) -> None:
    """Expose the language to templates and remember a choice made in the URL."""
    app.jinja_env.globals.update(
        current_language=current_language, language_choices=LANGUAGE_LABELS, language_url=language_url
    )
    # Flask-Babel's gettext, with the catalog found once per request, and called directly: Jinja's
    # own wrapper goes through the template context twice for every string.
    app.jinja_env.globals.update(gettext=translate, _=translate)

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
