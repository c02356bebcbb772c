"""A finding is one line of check-config's report: ok, WARNING or ERROR, what, and why."""

from __future__ import annotations

import enum
from collections.abc import Iterable
from dataclasses import dataclass


class Severity(enum.StrEnum):
    """How a finding weighs: any ERROR makes check-config exit 1."""

    OK = "ok"
    WARNING = "WARNING"
    ERROR = "ERROR"


@dataclass(frozen=True)
class Finding:
    """One line: `ERROR HIGHHELP_API_URL: must be https in production`."""

    severity: Severity
    what: str
    why: str

    def __str__(self) -> str:
        return f"{self.severity} {self.what}: {self.why}"


def ok(what: str, why: str) -> Finding:
    """A check that passed."""
    return Finding(Severity.OK, what, why)


def warning(what: str, why: str) -> Finding:
    """Worth a look, but not wrong."""
    return Finding(Severity.WARNING, what, why)


def error(what: str, why: str) -> Finding:
    """Wrong: going live like this fails."""
    return Finding(Severity.ERROR, what, why)


def exit_code(findings: Iterable[Finding]) -> int:
    """1 when any finding is an error, 0 otherwise."""
    return int(any(finding.severity is Severity.ERROR for finding in findings))
