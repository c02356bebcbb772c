"""The customer and callback paths as deployed, against a bare Flask app under the same gunicorn.

Run: make bench, or .venv/bin/python bench/deployment.py [--quick] [--rounds N] [--duration S]
     [--sizes 10000,1000000] [--postgres URL] [--redis URL]

For each size: creates a PostgreSQL database, migrates and seeds it (bench/seeding.py), starts the app
as the Procfile's web line does (APP_ENV=production, Redis, a HighHelp double on loopback) and
bench/hello.py under the same gunicorn.conf.py, then drives each path with wrk in rounds that hello
opens and closes. Prints req/s, p50 and p99 per path, its share of hello's req/s, the worker RSS, the
ratio of shares between sizes, EXPLAIN (ANALYZE, BUFFERS) of the polled paths' statements at the largest size,
and a markdown table. Drops every database it made, on failure and Ctrl-C too.
"""

from __future__ import annotations

import argparse
import concurrent.futures
import contextlib
import enum
import faulthandler
import html
import itertools
import json
import os
import re
import shutil
import signal
import statistics
import subprocess
import sys
import tempfile
import time
from collections import Counter
from collections.abc import Iterator
from dataclasses import dataclass, field
from http import HTTPStatus
from pathlib import Path
from typing import Any

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

import psycopg
import requests
from flask_migrate import upgrade
from sqlalchemy import event

from bench.highhelp import READY_PATH
from bench.seeding import admin, seed
from checkout import create_app
from checkout.config import DEFAULT_WEB_THREADS
from checkout.extensions import db
from checkout.shop.catalog import load_demo_products
from tests.checkout_support import alert_body, signed_headers
from tests.conftest import callback_signer, make_environ
from tests.processes import clean_environ, free_port, serving
from tests.production_support import (
    WEB_CONCURRENCY,
    Customer,
    Shop,
    children,
    command_line,
    production_server,
)

BENCH = Path(__file__).resolve().parent
LUA = BENCH / "requests.lua"
# wrk's shape from the issue: two threads, 32 connections.
WRK_THREADS = 2
WRK_CONNECTIONS = 32
# Orders customers look at right now, per size: enough that no per-order limit is what is measured.
LIVE_ORDERS = 2000
# More answers than this share of failures and the figures measure errors, not the app.
MAX_FAILED_SHARE = 0.01
# Each new-alert request needs an alert nobody sent yet; this many per second of load is plenty.
ALERTS_PER_SECOND = 1200
# How long ago the polling pages were opened: past the order page's switch to slower polling.
STEADY_PAGE_AGE = 120
# What every browser says it accepts: the app may compress what it sends them.
BROWSER = (("Accept-Encoding", "gzip, deflate, br"),)
HOOK = re.compile(r'hx-get="([^"]+)"')
# A first press that finds HIGHHELP_MAX_CALLS creates in flight in its process answers 503 Busy (try
# again in a few seconds): the app's own back-pressure, shown but not counted as a failure.
PAY_ROUTE = "/orders/<token>/pay"


class Load(enum.StrEnum):
    """What one wrk run drives: hello, or one of the app's paths."""

    HELLO = "hello"
    STATUS_PENDING = "status, pending"
    STATUS_REFRESH = "status, pending, refresh"
    STATUS_FINAL = "status, final"
    ORDER_PAGE = "order page"
    SHOP_FRONT = "shop front"
    CALLBACK_NEW = "callback, new"
    CALLBACK_REPEAT = "callback, repeat"
    PAY = "pay"
    PAY_RESUMED = "pay, resumed"
    HEALTHZ = "/healthz"


PATHS = tuple(load for load in Load if load is not Load.HELLO)
EXPLAINED = (Load.STATUS_PENDING, Load.STATUS_REFRESH, Load.STATUS_FINAL, Load.ORDER_PAGE)


# --- wrk output ------------------------------------------------------------------------------

UNITS = {"us": 1e-3, "ms": 1.0, "s": 1e3, "m": 60e3}
DURATION = re.compile(r"^\s*([\d.]+)(us|ms|s|m)\s*$")


@dataclass(frozen=True)
class Run:
    """What one wrk run measured."""

    rate: float  # requests per second
    p50: float  # milliseconds
    p99: float
    requests: int
    failed: int  # non-2xx/3xx answers and socket errors
    next_offset: int = 0


def milliseconds(text: str) -> float:
    """wrk's "812.00us", "1.20ms" or "2.01s" in milliseconds."""
    match = DURATION.match(text)
    if match is None:
        raise ValueError(f"not a wrk duration: {text!r}")
    return float(match[1]) * UNITS[match[2]]


def parse_wrk(output: str) -> Run:
    """The figures of `wrk --latency` output (with requests.lua's `next offset` line)."""
    percentiles = dict(re.findall(r"^\s+(50|99)(?:\.0+)?%\s+(\S+)\s*$", output, re.MULTILINE))
    rate = re.search(r"^Requests/sec:\s+([\d.]+)", output, re.MULTILINE)
    total = re.search(r"^\s+(\d+) requests in ", output, re.MULTILINE)
    if rate is None or total is None or set(percentiles) != {"50", "99"}:
        raise ValueError(f"cannot read wrk output:\n{output}")
    non_2xx = re.search(r"^\s+Non-2xx or 3xx responses:\s+(\d+)", output, re.MULTILINE)
    sockets = re.search(r"Socket errors: connect (\d+), read (\d+), write (\d+), timeout (\d+)", output)
    offset = re.search(r"^next offset: (\d+)", output, re.MULTILINE)
    failed = (int(non_2xx[1]) if non_2xx else 0) + (sum(map(int, sockets.groups())) if sockets else 0)
    return Run(
        rate=float(rate[1]),
        p50=milliseconds(percentiles["50"]),
        p99=milliseconds(percentiles["99"]),
        requests=int(total[1]),
        failed=failed,
        next_offset=int(offset[1]) if offset else 0,
    )


@dataclass(frozen=True)
class Figures:
    """A path's medians over rounds, its share of hello measured in the same rounds."""

    rate: float
    p50: float
    p99: float
    share: float  # req/s ÷ hello's req/s
    failed: int
    requests: int


def medians(runs: list[Run], hello: list[float]) -> Figures:
    """Median req/s, p50, p99 over runs; median of each round's ratio to that round's hello req/s."""
    return Figures(
        rate=statistics.median(run.rate for run in runs),
        p50=statistics.median(run.p50 for run in runs),
        p99=statistics.median(run.p99 for run in runs),
        share=statistics.median(run.rate / base for run, base in zip(runs, hello, strict=True)),
        failed=sum(run.failed for run in runs),
        requests=sum(run.requests for run in runs),
    )


# --- load ------------------------------------------------------------------------------------


@dataclass(frozen=True)
class Request:
    """One request of a path's file: what requests.lua sends (plus X-Forwarded-For and -Proto)."""

    method: str
    path: str
    body: str = ""
    headers: tuple[tuple[str, str], ...] = ()

    def line(self) -> str:
        """The tab-separated line requests.lua reads."""
        fields = [self.method, self.path, self.body, *(part for pair in self.headers for part in pair)]
        assert not any("\t" in item or "\n" in item for item in fields), fields
        return "\t".join(fields)


@dataclass
class Target:
    """A path to drive: its requests file, and for new alerts where the unused ones start."""

    name: str
    url: str
    file: Path
    count: int
    offset: int = 0  # new alerts: the first not sent yet
    limit: int = 0  # repeats: only alerts already sent
    fresh: bool = False  # every request must be one not sent before (new alerts)


def write_requests(folder: Path, name: str, items: list[Request]) -> Path:
    """Write a path's requests for requests.lua; the file's path."""
    assert items, f"no requests for {name}"
    path = folder / (re.sub(r"[^a-z0-9]+", "-", name.lower()).strip("-") + ".tsv")
    path.write_text("".join(item.line() + "\n" for item in items), "utf-8")
    return path


def ensure_wrk() -> str | None:
    """wrk's path, installing it with apt-get when root; None when only the Python driver is left."""
    found = shutil.which("wrk")
    if found is None and os.geteuid() == 0 and shutil.which("apt-get"):
        print("installing wrk (apt-get install -y wrk)")
        install = ["apt-get", "install", "-y", "-q", "wrk"]
        if subprocess.run(install, check=False).returncode:
            # A fresh image has no package lists yet.
            subprocess.run(["apt-get", "update", "-q"], check=False)
            subprocess.run(install, check=False)
        found = shutil.which("wrk")
    return found


def drive(wrk: str | None, target: Target, seconds: int) -> Run:
    """One load run of `seconds` against `target`."""
    if wrk is None:
        from bench.pyload import drive as python_drive

        output = python_drive(target.url, target.file, target.offset, target.limit, WRK_CONNECTIONS, seconds)
    else:
        command = [
            wrk,
            f"-t{WRK_THREADS}",
            f"-c{WRK_CONNECTIONS}",
            f"-d{seconds}s",
            "--latency",
            "-s",
            str(LUA),
            target.url,
            "--",
            str(target.file),
            str(target.offset),
            str(target.limit),
            str(WRK_THREADS),
        ]
        finished = subprocess.run(command, capture_output=True, text=True, check=False)
        if finished.returncode:
            raise SystemExit(f"wrk failed ({finished.returncode}): {finished.stderr or finished.stdout}")
        output = finished.stdout
    run = parse_wrk(output)
    if target.fresh:
        target.offset = max(run.next_offset, target.offset + run.requests)
    return run


def first_answers(base: str, target: Target, count: int = 5) -> list[str]:
    """What the first requests of a path get, to show why a run failed."""
    seen = []
    for line in target.file.read_text("utf-8").splitlines()[:count]:
        method, path, body, *pairs = line.split("\t")
        headers = dict(zip(pairs[::2], pairs[1::2], strict=True))
        headers.update({"X-Forwarded-Proto": "https", "X-Forwarded-For": "10.9.9.9"})
        answer = requests.request(
            method, base + path, data=body or None, headers=headers, allow_redirects=False, timeout=10
        )
        seen.append(f"{answer.status_code} {method} {path[:80]}: {answer.text[:200]!r}")
    return seen


# --- servers ---------------------------------------------------------------------------------


@contextlib.contextmanager
def hello_server(folder: Path) -> Iterator[Shop]:
    """bench/hello.py under gunicorn.conf.py, with the workers and threads the app gets."""
    port = free_port()
    command = [
        sys.executable,
        "-m",
        "gunicorn",
        "--config",
        "gunicorn.conf.py",
        "bench.hello:app",
        "--bind",
        f"127.0.0.1:{port}",
    ]
    environ = clean_environ(
        PORT=str(port),
        WEB_CONCURRENCY=str(WEB_CONCURRENCY),
        PROMETHEUS_MULTIPROC_DIR=str(folder / "hello-prometheus"),
    )
    environ.pop("GUNICORN_CMD_ARGS", None)
    log = folder / "hello.log"
    with serving(command, environ, port, log, ready_path="/") as url:
        masters = [pid for pid in children(os.getpid()) if f"127.0.0.1:{port}" in command_line(pid)]
        assert len(masters) == 1, masters
        yield Shop(url, masters[0], WEB_CONCURRENCY, DEFAULT_WEB_THREADS, log)


@contextlib.contextmanager
def highhelp_server(folder: Path) -> Iterator[str]:
    """HighHelp's double (bench/highhelp.py) under gunicorn: quick enough that Pay never waits on it."""
    port = free_port()
    empty = folder / "double.conf.py"  # not the app's gunicorn.conf.py, which gunicorn would read
    empty.write_text("", "utf-8")
    command = [
        *(sys.executable, "-m", "gunicorn", "--config", str(empty), "bench.highhelp:app"),
        *("--worker-class", "gthread", "--workers", "2", "--threads", "8"),
        *("--bind", f"127.0.0.1:{port}", "--log-level", "warning"),
    ]
    environ = clean_environ()
    environ.pop("GUNICORN_CMD_ARGS", None)
    with serving(command, environ, port, folder / "double.log", ready_path=READY_PATH) as url:
        yield url


def rss_mib(shop: Shop) -> list[float]:
    """VmRSS of each gunicorn worker, in MiB."""
    found = []
    for pid in sorted(shop.worker_pids()):
        for line in Path(f"/proc/{pid}/status").read_text().splitlines():
            if line.startswith("VmRSS:"):
                found.append(int(line.split()[1]) / 1024)
    return found


# --- preparing the paths -----------------------------------------------------------------------


@dataclass
class Prepared:
    """Everything the runs of one size send."""

    targets: dict[str, Target]
    probes: dict[str, str] = field(default_factory=dict)  # a path for the EXPLAIN capture


def tokens(database_url: str, sql: str) -> list[str]:
    """One column of a query, as strings."""
    with psycopg.connect(database_url.replace("+psycopg", "")) as connection:
        return [str(row[0]) for row in connection.execute(sql)]


def poll_request(shop: Shop, token: str, conditional: bool) -> Request:
    """What the order page's status poller asks; `conditional`: with the ETag a browser sends back."""
    # A page open for a while polls at its slow, steady pace, which no later poll changes.
    opened = int(time.time()) - STEADY_PAGE_AGE
    page = shop.request("GET", f"/orders/{token}?since={opened}", ip="10.8.0.1")
    assert page.status_code == 200, (token, page.status_code, page.text[:300])
    hook = HOOK.search(page.text)
    assert hook, f"the order page of a waiting order does not poll: {page.text[:500]}"
    path = html.unescape(hook[1])
    if not conditional:
        return Request("GET", path, headers=BROWSER)
    first = shop.request("GET", path, ip="10.8.0.2")
    assert first.status_code in (200, 204), (path, first.status_code, first.text[:300])
    etag = first.headers.get("ETag")
    return Request("GET", path, headers=(*BROWSER, *((("If-None-Match", etag),) if etag else ())))


def prepare(shop: Shop, hello: Shop, database_url: str, folder: Path, alerts: int) -> Prepared:
    """Request files for every path, from the seeded data and a few requests to the app."""
    started = time.perf_counter()
    # Half the waiting attempts have a status check in flight (another poller's claim), so a poll
    # finds nothing to refresh; the other half's polls claim refreshes and ask HighHelp's /info.
    waiting = {
        name: tokens(
            database_url,
            "SELECT o.token FROM orders o JOIN payments p ON p.order_id = o.id "
            f"WHERE p.is_open AND p.expires_at > now() + interval '20 minutes' AND {held} ORDER BY o.id",
        )
        for name, held in (
            (Load.STATUS_PENDING, "p.last_checked_at > now()"),
            (Load.STATUS_REFRESH, "p.last_checked_at IS NULL"),
        )
    }
    unpaid = tokens(
        database_url,
        "SELECT o.token FROM orders o JOIN order_lines l ON l.order_id = o.id "
        "WHERE NOT EXISTS (SELECT 1 FROM payments p WHERE p.order_id = o.id) ORDER BY o.id",
    )
    paid = tokens(
        database_url,
        f"SELECT token FROM orders WHERE status = 'paid' ORDER BY md5(id::text) LIMIT {LIVE_ORDERS}",
    )
    # Final attempts get an alert reporting the state they have: new to the inbox, "unchanged".
    settled = tokens(
        database_url,
        "SELECT p.payment_id || ' ' || p.amount || ' ' || p.state FROM payments p "
        "WHERE p.state IN ('success', 'decline') AND NOT p.needs_review "
        f"ORDER BY md5(p.payment_id) LIMIT {alerts}",
    )
    # Only when the app sends ETags does each poll need its own first answer.
    sample = poll_request(shop, waiting[Load.STATUS_PENDING][0], conditional=True)
    conditional = bool(sample.headers)
    polls = {}
    with concurrent.futures.ThreadPoolExecutor(8) as pool:
        for name, some in waiting.items():
            polls[name] = list(pool.map(lambda token: poll_request(shop, token, conditional), some))
    # A page that showed a waiting payment, polling an order that is paid by now: the final answer.
    final = [
        Request("GET", f"/orders/{token}/status?" + poll.path.partition("?")[2], headers=BROWSER)
        for token, poll in zip(paid, itertools.cycle(polls[Load.STATUS_PENDING]))
    ]
    everyone = [token for some in waiting.values() for token in some]
    pages = [
        Request("GET", f"/orders/{token}", headers=BROWSER)
        for pair in zip(everyone, paid, strict=False)
        for token in pair
    ]
    customer = Customer(shop)
    customer.open_order(unpaid[0])
    host = shop.url.removeprefix("http://")

    def press(token: str) -> Request:
        headers = (
            ("Cookie", f"session={customer.cookie}"),
            ("Referer", f"https://{host}/orders/{token}"),
            ("Content-Type", "application/x-www-form-urlencoded"),
            *BROWSER,
        )
        return Request("POST", f"/orders/{token}/pay", f"csrf_token={customer.csrf_token}", headers)

    # First presses create the attempt at HighHelp (each order once; later passes resume);
    # presses on waiting orders resume the attempt they have: a redirect to HighHelp's page.
    presses = [press(token) for token in unpaid[1:]]
    resumes = [press(token) for token in everyone]
    signer = callback_signer()
    callbacks = []
    for row in settled:
        payment_id, amount, state = row.split()
        body = alert_body(payment_id, state, amount=int(amount))
        headers = signed_headers(body, signer)
        callbacks.append(
            Request(
                "POST",
                f"/highhelp/callbacks/{state}",
                json.dumps(body),
                tuple(headers.items()),
            )
        )
    files = {
        **polls,
        Load.STATUS_FINAL: final,
        Load.ORDER_PAGE: pages,
        Load.SHOP_FRONT: [Request("GET", "/", headers=BROWSER)],
        Load.CALLBACK_NEW: callbacks,
        Load.PAY: presses,
        Load.PAY_RESUMED: resumes,
        Load.HEALTHZ: [Request("GET", "/healthz")],
    }
    targets = {
        name: Target(name, shop.url, write_requests(folder, name, items), len(items))
        for name, items in files.items()
    }
    targets[Load.CALLBACK_NEW].fresh = True
    alerts_file = targets[Load.CALLBACK_NEW].file
    targets[Load.CALLBACK_REPEAT] = Target(Load.CALLBACK_REPEAT, shop.url, alerts_file, len(callbacks))
    targets[Load.HELLO] = Target(
        Load.HELLO, hello.url, write_requests(folder, Load.HELLO, [Request("GET", "/", headers=BROWSER)]), 1
    )
    print(
        f"prepared {len(everyone)} waiting, {len(final)} paid, {len(presses)} unpaid orders and "
        f"{len(callbacks)} signed alerts in {time.perf_counter() - started:.1f} s"
    )
    probes = {name: some[0].path for name, some in polls.items()}
    probes.update({Load.STATUS_FINAL: final[0].path, Load.ORDER_PAGE: pages[0].path})
    return Prepared(targets, probes)


# --- measuring -------------------------------------------------------------------------------


@dataclass
class SizeResult:
    """One size's medians per path, and the workers' memory after its runs."""

    orders: int
    figures: dict[str, Figures]
    rss: list[float]
    hello_rss: list[float]


def measure(
    wrk: str | None, prepared: Prepared, args: argparse.Namespace, log: Path
) -> tuple[dict[str, Figures], list[str]]:
    """Warm up, then rounds of hello and every path; the medians, and the failures found."""
    targets = prepared.targets
    for name in Load:
        if args.warmup:
            drive(wrk, targets[name], args.warmup)
    runs: dict[str, list[Run]] = {name: [] for name in Load}
    # Hello opens and closes each round; the mean of the two is that round's baseline, so a machine
    # that slows down during a round (something else starts) shifts the shares less.
    baseline: list[float] = []
    for number in range(1, args.rounds + 1):
        opening = drive(wrk, targets[Load.HELLO], args.duration)
        line = [f"round {number}: hello {opening.rate:.0f}/s"]
        for name in PATHS:
            target = targets[name]
            if name == Load.CALLBACK_REPEAT:
                target.limit = targets[Load.CALLBACK_NEW].offset  # only alerts sent already
            run = drive(wrk, target, args.duration)
            runs[name].append(run)
            line.append(f"{name} {run.rate:.0f}/s")
        closing = drive(wrk, targets[Load.HELLO], args.duration)
        runs[Load.HELLO].extend((opening, closing))
        baseline.append((opening.rate + closing.rate) / 2)
        print("; ".join([*line, f"hello {closing.rate:.0f}/s"]), flush=True)
    figures = {Load.HELLO: medians(runs[Load.HELLO], [rate for rate in baseline for _ in range(2)])}
    figures.update({name: medians(runs[name], baseline) for name in PATHS})
    problems = []
    busy_only = {
        status for route, status in refusals(log.read_text("utf-8", errors="replace")) if route == PAY_ROUTE
    } <= {HTTPStatus.SERVICE_UNAVAILABLE}
    for name, result in figures.items():
        if name == Load.PAY and busy_only:
            continue
        if result.failed > MAX_FAILED_SHARE * max(result.requests, 1):
            problems.append(f"{name}: {result.failed} of {result.requests} answers were not 2xx/3xx")
            problems.extend("    " + seen for seen in first_answers(targets[name].url, targets[name]))
    sent = targets[Load.CALLBACK_NEW].offset
    if sent > targets[Load.CALLBACK_NEW].count:
        signed = targets[Load.CALLBACK_NEW].count
        print(f"note: {sent} new alerts were asked for, {signed} signed: the rest were repeats")
    return figures, problems


def print_size(result: SizeResult) -> None:
    """The medians of one size."""
    print(f"\n{result.orders} orders: median of rounds (req/s, share of hello, p50, p99, failed answers)")
    for name, figures in result.figures.items():
        print(
            f"  {name:<24} {figures.rate:8.0f}/s {figures.share:7.1%} "
            f"p50 {figures.p50:7.2f} ms  p99 {figures.p99:7.2f} ms  "
            f"failed {figures.failed}/{figures.requests}"
        )
    print("  app worker RSS: " + ", ".join(f"{value:.1f} MiB" for value in result.rss))
    print("  hello worker RSS: " + ", ".join(f"{value:.1f} MiB" for value in result.hello_rss))


def refusals(log: str) -> Counter[tuple[str, int]]:
    """Answers other than 2xx/3xx by route and status, from the app's JSON request lines."""
    found: Counter[tuple[str, int]] = Counter()
    for line in log.splitlines():
        if not line.startswith("{"):
            continue
        try:
            record = json.loads(line)
        except ValueError:
            continue
        status = record.get("status") if isinstance(record, dict) else None
        if isinstance(status, int) and status >= HTTPStatus.BAD_REQUEST:
            found[(str(record.get("route")), status)] += 1
    return found


def print_refusals(log: Path) -> None:
    """What the app's request log says it answered with other than 2xx/3xx."""
    found = refusals(log.read_text("utf-8", errors="replace"))
    if found:
        print("  answers other than 2xx/3xx (app's request log): ", end="")
        print(", ".join(f"{route} {status}: {count}" for (route, status), count in found.most_common()))


def print_verdicts(database_url: str) -> None:
    """What the alerts sent did, from the inbox."""
    rows = tokens(database_url, "SELECT verdict || ' ' || count(*) FROM callback_alerts GROUP BY verdict")
    print("  alerts in the inbox by verdict: " + (", ".join(rows) or "none"))


# --- EXPLAIN ---------------------------------------------------------------------------------


def explain_paths(database_url: str, highhelp_url: str, folder: Path, probes: dict[str, str]) -> None:
    """EXPLAIN (ANALYZE, BUFFERS) of every statement one request of each polled path runs."""
    app = create_app(
        make_environ(database_url, HIGHHELP_API_URL=highhelp_url), instance_path=folder / "explain"
    )
    captured: list[tuple[str, Any]] = []

    def capture(connection, cursor, statement, parameters, context, executemany) -> None:
        captured.append((statement, parameters))

    client = app.test_client()
    with app.app_context():
        engine = db.engine
    for name in EXPLAINED:
        captured.clear()
        event.listen(engine, "before_cursor_execute", capture)
        try:
            answer = client.get(probes[name], headers={"X-Forwarded-Proto": "https"})
        finally:
            event.remove(engine, "before_cursor_execute", capture)
        print(f"\n=== {name}: GET {probes[name][:90]} -> {answer.status_code}, {len(captured)} statement(s)")
        for statement, parameters in captured:
            print(f"\n--- {' '.join(statement.split())[:400]}\n    parameters: {parameters}")
            if not statement.lstrip().upper().startswith(("SELECT", "WITH", "UPDATE", "INSERT", "DELETE")):
                continue
            with engine.connect() as connection:
                # ANALYZE runs the statement: a write is rolled back when the block ends.
                plan = connection.exec_driver_sql("EXPLAIN (ANALYZE, BUFFERS) " + statement, parameters)
                for (line,) in plan:
                    print("    " + line)
                connection.rollback()
    with app.app_context():
        db.engine.dispose()


# --- one size, all sizes --------------------------------------------------------------------


def hold_checks(database_url: str) -> None:
    """Half the waiting attempts (even ids) get a status check in flight: a lease no poll can claim."""
    with psycopg.connect(database_url.replace("+psycopg", ""), autocommit=True) as connection:
        connection.execute(
            "UPDATE payments SET last_checked_at = now() + interval '1 hour' "
            "WHERE is_open AND expires_at > now() AND mod(id, 2) = 0"
        )


def run_size(orders: int, wrk: str | None, args: argparse.Namespace, explain: bool) -> SizeResult:
    """Create, seed, serve, measure and drop one database of `orders` orders."""
    name = f"bench_deployment_{os.getpid()}_{orders}"
    server = args.postgres.rsplit("/", 1)[0]
    database_url = f"{server.replace('postgresql://', 'postgresql+psycopg://', 1)}/{name}"
    admin(args.postgres, f"CREATE DATABASE {name}")
    try:
        with tempfile.TemporaryDirectory(prefix="bench-deployment-") as temporary:
            folder = Path(temporary)
            app = create_app(make_environ(database_url), instance_path=folder / "migrate")
            with app.app_context():
                upgrade()
                load_demo_products()
                db.engine.dispose()
            live = min(LIVE_ORDERS, orders * 2 // 5)
            seconds = seed(database_url, orders, waiting=live, unpaid=live)
            hold_checks(database_url)
            print(f"\n{orders} orders seeded ({live} waiting, {live} unpaid) in {seconds:.1f} s", flush=True)
            alerts = int(ALERTS_PER_SECOND * (args.warmup + args.rounds * args.duration))
            with (
                highhelp_server(folder) as highhelp,
                production_server(database_url, folder, highhelp, args.redis) as shop,
                hello_server(folder) as hello,
            ):
                prepared = prepare(shop, hello, database_url, folder, alerts)
                figures, problems = measure(wrk, prepared, args, shop.log)
                result = SizeResult(orders, figures, rss_mib(shop), rss_mib(hello))
                print_size(result)
                print_refusals(shop.log)
                print_verdicts(database_url)
                if args.logs:
                    for log in folder.glob("*.log"):
                        shutil.copy(log, Path(args.logs) / f"{orders}-{log.name}")
                if problems:
                    raise SystemExit("too many failed answers:\n" + "\n".join(problems))
                if explain:
                    explain_paths(database_url, highhelp, folder, prepared.probes)
            return result
    finally:
        admin(args.postgres, f"DROP DATABASE IF EXISTS {name} WITH (FORCE)")
        print(f"dropped database {name}", flush=True)


def size_label(orders: int) -> str:
    """10000 as 10k, 1000000 as 1M."""
    for unit, name in ((1_000_000, "M"), (1000, "k")):
        if orders >= unit and orders % unit == 0:
            return f"{orders // unit}{name}"
    return str(orders)


def table(results: list[SizeResult]) -> str:
    """The markdown table the README takes: the first size, and the last size ÷ the first."""
    first, last = results[0], results[-1]
    scale = f"{size_label(last.orders)}/{size_label(first.orders)}" if len(results) > 1 else "—"
    # Shares of hello, not req/s: hello measured in the same rounds takes out whatever else the
    # machine did meanwhile, and the "same figures within 15 %" are shares.
    rows = [
        f"| path ({first.orders} orders) | req/s | % of hello | p50 ms | p99 ms | {scale} (share of hello) |",
        "|---|---:|---:|---:|---:|---:|",
    ]
    for name in Load:
        here = first.figures[name]
        ratio = f"{last.figures[name].share / here.share:.2f}" if len(results) > 1 else "—"
        rows.append(
            f"| {name} | {here.rate:.0f} | {here.share:.0%} | {here.p50:.1f} | {here.p99:.1f} | {ratio} |"
        )
    rss = ", ".join(f"{value:.0f}" for value in last.rss)
    rows.append(
        f"\nWorker RSS after the runs at {last.orders} orders: {rss} MiB (hello: "
        + ", ".join(f"{value:.0f}" for value in last.hello_rss)
        + " MiB)"
    )
    return "\n".join(rows)


def arguments(argv: list[str] | None = None) -> argparse.Namespace:
    """The command line; --quick is a smoke run."""
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--quick", action="store_true", help="500 orders, 1 s runs, 1 round")
    parser.add_argument("--rounds", type=int, default=3)
    parser.add_argument("--duration", type=int, default=3, help="whole seconds per wrk run")
    parser.add_argument("--warmup", type=int, default=1, help="whole seconds per path before round 1")
    parser.add_argument("--sizes", default="10000,1000000", help="orders per database, comma-separated")
    parser.add_argument(
        "--postgres",
        default=os.environ.get("BENCH_POSTGRES_URL", "postgresql://postgres@127.0.0.1:5432/postgres"),
    )
    parser.add_argument("--redis", default=os.environ.get("BENCH_REDIS_URL", "redis://127.0.0.1:6379/0"))
    parser.add_argument(
        "--load", choices=("wrk", "python"), default="wrk", help="python: bench/pyload.py even with wrk"
    )
    parser.add_argument("--logs", help="a folder to copy the servers' logs into")
    args = parser.parse_args(argv)
    if args.quick:
        args.sizes, args.duration, args.rounds, args.warmup = "500", 1, 1, 0
    args.size_list = [int(size) for size in args.sizes.split(",")]
    return args


def stop_on_sigterm(signum: int, frame: Any) -> None:
    """SIGTERM ends the run like Ctrl-C does: servers stopped, databases dropped."""
    raise KeyboardInterrupt


def main(argv: list[str] | None = None) -> None:
    """Every size, then the comparison and the table."""
    args = arguments(argv)
    signal.signal(signal.SIGTERM, stop_on_sigterm)
    # `kill -USR1` prints every thread's stack: what a run that seems stuck is waiting for.
    faulthandler.register(signal.SIGUSR1)
    started = time.perf_counter()
    wrk = None if args.load == "python" else ensure_wrk()
    print(
        f"load: {'wrk' if wrk else 'Python driver (no wrk)'} -t{WRK_THREADS} -c{WRK_CONNECTIONS}, "
        f"{args.duration:g} s runs, {args.rounds} round(s), sizes {args.size_list}; "
        f"{os.cpu_count()} CPUs; {time.strftime('%Y-%m-%d %H:%M:%S %Z')}",
        flush=True,
    )
    results = [run_size(orders, wrk, args, explain=orders == args.size_list[-1]) for orders in args.size_list]
    if len(results) > 1:
        first, last = results[0], results[-1]
        print(f"\nat {size_label(last.orders)} ÷ at {size_label(first.orders)} orders: share of hello, req/s")
        for name in Load:
            share = last.figures[name].share / first.figures[name].share
            print(f"  {name:<24} {share:5.2f} {last.figures[name].rate / first.figures[name].rate:5.2f}")
    print("\n" + table(results))
    print(f"\ntook {time.perf_counter() - started:.0f} s")


if __name__ == "__main__":
    try:
        main()
    except KeyboardInterrupt:
        sys.exit("interrupted: servers stopped, databases dropped")
