"""Locks for periodic jobs: a run that finds the previous one still going skips."""

import contextlib
import uuid

from config.redis import get_redis

_RELEASE = "if redis.call('get', KEYS[1]) == ARGV[1] then return redis.call('del', KEYS[1]) end"


@contextlib.contextmanager
def skip_if_running(name: str, *, ttl: int):
    """Yields True when this run holds the lock `name` (for at most `ttl` seconds)."""
    key, token = f"outbound:lock:{name}", uuid.uuid4().hex
    redis = get_redis()
    acquired = bool(redis.set(key, token, nx=True, ex=ttl))
    try:
        yield acquired
    finally:
        if acquired:
            redis.eval(_RELEASE, 1, key, token)
