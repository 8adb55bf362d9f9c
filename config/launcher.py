"""The platform's processes started the way production starts them, for the demo, the
benchmarks and the end-to-end tests: the carrier simulator, Celery workers and beat, the
dispatcher and the web tier on gunicorn.

Each is a child process with a log file of its own (`<log_dir>/<name>.log`), waited for until
it is ready (a line in its log, or for the web tier an answer from `/health/`), and stopped
with SIGTERM, then SIGKILL. Each runs in its own process group, so a kill takes its children
too and a Ctrl-C in the terminal reaches only the parent, which stops them in order.

Wiring only: stdlib, and Django's settings for `service_env`; nothing of the apps.
"""

import os
import signal
import socket
import subprocess
import sys
import time
import urllib.error
import urllib.request
from pathlib import Path
from urllib.parse import quote

ROOT = Path(__file__).resolve().parent.parent
START_SECONDS = 30.0
POLL_SECONDS = 0.05


class NotReady(Exception):
    """A process exited, or did not say it was ready in time; the message carries its log."""


class Process:
    """A child process logging to `<log_dir>/<name>.log`, ready once `ready_line` is in its log
    or, given `ready_url`, once that URL answers 200."""

    def __init__(
        self,
        name: str,
        argv: list[str],
        env: dict[str, str],
        log_dir: Path,
        *,
        ready_line: str = "",
        ready_url: str = "",
    ):
        self.name = name
        self.ready_line, self.ready_url = ready_line, ready_url
        self.log_path = log_dir / f"{name}.log"
        self._log = open(self.log_path, "wb")  # noqa: SIM115 - closed in stop()
        self.popen = subprocess.Popen(
            argv,
            cwd=ROOT,
            env={**env, "PYTHONUNBUFFERED": "1"},  # its log is current
            stdout=self._log,
            stderr=subprocess.STDOUT,
            start_new_session=True,  # its own process group, so kill() takes its children
        )

    def log(self) -> str:
        return self.log_path.read_text(errors="replace")

    def wait_ready(self, timeout: float = START_SECONDS) -> None:
        """Until it is ready; NotReady with its log if it exits first or `timeout` passes."""
        if self.ready_url:
            self.wait_for_url(self.ready_url, timeout=timeout)
        elif self.ready_line:
            self.wait_for(self.ready_line, timeout=timeout)

    def wait_for(self, text: str, timeout: float = START_SECONDS) -> str:
        """The log once `text` appears in it; NotReady with the log if the process exits first."""
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            out = self.log()
            if text in out:
                return out
            self._check_running()
            time.sleep(POLL_SECONDS)
        raise NotReady(f"{self.name}: no {text!r} within {timeout} s:\n{self.log()}")

    def wait_for_url(self, url: str, timeout: float = START_SECONDS) -> None:
        """Until a GET of `url` answers 200; NotReady with the log if the process exits first."""
        deadline = time.monotonic() + timeout
        last = "no answer"
        while time.monotonic() < deadline:
            try:
                with urllib.request.urlopen(url, timeout=5) as resp:
                    if resp.status == 200:
                        return
                    last = f"{resp.status}"
            except urllib.error.HTTPError as exc:  # an answer, not yet the one awaited
                last = f"{exc.code}: {exc.read()[:500].decode(errors='replace')}"
            except OSError as exc:  # not listening yet
                last = str(exc)
            self._check_running()
            time.sleep(POLL_SECONDS)
        raise NotReady(f"{self.name}: {url} not 200 within {timeout} s ({last}):\n{self.log()}")

    def _check_running(self) -> None:
        if self.popen.poll() is not None:
            raise NotReady(f"{self.name} exited ({self.popen.returncode}):\n{self.log()}")

    def kill(self) -> None:
        """SIGKILL the whole process group: a crash, children included."""
        if self.popen.poll() is None:
            os.killpg(self.popen.pid, signal.SIGKILL)
            self.popen.wait(10)

    def stop(self, timeout: float = 15.0) -> None:
        """SIGTERM (a graceful stop), SIGKILL for the group if it is not over in `timeout`."""
        if self.popen.poll() is None:
            self.popen.send_signal(signal.SIGTERM)
            try:
                self.popen.wait(timeout)
            except subprocess.TimeoutExpired:
                self.kill()
        self._log.close()


def free_port() -> int:
    """A TCP port on 127.0.0.1 that nothing listens on now."""
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def service_env(**extra: str) -> dict[str, str]:
    """The environment of a process that shares this one's PostgreSQL database, Redis and
    broker (Django set up: a test session's test database, a benchmark's own), with
    production's settings: DEBUG off, Celery tasks sent to the broker rather than run in place;
    `extra` last."""
    from django.conf import settings
    from django.db import connection

    db = connection.settings_dict
    user = quote(db["USER"], safe="")
    if db["PASSWORD"]:
        user += ":" + quote(db["PASSWORD"], safe="")
    host = f"{db['HOST'] or '127.0.0.1'}:{db['PORT'] or 5432}"
    return {
        **os.environ,
        "DATABASE_URL": f"postgres://{user}@{host}/{db['NAME']}",
        "REDIS_URL": settings.REDIS_URL,
        "CELERY_BROKER_URL": settings.CELERY_BROKER_URL,
        "SECRET_KEY": settings.SECRET_KEY,
        "DEBUG": "false",
        "CELERY_TASK_ALWAYS_EAGER": "false",
        **extra,
    }


def start_simulator(
    log_dir: Path,
    *,
    env: dict[str, str],
    account: str,
    token: str,
    scenario: Path | None = None,
    callbacks_in_flight: int = 256,
    name: str = "simulator",
) -> tuple[Process, str]:
    """`manage.py run_carrier_simulator` on a free port, once it listens; returns it and its
    base URL."""
    argv = [
        sys.executable,
        str(ROOT / "manage.py"),
        "run_carrier_simulator",
        "--port=0",
        f"--account={account}:{token}",
        f"--callbacks-in-flight={callbacks_in_flight}",
        *([f"--scenario={scenario}"] if scenario else []),
    ]
    process = _started(Process(name, argv, env, log_dir, ready_line="listening on http://"))
    banner = process.log()
    return process, banner.split("listening on ")[1].split()[0]


def start_worker(
    log_dir: Path,
    name: str,
    *,
    queues: str,
    env: dict[str, str],
    concurrency: int = 2,
    include: str = "",
    wait: bool = True,
) -> Process:
    """A Celery worker (prefork, `concurrency` children) for the comma-separated `queues`;
    `include` names more task modules to load. Ready at its " ready." line."""
    argv = [
        sys.executable,
        "-m",
        "celery",
        "-A",
        "config",
        "worker",
        f"--queues={queues}",
        f"--concurrency={concurrency}",
        f"--hostname={name}@%h",
        "--without-gossip",
        "--without-mingle",
        "--without-heartbeat",
        "--loglevel=INFO",
        *([f"--include={include}"] if include else []),
    ]
    return _started(Process(name, argv, env, log_dir, ready_line=" ready."), wait)


def start_beat(
    log_dir: Path, *, env: dict[str, str], name: str = "beat", wait: bool = True
) -> Process:
    """celery beat, its schedule in the database (django-celery-beat, `setup_periodic_tasks`)."""
    argv = [sys.executable, "-m", "celery", "-A", "config", "beat", "--loglevel=INFO"]
    return _started(Process(name, argv, env, log_dir, ready_line="beat: Starting"), wait)


def start_dispatcher(
    log_dir: Path,
    name: str = "dispatcher",
    *,
    env: dict[str, str],
    sweep_every: float,
    interval: float = 0.5,
    wait: bool = True,
) -> Process:
    """`manage.py run_dispatcher`, ticking every `interval` seconds."""
    argv = [
        sys.executable,
        str(ROOT / "manage.py"),
        "run_dispatcher",
        f"--interval={interval}",
        f"--sweep-every={sweep_every}",
    ]
    return _started(Process(name, argv, env, log_dir, ready_line="Dispatcher ticking"), wait)


def start_web(
    log_dir: Path,
    *,
    port: int,
    env: dict[str, str],
    workers: int = 2,
    threads: int = 8,
    name: str = "web",
    wait: bool = True,
) -> Process:
    """The web tier on 127.0.0.1:`port` as production runs it: gunicorn with the uvicorn
    workers of `config/gunicorn.py`, Django in `threads` threads each. Ready once `/health/`
    answers 200 (the database, Redis and the broker reached)."""
    argv = [
        sys.executable,
        "-m",
        "gunicorn",
        "--config=python:config.gunicorn",
        f"--bind=127.0.0.1:{port}",
        f"--workers={workers}",
        "--log-level=info",
        # The default control socket is one path for all of a user's gunicorns, and the tests,
        # the benches and the demo run several side by side: signals are all they need.
        "--no-control-socket",
        "config.asgi:application",
    ]
    env = {"ALLOWED_HOSTS": "127.0.0.1,localhost", "WEB_THREADS": str(threads), **env}
    ready_url = f"http://127.0.0.1:{port}/health/"
    return _started(Process(name, argv, env, log_dir, ready_url=ready_url), wait)


def _started(process: Process, wait: bool = True) -> Process:
    """`process`, once ready unless not to `wait`; stopped if it never is."""
    if wait:
        try:
            process.wait_ready()
        except NotReady:
            process.stop()
            raise
    return process
