"""Real processes for end-to-end tests: the carrier simulator, Celery workers, beat.

Each runs as `manage.py` or `celery` would in production, against the test database (the
environment names it) and the test Redis; its output goes to a log file that a failing test
prints. Stopping is SIGTERM, then SIGKILL.
"""

import os
import signal
import subprocess
import sys
import time
from pathlib import Path

from django.conf import settings
from django.db import connection

ROOT = Path(__file__).resolve().parents[2]
START_SECONDS = 30.0


class Process:
    def __init__(self, name: str, argv: list[str], env: dict[str, str], log_dir: Path):
        self.name = name
        self.log_path = log_dir / f"{name}.log"
        self._log = open(self.log_path, "wb")  # noqa: SIM115 - closed in stop()
        self.popen = subprocess.Popen(
            argv,
            cwd=ROOT,
            env=env,
            stdout=self._log,
            stderr=subprocess.STDOUT,
            start_new_session=True,  # its own process group, so kill() takes its children
        )

    def log(self) -> str:
        return self.log_path.read_text(errors="replace")

    def wait_for(self, text: str, timeout: float = START_SECONDS) -> str:
        """The log once `text` appears in it; fails with the log if the process exits first."""
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            out = self.log()
            if text in out:
                return out
            if self.popen.poll() is not None:
                raise AssertionError(f"{self.name} exited ({self.popen.returncode}):\n{out}")
            time.sleep(0.05)
        raise AssertionError(f"{self.name}: no {text!r} within {timeout} s:\n{self.log()}")

    def kill(self) -> None:
        """SIGKILL the whole process group: a crash, children included."""
        if self.popen.poll() is None:
            os.killpg(self.popen.pid, signal.SIGKILL)
            self.popen.wait(10)

    def stop(self, timeout: float = 15.0) -> None:
        if self.popen.poll() is None:
            self.popen.send_signal(signal.SIGTERM)
            try:
                self.popen.wait(timeout)
            except subprocess.TimeoutExpired:
                self.kill()
        self._log.close()


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


def start_simulator(log_dir: Path, *, account: str, token: str) -> tuple[Process, str]:
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
        ],
        service_env(),
        log_dir,
    )
    banner = process.wait_for("listening on http://")
    base_url = banner.split("listening on ")[1].split()[0]
    return process, base_url


def start_worker(
    log_dir: Path, name: str, *, queues: str, env: dict[str, str], concurrency: int = 2
) -> Process:
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
