"""Before the tests: are PostgreSQL and Redis reachable? If not, say how to start them."""

import os
import sys
from urllib.parse import urlparse

import psycopg
import redis

problems = []
db_url = os.environ["DATABASE_URL"]
try:
    parsed = urlparse(db_url)
    psycopg.connect(
        host=parsed.hostname,
        port=parsed.port or 5432,
        user=parsed.username or "postgres",
        password=parsed.password,
        dbname="postgres",
        connect_timeout=3,
    ).close()
except psycopg.Error as exc:
    problems.append(
        f"PostgreSQL is not reachable at {db_url} ({str(exc).strip().splitlines()[0]}).\n"
        "  Start it: pg_ctlcluster --skip-systemctl-redirect $(ls /etc/postgresql) main start\n"
        "  or point DATABASE_URL at a running server (trust auth, user postgres)."
    )
redis_url = os.environ["REDIS_URL"]
try:
    redis.Redis.from_url(redis_url, socket_connect_timeout=3).ping()
except redis.RedisError as exc:
    problems.append(
        f"Redis is not reachable at {redis_url} ({exc}).\n"
        '  Start it: redis-server --daemonize yes --bind 127.0.0.1 --port 6379 --save "" '
        "--appendonly no\n  or point REDIS_URL at a running server."
    )
if problems:
    print("The tests need PostgreSQL and Redis:\n" + "\n".join(problems), file=sys.stderr)
    sys.exit(2)
