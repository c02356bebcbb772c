"""check-config's report when the app cannot be built: one ERROR line per start-up problem."""

from __future__ import annotations

import pytest

from checkout.check_config import report_unloadable, requested
from checkout.config import ConfigError
from checkout.sandbox import SandboxConfigError


def test_each_config_problem_is_its_own_error_line(capsys: pytest.CaptureFixture[str]) -> None:
    problem = ConfigError("production", ["DATABASE_URL: required in production", "SECRET_KEY: too short"])
    assert report_unloadable(problem) == 1
    lines = capsys.readouterr().out.splitlines()
    assert lines[:2] == ["ERROR DATABASE_URL: required in production", "ERROR SECRET_KEY: too short"]
    assert lines[2].startswith("WARNING other checks:")


def test_a_sandbox_problem_is_read_from_its_message(capsys: pytest.CaptureFixture[str]) -> None:
    problem = SandboxConfigError("Sandbox configuration is invalid:\n  - SANDBOX_PORT: not a number")
    assert report_unloadable(problem) == 1
    assert capsys.readouterr().out.splitlines()[0] == "ERROR SANDBOX_PORT: not a number"


@pytest.mark.parametrize(
    ("argv", "expected"),
    [
        (["flask", "--app", "wsgi", "check-config"], True),
        (["flask", "--app", "wsgi", "check-config", "--online"], True),
        (["flask", "--app", "wsgi", "db", "upgrade"], False),
        (["gunicorn", "wsgi:app"], False),
    ],
)
def test_only_check_config_turns_a_start_up_error_into_a_report(argv: list[str], expected: bool) -> None:
    assert requested(argv) is expected
