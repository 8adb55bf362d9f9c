"""GET /health/: the state of the database, Redis and the Celery broker."""

import redis
from django.conf import settings
from django.db import connection
from django.http import JsonResponse
from kombu import Connection


def _database() -> str | None:
    try:
        with connection.cursor() as cur:
            cur.execute("SELECT 1")
    except Exception as exc:  # noqa: BLE001 - any failure means "down"; reported, not raised
        return str(exc) or exc.__class__.__name__
    return None


def _redis() -> str | None:
    try:
        client = redis.Redis.from_url(
            settings.REDIS_URL, socket_timeout=2, socket_connect_timeout=2
        )
        client.ping()
    except redis.RedisError as exc:
        return str(exc) or exc.__class__.__name__
    return None


def _broker() -> str | None:
    try:
        with Connection(settings.CELERY_BROKER_URL, connect_timeout=2) as conn:
            # One attempt: kombu sleeps `interval_start` (2 s) before each retry.
            conn.ensure_connection(max_retries=0, timeout=2)
    except Exception as exc:  # noqa: BLE001 - kombu raises transport-specific errors
        return str(exc) or exc.__class__.__name__
    return None


def health(request):
    checks = {"database": _database(), "redis": _redis(), "broker": _broker()}
    down = [name for name, error in checks.items() if error]
    body = {
        "status": "ok" if not down else "down",
        "checks": {
            name: {"ok": error is None, **({"error": error} if error else {})}
            for name, error in checks.items()
        },
    }
    if down:
        body["down"] = down
    return JsonResponse(body, status=503 if down else 200)
