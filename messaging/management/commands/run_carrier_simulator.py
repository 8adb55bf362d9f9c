"""`manage.py run_carrier_simulator`: the local Twilio-compatible carrier, until SIGINT/SIGTERM."""

import asyncio
import gc
import signal

from django.conf import settings
from django.core.management.base import BaseCommand, CommandError, CommandParser

from carrier_simulator import Scenario, ScenarioError, Simulator, serve


def parse_account(value: str) -> tuple[str, str]:
    sid, _, token = value.partition(":")
    if not sid or not token:
        raise CommandError(f"--account expects SID:TOKEN, got {value!r}")
    return sid, token


def tune_gc() -> None:
    """Collect rarely. The simulator keeps the calls and messages it saw (up to 200,000 of
    each) and little else outlives a request: at the default threshold the collector ran
    every hundred or so calls and walked the same records again and again, about a tenth of
    the CPU. What startup built (Django, the SDK, aiohttp) lives as long as the process:
    frozen, it is never walked."""
    gc.freeze()
    gc.set_threshold(10_000)


class Command(BaseCommand):
    help = "Run the carrier simulator (Twilio's REST API subset, signed callbacks)."

    def add_arguments(self, parser: CommandParser) -> None:
        parser.add_argument("--host", default="127.0.0.1")
        parser.add_argument("--port", type=int, default=8099, help="0 picks a free port")
        parser.add_argument("--scenario", help="a scenario JSON file")
        parser.add_argument(
            "--account",
            action="append",
            default=[],
            metavar="SID:TOKEN",
            help="repeatable; default TWILIO_ACCOUNT_SID:TWILIO_AUTH_TOKEN",
        )
        parser.add_argument("--callbacks-in-flight", type=int, default=256)

    def handle(self, *args, **opts) -> None:
        accounts = dict(parse_account(a) for a in opts["account"]) or {
            settings.TWILIO_ACCOUNT_SID: settings.TWILIO_AUTH_TOKEN
        }
        try:
            scenario = Scenario.from_file(opts["scenario"]) if opts["scenario"] else Scenario()
        except ScenarioError as exc:
            raise CommandError(str(exc)) from exc
        simulator = Simulator(
            accounts=accounts, scenario=scenario, callbacks_in_flight=opts["callbacks_in_flight"]
        )
        tune_gc()
        asyncio.run(self._serve(simulator, opts["host"], opts["port"], list(accounts)))

    async def _serve(self, simulator: Simulator, host: str, port: int, accounts: list[str]) -> None:
        stop = asyncio.Event()
        loop = asyncio.get_running_loop()
        for signum in (signal.SIGINT, signal.SIGTERM):
            loop.add_signal_handler(signum, stop.set)

        def ready(bound: int) -> None:
            self.stdout.write(
                f"Carrier simulator listening on http://{host}:{bound} "
                f"(accounts: {', '.join(accounts)})"
            )
            self.stdout.flush()

        await serve(simulator, host=host, port=port, stop=stop, on_ready=ready)
        self.stdout.write("Carrier simulator stopped.")
