"""Wiring and running: the `Simulator`, `serve()` for the command, `SimulatorServer` for tests."""

import asyncio
import logging
import threading
from collections.abc import Callable, Mapping
from types import TracebackType

from aiohttp import web

from carrier_simulator.api import MAX_FORM_FIELDS, TwilioApi
from carrier_simulator.callbacks import Dispatcher
from carrier_simulator.calls import CallEngine
from carrier_simulator.control import Control
from carrier_simulator.messages import MessageEngine
from carrier_simulator.runtime import Runtime
from carrier_simulator.scenario import Scenario
from carrier_simulator.state import Store
from carrier_simulator.stats import Stats

log = logging.getLogger(__name__)

DEFAULT_CALLBACKS_IN_FLIGHT = 256


class Simulator:
    """One carrier: accounts, scenario, state, the two engines and the callback dispatcher."""

    def __init__(
        self,
        *,
        accounts: Mapping[str, str],
        scenario: Scenario | None = None,
        callbacks_in_flight: int = DEFAULT_CALLBACKS_IN_FLIGHT,
    ):
        if not accounts:
            raise ValueError("the simulator needs at least one AccountSid:AuthToken")
        stats = Stats()
        dispatcher = Dispatcher(
            stats=stats, scenario=lambda: self.rt.scenario, max_in_flight=callbacks_in_flight
        )
        self.rt = Runtime(
            accounts=dict(accounts),
            scenario=scenario or Scenario(),
            dispatcher=dispatcher,
            stats=stats,
        )
        self.calls = CallEngine(self.rt)
        self.messages = MessageEngine(self.rt)

    def app(self) -> web.Application:
        api = TwilioApi(self.rt, self.calls, self.messages)
        app = web.Application(
            middlewares=[api.middleware],
            client_max_size=1024**2,
            client_max_fields=MAX_FORM_FIELDS,
        )
        app.add_routes(api.routes())
        app.add_routes(Control(self.rt, self.reset).routes())
        return app

    async def start(self) -> None:
        await self.rt.dispatcher.start()

    async def reset(self) -> None:
        self.calls.reset()
        self.messages.reset()
        await self.rt.dispatcher.reset()
        self.rt.store = Store(self.rt.store.max_records)
        self.rt.stats.reset()
        self.rt.use_scenario(self.rt.scenario)

    async def close(self) -> None:
        self.calls.reset()
        self.messages.reset()
        await self.rt.dispatcher.close()


async def serve(
    simulator: Simulator,
    *,
    host: str,
    port: int,
    stop: asyncio.Event,
    on_ready: Callable[[int], None],
) -> None:
    """Listen until `stop` is set, then close cleanly: timers, deliveries, sockets."""
    await simulator.start()
    runner = web.AppRunner(simulator.app(), access_log=None, handle_signals=False)
    await runner.setup()
    try:
        site = web.TCPSite(runner, host, port, backlog=2048, reuse_address=True)
        await site.start()
        on_ready(runner.addresses[0][1])
        await stop.wait()
    finally:
        await simulator.close()
        await runner.cleanup()


class SimulatorServer:
    """The simulator on its own event loop in a background thread (for tests and benches).

    >>> with SimulatorServer(accounts={"AC…": "token"}) as server:
    ...     client = Client(..., http_client=RewritingHttpClient(server.base_url))
    """

    def __init__(
        self,
        *,
        accounts: Mapping[str, str],
        scenario: Scenario | None = None,
        host: str = "127.0.0.1",
        port: int = 0,
        callbacks_in_flight: int = DEFAULT_CALLBACKS_IN_FLIGHT,
    ):
        self.simulator = Simulator(
            accounts=accounts, scenario=scenario, callbacks_in_flight=callbacks_in_flight
        )
        self.host, self.port = host, port
        self._ready = threading.Event()
        self._thread: threading.Thread | None = None
        self._loop: asyncio.AbstractEventLoop | None = None
        self._stop: asyncio.Event | None = None
        self._error: BaseException | None = None

    @property
    def base_url(self) -> str:
        return f"http://{self.host}:{self.port}"

    def start(self, timeout: float = 10.0) -> int:
        """Start listening; returns the bound port."""
        self._thread = threading.Thread(target=self._run, name="carrier-simulator", daemon=True)
        self._thread.start()
        if not self._ready.wait(timeout):
            raise RuntimeError("the carrier simulator did not start in time")
        if self._error is not None:
            raise RuntimeError("the carrier simulator failed to start") from self._error
        return self.port

    def stop(self, timeout: float = 10.0) -> None:
        if self._loop is not None and self._stop is not None:
            self._loop.call_soon_threadsafe(self._stop.set)
        if self._thread is not None:
            self._thread.join(timeout)
            self._thread = None

    def __enter__(self) -> "SimulatorServer":
        self.start()
        return self

    def __exit__(
        self,
        exc_type: type[BaseException] | None,
        exc: BaseException | None,
        tb: TracebackType | None,
    ) -> None:
        self.stop()

    def _run(self) -> None:
        try:
            asyncio.run(self._main())
        except BaseException as exc:  # reported to start(); the thread must not die silently
            self._error = exc
            log.exception("carrier simulator stopped")
        finally:
            self._ready.set()

    async def _main(self) -> None:
        self._loop = asyncio.get_running_loop()
        self._stop = asyncio.Event()

        def ready(port: int) -> None:
            self.port = port
            self._ready.set()

        await serve(self.simulator, host=self.host, port=self.port, stop=self._stop, on_ready=ready)
