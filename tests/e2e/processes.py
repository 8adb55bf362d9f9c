"""Real processes for end-to-end tests: the carrier simulator, Celery workers, the dispatcher,
the web tier on gunicorn.

Each runs as `manage.py` or `celery` would in production, against the test database (the
environment names it) and the test Redis; its output goes to a log file that a failing test
prints. Stopping is SIGTERM, then SIGKILL (`demo.processes.Process`).
"""

import os
import socket
import sys
from pathlib import Path

from django.conf import settings
from django.db import connection

from demo.processes import ROOT, Process


def service_env(**extra: str) -> dict[str, str]:
    """The environment of a process that shares this test session's database and Redis."""
    db = connection.settings_dict
    url = f"postgres://{db['USER']}@{db['HOST'] or '127.0.0.1'}:{db['PORT'] or 5432}/{db['NAME']}"
    return {
        **os.environ,
        "DATABASE_URL": url,
        "REDIS_URL": settings.REDIS_URL,
        "CELERY_BROKER_URL": settings.CELERY_BROKER_URL,
        "SECRET_KEY": "e2e-secret",
        "DEBUG": "false",
        "CELERY_TASK_ALWAYS_EAGER": "false",
        "PYTHONUNBUFFERED": "1",
        **extra,
    }


def start_simulator(
    log_dir: Path, *, account: str, token: str, callbacks_in_flight: int = 256
) -> tuple[Process, str]:
    """`manage.py run_carrier_simulator` on a free port; returns it and its base URL."""
    process = Process(
        "simulator",
        [
            sys.executable,
            str(ROOT / "manage.py"),
            "run_carrier_simulator",
            "--port",
            "0",
            "--account",
            f"{account}:{token}",
            "--callbacks-in-flight",
            str(callbacks_in_flight),
        ],
        service_env(),
        log_dir,
    )
    banner = process.wait_for("listening on http://")
    base_url = banner.split("listening on ")[1].split()[0]
    return process, base_url


def start_worker(
    log_dir: Path,
    name: str,
    *,
    queues: str,
    env: dict[str, str],
    concurrency: int = 2,
    include: str = "",
) -> Process:
    """A Celery worker for `queues`; `include` names more task modules to load (-I)."""
    process = Process(
        name,
        [
            sys.executable,
            "-m",
            "celery",
            "-A",
            "config",
            "worker",
            "-Q",
            queues,
            "-c",
            str(concurrency),
            "-n",
            f"{name}@%h",
            "--without-gossip",
            "--without-mingle",
            "--without-heartbeat",
            "-l",
            "INFO",
            *(["-I", include] if include else []),
        ],
        env,
        log_dir,
    )
    process.wait_for(" ready.")
    return process


def start_dispatcher(
    log_dir: Path, name: str, *, env: dict[str, str], sweep_every: float
) -> Process:
    process = Process(
        name,
        [
            sys.executable,
            str(ROOT / "manage.py"),
            "run_dispatcher",
            "--interval",
            "0.5",
            "--sweep-every",
            str(sweep_every),
        ],
        env,
        log_dir,
    )
    process.wait_for("Dispatcher ticking")
    return process


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def start_web(
    log_dir: Path, *, port: int, env: dict[str, str], workers: int = 2, threads: int = 8
) -> Process:
    """gunicorn serving the project on `port` (`config/gunicorn.py`: uvicorn workers, Django in
    `threads` threads each), as production runs it."""
    process = Process(
        "web",
        [
            sys.executable,
            "-m",
            "gunicorn",
            "--config",
            "python:config.gunicorn",
            "config.asgi:application",
            "--bind",
            f"127.0.0.1:{port}",
            "--workers",
            str(workers),
            "--log-level",
            "info",
        ],
        {"ALLOWED_HOSTS": "127.0.0.1,localhost", "WEB_THREADS": str(threads), **env},
        log_dir,
    )
    process.wait_for("Booting worker")
    return process
