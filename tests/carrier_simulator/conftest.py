"""The carrier simulator in a background thread, the real SDK pointed at it, a callback receiver.

The simulator and the receiver start once per session; every test resets the simulator and
sets the scenario it needs, so tests stay independent and fast.
"""

import threading
import time
from collections.abc import Callable, Iterator
from dataclasses import dataclass
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Any
from urllib.parse import parse_qsl, urlsplit

import pytest
import requests
from twilio.request_validator import RequestValidator
from twilio.rest import Client

from carrier_simulator import SimulatorServer
from messaging.providers.twilio import RewritingHttpClient

ACCOUNT = "AC" + "a1" * 16
TOKEN = "sim-test-token"
OTHER_ACCOUNT = "AC" + "b2" * 16
OTHER_TOKEN = "other-test-token"
WAIT_SECONDS = 10.0
# The contract's defaults (1 CPS, 1/3/100 MPS) would make tests that place many calls or
# texts wait; tests about rates set them explicitly.
FAST_CPS = 1000
FAST_MPS = {"long_code": 1000, "toll_free": 1000, "short_code": 1000}


@dataclass(frozen=True)
class Received:
    method: str
    url: str  # absolute, as the simulator requested it
    headers: dict[str, str]
    pairs: list[tuple[str, str]]  # form body (POST) or query (GET), in order

    @property
    def params(self) -> dict[str, str]:
        return dict(self.pairs)

    def signature_valid(self, token: str = TOKEN) -> bool:
        validator = RequestValidator(token)
        signature = self.headers.get("X-Twilio-Signature", "")
        if self.method == "GET":
            return validator.validate(self.url, {}, signature)
        return validator.validate(self.url, self.params, signature)


class Receiver:
    """Records every webhook; answers 204, or 500 for the next `fail_next` requests."""

    def __init__(self) -> None:
        self._lock = threading.Condition()
        self._received: list[Received] = []
        self.fail_next = 0
        receiver = self

        class Handler(BaseHTTPRequestHandler):
            def do_GET(self) -> None:
                receiver._record(self, "GET", urlsplit(self.path).query)

            def do_POST(self) -> None:
                length = int(self.headers.get("Content-Length") or 0)
                receiver._record(self, "POST", self.rfile.read(length).decode())

            def log_message(self, *args: Any) -> None:
                pass

        self._server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
        self.base_url = f"http://127.0.0.1:{self._server.server_address[1]}"
        threading.Thread(target=self._server.serve_forever, daemon=True).start()

    def _record(self, handler: BaseHTTPRequestHandler, method: str, form: str) -> None:
        with self._lock:
            failing = self.fail_next > 0
            self.fail_next -= 1 if failing else 0
            if not failing:
                self._received.append(
                    Received(
                        method=method,
                        url=self.base_url + handler.path,
                        headers=dict(handler.headers.items()),
                        pairs=parse_qsl(form, keep_blank_values=True),
                    )
                )
                self._lock.notify_all()
        handler.send_response(500 if failing else 204)
        handler.end_headers()

    def url(self, path: str) -> str:
        return self.base_url + path

    def clear(self) -> None:
        with self._lock:
            self._received.clear()
            self.fail_next = 0

    def at(self, path: str) -> list[Received]:
        with self._lock:
            return [r for r in self._received if urlsplit(r.url).path == path]

    def wait(self, path: str, count: int, until: Callable[[list[Received]], bool] | None = None):
        """The requests to `path` once at least `count` arrived (and `until` holds)."""
        deadline = time.monotonic() + WAIT_SECONDS
        with self._lock:
            while True:
                got = [r for r in self._received if urlsplit(r.url).path == path]
                if len(got) >= count and (until is None or until(got)):
                    return got
                remaining = deadline - time.monotonic()
                if remaining <= 0:
                    raise AssertionError(f"{len(got)} of {count} callbacks to {path}: {got}")
                self._lock.wait(remaining)

    def close(self) -> None:
        self._server.shutdown()
        self._server.server_close()


class Sim:
    """The running simulator: its control routes and SDK clients for it."""

    def __init__(self, server: SimulatorServer):
        self.base_url = server.base_url
        self.http = requests.Session()

    def scenario(self, **values: Any) -> dict[str, Any]:
        """Replace the scenario; tests run instantly, seeded and unthrottled unless they say
        otherwise (a partial `mps` keeps the fast rate for the types it leaves out)."""
        mps = {**FAST_MPS, **values.pop("mps", {})}
        return self.put_scenario(
            {"time_scale": 0, "seed": 7, "cps": FAST_CPS, "mps": mps, **values}
        )

    def put_scenario(self, values: dict[str, Any]) -> dict[str, Any]:
        """Replace the scenario with exactly `values` (absent keys take their defaults)."""
        response = self.http.put(f"{self.base_url}/_sim/scenario", json=values, timeout=5)
        assert response.status_code == 200, response.text
        return response.json()

    def stats(self) -> dict[str, Any]:
        return self.http.get(f"{self.base_url}/_sim/stats", timeout=5).json()

    def inbound(self, **fields: str) -> dict[str, Any]:
        response = self.http.post(f"{self.base_url}/_sim/inbound", data=fields, timeout=5)
        assert response.status_code == 201, response.text
        return response.json()

    def reset(self) -> None:
        assert self.http.post(f"{self.base_url}/_sim/reset", timeout=5).status_code == 200

    def client(self, account: str = ACCOUNT, token: str = TOKEN) -> Client:
        return Client(account, token, http_client=RewritingHttpClient(self.base_url, timeout=5))

    def api_url(self, path: str, account: str = ACCOUNT) -> str:
        return f"{self.base_url}/2010-04-01/Accounts/{account}/{path}"


@pytest.fixture(scope="session")
def _simulator_server() -> Iterator[SimulatorServer]:
    server = SimulatorServer(accounts={ACCOUNT: TOKEN, OTHER_ACCOUNT: OTHER_TOKEN})
    server.start()
    yield server
    server.stop()


@pytest.fixture(scope="session")
def _receiver() -> Iterator[Receiver]:
    receiver = Receiver()
    yield receiver
    receiver.close()


@pytest.fixture
def sim(_simulator_server: SimulatorServer) -> Sim:
    """A clean simulator with a fast, deterministic scenario (override with sim.scenario)."""
    handle = Sim(_simulator_server)
    handle.reset()
    handle.scenario()
    return handle


@pytest.fixture
def receiver(_receiver: Receiver, sim: Sim) -> Receiver:
    _receiver.clear()  # after the reset, so nothing from an earlier test can still arrive
    return _receiver


@pytest.fixture
def client(sim: Sim) -> Client:
    return sim.client()
