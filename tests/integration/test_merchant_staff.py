"""The owner's staff page: add, change a role, disable, the guards that keep an owner, the audit trail."""

from __future__ import annotations

import functools

import pytest
from flask import Flask
from flask.testing import FlaskClient
from sqlalchemy import select

from checkout.extensions import db
from checkout.merchant import accounts, staff_changes
from checkout.models import Event, EventKind, StaffRole, StaffUser
from tests.checkout_support import csrf_of
from tests.merchant_support import PASSWORD, make_staff, page_csrf, sign_in, signed_in

OWNER = "owner@example.kz"
NEW_PASSWORD = "another long password 7"
WRONG_SIGN_IN = "The email or the password is wrong, or the account is disabled."


@pytest.fixture
def owner(app: Flask) -> FlaskClient:
    """The shop's owner signed in, reading the back office in English."""
    client = signed_in(app, StaffRole.OWNER, OWNER)
    client.set_cookie("lang", "en")
    return client


def account(app: Flask, email: str) -> StaffUser:
    """The account as stored now."""
    with app.app_context():
        staff = db.session.execute(select(StaffUser).where(StaffUser.email == email)).scalar_one()
        db.session.expunge(staff)
        return staff


def post(client: FlaskClient, path: str, **form: str):  # type: ignore[no-untyped-def]
    """POST a staff form with the page's CSRF token, following the redirect to the staff page."""
    form["csrf_token"] = page_csrf(client, "/merchant/staff")
    return client.post(path, data=form, follow_redirects=True)


def add(client: FlaskClient, email: str, role: StaffRole = StaffRole.VIEWER, password: str = NEW_PASSWORD):  # type: ignore[no-untyped-def]
    """Add an account through the form."""
    return post(client, "/merchant/staff", email=email, role=role.value, password=password)


def staff_events(app: Flask) -> list[Event]:
    """Every STAFF_CHANGED event, oldest first."""
    with app.app_context():
        query = select(Event).where(Event.kind == EventKind.STAFF_CHANGED).order_by(Event.id)
        found = list(db.session.execute(query).scalars())
        db.session.expunge_all()
        return found


def test_the_owner_adds_a_viewer_who_can_then_sign_in(app: Flask, owner: FlaskClient) -> None:
    page = add(owner, "Aigerim@Example.kz")

    assert page.status_code == 200
    text = page.get_data(as_text=True)
    assert "aigerim@example.kz added as viewer." in text
    assert NEW_PASSWORD not in text
    added = account(app, "aigerim@example.kz")
    assert (added.role, added.active) == (StaffRole.VIEWER, True)
    sign_in(app.test_client(), "aigerim@example.kz", NEW_PASSWORD)
    last = staff_events(app)[-1]
    assert last.staff_id == account(app, OWNER).id
    assert last.data["email"] == "aigerim@example.kz"
    assert last.data["via"] == "back office"


@pytest.mark.parametrize(
    ("email", "password", "field", "message"),
    [
        ("not an address", NEW_PASSWORD, "email", "This does not look like an email address."),
        ("", NEW_PASSWORD, "email", "Enter the person's email."),
        ("short@example.kz", "too short", "password", "From 12 to 256 characters."),
        ("empty@example.kz", "", "password", "Enter an initial password."),
    ],
)
def test_a_bad_new_account_is_refused_at_its_field_without_echoing_the_password(
    app: Flask, owner: FlaskClient, email: str, password: str, field: str, message: str
) -> None:
    response = add(owner, email, password=password)

    assert response.status_code == 422
    text = response.get_data(as_text=True)
    assert f'<p class="field-error" id="{field}-error">{message}</p>' in text
    assert 'aria-invalid="true"' in text
    if password:
        assert password not in text
    with app.app_context():
        assert [staff.email for staff in accounts.everyone()] == [OWNER]


def test_adding_an_existing_email_changes_nothing(app: Flask, owner: FlaskClient) -> None:
    make_staff(app, "viewer@example.kz", StaffRole.VIEWER)
    before = account(app, "viewer@example.kz")

    response = add(owner, "viewer@example.kz", StaffRole.OWNER)

    assert response.status_code == 422
    assert "already exists" in response.get_data(as_text=True)
    after = account(app, "viewer@example.kz")
    assert (after.role, after.password_hash, after.session_token) == (
        StaffRole.VIEWER,
        before.password_hash,
        before.session_token,
    )


def test_a_role_change_takes_effect_and_signs_the_old_session_out(app: Flask, owner: FlaskClient) -> None:
    viewer = signed_in(app, StaffRole.VIEWER)
    assert viewer.get("/merchant/links").status_code == 200
    target = account(app, "viewer@example.kz")

    page = post(owner, f"/merchant/staff/{target.id}/role", role="operator")

    assert "viewer@example.kz is now operator." in page.get_data(as_text=True)
    assert account(app, "viewer@example.kz").role == StaffRole.OPERATOR
    stale = viewer.get("/merchant/links")
    assert stale.status_code == 302
    assert stale.headers["Location"].startswith("/merchant/login")
    operator = sign_in(app.test_client(), "viewer@example.kz")
    form = {
        "amount": "100",
        "description": "Test",
        "language": "ru",
        "csrf_token": page_csrf(operator, "/merchant/links"),
    }
    assert operator.post("/merchant/links", data=form).status_code == 303
    last = staff_events(app)[-1]
    assert last.staff_id == account(app, OWNER).id
    assert last.data["role"] == "operator"


def test_a_disabled_account_cannot_sign_in_and_is_told_as_for_a_wrong_password(
    app: Flask, owner: FlaskClient
) -> None:
    viewer = signed_in(app, StaffRole.VIEWER)
    target = account(app, "viewer@example.kz")

    page = post(owner, f"/merchant/staff/{target.id}/disable")

    assert "viewer@example.kz disabled" in page.get_data(as_text=True)
    assert account(app, "viewer@example.kz").active is False
    assert viewer.get("/merchant/").status_code == 302
    client = app.test_client()
    client.set_cookie("lang", "en")
    token = csrf_of(client.get("/merchant/login").get_data(as_text=True))
    disabled = client.post(
        "/merchant/login", data={"email": "viewer@example.kz", "password": PASSWORD, "csrf_token": token}
    )
    wrong = client.post(
        "/merchant/login", data={"email": OWNER, "password": "wrong password!!", "csrf_token": token}
    )
    assert disabled.status_code == wrong.status_code == 401
    assert WRONG_SIGN_IN in disabled.get_data(as_text=True)
    assert WRONG_SIGN_IN in wrong.get_data(as_text=True)
    last = staff_events(app)[-1]
    assert last.staff_id == account(app, OWNER).id
    assert last.data["disabled"] is True


def test_a_disabled_account_can_be_enabled_again_with_a_role(app: Flask, owner: FlaskClient) -> None:
    make_staff(app, "back@example.kz", StaffRole.OPERATOR)
    with app.app_context():
        accounts.disable("back@example.kz")
    target = account(app, "back@example.kz")

    page = post(owner, f"/merchant/staff/{target.id}/role", role="viewer")

    assert "back@example.kz enabled as viewer." in page.get_data(as_text=True)
    sign_in(app.test_client(), "back@example.kz")


@pytest.mark.parametrize(("action", "form"), [("role", {"role": "operator"}), ("disable", {})])
def test_an_owner_cannot_demote_or_disable_themselves(
    app: Flask, owner: FlaskClient, action: str, form: dict[str, str]
) -> None:
    make_staff(app, "second-owner@example.kz", StaffRole.OWNER)  # even with another owner
    me = account(app, OWNER)
    events_before = len(staff_events(app))

    page = post(owner, f"/merchant/staff/{me.id}/{action}", **form)

    assert "You cannot demote or disable your own account." in page.get_data(as_text=True)
    after = account(app, OWNER)
    assert (after.role, after.active, after.session_token) == (StaffRole.OWNER, True, me.session_token)
    assert len(staff_events(app)) == events_before
    assert owner.get("/merchant/staff").status_code == 200


def test_an_owner_can_demote_another_owner(app: Flask, owner: FlaskClient) -> None:
    make_staff(app, "second-owner@example.kz", StaffRole.OWNER)
    other = account(app, "second-owner@example.kz")

    page = post(owner, f"/merchant/staff/{other.id}/role", role="viewer")

    assert "second-owner@example.kz is now viewer." in page.get_data(as_text=True)
    assert account(app, "second-owner@example.kz").role == StaffRole.VIEWER


@pytest.mark.parametrize("change", ["demote", "disable"])
def test_the_last_enabled_owner_is_never_demoted_or_disabled(app: Flask, change: str) -> None:
    make_staff(app, OWNER, StaffRole.OWNER)
    # A second owner whose account was disabled from the command line while still signed in.
    make_staff(app, "gone@example.kz", StaffRole.OWNER)
    with app.test_request_context("/?lang=en"):
        accounts.disable("gone@example.kz")
        last_owner = db.session.execute(select(StaffUser).where(StaffUser.email == OWNER)).scalar_one()
        gone = db.session.execute(select(StaffUser).where(StaffUser.email == "gone@example.kz")).scalar_one()
        if change == "demote":
            attempt = functools.partial(staff_changes.change_role, last_owner, StaffRole.OPERATOR, by=gone)
        else:
            attempt = functools.partial(staff_changes.disable, last_owner, by=gone)
        with pytest.raises(staff_changes.Refused, match="last enabled owner"):
            attempt()
    after = account(app, OWNER)
    assert (after.role, after.active) == (StaffRole.OWNER, True)


@pytest.mark.parametrize("role", [StaffRole.VIEWER, StaffRole.OPERATOR])
def test_only_owners_reach_any_staff_route(app: Flask, role: StaffRole) -> None:
    make_staff(app, OWNER, StaffRole.OWNER)
    client = signed_in(app, role)
    target = account(app, OWNER)
    token = page_csrf(client, "/merchant/links")

    assert client.get("/merchant/staff").status_code == 403
    assert "/merchant/staff" not in client.get("/merchant/links").get_data(as_text=True)
    attempts = [
        ("/merchant/staff", {"email": "x@example.kz", "role": "owner", "password": NEW_PASSWORD}),
        (f"/merchant/staff/{target.id}/role", {"role": "viewer"}),
        (f"/merchant/staff/{target.id}/disable", {}),
    ]
    for path, form in attempts:
        assert client.post(path, data={**form, "csrf_token": token}).status_code == 403, path
    after = account(app, OWNER)
    assert (after.role, after.active) == (StaffRole.OWNER, True)
    with app.app_context():
        assert accounts.find("x@example.kz") is None


def test_staff_routes_refuse_unknown_accounts_bad_roles_and_missing_csrf(
    app: Flask, owner: FlaskClient
) -> None:
    token = page_csrf(owner, "/merchant/staff")
    me = account(app, OWNER)

    assert (
        owner.post("/merchant/staff/999/role", data={"role": "viewer", "csrf_token": token}).status_code
        == 404
    )
    assert owner.post("/merchant/staff/99999999999/disable", data={"csrf_token": token}).status_code == 404
    assert (
        owner.post(f"/merchant/staff/{me.id}/role", data={"role": "admin", "csrf_token": token}).status_code
        == 400
    )
    assert owner.post(f"/merchant/staff/{me.id}/disable", data={}).status_code == 400
    assert account(app, OWNER).active is True


def test_signed_out_staff_routes_lead_to_the_sign_in_page(app: Flask) -> None:
    response = app.test_client().get("/merchant/staff")
    assert response.status_code == 302
    assert response.headers["Location"].startswith("/merchant/login")


def test_the_page_lists_accounts_and_the_audit_trail(app: Flask, owner: FlaskClient) -> None:
    add(owner, "cashier@example.kz", StaffRole.OPERATOR)
    cashier = sign_in(app.test_client(), "cashier@example.kz", NEW_PASSWORD)
    form = {
        "amount": "5000",
        "description": "Shawl",
        "language": "kk",
        "csrf_token": page_csrf(cashier, "/merchant/links"),
    }
    assert cashier.post("/merchant/links", data=form).status_code == 303

    text = owner.get("/merchant/staff").get_data(as_text=True)

    changes = text[text.index('id="changes-heading"') : text.index('id="actions-heading"')]
    actions = text[text.index('id="actions-heading"') :]
    assert "cashier@example.kz set to operator" in changes
    assert OWNER in changes  # who did it
    assert "command line" in changes  # the first owner came from the CLI
    assert "Payment link created" in actions
    assert "cashier@example.kz" in actions
    assert "(you)" in text
