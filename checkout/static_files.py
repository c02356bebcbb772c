"""Static files under content-hashed names, cached for a year and sent precompressed (WhiteNoise).

At start-up every file of static/ is hashed; url_for('static', filename='css/app.css') then gives
/static/css/app.3f2a9c1b7d.css. The files are published once into a folder of the instance folder
(the only one the app may write in the Docker image; the PaaS slug's disk is writable but
ephemeral, so a new dyno publishes again): each file under its plain and its hashed name, with
brotli and gzip copies beside it, which WhiteNoise picks by the browser's Accept-Encoding. The
folder is named by a digest of every file's hash, so workers that start together, or a restart
with the same files, share one; a name that is not published (an old hash) falls through to the
app and gets 404. Relative url(...) links in CSS stay valid: a hashed file sits in the same
folder as the plain names it links to.
"""

from __future__ import annotations

import gzip
import hashlib
import logging
import os
import shutil
import tempfile
import time
from collections.abc import Callable, Iterable, Iterator, Mapping
from dataclasses import dataclass
from functools import cached_property
from pathlib import Path, PurePosixPath
from typing import TYPE_CHECKING, Any

import brotli
from flask import Flask
from whitenoise import WhiteNoise
from whitenoise.string_utils import decode_path_info

from . import logs
from .compression import MIN_COMPRESSED_BYTES

if TYPE_CHECKING:
    from wsgiref.headers import Headers

    from _typeshed.wsgi import StartResponse, WSGIApplication, WSGIEnvironment

log = logging.getLogger(__name__)

STATIC_ENDPOINT = "static"
# Hex digits of a file's SHA-256 in its served name: app.3f2a9c1b7d.css.
HASH_LENGTH = 10
# A hashed name never changes content, so a browser keeps it a year without asking again.
IMMUTABLE = "public, max-age=31536000, immutable"
# A plain name (typed or bookmarked) may change with a deploy: a minute, then ask again.
PLAIN = "public, max-age=60"
# Text worth compressing; other images and woff2 fonts are compressed already.
COMPRESSIBLE_SUFFIXES = frozenset(
    {".css", ".js", ".mjs", ".json", ".map", ".svg", ".txt", ".html", ".xml", ".ico", ".ttf", ".otf"}
)
# Where published folders live, under the instance folder. A deploy's processes may overlap the
# last one's while both share the folder (a volume), so the latest few stay; older ones go.
PUBLISHED_FOLDER = "static"
PUBLISHED_KEPT = 3
DRAFT_PREFIX = ".draft-"
# A draft this old was left by a process that died while publishing.
ABANDONED_AFTER_SECONDS = 3600
# Changes the digest, so a change of what is published (new encodings) publishes again.
LAYOUT_VERSION = "1"


@dataclass(frozen=True)
class SourceFile:
    """One file of static/: its name there, its content and the hash of it."""

    name: str
    content: bytes
    mtime: float

    @cached_property
    def hash(self) -> str:
        """The first HASH_LENGTH hex digits of the content's SHA-256."""
        return hashlib.sha256(self.content).hexdigest()[:HASH_LENGTH]

    @property
    def hashed_name(self) -> str:
        """css/app.css as css/app.3f2a9c1b7d.css."""
        path = PurePosixPath(self.name)
        return str(path.with_name(f"{path.stem}.{self.hash}{path.suffix}"))


@dataclass(frozen=True)
class Manifest:
    """Plain name to hashed name, and the ETag each served name answers with."""

    hashed: Mapping[str, str]
    etags: Mapping[str, str]
    digest: str

    @classmethod
    def of(cls, files: Iterable[SourceFile]) -> Manifest:
        """The manifest of these files; the digest names their published folder."""
        hashed: dict[str, str] = {}
        etags: dict[str, str] = {}
        whole = hashlib.sha256(LAYOUT_VERSION.encode())
        for file in sorted(files, key=lambda file: file.name):
            hashed[file.name] = file.hashed_name
            # From the content: every worker and every dyno gives the same one for the same file.
            etags[file.name] = etags[file.hashed_name] = f'"{file.hash}"'
            whole.update(f"{file.name}\0{file.hash}\n".encode())
        return cls(hashed, etags, whole.hexdigest()[:HASH_LENGTH])


def read_static(root: Path) -> list[SourceFile]:
    """Every file under root, symlinked ones included (static/sandbox/htmx is one)."""
    files = []
    for folder, _, names in os.walk(root, followlinks=True):
        for name in names:
            path = Path(folder, name)
            files.append(
                SourceFile(path.relative_to(root).as_posix(), path.read_bytes(), path.stat().st_mtime)
            )
    return files


def compressed(file: SourceFile) -> Iterator[tuple[str, bytes]]:
    """(suffix, bytes) of the brotli and gzip copies worth serving instead of the file."""
    if (
        len(file.content) < MIN_COMPRESSED_BYTES
        or PurePosixPath(file.name).suffix not in COMPRESSIBLE_SUFFIXES
    ):
        return
    # Made once per deploy, so the slowest, smallest settings; mtime=0 keeps the gzip reproducible.
    for suffix, content in (
        (".br", brotli.compress(file.content, quality=11)),
        (".gz", gzip.compress(file.content, 9, mtime=0)),
    ):
        if len(content) < len(file.content):
            yield suffix, content


def write_files(files: Iterable[SourceFile], folder: Path) -> None:
    """Each file under its plain and hashed name, with its compressed copies, into folder."""
    for file in files:
        copies = [("", file.content), *compressed(file)]
        for name in (file.name, file.hashed_name):
            for suffix, content in copies:
                path = folder / f"{name}{suffix}"
                path.parent.mkdir(parents=True, exist_ok=True)
                path.write_bytes(content)
                os.utime(path, (file.mtime, file.mtime))


# Published folders by digest: each app a test or a CLI command builds reuses the first one.
_published: dict[str, Path] = {}


def publish(files: list[SourceFile], manifest: Manifest, base: Path) -> Path:
    """The folder serving these files: published once per digest, atomically, so workers can race."""
    known = _published.get(manifest.digest)
    if known is not None and known.is_dir():
        return known
    try:
        folder = base / manifest.digest
        if folder.is_dir():
            # In use again: the newest, so the last to be removed.
            os.utime(folder)
        else:
            base.mkdir(parents=True, exist_ok=True)
            draft = Path(tempfile.mkdtemp(prefix=DRAFT_PREFIX, dir=base))
            write_files(files, draft)
            try:
                draft.rename(folder)
            except OSError:
                # Another worker published the same files first.
                shutil.rmtree(draft, ignore_errors=True)
            remove_stale(base)
    except OSError as error:
        # An instance folder we cannot write in must not stop the shop: a folder of this process's own.
        log.warning("static files published to a temporary folder: %s", error)
        folder = Path(tempfile.mkdtemp(prefix="checkout-static-"))
        write_files(files, folder)
    _published[manifest.digest] = folder
    return folder


def remove_stale(base: Path) -> None:
    """Remove all but the PUBLISHED_KEPT newest published folders, and abandoned drafts."""
    folders = sorted(
        (path for path in base.iterdir() if path.is_dir()), key=lambda path: path.stat().st_mtime
    )
    published = [path for path in folders if not path.name.startswith(DRAFT_PREFIX)]
    abandoned = time.time() - ABANDONED_AFTER_SECONDS
    drafts = [
        path for path in folders if path.name.startswith(DRAFT_PREFIX) and path.stat().st_mtime < abandoned
    ]
    for folder in [*published[:-PUBLISHED_KEPT], *drafts]:
        shutil.rmtree(folder, ignore_errors=True)


class StaticFiles(WhiteNoise):  # type: ignore[misc]
    """WhiteNoise with a year's cache for hashed names, a minute's for plain ones, content ETags."""

    def __init__(
        self,
        application: WSGIApplication,
        folder: Path,
        prefix: str,
        manifest: Manifest,
        headers: Mapping[str, str],
    ) -> None:
        self.prefix_length = len(prefix) + 2
        self.immutable_urls = frozenset(f"/{prefix}/{name}" for name in manifest.hashed.values())
        self.manifest = manifest
        self.extra_headers = headers
        self.route = f"/{prefix}/<path:filename>"
        super().__init__(
            application,
            root=folder,
            prefix=prefix,
            allow_all_origins=False,
            add_headers_function=self.add_app_headers,
        )

    def __call__(self, environ: WSGIEnvironment, start_response: StartResponse) -> Iterable[bytes]:
        """Serve a published file, logged under the static route as when the app served it."""
        if decode_path_info(environ.get("PATH_INFO", "")) in self.files:
            logs.bind(route=self.route)
        return super().__call__(environ, start_response)  # type: ignore[no-any-return]

    def add_cache_headers(self, headers: Headers, path: str, url: str) -> None:
        """Cache-Control by name, and the ETag from the content."""
        headers["Cache-Control"] = IMMUTABLE if url in self.immutable_urls else PLAIN
        etag = self.manifest.etags.get(url[self.prefix_length :])
        if etag is not None:
            headers["ETag"] = etag

    def add_app_headers(self, headers: Headers, path: str, url: str) -> None:
        """The security headers the app's own answers carry."""
        for name, value in self.extra_headers.items():
            headers[name] = value


def hashed_url_defaults(manifest: Manifest) -> Callable[[str, dict[str, Any]], None]:
    """A url_defaults hook: url_for('static', filename=…) names the hashed file when there is one."""

    def hashed_name(endpoint: str, values: dict[str, Any]) -> None:
        name = values.get("filename")
        if endpoint == STATIC_ENDPOINT and isinstance(name, str):
            values["filename"] = manifest.hashed.get(name, name)

    return hashed_name


def init_app(app: Flask, headers: Mapping[str, str]) -> None:
    """Publish static/, link pages to hashed names, and serve them ahead of the app."""
    if app.static_folder is None or app.static_url_path is None:
        return
    files = read_static(Path(app.static_folder))
    manifest = Manifest.of(files)
    folder = publish(files, manifest, Path(app.instance_path) / PUBLISHED_FOLDER)
    app.url_defaults(hashed_url_defaults(manifest))
    prefix = app.static_url_path.strip("/")
    app.wsgi_app = StaticFiles(app.wsgi_app, folder, prefix, manifest, headers)  # type: ignore[method-assign]
