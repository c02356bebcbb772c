"""The back office's orders list and CSV at 1 000 000 orders on PostgreSQL, served as in production.

Run: .venv/bin/python bench/merchant_orders.py [--orders N] [--requests N]
     [--postgres postgresql://postgres@127.0.0.1:5432/postgres] [--redis redis://127.0.0.1:6379/0]

Creates its own database, migrates it, seeds orders and payments with set-based SQL, starts gunicorn
as the Procfile's web line does (APP_ENV=production), signs in over HTTP, and prints the median time
of list pages, searches and the CSV, the gunicorn worker's memory during the CSV, and the EXPLAIN
(ANALYZE) plans of the list's queries. Drops the database at the end.
"""

from __future__ import annotations

import argparse
import os
import statistics
import sys
import tempfile
import threading
import time
from datetime import timedelta
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

from flask_migrate import upgrade

from bench.seeding import admin, seed
from checkout import create_app
from checkout.extensions import db
from checkout.merchant import accounts, listing, periods
from checkout.merchant.order_state import OrderState
from checkout.models import Order, StaffRole
from checkout.sqltypes import utcnow
from tests.checkout_support import CSRF
from tests.conftest import make_environ
from tests.highhelp_double import running_double
from tests.production_support import Shop, client_ip, production_server

PASSWORD = "a long benchmark password"
STAFF_EMAIL = "bench-owner@example.kz"


def sign_in(shop: Shop, ip: str) -> str:
    """The session cookie of a signed-in owner (kept by hand: it is Secure and this is http)."""
    page = shop.request("GET", "/merchant/login", ip=ip)
    cookie = page.cookies.get("session")
    token = CSRF.search(page.text)
    assert cookie, page.text[:500]
    assert token, page.text[:500]
    answer = shop.request(
        "POST",
        "/merchant/login",
        ip=ip,
        headers={
            "Cookie": f"session={cookie}",
            "Referer": f"https://{shop.url.removeprefix('http://')}/merchant/login",
        },
        data={"email": STAFF_EMAIL, "password": PASSWORD, "csrf_token": token[1]},
    )
    assert answer.status_code == 303, answer.text[:500]
    return answer.cookies.get("session") or cookie


def median_ms(shop: Shop, path: str, ip: str, cookie: str, count: int) -> tuple[float, int]:
    """Median milliseconds of `count` GETs of `path`, and the rows on the page."""
    timings = []
    rows = 0
    for _ in range(count):
        started = time.perf_counter()
        response = shop.request("GET", path, ip=ip, headers={"Cookie": f"session={cookie}"}, timeout=60)
        timings.append((time.perf_counter() - started) * 1000)
        assert response.status_code == 200, (path, response.status_code, response.text[:300])
        rows = response.text.count('<tr id="order-')
    return statistics.median(timings), rows


def memory_kb(pid: int) -> dict[str, int]:
    """VmRSS and VmHWM of a process, in kB."""
    found = {}
    for line in Path(f"/proc/{pid}/status").read_text().splitlines():
        name, _, value = line.partition(":")
        if name in ("VmRSS", "VmHWM"):
            found[name] = int(value.split()[0])
    return found


def stream_csv(
    shop: Shop, ip: str, cookie: str
) -> tuple[float, int, int, dict[int, dict[str, int]], dict[int, int]]:
    """Seconds to stream the whole CSV, its bytes and lines, memory before, and peak RSS per worker."""
    workers = shop.worker_pids()
    before = {pid: memory_kb(pid) for pid in workers}
    peak = {pid: before[pid]["VmRSS"] for pid in workers}
    done = threading.Event()

    def sample() -> None:
        while not done.is_set():
            for pid in workers:
                peak[pid] = max(peak[pid], memory_kb(pid)["VmRSS"])
            time.sleep(0.05)

    sampler = threading.Thread(target=sample)
    sampler.start()
    started = time.perf_counter()
    size = lines = 0
    try:
        with shop.request(
            "GET",
            "/merchant/orders.csv",
            ip=ip,
            headers={"Cookie": f"session={cookie}"},
            stream=True,
            timeout=600,
        ) as response:
            assert response.status_code == 200, response.text[:300]
            for chunk in response.iter_content(65536):
                size += len(chunk)
                lines += chunk.count(b"\n")
    finally:
        done.set()
        sampler.join()
    return time.perf_counter() - started, size, lines, before, peak


def explain(app, title: str, filters: listing.Filters, cursor: listing.Cursor) -> None:
    """Print EXPLAIN (ANALYZE, BUFFERS) of the page query these filters and cursor make."""
    query = listing.rows_query(filters)
    if cursor.before is not None:
        query = query.where(Order.id < cursor.before)
    query = query.order_by(Order.id.desc()).limit(listing.PAGE_SIZE + 1)
    with app.app_context():
        compiled = query.compile(dialect=db.engine.dialect, compile_kwargs={"render_postcompile": True})
        with db.engine.connect() as connection:
            connection.exec_driver_sql("SET jit = off")  # as listing.page does
            plan = connection.exec_driver_sql(
                "EXPLAIN (ANALYZE, BUFFERS) " + compiled.string, compiled.params
            )
            print(f"\n--- EXPLAIN: {title}")
            for (line,) in plan:
                print(line)


def main() -> None:
    """Seed, serve, measure, print; drop the database whatever happens."""
    parser = argparse.ArgumentParser()
    parser.add_argument("--orders", type=int, default=1_000_000)
    parser.add_argument("--requests", type=int, default=11)
    parser.add_argument(
        "--postgres",
        default=os.environ.get("BENCH_POSTGRES_URL", "postgresql://postgres@127.0.0.1:5432/postgres"),
    )
    parser.add_argument("--redis", default=os.environ.get("BENCH_REDIS_URL", "redis://127.0.0.1:6379/0"))
    args = parser.parse_args()
    name = f"bench_merchant_orders_{os.getpid()}"
    server = args.postgres.rsplit("/", 1)[0]
    database_url = f"{server}/{name}"
    admin(args.postgres, f"CREATE DATABASE {name}")
    try:
        with tempfile.TemporaryDirectory() as folder:
            run(database_url, Path(folder), args)
    finally:
        admin(args.postgres, f"DROP DATABASE IF EXISTS {name} WITH (FORCE)")
        print(f"\ndropped database {name}")


def run(database_url: str, folder: Path, args: argparse.Namespace) -> None:
    """Everything between creating and dropping the database."""
    app = create_app(make_environ(database_url), instance_path=folder / "migrate")
    with app.app_context():
        upgrade()
        accounts.save(STAFF_EMAIL, StaffRole.OWNER, PASSWORD)
        db.engine.dispose()
    seconds = seed(database_url, args.orders)
    with app.app_context():
        counts = db.session.execute(
            db.text("SELECT (SELECT count(*) FROM orders), (SELECT count(*) FROM payments)")
        ).one()
        newest = db.session.execute(db.text("SELECT max(id) FROM orders")).scalar_one()
        payment_id = db.session.execute(
            db.text("SELECT payment_id FROM payments WHERE order_id = :id"), {"id": newest // 3 * 2 + 7}
        ).scalar()
    print(f"seeded {counts[0]} orders and {counts[1]} payments in {seconds:.1f} s")
    email = f"customer{(newest // 2) % 200000}@example.kz".upper()
    deep = max(newest // 100, 2)
    week_ago = (periods.local_date(utcnow()) - timedelta(days=7)).isoformat()
    with running_double() as double, production_server(database_url, folder, double.url, args.redis) as shop:
        ip = client_ip()
        cookie = sign_in(shop, ip)
        cases = [
            ("first page", "/merchant/orders"),
            ("pending", "/merchant/orders?state=pending"),
            ("declined", "/merchant/orders?state=declined"),
            ("expired", "/merchant/orders?state=expired"),
            ("needs review", "/merchant/orders?state=review"),
            ("not created", "/merchant/orders?state=not_created"),
            (
                f"one Almaty day ({week_ago}), paid",
                f"/merchant/orders?from={week_ago}&to={week_ago}&state=paid",
            ),
            ("search: email (any case)", f"/merchant/orders?q={email}"),
            ("search: payment_id", f"/merchant/orders?q={payment_id}"),
            ("search: order number", f"/merchant/orders?q={newest // 2}"),
            (f"deep page (before={deep})", f"/merchant/orders?before={deep}"),
            (f"deep page, declined (before={deep})", f"/merchant/orders?state=declined&before={deep}"),
            ("dashboard", "/merchant/"),
        ]
        print(f"\nmedian of {args.requests} requests each, gunicorn as the Procfile runs it, over HTTP:")
        for title, path in cases:
            median, rows = median_ms(shop, path, ip, cookie, args.requests)
            print(f"  {title:<40} {median:8.1f} ms  ({rows} rows)")
        seconds, size, lines, before, peak = stream_csv(shop, ip, cookie)
        print(f"\nCSV: {lines - 1} rows, {size / 1e6:.1f} MB streamed in {seconds:.1f} s")
        for pid, memory in before.items():
            grew = peak[pid] - memory["VmRSS"]
            high_water = memory_kb(pid)["VmHWM"]
            print(
                f"  worker {pid}: RSS before {memory['VmRSS'] / 1024:.1f} MiB, peak during CSV "
                f"{peak[pid] / 1024:.1f} MiB (+{grew / 1024:.1f} MiB); VmHWM now {high_water / 1024:.1f} MiB"
            )
    plans = [
        ("first page", listing.Filters(), listing.Cursor()),
        ("state=pending", listing.Filters(state=OrderState.PENDING), listing.Cursor()),
        ("state=declined", listing.Filters(state=OrderState.DECLINED), listing.Cursor()),
        ("state=expired", listing.Filters(state=OrderState.EXPIRED), listing.Cursor()),
        ("state=review", listing.Filters(state=OrderState.REVIEW), listing.Cursor()),
        ("search by email", listing.Filters(search=email), listing.Cursor()),
        ("search by payment_id", listing.Filters(search=payment_id or ""), listing.Cursor()),
        (f"deep page before={deep}", listing.Filters(), listing.Cursor(before=deep)),
    ]
    for title, filters, cursor in plans:
        explain(app, title, filters, cursor)
    with app.app_context():
        db.engine.dispose()


if __name__ == "__main__":
    main()
