"""Seeding a benchmark's PostgreSQL database: orders in a mobile checkout's proportions, set-based.

One home for the benchmarks' data: bench/merchant_orders.py (the back office at 1 000 000 orders) and
bench/deployment.py (the customer and callback paths at 10 000 and 1 000 000) both seed from here.
"""

from __future__ import annotations

import time

import psycopg

DAYS = 60

# Out of every 1000 orders (by a scrambled order number): what happened to them. Realistic for a
# mobile-commerce checkout: most pay, a tenth are declined for one reason or another.
SEED_ORDERS = """
INSERT INTO orders (id, token, amount, currency, description, email, language, status, created_at, paid_at)
SELECT i,
       'bench-' || i,
       (50000 + mod(i::bigint * 7919, 5000000))::bigint,
       'KZT',
       'Benchmark order',
       CASE WHEN mod(i, 7) = 0 THEN 'Customer' || mod(i, 200000) || '@Example.kz'
            ELSE 'customer' || mod(i, 200000) || '@example.kz' END,
       (ARRAY['kk', 'ru', 'en'])[1 + mod(i, 3)],
       CASE WHEN mod(i::bigint * 7919, 1000) BETWEEN 50 AND 779 THEN 'paid' ELSE 'open' END,
       now() - make_interval(secs => (%(orders)s - i) * %(spacing)s),
       CASE WHEN mod(i::bigint * 7919, 1000) BETWEEN 50 AND 779
            THEN now() - make_interval(secs => (%(orders)s - i) * %(spacing)s - 90) END
FROM generate_series(1, %(orders)s) AS i
"""
# Outcome per order: 5 % never tried; 73 % paid; 12 % declined (wrong code, operator, not
# confirmed); 6 % expired; 3 % pending when recent (else expired); 0.5 % flagged for review;
# 0.5 % not answered by HighHelp when recent (else expired).
SEED_PAYMENTS = """
INSERT INTO payments (id, payment_id, order_id, amount, currency, state, is_open, needs_review,
                      review_reason, request_id, form_url, request_body, status_description,
                      decline_step, version, expires_at, created_at, updated_at, state_changed_at)
SELECT o.id,
       'KZ' || lpad(o.id::text, 7, '0') || '-1-' || substr(md5(o.id::text), 1, 6),
       o.id, o.amount, 'KZT',
       CASE WHEN kind = 'paid' OR kind = 'review' THEN 'success'
            WHEN kind = 'pending' THEN 'processing:sent_verification'
            WHEN kind = 'unanswered' THEN NULL
            ELSE 'decline' END,
       kind IN ('pending', 'unanswered'),
       kind = 'review',
       CASE WHEN kind = 'review' THEN 'amount 1 instead of ' || o.amount END,
       CASE WHEN kind <> 'unanswered' THEN substr(md5('r' || o.id), 1, 32) END,
       CASE WHEN kind <> 'unanswered' THEN 'https://ppage.example.kz/widget/' || o.id END,
       '{"payment": {"lifetime": 600}}',
       CASE WHEN kind = 'expired' THEN 'Payment lifetime expired' END,
       CASE kind WHEN 'wrong_code' THEN 'processing:invalid_verification'
                 WHEN 'operator' THEN 'processing:paid'
                 WHEN 'not_confirmed' THEN 'processing:sent_verification' END,
       1,
       o.created_at + interval '10 minutes',
       o.created_at + interval '5 seconds', o.created_at + interval '90 seconds',
       o.created_at + interval '90 seconds'
FROM (
    SELECT id, amount, created_at,
           CASE WHEN r < 50 THEN 'none'
                WHEN r < 780 THEN 'paid'
                WHEN r < 820 THEN 'wrong_code'
                WHEN r < 860 THEN 'operator'
                WHEN r < 900 THEN 'not_confirmed'
                WHEN r < 960 THEN 'expired'
                WHEN r < 990 THEN CASE WHEN recent THEN 'pending' ELSE 'expired' END
                WHEN r < 995 THEN 'review'
                ELSE CASE WHEN recent THEN 'unanswered' ELSE 'expired' END END AS kind
    FROM (SELECT id, amount, created_at, mod(id::bigint * 7919, 1000) AS r,
                 created_at > now() - interval '30 minutes' AS recent FROM orders) AS scrambled
) AS o
WHERE kind <> 'none'
"""


# Orders customers are looking at right now (bench/deployment.py): each has one line and was placed a
# minute ago. "waiting" ones have a live attempt HighHelp has not settled (open, its lifetime not
# over), "unpaid" ones have none yet, so Pay creates one. Their amount is the one the HighHelp double
# reports for any payment (tests/highhelp_double.py), so a status refresh finds nothing to flag.
LIVE_AMOUNT = 1500000
LIVE_LIFETIME_SECONDS = 3600
SEED_LIVE_ORDERS = """
INSERT INTO orders (id, token, amount, currency, description, email, language, status, created_at)
SELECT i, 'bench-' || i, %(amount)s, 'KZT', 'Benchmark order', 'customer' || i || '@example.kz',
       (ARRAY['kk', 'ru', 'en'])[1 + mod(i, 3)], 'open', now() - interval '1 minute'
FROM generate_series(%(first)s::int, %(last)s::int) AS i
"""
SEED_LIVE_LINES = """
INSERT INTO order_lines (order_id, name, unit_price, quantity)
SELECT i, 'Dombra', %(amount)s, 1 FROM generate_series(%(first)s::int, %(last)s::int) AS i
"""
SEED_WAITING_PAYMENTS = """
INSERT INTO payments (id, payment_id, order_id, amount, currency, state, is_open, needs_review,
                      request_id, form_url, request_body, version, expires_at, created_at, updated_at,
                      state_changed_at)
SELECT i, 'KZ' || lpad(i::text, 7, '0') || '-1-' || substr(md5(i::text), 1, 6), i, %(amount)s, 'KZT',
       'processing:new', true, false, substr(md5('r' || i), 1, 32),
       'https://ppage.example.kz/widget/' || i, %(body)s, 1,
       now() + make_interval(secs => %(lifetime)s), now() - interval '1 minute',
       now() - interval '1 minute', now() - interval '1 minute'
FROM generate_series(%(first)s::int, %(last)s::int) AS i
"""


def admin(url: str, statement: str) -> None:
    """Run CREATE/DROP DATABASE on the server's maintenance database."""
    with psycopg.connect(url, autocommit=True) as connection:
        connection.execute(statement)


def seed(database_url: str, orders: int, waiting: int = 0, unpaid: int = 0) -> float:
    """`orders` orders in all, the newest `waiting` + `unpaid` of them live; seconds taken."""
    started = time.perf_counter()
    bulk = orders - waiting - unpaid
    spacing = DAYS * 86400 / bulk
    with psycopg.connect(database_url.replace("+psycopg", ""), autocommit=True) as connection:
        connection.execute(SEED_ORDERS, {"orders": bulk, "spacing": spacing})
        connection.execute(SEED_PAYMENTS)
        live = {"amount": LIVE_AMOUNT, "first": bulk + 1, "last": orders}
        if waiting or unpaid:
            connection.execute(SEED_LIVE_ORDERS, live)
            connection.execute(SEED_LIVE_LINES, live)
        if waiting:
            body = f'{{"payment": {{"lifetime": {LIVE_LIFETIME_SECONDS}}}}}'
            connection.execute(
                SEED_WAITING_PAYMENTS,
                {**live, "last": bulk + waiting, "body": body, "lifetime": LIVE_LIFETIME_SECONDS},
            )
        for table in ("orders", "payments", "order_lines"):
            connection.execute(f"SELECT setval('{table}_id_seq', (SELECT coalesce(max(id), 1) FROM {table}))")
        for table in ("orders", "payments", "order_lines"):
            connection.execute(f"VACUUM ANALYZE {table}")
    return time.perf_counter() - started
