"""`flask merchant …`: staff accounts from the command line."""

from __future__ import annotations

from flask import Flask
from sqlalchemy import select

from checkout.extensions import db
from checkout.models import Event, EventKind, StaffUser
from tests.merchant_support import sign_in

PASSWORD = "correct horse battery staple"


def run(app: Flask, *args: str, password: str | None = None) -> tuple[int, str]:
    result = app.test_cli_runner().invoke(args=["merchant", *args], input=password)
    return result.exit_code, result.output


def test_create_user_reads_the_password_from_stdin_and_the_person_can_sign_in(app: Flask) -> None:
    code, output = run(
        app,
        "create-user",
        "Owner@Example.KZ",
        "--role",
        "owner",
        "--password-stdin",
        password=PASSWORD + "\n",
    )
    assert code == 0, output
    assert output.strip() == "owner@example.kz: created, role owner"
    assert PASSWORD not in output
    sign_in(app.test_client(), "owner@example.kz", PASSWORD)


def test_create_user_again_updates_the_role_and_keeps_the_password(app: Flask) -> None:
    run(app, "create-user", "a@example.kz", "--role", "viewer", "--password-stdin", password=PASSWORD)
    code, output = run(app, "create-user", "a@example.kz", "--role", "operator")
    assert code == 0, output
    assert "updated, role operator" in output
    sign_in(app.test_client(), "a@example.kz", PASSWORD)
    with app.app_context():
        staff = db.session.execute(select(StaffUser)).scalar_one()
        assert staff.role == "operator"


def test_bad_input_is_refused_with_a_reason_and_nothing_stored(app: Flask) -> None:
    cases = [
        (("create-user", "a@example.kz", "--role", "viewer", "--password-stdin"), "short\n", "at least 12"),
        (("create-user", "not-an-email", "--role", "viewer", "--password-stdin"), PASSWORD, "not an email"),
        (("create-user", "a@example.kz", "--role", "viewer"), None, "needs a password"),
        (("create-user", "a@example.kz", "--role", "admin", "--password-stdin"), PASSWORD, "admin"),
    ]
    for args, password, reason in cases:
        code, output = run(app, *args, password=password)
        assert code != 0, args
        assert reason in output, output
    with app.app_context():
        assert db.session.execute(select(StaffUser)).first() is None


def test_list_and_disable_users(app: Flask) -> None:
    run(app, "create-user", "b@example.kz", "--role", "operator", "--password-stdin", password=PASSWORD)
    run(app, "create-user", "a@example.kz", "--role", "owner", "--password-stdin", password=PASSWORD)
    code, output = run(app, "disable-user", "B@example.kz")
    assert (code, output.strip()) == (0, "b@example.kz: disabled")
    code, output = run(app, "list-users")
    lines = output.strip().splitlines()
    assert lines[0].startswith("a@example.kz\towner\tenabled")
    assert lines[1].startswith("b@example.kz\toperator\tdisabled")
    code, output = run(app, "disable-user", "nobody@example.kz")
    assert code != 0
    assert "no account for nobody@example.kz" in output


def test_every_change_is_in_the_history(app: Flask) -> None:
    run(app, "create-user", "a@example.kz", "--role", "owner", "--password-stdin", password=PASSWORD)
    run(app, "disable-user", "a@example.kz")
    with app.app_context():
        events = db.session.execute(select(Event).order_by(Event.id)).scalars().all()
    assert [event.kind for event in events] == [EventKind.STAFF_CHANGED, EventKind.STAFF_CHANGED]
    assert [event.summary for event in events] == ["a@example.kz added as owner", "a@example.kz disabled"]
    assert all(event.data["via"] == "command line" for event in events)
