"""Hostile input from outside: every route answers 4xx (never 5xx) and nothing is written unsigned."""

from __future__ import annotations

import json
import re
import secrets
import time
from collections.abc import Callable, Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any, TypeVar
from urllib.parse import quote, quote_from_bytes, urlencode

import pytest
import requests
from flask import Flask
from flask.testing import FlaskClient
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st
from sqlalchemy import func, select
from werkzeug.routing import Rule

from checkout.config import SANDBOX_PATH
from checkout.extensions import db
from checkout.highhelp import assumed, signing
from checkout.models import CallbackAlert, Order, OrderLine, Payment, Product
from checkout.security import MAX_BODY_BYTES
from checkout.shop.catalog import load_demo_products
from tests.checkout_support import CSRF, alert_body, make_attempt, make_order, signed_headers
from tests.conftest import make_environ
from tests.merchant_support import signed_in
from tests.processes import clean_environ, free_port, local_gunicorn, serving, serving_wsgi

TABLES = (Order, OrderLine, Payment, CallbackAlert)
# Everything between < and > of a rule, converter and its arguments included; group 1 is the name.
URL_ARGUMENT = re.compile(r"<(?:[^>:]+:)?(\w+)>")
# Well-formed but wrong: as long as an RSA-2048 signature, so verification really runs.
FORGED_SIGNATURE = signing.b64url(b"\x01" * 256)
TOO_LARGE_PAGE = "The request is too large"
# What a server hands the app for Transfer-Encoding: chunked (no length; it ends the stream itself).
CHUNKED_ENVIRON = {"wsgi.input_terminated": True, "HTTP_TRANSFER_ENCODING": "chunked", "CONTENT_LENGTH": ""}


@dataclass(frozen=True)
class Shop:
    """The app with CSRF on, the demo catalogue and two orders (one with a finished payment)."""

    app: Flask
    product_id: int
    sku: str
    open_token: str
    paid_token: str


@pytest.fixture
def app(make_app: Callable[..., Flask]) -> Flask:
    """The app with /metrics switched on, so its bearer check is fuzzed too."""
    return make_app(METRICS_TOKEN=secrets.token_urlsafe(40))


@pytest.fixture
def shop(app: Flask) -> Shop:
    # Forms must not be able to write without a token, whatever the test settings say.
    app.config["WTF_CSRF_ENABLED"] = True
    with app.app_context():
        load_demo_products()
        product = db.session.execute(select(Product).order_by(Product.id)).scalars().first()
        assert product is not None
        product_id, sku = product.id, product.sku
    open_token = make_order(app)
    paid_token = make_order(app)
    make_attempt(app, paid_token, "pay-done", state="success", is_open=False)
    return Shop(app, product_id, sku, open_token, paid_token)


def row_counts(app: Flask) -> dict[str, int]:
    """How many rows each table that input could write to holds."""
    with app.app_context():
        counts = {
            model.__tablename__: db.session.execute(select(func.count()).select_from(model)).scalar_one()
            for model in TABLES
        }
        db.session.remove()
        return counts


def public_rules(app: Flask) -> list[Rule]:
    """Every route the app serves, but static files and the mounted sandbox (another app)."""
    return [
        rule
        for rule in app.url_map.iter_rules()
        if rule.endpoint != "static" and not rule.rule.startswith(SANDBOX_PATH)
    ]


def fill(rule: Rule, values: dict[str, str]) -> str:
    """The rule's path with each argument replaced by its (percent-encoded) value."""
    return URL_ARGUMENT.sub(lambda match: quote(values[match.group(1)], safe=""), rule.rule)


def real_values(shop: Shop) -> dict[str, str]:
    """A value that names something real for every URL argument the app uses."""
    return {
        "token": shop.open_token,
        "product_id": str(shop.product_id),
        "sku": shop.sku,
        "kind": "success",
        "number": "1",
        "order_id": "1",
        "ref": "1",
        "staff_id": "1",
    }


def csrf_token_of(client: FlaskClient) -> str:
    """A valid CSRF token for this client's session."""
    match = CSRF.search(client.get("/?lang=en").get_data(as_text=True))
    assert match, "no CSRF token on the front page"
    return match.group(1)


# --- 1. callback bodies that broke the parser -------------------------------------------------

HOSTILE_CALLBACK_BODIES = {
    "nested-10000": (
        '{"general": ' + "[" * 10_000 + "]" * 10_000 + "}",
        f"nests deeper than {assumed.MAX_JSON_DEPTH} levels",
    ),
    "digits-5000": ('{"payment_info": {"amount": ' + "7" * 5000 + "}}", "number with too many digits"),
    "lone-surrogate": ('{"general": {"payment_id": "\\ud800"}}', "lone surrogate"),
}


@pytest.mark.parametrize("kind", ["info", "success", "decline"])
@pytest.mark.parametrize(
    ("raw", "reason"), list(HOSTILE_CALLBACK_BODIES.values()), ids=list(HOSTILE_CALLBACK_BODIES)
)
def test_hostile_callback_body_is_a_400_before_any_signature_work(
    shop: Shop, monkeypatch: pytest.MonkeyPatch, kind: str, raw: str, reason: str
) -> None:
    checked: list[str] = []
    monkeypatch.setattr(signing, "verify_signature", lambda *args: checked.append("checked"))
    before = row_counts(shop.app)
    headers = {
        "x-access-signature": FORGED_SIGNATURE,
        "x-access-timestamp": str(int(time.time())),
        "content-type": "application/json",
    }
    response = shop.app.test_client().post(f"/highhelp/callbacks/{kind}", data=raw, headers=headers)
    assert response.status_code == 400
    assert response.json is not None
    assert response.json["status"] == "error"
    assert reason in response.json["reason"]
    assert checked == []
    assert row_counts(shop.app) == before


# --- 2. ?since= that is not a Unix time ---------------------------------------------------------

SINCE_VALUES = ["inf", "-inf", "nan", "1e309", "1e400", "abc", "9" * 400, "-1", str(2**32 + 1), "1_000", ""]


@pytest.mark.parametrize("page", ["/orders/{token}", "/orders/{token}/status"])
@pytest.mark.parametrize("since", SINCE_VALUES, ids=[value[:12] or "empty" for value in SINCE_VALUES])
def test_since_that_is_not_a_unix_time_is_a_400(shop: Shop, page: str, since: str) -> None:
    before = row_counts(shop.app)
    path = page.format(token=shop.open_token)
    response = shop.app.test_client().get(path, query_string={"since": since, "lang": "en"})
    assert response.status_code == 400
    page = response.get_data(as_text=True)
    assert "The request could not be understood" in page
    assert "since must be a Unix time in seconds from 0 to 4294967296" in page
    assert row_counts(shop.app) == before


@pytest.mark.parametrize("query", ["", "?since=1721647251", "?since=1721647251.25", "?since=0"])
def test_missing_or_real_since_still_shows_the_order(shop: Shop, query: str) -> None:
    client = shop.app.test_client()
    assert client.get(f"/orders/{shop.open_token}{query}").status_code == 200
    assert client.get(f"/orders/{shop.open_token}/status{query}").status_code == 200


# --- 3. product ids the database cannot hold ---------------------------------------------------

OUT_OF_RANGE_IDS = ["99999999999", str(2**31), str(2**64), "9" * 5000, "0", "00", "\u0663"]


@pytest.mark.parametrize("suffix", ["", "/quantity"])
@pytest.mark.parametrize("product_id", OUT_OF_RANGE_IDS, ids=[value[:12] for value in OUT_OF_RANGE_IDS])
def test_product_id_out_of_range_is_a_404(shop: Shop, suffix: str, product_id: str) -> None:
    client = shop.app.test_client()
    token = csrf_token_of(client)
    before = row_counts(shop.app)
    response = client.post(
        f"/cart/{quote(product_id)}{suffix}?lang=en", data={"csrf_token": token, "quantity": "1"}
    )
    assert response.status_code == 404
    assert "Page not found" in response.get_data(as_text=True)
    with client.session_transaction() as session:
        assert "cart" not in session
    assert row_counts(shop.app) == before


def test_largest_database_id_reaches_the_database_and_is_not_found(shop: Shop) -> None:
    client = shop.app.test_client()
    response = client.post(f"/cart/{2**31 - 1}", data={"csrf_token": csrf_token_of(client), "quantity": "1"})
    assert response.status_code == 404


def test_real_product_id_still_goes_in_the_cart(shop: Shop) -> None:
    client = shop.app.test_client()
    response = client.post(
        f"/cart/{shop.product_id}", data={"csrf_token": csrf_token_of(client), "quantity": "2"}
    )
    assert response.status_code == 303
    with client.session_transaction() as session:
        assert session["cart"] == {str(shop.product_id): 2}


@pytest.mark.parametrize("path", ["/orders/%00", "/orders/%00/status", "/products/a%00b", "/products/%1f"])
def test_control_characters_in_a_path_are_a_404(shop: Shop, path: str) -> None:
    # PostgreSQL text cannot hold NUL: such a token or SKU must never reach a query.
    response = shop.app.test_client().get(path + "?lang=en")
    assert response.status_code == 404
    assert "Page not found" in response.get_data(as_text=True)


# --- 4. bodies over the limit, chunked or not ---------------------------------------------------


def chunks(data: bytes, size: int = 4096) -> Iterator[bytes]:
    """`data` as a generator, which requests sends with Transfer-Encoding: chunked."""
    for start in range(0, len(data), size):
        yield data[start : start + size]


def test_every_route_refuses_a_body_over_the_limit_with_413_whatever_its_framing(shop: Shop) -> None:
    before = row_counts(shop.app)
    client = shop.app.test_client()
    body = b"x" * (MAX_BODY_BYTES + 1)
    for rule in public_rules(shop.app):
        path = fill(rule, real_values(shop))
        for method in sorted(rule.methods or ()):
            declared = client.open(path, method=method, data=body)
            streamed = client.open(path, method=method, data=body, environ_overrides=CHUNKED_ENVIRON)
            assert (declared.status_code, streamed.status_code) == (413, 413), f"{method} {path}"
    assert row_counts(shop.app) == before


def check_chunked_bodies(base_url: str, shop: Shop) -> None:
    """Over real HTTP: a chunked body over the limit is a 413 page and writes nothing; under it works."""
    browser = requests.Session()
    page = browser.get(f"{base_url}/?lang=en", timeout=10).text
    match = CSRF.search(page)
    assert match, "no CSRF token on the front page"
    csrf = match.group(1)
    added = browser.post(
        f"{base_url}/cart/{shop.product_id}", data={"csrf_token": csrf, "quantity": "1"}, timeout=10
    )
    assert added.status_code == 200  # followed the 303 to the cart

    def checkout_form(size: int) -> bytes:
        form = urlencode({"csrf_token": csrf, "email": ""}).encode()
        return form + b"&padding=" + b"x" * (size - len(form) - len(b"&padding="))

    headers = {"content-type": "application/x-www-form-urlencoded"}
    before = row_counts(shop.app)
    refused = browser.post(
        f"{base_url}/checkout?lang=en",
        data=chunks(checkout_form(MAX_BODY_BYTES + 1)),
        headers=headers,
        allow_redirects=False,
        timeout=10,
    )
    assert refused.request.headers["Transfer-Encoding"] == "chunked"
    assert "Content-Length" not in refused.request.headers
    assert refused.status_code == 413
    assert TOO_LARGE_PAGE in refused.text
    assert "Content-Security-Policy" in refused.headers  # the app's own error page
    assert row_counts(shop.app) == before

    alert = alert_body("pay-done", "success")
    alert["padding"] = "x" * MAX_BODY_BYTES
    raw = json.dumps(alert).encode()
    signed = requests.post(
        f"{base_url}/highhelp/callbacks/success?lang=en",
        data=chunks(raw),
        headers=signed_headers(alert),
        timeout=10,
    )
    assert signed.status_code == 413
    assert TOO_LARGE_PAGE in signed.text
    assert row_counts(shop.app) == before

    # The same form under the limit, still chunked, reaches the view intact and places the order.
    placed = browser.post(
        f"{base_url}/checkout",
        data=chunks(checkout_form(MAX_BODY_BYTES)),
        headers=headers,
        allow_redirects=False,
        timeout=10,
    )
    assert placed.status_code == 303
    assert row_counts(shop.app)["orders"] == before["orders"] + 1


def test_chunked_body_over_the_limit_is_413_on_werkzeugs_server(shop: Shop) -> None:
    with serving_wsgi(shop.app) as url:
        check_chunked_bodies(url, shop)


def test_chunked_body_over_the_limit_is_413_on_gunicorn(
    shop: Shop, database_url: str, tmp_path: Path
) -> None:
    port = free_port()
    command = local_gunicorn(port, threads=4)
    environ = clean_environ(
        **make_environ(
            database_url,
            INSTANCE_PATH=str(tmp_path / "gunicorn-instance"),
            PUBLIC_BASE_URL=f"http://127.0.0.1:{port}",
        )
    )
    with serving(command, environ, port, tmp_path / "gunicorn.log") as url:
        check_chunked_bodies(url, shop)


# --- 5. anything at all, at every route ---------------------------------------------------------

T = TypeVar("T")
LATIN1_LINE = st.text(st.characters(max_codepoint=255, blacklist_characters="\r\n"), max_size=40)
ODD_NUMBERS = [
    "inf",
    "-inf",
    "nan",
    "1e309",
    "1e400",
    "-1e400",
    "1E+999",
    "0.1e-400",
    "-0",
    "NaN",
    "Infinity",
    "-Infinity",
    "1" * 5000,
    "-" + "9" * 5000,
    str(2**63),
    str(2**31),
    "0x10",
    "1_000",
]
JSON_LEAVES = (
    st.none() | st.booleans() | st.integers() | st.floats(allow_nan=False, allow_infinity=False) | st.text()
)
JSON_VALUES = st.recursive(
    JSON_LEAVES,
    lambda children: (
        st.lists(children, max_size=4) | st.dictionaries(st.text(max_size=8), children, max_size=4)
    ),
    max_leaves=16,
)
SURROGATES = st.sampled_from(["\\ud800", "\\udfff", "\\ud83d", "a\\udc00b", "\\ud83d\\ude00"])


@st.composite
def alert_with_a_changed_value(draw: st.DrawFn) -> str:
    """A real alert's shape with one value swapped for anything JSON can carry."""
    body = alert_body(draw(st.sampled_from(["pay-done", "pay-unknown", ""])), "success")
    section = draw(st.sampled_from(["general", "status", "payment_info"]))
    key = draw(st.sampled_from(sorted(body[section])))
    body[section][key] = draw(JSON_VALUES)
    return json.dumps(body)


JSON_BODIES = st.one_of(
    JSON_VALUES.map(json.dumps),
    alert_with_a_changed_value(),
    st.integers(1, 12_000).map(lambda depth: '{"general": ' + "[" * depth + "]" * depth + "}"),
    st.integers(1, 15_000).map(lambda width: json.dumps({"general": [0] * width})),
    st.sampled_from(ODD_NUMBERS).map(lambda number: f'{{"payment_info": {{"amount": {number}}}}}'),
    SURROGATES.map(lambda text: f'{{"general": {{"payment_id": "{text}"}}, "{text}": null}}'),
).map(str.encode)
FORM_VALUES = st.text(max_size=20) | st.sampled_from(ODD_NUMBERS) | st.integers().map(str)
FORM_FIELDS = st.dictionaries(
    st.sampled_from(["csrf_token", "quantity", "email"]) | st.text(max_size=8), FORM_VALUES, max_size=4
)
BODIES = st.one_of(
    st.just(b""), st.binary(max_size=512), JSON_BODIES, FORM_FIELDS.map(lambda form: urlencode(form).encode())
)
CONTENT_TYPES = st.sampled_from(
    [
        "application/json",
        "application/json; charset=latin-1",
        "application/x-www-form-urlencoded",
        "multipart/form-data",
        "multipart/form-data; boundary=zz",
        "text/plain",
    ]
)
SIGNATURES = st.one_of(LATIN1_LINE, st.binary(max_size=300).map(signing.b64url))
TIMESTAMPS = st.one_of(st.integers(-(10**13), 10**13).map(str), st.just("9" * 5000), LATIN1_LINE)
CONTENT_LENGTHS = st.one_of(
    st.integers(-5, 2 * MAX_BODY_BYTES).map(str), st.just("9" * 30), LATIN1_LINE, st.just("")
)
SINCE = st.one_of(
    st.sampled_from(ODD_NUMBERS),
    st.floats().map(repr),
    st.integers(-(2**70), 2**70).map(str),
    st.text(max_size=20),
)


def often(
    draw: Callable[[st.SearchStrategy[T]], T], usual: st.SearchStrategy[T], odd: st.SearchStrategy[T]
) -> T:
    """Usually `usual`, else `odd`: requests that pass the early checks reach the later ones."""
    return draw(usual if draw(st.integers(0, 3)) else odd)


def url_values(shop: Shop) -> st.SearchStrategy[str]:
    """Path argument values: random text, odd numbers, and things that name real rows."""
    return st.one_of(
        st.text(max_size=40),
        st.integers(-(2**70), 2**70).map(str),
        st.sampled_from(["9" * 5000, "\x00", "a\x00b", "..", "%", "\u0663", "0", "99999999999"]),
        st.sampled_from([str(2**31), str(2**63), str(2**64)]),
        st.sampled_from([shop.open_token, shop.paid_token, str(shop.product_id), shop.sku]),
        st.sampled_from(["info", "success", "decline"]),
    )


def path_of(draw: Callable[[st.SearchStrategy[Any]], Any], shop: Shop, rule: Rule) -> str:
    """The rule's path with each argument mostly naming something real, else anything."""
    real = real_values(shop)
    return fill(
        rule,
        {
            name: often(draw, st.just(real[name]), url_values(shop))
            if name in real
            else draw(url_values(shop))
            for name in rule.arguments
        },
    )


def query_of(draw: Callable[[st.SearchStrategy[Any]], Any]) -> str | dict[str, str]:
    """A query string: `since` and `lang` with odd values, other keys, or raw bytes."""
    if not draw(st.integers(0, 4)):
        return "since=" + quote_from_bytes(draw(st.binary(max_size=40)))
    query = {}
    if draw(st.booleans()):
        query["since"] = draw(SINCE)
    if draw(st.booleans()):
        query["lang"] = draw(st.sampled_from(["kk", "ru", "en"]) | st.text(max_size=8))
    if draw(st.booleans()):
        query[draw(st.text(max_size=8))] = draw(st.text(max_size=20))
    return query


@st.composite
def hostile_request(draw: st.DrawFn, shop: Shop, rule: Rule) -> dict[str, Any]:
    """One request anybody could send to `rule`: method, path values, query, headers and body."""
    methods = sorted((rule.methods or set()) - {"OPTIONS"})
    optional_headers = {
        "x-access-signature": lambda: often(draw, st.just(FORGED_SIGNATURE), SIGNATURES),
        "x-access-timestamp": lambda: often(draw, st.just(str(int(time.time()))), TIMESTAMPS),
        "content-type": lambda: often(draw, CONTENT_TYPES, LATIN1_LINE),
        "cookie": lambda: draw(LATIN1_LINE),
        "accept-language": lambda: draw(LATIN1_LINE),
    }
    headers = {name: value() for name, value in optional_headers.items() if draw(st.integers(0, 7))}
    environ: dict[str, Any] = {"REMOTE_ADDR": draw(st.ip_addresses(v=4).map(str))}
    framing = often(draw, st.just("declared"), st.sampled_from(["mismatched", "chunked"]))
    if framing == "mismatched":
        environ["CONTENT_LENGTH"] = draw(CONTENT_LENGTHS)
    elif framing == "chunked":
        environ.update(CHUNKED_ENVIRON)
    return {
        "path": path_of(draw, shop, rule),
        "method": draw(st.sampled_from([*methods, *methods, "OPTIONS"])),
        "query_string": query_of(draw),
        "headers": headers,
        "data": draw(BODIES),
        "environ_overrides": environ,
    }


# Every public endpoint, each fuzzed on its own; the test below fails when a route is added.
ENDPOINTS = [
    "shop.index",
    "shop.product",
    "shop.add_to_cart",
    "shop.change_quantity",
    "shop.remove_from_cart",
    "shop.show_cart",
    "shop.checkout",
    "pay.order_page",
    "pay.status",
    "pay.pay",
    "pay.cancel",
    "callbacks.receive",
    "health.healthz",
    "health.readyz",
    "metrics.scrape",
    # The back office, signed out: every page and action must send the visitor to sign in.
    "merchant.dashboard",
    "merchant.links",
    "merchant.create_link",
    "merchant.link_detail",
    "merchant.login",
    "merchant.logout",
    "merchant.orders",
    "merchant.orders_csv",
    "merchant.order_detail",
    "merchant.order_row",
    "merchant.cancel",
    "merchant.confirm",
    "merchant.recheck",
    "merchant.review",
    "merchant.resolve",
    "merchant.staff_list",
    "merchant.add_staff",
    "merchant.disable_staff",
    "merchant.change_staff_role",
]
FUZZ_SETTINGS = settings(
    max_examples=60,
    deadline=None,
    suppress_health_check=[HealthCheck.function_scoped_fixture, HealthCheck.too_slow],
)


def test_every_public_route_is_fuzzed(app: Flask) -> None:
    assert sorted(rule.endpoint for rule in public_rules(app)) == sorted(ENDPOINTS)


@pytest.mark.parametrize("endpoint", ENDPOINTS)
@FUZZ_SETTINGS
@given(data=st.data())
def test_no_input_gets_a_5xx_or_writes_anything(shop: Shop, endpoint: str, data: st.DataObject) -> None:
    before = row_counts(shop.app)
    rule = next(rule for rule in public_rules(shop.app) if rule.endpoint == endpoint)
    request = data.draw(hostile_request(shop, rule))
    response = shop.app.test_client().open(**request)
    summary = f"{request['method']} {request['path'][:200]} → {response.status_code}"
    assert response.status_code < 500, summary
    assert row_counts(shop.app) == before, summary


@FUZZ_SETTINGS
@given(data=st.data())
def test_forms_with_a_valid_csrf_token_never_get_a_5xx(shop: Shop, data: st.DataObject) -> None:
    """A customer's own session can send any form values: still never a 5xx, redirects included."""
    client = shop.app.test_client()
    token = csrf_token_of(client)
    if data.draw(st.booleans()):
        # Something in the cart, so that /checkout goes as far as placing the order.
        client.post(f"/cart/{shop.product_id}", data={"csrf_token": token, "quantity": "1"})
    forms = [rule for rule in public_rules(shop.app) if rule.endpoint.startswith("shop.")]
    rule = data.draw(st.sampled_from([rule for rule in forms if "POST" in (rule.methods or ())]))
    form = {**data.draw(FORM_FIELDS), "csrf_token": token}
    response = client.post(
        fill(rule, {name: data.draw(url_values(shop)) for name in rule.arguments}),
        data=form,
        query_string=query_of(data.draw),
        follow_redirects=True,
    )
    for answer in (*response.history, response):
        assert answer.status_code < 500, (
            f"{answer.request.method} {answer.request.path} → {answer.status_code}"
        )


def test_a_signed_alert_does_write_so_unchanged_counts_mean_something(shop: Shop) -> None:
    body = alert_body("pay-unknown", "success")
    client = shop.app.test_client()
    response = client.post("/highhelp/callbacks/success", data=json.dumps(body), headers=signed_headers(body))
    assert response.status_code == 200
    assert row_counts(shop.app)["callback_alerts"] == 1


@pytest.mark.parametrize(
    "host", ["a" * 64, "a..b", "xn--a", "shop.kz:99999999", "ex ample", "[::1", "a" * 300]
)
def test_a_host_header_that_is_not_a_host_name_is_a_400(shop: Shop, host: str) -> None:
    with serving_wsgi(shop.app) as url:
        for path in ("/healthz", f"/orders/{shop.open_token}", "/nowhere"):
            response = requests.get(url + path, headers={"Host": host}, timeout=10)
            assert response.status_code == 400
            assert "Host header is not a host name" in response.text


@pytest.mark.parametrize(
    "host", ["shop.example.kz", "shop.example.kz:8443", "127.0.0.1", "[::1]:5000", "xn--80ak6aa92e.kz"]
)
def test_real_host_names_are_served(shop: Shop, host: str) -> None:
    with serving_wsgi(shop.app) as url:
        assert requests.get(url + "/healthz", headers={"Host": host}, timeout=10).status_code == 200


# --- signed in: the back office's pages with any query a person (or a bookmark) could send --------

SIGNED_IN_CLIENT = "tests.signed_in_client"
BACK_OFFICE_PAGES = [
    "/merchant/",
    "/merchant/orders",
    "/merchant/orders.csv",
    "/merchant/orders/1",
    "/merchant/orders/1/row",
    "/merchant/review",
    "/merchant/links",
    "/merchant/links/1",
    "/merchant/staff",
    "/merchant/payments/1/cancel",
]
BACK_OFFICE_KEYS = ["state", "from", "to", "q", "before", "after", "since", "sep", "lang", "next"]
ODD_VALUES = (
    st.sampled_from(["", "0", "-1", "1e309", "nan", "2026-02-30", "9" * 40, "paid", "semicolon", "%00"])
    | st.text(max_size=30)
    | st.integers(-(2**70), 2**70).map(str)
)


@FUZZ_SETTINGS
@given(
    path=st.sampled_from(BACK_OFFICE_PAGES),
    query=st.dictionaries(st.sampled_from(BACK_OFFICE_KEYS), ODD_VALUES),
)
def test_back_office_pages_signed_in_never_get_a_5xx(shop: Shop, path: str, query: dict[str, str]) -> None:
    # One sign-in per app (kept on the app itself): a password hash costs far more than the request.
    if SIGNED_IN_CLIENT not in shop.app.extensions:
        shop.app.extensions[SIGNED_IN_CLIENT] = signed_in(shop.app)
    client: FlaskClient = shop.app.extensions[SIGNED_IN_CLIENT]
    before = row_counts(shop.app)
    response = client.get(path, query_string=query)
    if response.is_streamed:
        response.get_data()
    assert response.status_code < 500, f"{path}?{query} → {response.status_code}"
    assert row_counts(shop.app) == before
