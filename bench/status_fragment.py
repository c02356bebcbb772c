"""How cheap the polled status fragment is, against /healthz measured in the same run.

Run: .venv/bin/python bench/status_fragment.py [--requests N]
Prints SQL statements per request and the median latency of each endpoint, and their ratio.
"""

from __future__ import annotations

import argparse
import statistics
import sys
import tempfile
import time
from pathlib import Path

from flask_migrate import upgrade
from sqlalchemy import event

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

from checkout import create_app
from checkout.extensions import db
from checkout.models import Order, OrderLine, Payment

KEYS = Path(__file__).resolve().parents[1] / "tests" / "data" / "highhelp" / "test-keys"


def build_app(folder: Path):
    """An app on a fresh SQLite file with 1000 orders, each with a pending payment."""
    app = create_app(
        {
            "APP_ENV": "test",
            "SECRET_KEY": "bench-secret-key-that-is-long-enough-0123456789",
            "DATABASE_URL": f"sqlite:///{folder / 'bench.sqlite3'}",
            "HIGHHELP_PRIVATE_KEY_FILE": str(KEYS / "merchant_private.pem"),
            "HIGHHELP_CALLBACK_PUBLIC_KEY_FILE": str(KEYS / "highhelp_callback_public.pem"),
        },
        instance_path=folder / "instance",
    )
    with app.app_context():
        upgrade()
        for number in range(1000):
            order = Order(amount=1500000, currency="KZT", description=f"Order {number}", language="en")
            order.lines.append(OrderLine(name="Dombra", unit_price=1500000, quantity=1))
            order.payments.append(
                Payment(
                    payment_id=f"bench-{number}",
                    amount=1500000,
                    currency="KZT",
                    state="processing:awaiting_3ds_result",
                    form_url="https://p.example/x",
                    request_body={},
                )
            )
            db.session.add(order)
        db.session.commit()
    return app


def measure(client, paths: list[str], statements: list[int]) -> tuple[float, int]:
    """Median seconds per request and SQL statements of the last request."""
    timings = []
    per_request = 0
    for path in paths:
        before = statements[0]
        started = time.perf_counter()
        response = client.get(path)
        timings.append(time.perf_counter() - started)
        assert response.status_code == 200, response.status_code
        per_request = statements[0] - before
    return statistics.median(timings), per_request


def main() -> None:
    """Measure both endpoints in this run and print the comparison."""
    parser = argparse.ArgumentParser()
    parser.add_argument("--requests", type=int, default=500, help="at most 1000")
    args = parser.parse_args()
    with tempfile.TemporaryDirectory() as folder:
        app = build_app(Path(folder))
        statements = [0]
        with app.app_context():
            event.listen(
                db.engine, "before_cursor_execute", lambda *a: statements.__setitem__(0, statements[0] + 1)
            )
            tokens = list(db.session.execute(db.select(Order.token).limit(args.requests)).scalars())
        client = app.test_client()
        # Each customer polls their own order, as thousands do at once in production.
        status_paths = [f"/orders/{token}/status" for token in tokens]
        base_time, base_queries = measure(client, ["/healthz"] * len(status_paths), statements)
        status_time, status_queries = measure(client, status_paths, statements)
    for name, seconds, queries in (
        ("/healthz", base_time, base_queries),
        ("/orders/<t>/status", status_time, status_queries),
    ):
        print(f"{name:<20} median {seconds * 1000:.3f} ms, {queries} SQL statement(s) per request")
    print(f"ratio status/healthz: {status_time / base_time:.2f}")


if __name__ == "__main__":
    main()
