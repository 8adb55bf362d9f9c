"""`manage.py run_dispatcher`: the dispatch tick in a loop, with the dialer's sweeps and the
caller IDs' lifecycle (back from cooldown).

Beat runs the same tasks in production; a dedicated loop ticks on time when beat or the
broker is busy, and several may run at once (the tick is safe with concurrent dispatchers).
"""

import signal
import time

from django.core.management.base import BaseCommand

from campaigns.sms.tick import sms_tick, text_claims_release_stale
from campaigns.voice.dispatch import dispatch_tick
from campaigns.voice.outcomes import call_claims_release_stale
from campaigns.voice.sweep import calls_sweep
from dids.health import dids_lifecycle


class Command(BaseCommand):
    help = "Run the voice and SMS ticks every --interval seconds (and the sweeps) until stopped."

    def add_arguments(self, parser):
        parser.add_argument("--interval", type=float, default=1.0, help="seconds between ticks")
        parser.add_argument(
            "--sweep-every", type=float, default=60.0, help="seconds between the sweeps"
        )

    def handle(self, *args, interval: float, sweep_every: float, **options):
        stopping = []
        for signum in (signal.SIGINT, signal.SIGTERM):
            signal.signal(signum, lambda *_: stopping.append(True))
        self.stdout.write(f"Dispatcher ticking every {interval} s", ending="\n")
        self.stdout.flush()
        last_sweep = time.monotonic()
        while not stopping:
            started = time.monotonic()
            result = dispatch_tick()
            if result["claimed"] or result["completed"]:
                self.stdout.write(f"tick {result}")
            texts = sms_tick()
            if texts["started"] or texts["lanes"] or texts["completed"]:
                self.stdout.write(f"sms {texts}")
            if started - last_sweep >= sweep_every:
                last_sweep = started
                swept = {
                    "released": call_claims_release_stale(),
                    **calls_sweep(),
                    "caller_ids": dids_lifecycle(),
                    "sms_claims": text_claims_release_stale(),
                }
                self.stdout.write(f"sweep {swept}")
            self.stdout.flush()
            time.sleep(max(0.0, interval - (time.monotonic() - started)))
        self.stdout.write("Dispatcher stopped.")
