"""A real server (gunicorn) and Debian's Chromium driven by Playwright."""

from __future__ import annotations

import os
import shutil
from collections.abc import Callable, Iterator
from pathlib import Path

import pytest
from flask import Flask

from checkout.shop.catalog import load_demo_products
from tests.conftest import make_environ
from tests.processes import ROOT, clean_environ, free_port, local_gunicorn, serving

CHROMIUM = os.environ.get("CHROMIUM_PATH", "/usr/bin/chromium")
ARTIFACTS = ROOT / "test-artifacts"
# The innermost elements that reach past the right edge of the screen, to name in a failure.
WIDER_THAN_THE_SCREEN = """
(() => {
  const edge = document.documentElement.clientWidth + 1;
  const past = e => e.getBoundingClientRect().right > edge;
  return [...document.querySelectorAll('body *')]
    .filter(e => past(e) && ![...e.children].some(past))
    .map(e => e.tagName.toLowerCase() + (e.id ? '#' + e.id : '') + (e.className ? '.' + e.className : '')
      + ': ' + (e.textContent || '').trim().slice(0, 40));
})()
"""
CHROMIUM_ARGS = [
    "--no-sandbox",
    "--disable-background-networking",
    "--disable-component-update",
    "--disable-sync",
    "--disable-gpu",
    "--no-first-run",
]


@pytest.fixture
def live_server(database_url: str, tmp_path: Path, make_app: Callable[..., Flask]) -> Iterator[str]:
    """The app with the demo catalogue, served by gunicorn on a free loopback port, as in production."""
    with make_app().app_context():
        load_demo_products()
    port = free_port()
    command = local_gunicorn(port)
    environ = server_environ(database_url, tmp_path, port)
    with serving(command, environ, port, tmp_path / "server.log") as url:
        yield url


def server_environ(database_url: str, tmp_path: Path, port: int) -> dict[str, str]:
    """The settings the live server runs with; CLI commands against it use the same."""
    return clean_environ(
        **make_environ(
            database_url,
            SANDBOX_RESEND_SECONDS="2",
            INSTANCE_PATH=str(tmp_path / "instance"),
            PUBLIC_BASE_URL=f"http://127.0.0.1:{port}",
        )
    )


@pytest.fixture(scope="session")
def browser() -> Iterator[object]:
    """Debian's Chromium; missing Chromium skips locally and fails in CI."""
    if not shutil.which(CHROMIUM):
        if os.environ.get("CI"):
            pytest.fail(f"Chromium not found at {CHROMIUM}; .ci/run installs Debian's chromium package")
        pytest.skip(f"browser tests skipped: no Chromium at {CHROMIUM} (apt-get install chromium)")
    from playwright.sync_api import sync_playwright

    with sync_playwright() as playwright:
        browser = playwright.chromium.launch(executable_path=CHROMIUM, args=CHROMIUM_ARGS, headless=True)
        yield browser
        browser.close()


@pytest.fixture
def artifacts() -> Path:
    """Where screenshots go, for people to look at after a run."""
    ARTIFACTS.mkdir(exist_ok=True)
    return ARTIFACTS
