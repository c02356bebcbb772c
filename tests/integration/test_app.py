"""The application as a browser and a PaaS see it: pages, headers, health, start-up checks."""

from __future__ import annotations

from pathlib import Path

import pytest
import requests
from flask.testing import FlaskClient

from tests.checkout_support import HTMX_SCRIPT
from tests.processes import FLASK, clean_environ, free_port, run_flask, serving


def test_front_page_answers(client: FlaskClient) -> None:
    response = client.get("/")
    assert response.status_code == 200
    # The front page follows nothing live, so it loads no htmx (tests/integration/test_shop_pages.py).
    assert not HTMX_SCRIPT.search(response.get_data(as_text=True))


@pytest.mark.parametrize(
    ("language", "heading"),
    [
        ("kk", "Ұялы байланыс балансынан төлеу"),
        ("ru", "Оплата с баланса мобильного телефона"),
        ("en", "Pay from your mobile balance"),
    ],
)
def test_front_page_in_each_language(client: FlaskClient, language: str, heading: str) -> None:
    page = client.get(f"/?lang={language}").get_data(as_text=True)
    assert f'<html lang="{language}">' in page
    assert f"<h1>{heading}</h1>" in page


def test_error_page_speaks_the_customers_language(client: FlaskClient) -> None:
    page = client.get("/no-such-page?lang=kk").get_data(as_text=True)
    assert "Бет табылмады" in page
    assert "Дүкенге оралу" in page


def test_vendored_htmx_is_served(client: FlaskClient) -> None:
    with client.get("/static/js/htmx-2.0.11.min.js") as response:
        assert response.status_code == 200
        assert b"htmx" in response.data[:200]


def test_security_headers(client: FlaskClient) -> None:
    headers = client.get("/").headers
    policy = headers["Content-Security-Policy"]
    assert "script-src 'self'" in policy
    assert "frame-ancestors 'none'" in policy
    assert "unsafe-inline" not in policy
    assert headers["X-Content-Type-Options"] == "nosniff"
    assert headers["Referrer-Policy"] == "same-origin"
    # Local test runs are plain http: no HSTS there.
    assert "Strict-Transport-Security" not in headers


def test_language_from_url_is_remembered(client: FlaskClient) -> None:
    response = client.get("/?lang=kk")
    assert b'<html lang="kk">' in response.data
    assert "lang=kk" in response.headers["Set-Cookie"]
    assert b'<html lang="kk">' in client.get("/").data


def test_language_from_browser(client: FlaskClient) -> None:
    response = client.get("/", headers={"Accept-Language": "en-GB,en;q=0.9"})
    assert b'<html lang="en">' in response.data


def test_unknown_language_falls_back(client: FlaskClient) -> None:
    assert b'<html lang="ru">' in client.get("/?lang=xx", headers={"Accept-Language": "de"}).data


def test_health_check_answers(client: FlaskClient) -> None:
    response = client.get("/healthz")
    assert response.status_code == 200
    assert response.json == {"status": "ok"}


def test_unknown_page_is_a_friendly_404(client: FlaskClient) -> None:
    response = client.get("/no-such-page?lang=en")
    assert response.status_code == 404
    assert b"Back to the shop" in response.data


def test_production_start_without_settings_stops_with_one_message(tmp_path: Path) -> None:
    environ = clean_environ(
        APP_ENV="production", HIGHHELP_API_URL="http://example.kz", INSTANCE_PATH=str(tmp_path / "instance")
    )
    result = run_flask("routes", environ=environ)
    assert result.returncode != 0
    assert "Traceback" not in result.stderr
    assert "Configuration is invalid (APP_ENV=production):" in result.stderr
    for name in (
        "SECRET_KEY",
        "DATABASE_URL",
        "PUBLIC_BASE_URL",
        "HIGHHELP_PROJECT_ID",
        "HIGHHELP_PRIVATE_KEY",
    ):
        assert f"  - {name}:" in result.stderr
    assert "  - HIGHHELP_API_URL: must be an https URL" in result.stderr


def test_local_run_needs_no_settings(tmp_path: Path) -> None:
    """What `make run` does: migrate and serve with nothing configured but APP_ENV=development."""
    environ = clean_environ(
        APP_ENV="development",
        DATABASE_URL=f"sqlite:///{tmp_path / 'local.sqlite3'}",
        INSTANCE_PATH=str(tmp_path / "instance"),
    )
    upgrade = run_flask("db", "upgrade", environ=environ)
    assert upgrade.returncode == 0, upgrade.stderr
    port = free_port()
    command = [*FLASK, "run", "--host", "127.0.0.1", "--port", str(port)]
    with serving(command, environ, port, tmp_path / "server.log") as url:
        response = requests.get(url + "/", timeout=5)
    assert response.status_code == 200
    assert "Тестовый режим: реальные деньги не списываются" in response.text
    generated = {path.name for path in (tmp_path / "instance").iterdir()}
    assert generated >= {
        "sandbox-callback-private.pem",
        "sandbox-merchant-private.pem",
        "sandbox.sqlite3",
        "secret_key",
    }
