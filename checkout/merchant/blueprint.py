"""The back office's blueprint; its page modules add their routes to it."""

from __future__ import annotations

from flask import Blueprint

bp = Blueprint("merchant", __name__, url_prefix="/merchant")
