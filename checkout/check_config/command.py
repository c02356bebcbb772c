"""The click command, and the report check-config gives when the app cannot even be built."""

from __future__ import annotations

import os
from collections.abc import Sequence

import click
from flask import current_app
from flask.cli import with_appcontext

from ..gateway import current_settings, highhelp_client, public_base_url
from .findings import Finding, error, exit_code, warning
from .offline import offline_findings
from .online import online_findings

COMMAND_NAME = "check-config"
# How a problem in a start-up error's message is listed: "  - NAME: why".
PROBLEM_BULLET = "- "


@click.command(COMMAND_NAME)
@click.option(
    "--online",
    is_flag=True,
    help="Also POST to our callback URLs from outside and ask HighHelp's /info with our keys.",
)
@with_appcontext
def check_config_command(online: bool) -> None:
    """Check settings, keys, URLs, the database and mail before going live; exit 1 on any ERROR."""
    settings = current_settings()
    findings = offline_findings(current_app, settings, os.environ)
    if online:
        findings += online_findings(public_base_url(), highhelp_client())
    _report(findings)
    raise SystemExit(exit_code(findings))


def requested(argv: Sequence[str]) -> bool:
    """True when this process is `flask … check-config`: wsgi.py then reports instead of stopping."""
    return COMMAND_NAME in argv[1:]


def report_unloadable(problem: Exception) -> int:
    """Each start-up problem (ConfigError lists them) as an ERROR line; the exit status, 1."""
    problems: list[str] = getattr(problem, "problems", None) or [
        line.strip().removeprefix(PROBLEM_BULLET)
        for line in str(problem).splitlines()
        if line.strip().startswith(PROBLEM_BULLET)
    ]
    findings = [_problem_finding(text) for text in problems or [str(problem)]]
    findings.append(warning("other checks", "not run: they need the settings above to be valid"))
    _report(findings)
    return exit_code(findings)


def _problem_finding(text: str) -> Finding:
    """`NAME: why` as the finding for NAME."""
    name, separator, why = text.partition(": ")
    return error(name, why) if separator else error("settings", text)


def _report(findings: list[Finding]) -> None:
    for finding in findings:
        click.echo(str(finding))
