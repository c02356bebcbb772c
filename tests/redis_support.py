"""The machine's real Redis for tests, with a key prefix per test so runs never see each other's keys."""

from __future__ import annotations

import os
import uuid
from collections.abc import Iterator
from contextlib import contextmanager

import pytest
import redis
from redis.exceptions import RedisError

# The Redis the machine runs (.ci/run starts it); database 15 and a prefix per test keep us apart.
SHARED_REDIS_URL = "redis://127.0.0.1:6379/15"


@contextmanager
def shared_redis() -> Iterator[tuple[redis.Redis, str]]:
    """The real Redis and a key prefix of this test's own; without Redis, skip (fail under CI)."""
    client = redis.Redis.from_url(SHARED_REDIS_URL, socket_connect_timeout=1, socket_timeout=1)
    try:
        client.ping()
    except RedisError as exc:
        client.close()
        reason = f"no Redis at {SHARED_REDIS_URL} ({exc.__class__.__name__})"
        if os.environ.get("CI"):
            pytest.fail(f"{reason}; .ci/run starts redis-server")
        pytest.skip(f"Redis tests skipped: {reason} (apt-get install redis-server)")
    prefix = f"test-{uuid.uuid4().hex}"
    try:
        yield client, prefix
    finally:
        # Only this test's keys: the Redis is shared with other tests and other runs.
        own = list(client.scan_iter(match=f"*{prefix}*"))
        if own:
            client.delete(*own)
        client.close()


def counters(store: redis.Redis, prefix: str, token: str) -> list[int]:
    """The rate-limit counters Redis holds under `prefix` for one order."""
    keys = [key for key in store.scan_iter(match=f"*{prefix}*") if token.encode() in key]
    return [int(store.get(key) or 0) for key in keys]
