"""Publishing static files: hashed names, compressed copies, one folder per content, links in CSS."""

from __future__ import annotations

import os
import time
from collections.abc import Iterable
from pathlib import Path
from typing import Any
from urllib.parse import urljoin

import pytest
from werkzeug.test import Client
from werkzeug.wrappers import Response

from checkout import static_files
from checkout.static_files import Manifest, SourceFile, StaticFiles, publish, read_static

CSS = b"body { background: url(../img/dot.svg); }\n" + b"/* padding */\n" * 60


def not_found(environ: dict[str, Any], start_response: Any) -> Iterable[bytes]:
    return Response("not here", status=404)(environ, start_response)


@pytest.fixture(autouse=True)
def nothing_published(monkeypatch: pytest.MonkeyPatch) -> None:
    """Each test publishes afresh, as a new process would."""
    monkeypatch.setattr(static_files, "_published", {})


@pytest.fixture
def root(tmp_path: Path) -> Path:
    (tmp_path / "static" / "css").mkdir(parents=True)
    (tmp_path / "static" / "img").mkdir()
    (tmp_path / "static" / "css" / "site.css").write_bytes(CSS)
    (tmp_path / "static" / "img" / "dot.svg").write_bytes(b"<svg/>")
    return tmp_path / "static"


def test_a_hashed_name_keeps_the_folder_and_the_last_suffix() -> None:
    file = SourceFile("js/htmx-2.0.11.min.js", b"x", 0.0)
    assert file.hashed_name == f"js/htmx-2.0.11.min.{file.hash}.js"
    assert len(file.hash) == static_files.HASH_LENGTH


def test_the_digest_follows_the_content(root: Path) -> None:
    before = Manifest.of(read_static(root))
    (root / "img" / "dot.svg").write_bytes(b"<svg></svg>")
    after = Manifest.of(read_static(root))
    assert before.digest != after.digest
    assert before.hashed["css/site.css"] == after.hashed["css/site.css"]
    assert before.hashed["img/dot.svg"] != after.hashed["img/dot.svg"]


def test_a_link_in_css_resolves_from_the_hashed_name(root: Path, tmp_path: Path) -> None:
    files = read_static(root)
    manifest = Manifest.of(files)
    folder = publish(files, manifest, tmp_path / "published")
    client = Client(StaticFiles(not_found, folder, "static", manifest, {}))
    css_url = "/static/" + manifest.hashed["css/site.css"]
    with client.get(css_url) as css:
        assert css.status_code == 200
        assert "immutable" in css.headers["Cache-Control"]
    with client.get(urljoin(css_url, "../img/dot.svg")) as image:
        assert image.status_code == 200
        assert image.get_data() == b"<svg/>"


def test_workers_share_one_published_folder(
    root: Path, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    files = read_static(root)
    manifest = Manifest.of(files)
    first = publish(files, manifest, tmp_path / "published")
    assert sorted(path.name for path in first.glob("css/*")) == sorted(
        f"{name}{suffix}"
        for name in ("site.css", Path(manifest.hashed["css/site.css"]).name)
        for suffix in ("", ".br", ".gz")
    )
    # Another process finds the folder its sibling published instead of writing it again.
    monkeypatch.setattr(static_files, "_published", {})
    monkeypatch.setattr(static_files, "write_files", lambda *_: pytest.fail("published twice"))
    assert publish(files, manifest, tmp_path / "published") == first


def test_an_instance_folder_that_cannot_be_written_falls_back_to_a_temporary_one(
    root: Path, tmp_path: Path
) -> None:
    files = read_static(root)
    manifest = Manifest.of(files)
    blocked = tmp_path / "file"
    blocked.write_text("not a folder")
    folder = publish(files, manifest, blocked / "static")
    assert (folder / manifest.hashed["css/site.css"]).read_bytes() == CSS


def test_publishing_keeps_the_latest_deploys_folders_and_removes_older_ones_and_dead_drafts(
    root: Path, tmp_path: Path
) -> None:
    base = tmp_path / "published"
    for age, name in enumerate(("newer", "new", "old", "oldest", ".draft-dead")):
        folder = base / name
        folder.mkdir(parents=True)
        moment = time.time() - 3600 * (age + 2)
        os.utime(folder, (moment, moment))
    files = read_static(root)
    folder = publish(files, Manifest.of(files), base)
    assert sorted(path.name for path in base.iterdir()) == sorted([folder.name, "newer", "new"])
