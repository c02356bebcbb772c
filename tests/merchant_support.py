"""Helpers for back-office tests: staff accounts and signed-in clients."""

from __future__ import annotations

from flask import Flask
from flask.testing import FlaskClient

from checkout.merchant import accounts
from checkout.models import StaffRole
from tests.checkout_support import csrf_of

PASSWORD = "a long test password"


def make_staff(app: Flask, email: str = "owner@example.kz", role: StaffRole = StaffRole.OWNER) -> str:
    """A staff account with the shared test password; its email."""
    with app.app_context():
        accounts.save(email, role, PASSWORD)
    return email


def sign_in(client: FlaskClient, email: str, password: str = PASSWORD) -> FlaskClient:
    """Sign the client in through the form, as a person would; fails the test if refused.

    The client reads English pages (the shop's default is Russian), so tests can match the source texts.
    """
    client.set_cookie("lang", "en")
    token = csrf_of(client.get("/merchant/login").get_data(as_text=True))
    response = client.post(
        "/merchant/login", data={"email": email, "password": password, "csrf_token": token}
    )
    assert response.status_code == 303, response.get_data(as_text=True)
    return client


def signed_in(app: Flask, role: StaffRole = StaffRole.OWNER, email: str | None = None) -> FlaskClient:
    """A new client signed in as a new member of staff with `role`."""
    address = make_staff(app, email or f"{role}@example.kz", role)
    return sign_in(app.test_client(), address)


def page_csrf(client: FlaskClient, path: str) -> str:
    """The CSRF token of a back-office page, for posting its forms."""
    return csrf_of(client.get(path).get_data(as_text=True))
