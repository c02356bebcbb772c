"""/metrics for Prometheus, behind METRICS_TOKEN, and the hooks that feed it from the app's requests."""

from __future__ import annotations

import hmac
import logging
import os
from collections.abc import Iterable, Iterator
from http import HTTPStatus

from flask import Blueprint, Flask, Response, abort, request
from prometheus_client import CONTENT_TYPE_LATEST, REGISTRY, CollectorRegistry, generate_latest
from prometheus_client.metrics_core import GaugeMetricFamily, Metric
from prometheus_client.multiprocess import MultiProcessCollector
from prometheus_client.registry import Collector
from sqlalchemy import func, select
from sqlalchemy.exc import SQLAlchemyError

from . import gateway, metrics
from .extensions import db, limiter
from .gateway import current_settings
from .models import MailStatus, OutgoingMail
from .payments.review_queue import open_item_count

log = logging.getLogger(__name__)
bp = Blueprint("metrics", __name__)

BEARER = "Bearer"
# The outbox statuses worth a gauge: what waits, and what was given up. Sent mail only grows.
OUTBOX_STATUSES = (MailStatus.PENDING, MailStatus.FAILED)


def init_app(app: Flask) -> None:
    """Count HighHelp's calls and the app's 429s; /metrics itself is the blueprint."""
    gateway.observe_highhelp_calls(app, metrics.count_highhelp_call)

    @app.after_request
    def count_refusals(response: Response) -> Response:
        # Every 429 the app sends comes from a rate limit, whichever page renders it (the error page,
        # the sign-in form's own), so counting the answers counts every refusal once.
        if response.status_code == HTTPStatus.TOO_MANY_REQUESTS:
            metrics.count_rate_limit_refusal(request.endpoint)
        return response


@bp.get("/metrics")
@limiter.exempt
def scrape() -> Response:
    """The metrics in Prometheus' text format: 404 without METRICS_TOKEN, 401 without the bearer."""
    token = current_settings().metrics_token
    if token is None:
        abort(HTTPStatus.NOT_FOUND)
    scheme, _, given = request.headers.get("Authorization", "").partition(" ")
    # compare_digest: the time taken says nothing about how much of a guess was right.
    if scheme.lower() != BEARER.lower() or not hmac.compare_digest(given.strip().encode(), token.encode()):
        return Response(
            "a bearer token is required\n",
            HTTPStatus.UNAUTHORIZED,
            {"WWW-Authenticate": f'{BEARER} realm="metrics"'},
            mimetype="text/plain",
        )
    # content_type, not mimetype: CONTENT_TYPE_LATEST carries its charset, and Flask would add a second.
    return Response(generate_latest(scrape_registry()), content_type=CONTENT_TYPE_LATEST)


def scrape_registry() -> CollectorRegistry:
    """What one scrape reads: every worker's counts (or this process's), and the database's gauges."""
    registry = CollectorRegistry(auto_describe=False)
    if os.environ.get(metrics.MULTIPROC_DIR_VARIABLE):
        # gunicorn: add up the files every worker, alive or gone, wrote. Per-process metrics (memory,
        # CPU) have no meaning summed, so multiprocess mode leaves them out.
        MultiProcessCollector(registry)  # type: ignore[no-untyped-call]
    else:
        registry.register(ProcessRegistry())
    registry.register(DatabaseGauges())
    return registry


class ProcessRegistry(Collector):
    """This process's own registry, with prometheus_client's process, platform and GC metrics."""

    def collect(self) -> Iterable[Metric]:
        """Everything the default registry holds."""
        return REGISTRY.collect()


class DatabaseGauges(Collector):
    """What waits for someone, read from the database at scrape time; left out when it does not answer."""

    def collect(self) -> Iterator[Metric]:
        """Two cheap counts: the review queue, and the outbox by status (its pending rows are indexed)."""
        try:
            waiting = open_item_count()
            rows = db.session.execute(
                select(OutgoingMail.status, func.count())
                .where(OutgoingMail.status.in_(OUTBOX_STATUSES))
                .group_by(OutgoingMail.status)
            )
            outbox: dict[str, int] = dict(rows.tuples().all())
        except SQLAlchemyError as exc:
            # A scrape must not fail with the database: the counters still tell what happened.
            log.warning(
                "metrics: the database did not answer, its gauges are left out: %s", type(exc).__name__
            )
            db.session.rollback()
            return
        yield GaugeMetricFamily(
            f"{metrics.NAMESPACE}_review_waiting",
            "Items in the review queue, waiting for a person",
            value=waiting,
        )
        mail = GaugeMetricFamily(
            f"{metrics.NAMESPACE}_mail_outbox", "Outgoing mail not sent, by status", labels=["status"]
        )
        for status in OUTBOX_STATUSES:
            mail.add_metric([status], outbox.get(status, 0))
        yield mail
