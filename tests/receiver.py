"""A webhook receiver for tests: a real HTTP server on loopback, in a thread, that records
every request and answers from a script."""

import threading
import time
from dataclasses import dataclass, field
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer


@dataclass
class Received:
    path: str
    headers: dict[str, str]
    body: bytes


@dataclass
class Receiver:
    """`answers`: statuses for the next requests, in order (200 once they run out); `delay`:
    seconds before answering; `hold`: when set, each request waits until it is set."""

    url: str = ""
    requests: list[Received] = field(default_factory=list)
    answers: list[int] = field(default_factory=list)
    headers: dict[str, str] = field(default_factory=dict)
    delay: float = 0.0
    arrived: threading.Event = field(default_factory=threading.Event)
    hold: threading.Event | None = None

    def answer(self) -> int:
        if self.hold is not None:
            self.hold.wait(10)
        if self.delay:
            time.sleep(self.delay)
        return self.answers.pop(0) if self.answers else 200


def _handler(receiver: Receiver) -> type[BaseHTTPRequestHandler]:
    class Handler(BaseHTTPRequestHandler):
        def do_POST(self):
            body = self.rfile.read(int(self.headers.get("Content-Length") or 0))
            receiver.requests.append(Received(self.path, dict(self.headers.items()), body))
            receiver.arrived.set()
            status = receiver.answer()
            try:
                self.send_response(status)
                for name, value in receiver.headers.items():
                    self.send_header(name, value)
                self.send_header("Content-Length", "2")
                self.end_headers()
                self.wfile.write(b"ok")
            except OSError:  # the client gave up waiting (a timeout test)
                pass

        def log_message(self, format, *args):
            pass

    return Handler


class ReceiverServer(ThreadingHTTPServer):
    daemon_threads = True
    block_on_close = False


def start_receiver() -> tuple[Receiver, ReceiverServer]:
    receiver = Receiver()
    server = ReceiverServer(("127.0.0.1", 0), _handler(receiver))
    receiver.url = f"http://127.0.0.1:{server.server_address[1]}/hooks/outbound"
    threading.Thread(target=server.serve_forever, args=(0.05,), daemon=True).start()
    return receiver, server
