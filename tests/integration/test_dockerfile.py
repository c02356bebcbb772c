"""The Dockerfile: same command as the Procfile, not root, enough files to serve, and docs that keep up."""

from __future__ import annotations

import json
import os
import re
import secrets
import shlex
import shutil
import subprocess
import sys
import time
from collections.abc import Iterator, Mapping
from pathlib import Path

import pytest
import requests

from checkout import create_app
from checkout.check_config.offline import offline_findings
from checkout.gateway import current_settings
from tests.conftest import KEYS, PRODUCTION
from tests.processes import ROOT, clean_environ, free_port, serving

DOCKERFILE = ROOT / "Dockerfile"
DOCKERIGNORE = ROOT / ".dockerignore"
PROCFILE = ROOT / "Procfile"
DEPLOY = ROOT / "docs" / "DEPLOY.md"
# gunicorn reads these itself (its documented defaults for bind, workers and forwarded_allow_ips).
READ_BY_GUNICORN = ("PORT", "WEB_CONCURRENCY", "FORWARDED_ALLOW_IPS")
# `os.environ.get("NAME")`, `os.environ["NAME"]`, `os.getenv("NAME")` in code the deployed app runs.
ENVIRON_READ = re.compile(
    r"""(?:os\.environ(?:\.get\(|\.setdefault\(|\[)|os\.getenv\()\s*["']([A-Z][A-Z0-9_]*)["']"""
)
ROOT_USERS = ("", "0", "root", "0:0", "root:root")


def instructions(path: Path = DOCKERFILE) -> list[tuple[str, str]]:
    """The Dockerfile as (INSTRUCTION, arguments), continuation lines joined, comments dropped."""
    found: list[tuple[str, str]] = []
    pending = ""
    for line in path.read_text("utf-8").splitlines():
        if not pending and (not line.strip() or line.lstrip().startswith("#")):
            continue
        if line.rstrip().endswith("\\"):
            pending += line.rstrip()[:-1] + " "
            continue
        text = (pending + line).strip()
        pending = ""
        keyword, _, arguments = text.partition(" ")
        found.append((keyword.upper(), arguments.strip()))
    return found


def procfile_line(process: str) -> str:
    """The command of one Procfile process."""
    lines = [line for line in PROCFILE.read_text("utf-8").splitlines() if line.startswith(f"{process}:")]
    assert len(lines) == 1, f"the Procfile must have exactly one {process} line"
    return lines[0].removeprefix(f"{process}:").strip()


def copied_paths() -> list[str]:
    """Every source the Dockerfile's COPY instructions take from the build context."""
    sources: list[str] = []
    for keyword, arguments in instructions():
        if keyword == "COPY":
            parts = [part for part in shlex.split(arguments) if not part.startswith("--")]
            sources.extend(parts[:-1])
    return sources


def test_image_runs_the_procfile_web_command() -> None:
    """A PaaS that builds the image runs exactly what a Procfile PaaS runs for `web`."""
    commands = [arguments for keyword, arguments in instructions() if keyword == "CMD"]
    assert len(commands) == 1, "the Dockerfile must have exactly one CMD"
    # The JSON (exec) form: gunicorn is PID 1 and gets the PaaS's SIGTERM itself, for a graceful stop.
    assert json.loads(commands[0]) == shlex.split(procfile_line("web"))


def test_image_is_slim_python_311_and_does_not_run_as_root() -> None:
    """The base is python:3.11-slim, and the last USER (the one CMD runs as) is not root."""
    steps = instructions()
    assert steps[0] == ("FROM", "python:3.11-slim")
    users = [index for index, (keyword, _) in enumerate(steps) if keyword == "USER"]
    assert users, "the Dockerfile never leaves root: add a USER instruction"
    last_user = steps[users[-1]][1]
    assert last_user not in ROOT_USERS, f"USER {last_user} is root"
    cmd = next(index for index, (keyword, _) in enumerate(steps) if keyword == "CMD")
    assert users[-1] < cmd, "USER must come before CMD"


def test_image_installs_the_pinned_requirements_without_a_cache() -> None:
    """The image gets the same pinned set CI tests, and no pip cache bloats it."""
    runs = [arguments for keyword, arguments in instructions() if keyword == "RUN"]
    install = [run for run in runs if "pip install" in run]
    assert install == ["pip install --no-cache-dir -r requirements.txt"]


def test_every_copied_path_exists_and_is_not_ignored() -> None:
    """A renamed folder, or a .dockerignore line that hides it, breaks the build here first."""
    ignored = [
        line.strip()
        for line in DOCKERIGNORE.read_text("utf-8").splitlines()
        if line.strip() and not line.startswith("#")
    ]
    for source in copied_paths():
        assert (ROOT / source).exists(), f"the Dockerfile copies {source}, which is not in the project"
        assert source not in ignored, f".dockerignore leaves {source} out of the build context"


@pytest.fixture
def image_folder(tmp_path: Path) -> Path:
    """The project folder as the image holds it: only what the Dockerfile copies into /app."""
    folder = tmp_path / "app"
    folder.mkdir()
    for source in copied_paths():
        if source == "requirements.txt":
            continue
        path = ROOT / source
        if path.is_dir():
            shutil.copytree(path, folder / source, ignore=shutil.ignore_patterns("__pycache__"))
        else:
            shutil.copy2(path, folder / source)
    (folder / "instance").mkdir()
    return folder


def test_copied_files_are_enough_to_migrate_and_serve(image_folder: Path, tmp_path: Path) -> None:
    """The release and web commands work from the image's files alone: migrations, checks, pages."""
    port = free_port()
    database = f"sqlite:///{tmp_path / 'image.sqlite3'}"
    environ = clean_environ(**{**PRODUCTION, "DATABASE_URL": database, "PORT": str(port)})
    environ.pop("GUNICORN_CMD_ARGS", None)
    # Only the copy is importable: the project folder itself must not fill in for a missing file.
    environ["PYTHONPATH"] = str(image_folder)
    # `flask` and `gunicorn` as the image's PATH has them: this interpreter's.
    environ["PATH"] = f"{Path(sys.executable).parent}{os.pathsep}{environ.get('PATH', '')}"
    release = subprocess.run(
        ["sh", "-c", procfile_line("release")],
        cwd=image_folder,
        env=environ,
        capture_output=True,
        text=True,
        timeout=120,
    )
    assert release.returncode == 0, release.stdout + release.stderr
    assert "ERROR" not in release.stdout
    web = shlex.split(procfile_line("web"))
    assert web[0] == "gunicorn"
    # Loopback only: this server runs with test keys. A command-line --bind overrides the config file's.
    command = [sys.executable, "-m", "gunicorn", "--bind", f"127.0.0.1:{port}", *web[1:]]
    with serving(command, environ, port, tmp_path / "gunicorn.log", cwd=image_folder) as url:
        assert requests.get(url + "/healthz", timeout=10).json() == {"status": "ok"}
        page = requests.get(url + "/", timeout=10)
        assert page.status_code == 200
        assert "<html" in page.text
        style = re.search(r'href="(/static/[^"]+\.css)"', page.text)
        assert style, "the front page links no stylesheet"
        assert requests.get(url + style[1], timeout=10).status_code == 200


class RecordingEnviron(Mapping[str, str]):
    """An environment that remembers every name the app asked for, set or not."""

    def __init__(self, values: Mapping[str, str]) -> None:
        self.values = dict(values)
        self.asked: set[str] = set()

    def __getitem__(self, name: str) -> str:
        self.asked.add(name)
        return self.values[name]

    def __contains__(self, name: object) -> bool:
        if isinstance(name, str):
            self.asked.add(name)
        return name in self.values

    def __iter__(self) -> Iterator[str]:
        return iter(self.values)

    def __len__(self) -> int:
        return len(self.values)


def settings_the_app_reads(tmp_path: Path) -> set[str]:
    """Every variable the deployed processes read: create_app's, check-config's, os.environ's, gunicorn's."""
    names: set[str] = set(READ_BY_GUNICORN)
    for environment in ("production", "development"):
        environ = RecordingEnviron(
            {
                **PRODUCTION,
                "APP_ENV": environment,
                "INSTANCE_PATH": str(tmp_path / environment),
                # A database file here: check-config's probe must not wait for PRODUCTION's unreachable host.
                "DATABASE_URL": f"sqlite:///{tmp_path / environment}.sqlite3",
            }
        )
        app = create_app(environ)
        with app.app_context():
            offline_findings(app, current_settings(), environ)
        names |= environ.asked
    sources = [ROOT / "wsgi.py", ROOT / "gunicorn.conf.py", *sorted((ROOT / "checkout").rglob("*.py"))]
    for source in sources:
        # The sandbox is never mounted in production (HIGHHELP_API_URL is required there).
        if source.exists() and "sandbox" not in source.relative_to(ROOT).parts:
            names |= set(ENVIRON_READ.findall(source.read_text("utf-8")))
    return names


def test_deploy_guide_names_every_setting(tmp_path: Path) -> None:
    """A setting added to the code without a line in docs/DEPLOY.md fails here."""
    guide = DEPLOY.read_text("utf-8")
    names = settings_the_app_reads(tmp_path)
    assert {"SECRET_KEY", "DATABASE_URL", "HIGHHELP_PRIVATE_KEY_FILE", "PORT", "INSTANCE_PATH"} <= names
    missing = sorted(name for name in names if f"`{name}`" not in guide)
    assert not missing, f"docs/DEPLOY.md does not mention {missing}"


def docker_answers() -> bool:
    """True when a docker CLI is installed and its daemon answers."""
    if shutil.which("docker") is None:
        return False
    try:
        return (
            subprocess.run(["docker", "info"], capture_output=True, timeout=30, check=False).returncode == 0
        )
    except subprocess.TimeoutExpired:
        return False


def test_image_builds_and_answers_healthz() -> None:
    """The image builds, starts as the Procfile's web process, answers /healthz, and is not root."""
    if not docker_answers():
        pytest.skip(
            "no container runtime: `docker info` failed (no docker CLI, or its daemon is not running)"
        )
    tag = f"checkout-test-{secrets.token_hex(6)}"
    build = subprocess.run(
        ["docker", "build", "--tag", tag, str(ROOT)], capture_output=True, text=True, timeout=1800
    )
    assert build.returncode == 0, build.stderr[-4000:]
    container = None
    try:
        settings = {
            **PRODUCTION,
            "SECRET_KEY": secrets.token_urlsafe(48),
            # Nobody listens there: /healthz answers from the process alone.
            "DATABASE_URL": "postgresql://nobody@127.0.0.1:9/none",
            "HIGHHELP_PRIVATE_KEY": (KEYS / "merchant_private.pem").read_text("utf-8"),
            "HIGHHELP_CALLBACK_PUBLIC_KEY": (KEYS / "highhelp_callback_public.pem").read_text("utf-8"),
        }
        del settings["HIGHHELP_PRIVATE_KEY_FILE"], settings["HIGHHELP_CALLBACK_PUBLIC_KEY_FILE"]
        # `-e NAME` takes the value from docker's own environment: PEM text needs no quoting.
        names = [argument for name in settings for argument in ("-e", name)]
        started = subprocess.run(
            ["docker", "run", "--detach", "--publish", "127.0.0.1::8000", *names, tag],
            env={**os.environ, **settings},
            capture_output=True,
            text=True,
            timeout=60,
        )
        assert started.returncode == 0, started.stderr
        container = started.stdout.strip()
        port = subprocess.run(
            ["docker", "port", container, "8000/tcp"], capture_output=True, text=True, timeout=30, check=True
        ).stdout.split()[0]
        url = f"http://{port}/healthz"
        deadline = time.monotonic() + 60
        answer = None
        while time.monotonic() < deadline:
            try:
                answer = requests.get(url, timeout=2)
                break
            except requests.RequestException:
                time.sleep(0.5)
        logs = subprocess.run(["docker", "logs", container], capture_output=True, text=True, timeout=30)
        assert answer is not None, f"the container never answered /healthz:\n{logs.stdout}{logs.stderr}"
        assert answer.status_code == 200
        assert answer.json() == {"status": "ok"}
        uid = subprocess.run(
            ["docker", "exec", container, "python", "-c", "import os; print(os.getuid())"],
            capture_output=True,
            text=True,
            timeout=30,
            check=True,
        )
        assert uid.stdout.strip() != "0"
    finally:
        if container:
            subprocess.run(["docker", "rm", "--force", container], capture_output=True, timeout=60)
        subprocess.run(["docker", "rmi", "--force", tag], capture_output=True, timeout=120)
