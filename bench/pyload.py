"""A small load generator for bench/deployment.py where wrk cannot be installed; it prints as wrk does.

It sends the same request files as bench/requests.lua, over keep-alive connections from two
processes (one per core, as wrk's two threads). Python caps what it can send well below wrk, so its
req/s and its shares of hello are lower bounds: compare runs made with the same generator only.
"""

from __future__ import annotations

import http.client
import multiprocessing
import random
import statistics
import threading
import time
from pathlib import Path
from urllib.parse import urlsplit

PROCESSES = 2


def _requests(file: Path, limit: int) -> list[tuple[str, str, bytes | None, dict[str, str]]]:
    """The lines of a requests file, as bench/requests.lua reads them."""
    found = []
    for line in file.read_text("utf-8").splitlines():
        method, path, body, *pairs = line.split("\t")
        headers = dict(zip(pairs[::2], pairs[1::2], strict=True))
        found.append((method, path, body.encode() or None, headers))
        if limit and len(found) >= limit:
            break
    return found


def _process(
    url: str,
    file: Path,
    offset: int,
    limit: int,
    first: int,
    stride: int,
    threads: int,
    seconds: float,
    results: multiprocessing.Queue,
) -> None:  # type: ignore[type-arg]
    """In a child process: `threads` connections until the deadline; latencies, failures, last index."""
    requests = _requests(file, limit)
    parts = urlsplit(url)
    deadline = time.monotonic() + seconds
    latencies: list[float] = []
    failed = [0]
    last = [0]
    lock = threading.Lock()

    def connection_loop(index: int) -> None:
        connection = http.client.HTTPConnection(parts.hostname, parts.port, timeout=10)
        mine: list[float] = []
        bad = 0
        while time.monotonic() < deadline:
            method, path, body, headers = requests[index % len(requests)]
            address = f"10.{random.randrange(256)}.{random.randrange(256)}.{random.randrange(1, 255)}"
            sent = {**headers, "X-Forwarded-Proto": "https", "X-Forwarded-For": address}
            started = time.perf_counter()
            try:
                connection.request(method, path, body=body, headers=sent)
                answer = connection.getresponse()
                answer.read()
                status = answer.status
            except (OSError, http.client.HTTPException):
                connection.close()
                connection = http.client.HTTPConnection(parts.hostname, parts.port, timeout=10)
                status = 0
            mine.append(time.perf_counter() - started)
            bad += not 200 <= status < 400
            index += stride * threads
        with lock:
            latencies.extend(mine)
            failed[0] += bad
            last[0] = max(last[0], index)

    workers = [
        threading.Thread(target=connection_loop, args=(offset + first + number * stride,))
        for number in range(threads)
    ]
    started = time.perf_counter()
    for worker in workers:
        worker.start()
    for worker in workers:
        worker.join()
    results.put((latencies, failed[0], last[0], time.perf_counter() - started))


def drive(url: str, file: Path, offset: int, limit: int, connections: int, seconds: float) -> str:
    """Load `url` with the requests of `file` for `seconds`; a report in wrk's words and layout."""
    context = multiprocessing.get_context("spawn")
    results = context.Queue()
    threads = max(1, connections // PROCESSES)
    processes = [
        context.Process(
            target=_process,
            args=(url, file, offset, limit, number, PROCESSES, threads, seconds, results),
        )
        for number in range(PROCESSES)
    ]
    for process in processes:
        process.start()
    collected = [results.get(timeout=seconds + 60) for _ in processes]
    for process in processes:
        process.join()
    # From each process's first request to its last answer, not counting the interpreters' start.
    elapsed = max(found[3] for found in collected)
    latencies = sorted(value for found in collected for value in found[0]) or [0.0]
    failed = sum(found[1] for found in collected)
    last = max(found[2] for found in collected)
    cuts = (
        statistics.quantiles(latencies, n=100, method="inclusive") if len(latencies) > 1 else latencies * 99
    )
    return (
        "  Latency Distribution\n"
        f"     50%  {cuts[49] * 1000:.2f}ms\n"
        f"     99%  {cuts[98] * 1000:.2f}ms\n"
        f"  {len(latencies)} requests in {elapsed:.2f}s, 0.00MB read\n"
        + (f"  Non-2xx or 3xx responses: {failed}\n" if failed else "")
        + f"Requests/sec: {len(latencies) / elapsed:.2f}\n"
        f"next offset: {last}\n"
    )
