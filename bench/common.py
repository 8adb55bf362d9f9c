"""What the benchmarks share: a database of their own, set up and migrated, and Django. Their
processes start through `config.launcher`, as the demo's and the end-to-end tests' do."""

import os
import sys
from collections import Counter
from pathlib import Path
from urllib.parse import urlsplit, urlunsplit

ROOT = Path(__file__).resolve().parent.parent
if str(ROOT) not in sys.path:
    sys.path.insert(0, str(ROOT))

DEFAULT_URL = "postgres://postgres@127.0.0.1:5432/outbound"


def setup_database(name: str) -> str:
    """Drop, recreate and migrate database `name` beside DATABASE_URL's; set Django up on it."""
    import psycopg

    base = urlsplit(os.environ.get("DATABASE_URL") or DEFAULT_URL)
    bench_url = urlunsplit(base._replace(path="/" + name))
    admin_url = urlunsplit(base._replace(path="/postgres"))
    with psycopg.connect(admin_url, autocommit=True) as conn:
        conn.execute(f"DROP DATABASE IF EXISTS {name} WITH (FORCE)")
        conn.execute(f"CREATE DATABASE {name}")
    os.environ["DATABASE_URL"] = bench_url
    os.environ.setdefault("DJANGO_SETTINGS_MODULE", "config.settings")
    os.environ.setdefault("SECRET_KEY", "bench-secret")
    import django
    from django.core.management import call_command

    django.setup()
    call_command("migrate", verbosity=0, interactive=False)
    return bench_url


def drop_database(name: str) -> None:
    import psycopg
    from django.db import connections

    connections.close_all()
    base = urlsplit(os.environ.get("DATABASE_URL") or DEFAULT_URL)
    with psycopg.connect(urlunsplit(base._replace(path="/postgres")), autocommit=True) as conn:
        conn.execute(f"DROP DATABASE IF EXISTS {name} WITH (FORCE)")


def cpu_seconds(pids: list[tuple[str, int]]) -> Counter:
    """CPU seconds each part has used so far: the (part, pid) processes with their children,
    and every PostgreSQL and Redis process on the machine."""
    import psutil

    def used(proc) -> float:
        try:
            times = proc.cpu_times()
        except psutil.Error:
            return 0.0
        return times.user + times.system

    parts: Counter = Counter()
    for label, pid in pids:
        try:
            root = psutil.Process(pid)
            parts[label] += used(root) + sum(used(c) for c in root.children(recursive=True))
        except psutil.Error:
            continue
    for proc in psutil.process_iter(["name"]):
        name = proc.info["name"] or ""
        if name.startswith("postgres"):
            parts["PostgreSQL"] += used(proc)
        elif name.startswith("redis-server"):
            parts["Redis"] += used(proc)
    return parts
