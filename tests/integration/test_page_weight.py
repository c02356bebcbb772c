"""What the order page costs a phone: bytes on the wire cold and warm, hashed static names, compression."""

from __future__ import annotations

import gzip
import re
from collections.abc import Callable
from pathlib import Path
from urllib.parse import urljoin

import brotli
import pytest
from flask import Flask
from flask.testing import FlaskClient
from werkzeug.test import TestResponse

from tests.checkout_support import make_attempt, make_order
from tests.highhelp_double import HighHelpDouble

STATIC = Path(__file__).resolve().parents[2] / "static"
# What a current browser sends.
BROWSER = {"Accept-Encoding": "gzip, deflate, br, zstd"}
COLD_BUDGET = 25_000
WARM_BUDGET = 3_000
HASHED_CSS = re.compile(r'href="(/static/css/app\.[0-9a-f]{10}\.css)"')
STATIC_LINK = re.compile(r'(?:src|href)="(/static/[^"]+)"')
CSS_URL = re.compile(r"url\(\s*['\"]?([^'\")]+)['\"]?\s*\)")
POLL = re.compile(r'id="status-poll"[^>]*hx-get="([^"]+)"')


@pytest.fixture
def shop(make_app: Callable[..., Flask], double: HighHelpDouble) -> Flask:
    return make_app(HIGHHELP_API_URL=double.url, PUBLIC_BASE_URL="https://shop.example.kz")


@pytest.fixture
def pending(shop: Flask) -> str:
    """The order page's path while the payment waits for the customer's code."""
    token = make_order(shop)
    make_attempt(shop, token, "pay-1", state="processing:new")
    return f"/orders/{token}?lang=en"


def wire_bytes(response: TestResponse) -> int:
    """The answer's size as sent over HTTP/1.1: status line, headers and body."""
    head = f"HTTP/1.1 {response.status}\r\n"
    head += "".join(f"{name}: {value}\r\n" for name, value in response.headers.items())
    return len(f"{head}\r\n".encode()) + len(response.get_data())


def decoded(response: TestResponse) -> bytes:
    """The body as the browser reads it, whatever the encoding."""
    body = response.get_data()
    encoding = response.headers.get("Content-Encoding")
    if encoding == "br":
        return bytes(brotli.decompress(body))
    if encoding == "gzip":
        return gzip.decompress(body)
    assert encoding is None, encoding
    return body


def fetch(client: FlaskClient, url: str, **headers: str) -> TestResponse:
    with client.get(url, headers={**BROWSER, **headers}) as response:
        response.get_data()
        return response


def resources(client: FlaskClient, page: str) -> dict[str, TestResponse]:
    """Every static file the page loads, and what the stylesheets load in turn, by URL."""
    loaded: dict[str, TestResponse] = {}
    waiting = STATIC_LINK.findall(page)
    while waiting:
        url = waiting.pop()
        if url in loaded:
            continue
        loaded[url] = response = fetch(client, url)
        assert response.status_code == 200, url
        if url.endswith(".css"):
            links = CSS_URL.findall(decoded(response).decode())
            waiting += [urljoin(url, link) for link in links if not link.startswith("data:")]
    return loaded


def test_the_order_page_with_all_it_loads_weighs_at_most_25_kb_cold_and_3_kb_warm(
    shop: Flask, pending: str
) -> None:
    client = shop.test_client()
    page = fetch(client, pending)
    files = resources(client, decoded(page).decode())
    assert {url.rsplit("/", 1)[1].split(".")[0] for url in files} >= {
        "app",
        "htmx-2",
        "order-status",
        "favicon",
    }
    cold = wire_bytes(page) + sum(wire_bytes(response) for response in files.values())
    assert cold <= COLD_BUDGET, f"cold load {cold} bytes"

    # Warm: the browser asks for the page again and for no file it holds as immutable; any other
    # file it revalidates.
    warm = wire_bytes(fetch(client, pending))
    for url, response in files.items():
        if "immutable" not in response.headers["Cache-Control"]:
            again = fetch(client, url, **{"If-None-Match": response.headers["ETag"]})
            assert again.status_code == 304, url
            warm += wire_bytes(again)
    assert warm <= WARM_BUDGET, f"warm load {warm} bytes"


def test_pages_link_static_files_by_content_hashed_names(shop: Flask, pending: str) -> None:
    client = shop.test_client()
    for path in ("/", pending):
        page = client.get(path).get_data(as_text=True)
        (css,) = HASHED_CSS.findall(page)
        with client.get(css) as response:
            assert response.get_data() == (STATIC / "css" / "app.css").read_bytes()
        # Nothing is linked under its plain name.
        assert 'href="/static/css/app.css"' not in page


def test_a_hashed_name_is_cached_for_a_year_and_a_plain_name_for_a_minute(shop: Flask, pending: str) -> None:
    client = shop.test_client()
    css = HASHED_CSS.findall(client.get(pending).get_data(as_text=True))[0]
    hashed = fetch(client, css)
    assert hashed.headers["Cache-Control"] == "public, max-age=31536000, immutable"
    plain = fetch(client, "/static/css/app.css")
    assert plain.headers["Cache-Control"] == "public, max-age=60"
    assert decoded(plain) == decoded(hashed)
    # The app's security headers, as on its pages.
    for response in (hashed, plain):
        assert response.headers["X-Content-Type-Options"] == "nosniff"
        assert "frame-ancestors 'none'" in response.headers["Content-Security-Policy"]


def test_an_unknown_or_old_hashed_name_is_not_found(shop: Flask, pending: str) -> None:
    client = shop.test_client()
    css = HASHED_CSS.findall(client.get(pending).get_data(as_text=True))[0]
    old = re.sub(r"\.[0-9a-f]{10}\.css$", ".0123456789.css", css)
    assert old != css
    for url in (old, "/static/css/nothing.css", "/static/css/app.css.br"):
        with client.get(url, headers=BROWSER) as response:
            assert response.status_code == 404, url


def test_static_files_are_sent_precompressed_by_what_the_browser_accepts(shop: Flask) -> None:
    client = shop.test_client()
    htmx = (STATIC / "js" / "htmx-2.0.11.min.js").read_bytes()
    for accepted, encoding in (("gzip, deflate, br", "br"), ("gzip", "gzip"), ("identity", None)):
        response = fetch(client, "/static/js/htmx-2.0.11.min.js", **{"Accept-Encoding": accepted})
        assert response.headers.get("Content-Encoding") == encoding
        assert "Accept-Encoding" in response.headers["Vary"]
        assert decoded(response) == htmx
    # Too small to be worth it: as it is.
    assert fetch(client, "/static/img/favicon.svg").headers.get("Content-Encoding") is None


def test_a_revalidated_static_file_answers_304_uncompressed(shop: Flask) -> None:
    client = shop.test_client()
    first = fetch(client, "/static/js/htmx-2.0.11.min.js")
    again = fetch(client, "/static/js/htmx-2.0.11.min.js", **{"If-None-Match": first.headers["ETag"]})
    assert again.status_code == 304
    assert again.get_data() == b""
    assert "Content-Encoding" not in again.headers


def test_a_big_page_is_compressed_and_a_small_answer_is_not(shop: Flask, pending: str) -> None:
    client = shop.test_client()
    plain = client.get(pending).get_data()
    page = fetch(client, pending)
    assert page.headers["Content-Encoding"] == "br"
    assert "Accept-Encoding" in page.headers["Vary"]
    assert int(page.headers["Content-Length"]) == len(page.get_data()) < len(plain) / 2
    # Only the CSRF token may differ between two renderings.
    assert len(decoded(page)) == len(plain)
    assert fetch(client, pending, **{"Accept-Encoding": "gzip"}).headers["Content-Encoding"] == "gzip"
    assert "Content-Encoding" not in client.get(pending).headers
    health = fetch(client, "/healthz")
    assert len(health.get_data()) < 500
    assert "Content-Encoding" not in health.headers


def test_the_status_poll_answers_as_before_when_the_browser_accepts_compression(
    shop: Flask, pending: str
) -> None:
    client = shop.test_client()
    page = decoded(fetch(client, pending)).decode()
    poll = POLL.search(page)
    assert poll
    url = poll.group(1).replace("&amp;", "&")
    unchanged = fetch(client, url)
    assert unchanged.status_code == 204
    assert unchanged.get_data() == b""
    assert "Content-Encoding" not in unchanged.headers
