"""Compressed answers: brotli or gzip for the text the app renders (pages, fragments, JSON)."""

from __future__ import annotations

from flask import Flask
from flask_compress import Compress

# Below this a body is sent as it is: the compressed copy would save less than it costs to make.
# Static files follow the same rule (static_files.py).
MIN_COMPRESSED_BYTES = 500
# Brotli first (every current browser asks for it, and it is the smaller); gzip for the rest.
ALGORITHMS = ("br", "gzip")


def init_app(app: Flask) -> None:
    """Compress every answer worth it; call before other after_request hooks, so this one runs last."""
    app.config.update(
        COMPRESS_ALGORITHM=list(ALGORITHMS),
        COMPRESS_MIN_SIZE=MIN_COMPRESSED_BYTES,
        # Streamed answers (files, exports) go out as they are, chunk by chunk, as before.
        COMPRESS_STREAMS=False,
    )
    # One per app: Flask-Compress keeps its settings on the object.
    Compress(app)
