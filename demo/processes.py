"""Child processes with a log file each: started, waited for by a line in the log, stopped.

The demo's stack and the end-to-end tests start the carrier simulator, Celery and the web
server as real processes the way production does. Each runs in its own process group, so a
stop or a kill takes its children too and a Ctrl-C in the terminal reaches only the parent,
which stops them in order.
"""

import os
import signal
import subprocess
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
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
