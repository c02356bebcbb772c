"""bench/deployment.py's pure parts: reading wrk's report, medians over rounds, the request files."""

from __future__ import annotations

import pytest

from bench.deployment import Request, Run, medians, milliseconds, parse_wrk, refusals, size_label

WRK_REPORT = """\
Running 3s test @ http://127.0.0.1:41234
  2 threads and 32 connections
  Thread Stats   Avg      Stdev     Max   +/- Stdev
    Latency    10.52ms    4.31ms  61.20ms   81.25%
    Req/Sec     1.53k   120.44     1.80k    68.33%
  Latency Distribution
     50%    9.87ms
     75%   12.40ms
     90%   15.02ms
     99%    1.02s
  9184 requests in 3.00s, 2.21MB read
  Socket errors: connect 0, read 1, write 0, timeout 2
  Non-2xx or 3xx responses: 17
Requests/sec:   3059.91
Transfer/sec:    754.02KB
next offset: 9190
"""


def test_a_wrk_report_gives_rate_percentiles_and_failures() -> None:
    run = parse_wrk(WRK_REPORT)
    assert run == Run(rate=3059.91, p50=9.87, p99=1020.0, requests=9184, failed=20, next_offset=9190)


def test_a_clean_report_has_no_failures_and_no_offset_without_the_script_line() -> None:
    clean = "\n".join(
        line
        for line in WRK_REPORT.splitlines()
        if not line.startswith(("  Socket errors", "  Non-2xx", "next offset"))
    )
    run = parse_wrk(clean)
    assert (run.failed, run.next_offset) == (0, 0)


def test_a_report_without_latency_distribution_is_refused() -> None:
    with pytest.raises(ValueError, match="cannot read wrk output"):
        parse_wrk(WRK_REPORT.replace("     99%    1.02s\n", ""))


@pytest.mark.parametrize(
    ("text", "expected"), [("812.00us", 0.812), ("1.20ms", 1.2), ("2.01s", 2010.0), ("1.00m", 60000.0)]
)
def test_wrk_durations_in_milliseconds(text: str, expected: float) -> None:
    assert milliseconds(text) == pytest.approx(expected)


def test_a_duration_without_unit_is_refused() -> None:
    with pytest.raises(ValueError, match="not a wrk duration"):
        milliseconds("12")


def test_medians_take_each_rounds_share_of_that_rounds_hello() -> None:
    runs = [Run(100, 1, 10, 300, 0), Run(300, 3, 30, 900, 1), Run(200, 2, 20, 600, 0)]
    figures = medians(runs, [1000, 1000, 500])
    assert (figures.rate, figures.p50, figures.p99) == (200, 2, 20)
    # Shares per round: 10 %, 30 %, 40 %; the median share, not the ratio of medians (25 %).
    assert figures.share == pytest.approx(0.3)
    assert (figures.failed, figures.requests) == (1, 1800)


def test_a_request_line_is_tab_separated_with_header_pairs() -> None:
    request = Request(
        "POST", "/orders/x/pay", "csrf_token=t", (("Cookie", "session=a; b=c"), ("Referer", "r"))
    )
    assert request.line() == "POST\t/orders/x/pay\tcsrf_token=t\tCookie\tsession=a; b=c\tReferer\tr"


def test_a_request_that_would_break_its_line_is_refused() -> None:
    with pytest.raises(AssertionError):
        Request("GET", "/", "a\tb").line()


def test_refusals_count_non_2xx_3xx_request_lines_by_route() -> None:
    log = "\n".join(
        [
            '{"message": "request", "route": "/orders/<token>/pay", "status": 503}',
            '{"message": "request", "route": "/orders/<token>/pay", "status": 503}',
            '{"message": "request", "route": "/orders/<token>", "status": 200}',
            '{"message": "request", "route": "/orders/<token>/status", "status": 304}',
            '{"message": "request", "route": "/orders/<token>/status", "status": 429}',
            "[2026-11-29 02:00:00 +0000] [1] [INFO] Booting worker with pid: 2",
            "{not json",
        ]
    )
    assert refusals(log) == {("/orders/<token>/pay", 503): 2, ("/orders/<token>/status", 429): 1}


@pytest.mark.parametrize(("orders", "label"), [(10000, "10k"), (1000000, "1M"), (500, "500"), (1500, "1500")])
def test_sizes_are_labelled_short(orders: int, label: str) -> None:
    assert size_label(orders) == label
