"""Liveness and readiness for the PaaS: /healthz from the process alone, /readyz from what it depends on."""

from __future__ import annotations

from typing import Any

from flask import Blueprint
from flask.blueprints import BlueprintSetupState

from .readiness import Status, migration_heads, recent_checks, verdict

bp = Blueprint("health", __name__)


@bp.record_once
def read_migration_heads(state: BlueprintSetupState) -> None:
    """Read the migrations' head while starting: a broken migrations folder stops start-up, not a probe."""
    migration_heads()


@bp.get("/healthz")
def healthz() -> tuple[dict[str, str], int]:
    """200 while the process answers: a database blip must not make the PaaS restart every process."""
    return {"status": "ok"}, 200


@bp.get("/readyz")
def readyz() -> tuple[dict[str, Any], int]:
    """Each check with its time; 200 when ready or degraded, 503 naming what failed otherwise."""
    results = recent_checks()
    status = verdict(results)
    body: dict[str, Any] = {
        "status": status,
        "checks": {check.value: result.as_json() for check, result in results.items()},
    }
    failed = [check.value for check, result in results.items() if not result.ok]
    if failed:
        body["failed"] = failed
    return body, 503 if status is Status.NOT_READY else 200
