"""Who gets into the back office: sign-in, throttling, CSRF, session renewal, idle timeout, roles."""

from __future__ import annotations

import re
from collections.abc import Callable

import pytest
from flask import Flask
from flask.testing import FlaskClient
from sqlalchemy import func, select
from werkzeug.routing import Rule

from checkout.extensions import db
from checkout.merchant.access import IDLE_TIMEOUT, LAST_SEEN_KEY, MAX_SESSION_AGE, SIGNED_IN_KEY
from checkout.merchant.login import FAILURES_PER_ACCOUNT, FAILURES_PER_CLIENT
from checkout.models import Event, StaffRole, StaffUser
from checkout.sqltypes import utcnow
from tests.checkout_support import csrf_of
from tests.highhelp_double import HighHelpDouble
from tests.merchant_support import PASSWORD, make_staff, page_csrf, sign_in, signed_in

LOGIN = "/merchant/login"
CSRF_VALUE = re.compile(r'(?<=name="csrf_token" value=")[^"]+')
# Routes a signed-out person may reach.
PUBLIC = {"merchant.login"}


@pytest.fixture
def shop(make_app: Callable[..., Flask], double: HighHelpDouble) -> Flask:
    """The app talking to a HighHelp double that records every call."""
    return make_app(HIGHHELP_API_URL=double.url, PUBLIC_BASE_URL="https://shop.example.kz")


def merchant_rules(app: Flask) -> list[Rule]:
    """Every back-office route but the sign-in page."""
    rules = [rule for rule in app.url_map.iter_rules() if rule.rule.startswith("/merchant")]
    return [rule for rule in rules if rule.endpoint not in PUBLIC]


def path_of(rule: Rule) -> str:
    """A concrete path for `rule`: every parameter is 1 (an id, a number or text alike)."""
    return re.sub(r"<[^>]+>", "1", rule.rule)


def row_counts(app: Flask) -> dict[str, int]:
    """How many rows each table holds."""
    with app.app_context():
        return {
            table.name: db.session.execute(select(func.count()).select_from(table)).scalar_one()
            for table in db.metadata.sorted_tables
        }


def failed_sign_in(client: FlaskClient, email: str, password: str = "wrong password, surely") -> int:
    token = csrf_of(client.get(LOGIN).get_data(as_text=True))
    return client.post(LOGIN, data={"email": email, "password": password, "csrf_token": token}).status_code


def test_every_page_sends_a_signed_out_visitor_to_sign_in(app: Flask) -> None:
    client = app.test_client()
    gets = [rule for rule in merchant_rules(app) if "GET" in (rule.methods or set())]
    assert gets, "the back office has pages"
    for rule in gets:
        path = path_of(rule)
        response = client.get(path)
        if path.endswith(".csv"):
            assert response.status_code == 401, path
            continue
        assert response.status_code == 302, path
        assert response.headers["Location"].startswith(f"{LOGIN}?next=/merchant"), path


def test_htmx_requests_signed_out_get_401_not_a_login_page(app: Flask) -> None:
    client = app.test_client()
    for rule in merchant_rules(app):
        if "GET" in (rule.methods or set()):
            assert client.get(path_of(rule), headers={"HX-Request": "true"}).status_code == 401, rule.rule


def test_every_action_signed_out_is_refused_and_changes_nothing(app: Flask) -> None:
    client = app.test_client()
    token = csrf_of(client.get(LOGIN).get_data(as_text=True))
    before = row_counts(app)
    posts = [rule for rule in merchant_rules(app) if "POST" in (rule.methods or set())]
    for rule in posts:
        response = client.post(path_of(rule), data={"csrf_token": token, "note": "x"})
        assert response.status_code in (302, 401), rule.rule
    assert row_counts(app) == before


def test_a_viewer_sees_pages_but_every_action_is_forbidden(shop: Flask, double: HighHelpDouble) -> None:
    make_staff(shop, "owner@example.kz", StaffRole.OWNER)
    viewer = signed_in(shop, StaffRole.VIEWER)
    token = page_csrf(viewer, "/merchant/")
    before = row_counts(shop)
    actions = [
        rule
        for rule in merchant_rules(shop)
        if "POST" in (rule.methods or set()) and rule.endpoint != "merchant.logout"
    ]
    assert actions, "the back office has actions"
    for rule in actions:
        response = viewer.post(path_of(rule), data={"csrf_token": token, "note": "resolved by a viewer"})
        assert response.status_code == 403, rule.rule
    assert row_counts(shop) == before
    assert double.received == []
    assert viewer.get("/merchant/").status_code == 200


def test_only_an_owner_reaches_the_staff_pages(app: Flask) -> None:
    operator = signed_in(app, StaffRole.OPERATOR)
    owner = signed_in(app, StaffRole.OWNER)
    staff_pages = [rule for rule in merchant_rules(app) if rule.endpoint.startswith("merchant.staff")]
    assert staff_pages
    for rule in staff_pages:
        if "GET" in (rule.methods or set()):
            assert operator.get(path_of(rule)).status_code == 403, rule.rule
    assert owner.get("/merchant/staff").status_code == 200


def test_unknown_email_and_wrong_password_get_the_same_answer(app: Flask) -> None:
    make_staff(app, "owner@example.kz")
    client = app.test_client()
    client.set_cookie("lang", "en")
    answers = []
    for email in ("owner@example.kz", "nobody@example.kz"):
        token = csrf_of(client.get(LOGIN).get_data(as_text=True))
        response = client.post(
            LOGIN, data={"email": email, "password": "not the password!", "csrf_token": token}
        )
        # CSRF tokens carry the second they were made in; everything else must be the same.
        page = CSRF_VALUE.sub("TOKEN", response.get_data(as_text=True)).replace(email, "EMAIL")
        answers.append((response.status_code, page))
    assert answers[0] == answers[1]
    assert answers[0][0] == 401
    assert "The email or the password is wrong" in answers[0][1]


def test_a_disabled_account_gets_the_same_answer_as_a_wrong_password(app: Flask) -> None:
    make_staff(app, "gone@example.kz", StaffRole.OPERATOR)
    with app.app_context():
        from checkout.merchant import accounts

        accounts.disable("gone@example.kz")
    assert failed_sign_in(app.test_client(), "gone@example.kz", PASSWORD) == 401


def test_sign_in_is_throttled_per_account_even_for_the_right_password(app: Flask) -> None:
    make_staff(app, "owner@example.kz")
    attacker = app.test_client()
    for _ in range(FAILURES_PER_ACCOUNT):
        assert failed_sign_in(attacker, "owner@example.kz") == 401
    # From another address, with the right password: the account is still resting.
    other = app.test_client()
    other.environ_base["REMOTE_ADDR"] = "198.51.100.7"
    other.set_cookie("lang", "en")
    token = csrf_of(other.get(LOGIN).get_data(as_text=True))
    response = other.post(
        LOGIN, data={"email": "owner@example.kz", "password": PASSWORD, "csrf_token": token}
    )
    assert response.status_code == 429
    assert "Too many failed sign-ins" in response.get_data(as_text=True)
    assert int(response.headers["Retry-After"]) > 0
    # The same for an address that has no account: nothing tells the two apart.
    for _ in range(FAILURES_PER_ACCOUNT):
        assert failed_sign_in(attacker, "nobody@example.kz") == 401
    assert failed_sign_in(attacker, "nobody@example.kz") == 429


def test_sign_in_is_throttled_per_client_address(app: Flask) -> None:
    make_staff(app, "owner@example.kz")
    guesser = app.test_client()
    for attempt in range(FAILURES_PER_CLIENT):
        assert failed_sign_in(guesser, f"guess{attempt}@example.kz") == 401
    assert failed_sign_in(guesser, "owner@example.kz", PASSWORD) == 429
    elsewhere = app.test_client()
    elsewhere.environ_base["REMOTE_ADDR"] = "203.0.113.9"
    sign_in(elsewhere, "owner@example.kz")


def test_successful_sign_ins_are_not_counted(app: Flask) -> None:
    make_staff(app, "owner@example.kz")
    client = app.test_client()
    for _ in range(FAILURES_PER_ACCOUNT + 2):
        sign_in(client, "owner@example.kz")


def test_forms_without_the_csrf_token_are_refused(app: Flask) -> None:
    make_staff(app, "owner@example.kz")
    client = app.test_client()
    response = client.post(LOGIN, data={"email": "owner@example.kz", "password": PASSWORD})
    assert response.status_code == 400
    assert client.get("/merchant/").status_code == 302
    sign_in(client, "owner@example.kz")
    assert client.post("/merchant/logout").status_code == 400
    assert client.get("/merchant/").status_code == 200, "a refused sign-out leaves the person signed in"


def test_sign_in_starts_a_new_session(app: Flask) -> None:
    make_staff(app, "owner@example.kz")
    client = app.test_client()
    with client.session_transaction() as session:
        session["planted"] = "by someone else"
    token_before = csrf_of(client.get(LOGIN).get_data(as_text=True))
    sign_in(client, "owner@example.kz")
    with client.session_transaction() as session:
        assert "planted" not in session
    assert page_csrf(client, "/merchant/") != token_before
    # The token from before sign-in no longer works.
    assert client.post("/merchant/logout", data={"csrf_token": token_before}).status_code == 400


def test_sign_out_ends_the_session(app: Flask) -> None:
    make_staff(app, "owner@example.kz")
    client = sign_in(app.test_client(), "owner@example.kz")
    response = client.post("/merchant/logout", data={"csrf_token": page_csrf(client, "/merchant/")})
    assert response.status_code == 303
    assert client.get("/merchant/").status_code == 302


def test_an_idle_session_asks_for_the_password_again(app: Flask) -> None:
    make_staff(app, "owner@example.kz")
    client = sign_in(app.test_client(), "owner@example.kz")
    with client.session_transaction() as session:
        session[LAST_SEEN_KEY] = (utcnow() - IDLE_TIMEOUT).timestamp() - 1
    assert client.get("/merchant/").status_code == 302
    assert client.get("/merchant/").status_code == 302, "signed out for good, not only once"


def test_live_updates_do_not_keep_an_idle_session_alive(app: Flask) -> None:
    make_staff(app, "owner@example.kz")
    client = sign_in(app.test_client(), "owner@example.kz")
    idle_since = (utcnow() - IDLE_TIMEOUT / 2).timestamp()
    with client.session_transaction() as session:
        session[LAST_SEEN_KEY] = idle_since
    assert client.get("/merchant/", headers={"HX-Request": "true"}).status_code == 200
    with client.session_transaction() as session:
        assert session[LAST_SEEN_KEY] == idle_since
    client.get("/merchant/")
    with client.session_transaction() as session:
        assert session[LAST_SEEN_KEY] > idle_since


def test_a_disabled_account_is_signed_out_at_its_next_request(app: Flask) -> None:
    make_staff(app, "operator@example.kz", StaffRole.OPERATOR)
    client = sign_in(app.test_client(), "operator@example.kz")
    assert client.get("/merchant/").status_code == 200
    with app.app_context():
        from checkout.merchant import accounts

        accounts.disable("operator@example.kz")
    assert client.get("/merchant/").status_code == 302


@pytest.mark.parametrize(
    "target",
    [
        "//evil.example/x",
        "https://evil.example/",
        "/orders/x",
        "/\\evil.example",
        # Control characters would make the redirect itself fail.
        "/merchant/orders\r\nSet-Cookie: x=1",
        "/merchant/\x00",
    ],
)
def test_sign_in_never_redirects_outside_the_back_office(app: Flask, target: str) -> None:
    make_staff(app, "owner@example.kz")
    client = app.test_client()
    token = csrf_of(client.get(LOGIN).get_data(as_text=True))
    data = {"email": "owner@example.kz", "password": PASSWORD, "csrf_token": token, "next": target}
    response = client.post(LOGIN, data=data)
    assert response.status_code == 303
    assert response.headers["Location"] == "/merchant/"


def test_sign_in_returns_to_the_page_that_asked(app: Flask) -> None:
    make_staff(app, "owner@example.kz")
    client = app.test_client()
    login_page = client.get("/merchant/orders?state=paid").headers["Location"]
    next_page = login_page.split("next=", 1)[1]
    token = csrf_of(client.get(login_page).get_data(as_text=True))
    data = {"email": "owner@example.kz", "password": PASSWORD, "csrf_token": token, "next": next_page}
    response = client.post(LOGIN, data=data)
    assert response.headers["Location"].startswith("/merchant/orders")


def test_passwords_are_stored_with_scrypt_and_never_in_the_history(app: Flask) -> None:
    make_staff(app, "owner@example.kz")
    with app.app_context():
        staff = db.session.execute(select(StaffUser)).scalar_one()
        assert staff.password_hash.startswith("scrypt:")
        assert PASSWORD not in staff.password_hash
        history = db.session.execute(select(Event)).scalars().all()
        assert history
        assert all(PASSWORD not in str(event.data) + event.summary for event in history)


def test_a_session_ends_twelve_hours_after_sign_in_however_active(app: Flask) -> None:
    make_staff(app, "owner@example.kz")
    client = sign_in(app.test_client(), "owner@example.kz")
    with client.session_transaction() as session:
        session[SIGNED_IN_KEY] = (utcnow() - MAX_SESSION_AGE).timestamp() - 1
        session[LAST_SEEN_KEY] = utcnow().timestamp()
    assert client.get("/merchant/").status_code == 302


@pytest.mark.parametrize("email", ["owner@example.kz\x00", "\x00", "owner@example.kz\n"])
def test_control_characters_in_the_email_are_a_wrong_sign_in_not_an_error(app: Flask, email: str) -> None:
    make_staff(app, "owner@example.kz")
    assert failed_sign_in(app.test_client(), email, PASSWORD) == 401
