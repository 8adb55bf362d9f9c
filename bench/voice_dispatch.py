"""Benchmark: the voice dispatcher: attempts per second, pacing accuracy, limits never exceeded.

Run as `make bench-voice`. It uses its own database, `outbound_bench_voice` beside the one
DATABASE_URL names (dropped, recreated, migrated), and Redis database 14 unless REDIS_URL names
one. Everything runs as in production: the carrier simulator over HTTP through the twilio SDK,
Celery workers, `run_dispatcher` ticking every second, and gunicorn taking the carrier's
callbacks where calls must end. Three phases, each with processes started for its settings:

1. throughput: prospects in four campaigns of two orgs, limits far above their number, the
   carrier's own CPS limit lifted, zero-length calls; the carrier sends no callbacks (the
   simulator's `deliver_callbacks: false`), so this measures the path from the tick's claim to
   a stored sid. Figure: attempts placed per second (target 1,000).
2. pacing: one campaign at calls_per_second = 10 for 60 s with calls that ring, talk and end,
   their callbacks applied, and limits far above what the pace needs. Figure: attempts started
   in 60 s, from 5 s after the first (the steady state), / 60 (target within 5 % of 10).
3. limits: two orgs (limits 30 and 15), a global limit of 40, a campaign pool of 35, fast
   pacing and calls of a few seconds for 30 s. Active calls (claimed or in flight) are sampled
   from the database every 50 ms; the carrier reports its own peak of live calls. Target:
   never above any limit.
"""

import argparse
import io
import os
import sys
import threading
import time
from datetime import UTC, datetime
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

from rich.console import Console  # noqa: E402
from rich.table import Table  # noqa: E402

from bench.common import ROOT, cpu_seconds, drop_database, setup_database  # noqa: E402
from config.launcher import (  # noqa: E402
    free_port,
    service_env,
    start_dispatcher,
    start_simulator,
    start_web,
    start_worker,
)

BENCH_DB = "outbound_bench_voice"
ACCOUNT, TOKEN = "AC" + "b7" * 16, "bench-voice-token"
TARGET_RATE = 1_000
PACE, PACE_SECONDS, PACE_TOLERANCE, WARM_UP = 10, 60, 0.05, 5
LIMITS = {"org_a": 30, "org_b": 15, "global": 40, "pool": 35}
LOGS = ROOT / "bench" / "out" / "voice"
# Number blocks in several parts of the world: the bench calls the one whose local time is inside
# the federal window now, so it runs whatever the hour.
BLOCKS = ("+1212555{:04d}", "+1415555{:04d}", "+1808555{:04d}", "+4420794{:05d}", "+6129876{:04d}")

console = Console(highlight=False)


def parse_args(argv):
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--prospects", type=int, default=10_000, help="throughput phase")
    parser.add_argument("--workers", type=int, default=1, help="Celery worker processes")
    parser.add_argument("--concurrency", type=int, default=6, help="prefork children each")
    parser.add_argument(
        "--attempts-per-task", type=int, default=50, help="DIALER_ATTEMPTS_PER_TASK"
    )
    parser.add_argument("--limits-seconds", type=float, default=30.0)
    parser.add_argument(
        "--phases", default="throughput,pacing,limits", help="comma-separated subset"
    )
    return parser.parse_args(argv)


class Stack:
    """The simulator for the whole run; workers, dispatcher and web tier per phase."""

    def __init__(self, args):
        LOGS.mkdir(parents=True, exist_ok=True)
        self.args = args
        self.simulator, self.carrier = start_simulator(
            LOGS, env=service_env(), account=ACCOUNT, token=TOKEN
        )
        self.phase: list = []  # this phase's workers and dispatcher
        self.web = None  # its gunicorn, when the carrier's callbacks must be taken

    def scenario(self, **values) -> None:
        import requests

        requests.post(f"{self.carrier}/_sim/reset", timeout=5).raise_for_status()
        scenario = {"seed": 5, "cps": 100_000, **values}
        requests.put(f"{self.carrier}/_sim/scenario", json=scenario, timeout=5).raise_for_status()

    def stats(self) -> dict:
        import requests

        return requests.get(f"{self.carrier}/_sim/stats", timeout=5).json()

    def start(self, name: str, *, callbacks: bool, **settings: str) -> None:
        port = free_port()
        env = service_env(
            TWILIO_ACCOUNT_SID=ACCOUNT,
            TWILIO_AUTH_TOKEN=TOKEN,
            TWILIO_API_BASE_URL=self.carrier,
            PUBLIC_BASE_URL=f"http://127.0.0.1:{port}",
            LOG_LEVEL="WARNING",
            DIALER_ATTEMPTS_PER_TASK=str(self.args.attempts_per_task),
            **settings,
        )
        if callbacks:
            self.web = start_web(LOGS, name=f"{name}-web", port=port, env=env, workers=1)
        for n in range(self.args.workers):
            self.phase.append(
                start_worker(
                    LOGS,
                    f"{name}-worker-{n}",
                    queues="dialer",
                    env=env,
                    concurrency=self.args.concurrency,
                )
            )
        if callbacks:  # a pool of its own, as in production: calls never wait behind callbacks
            self.phase.append(
                start_worker(
                    LOGS,
                    f"{name}-worker-webhooks",
                    queues="webhooks,default",
                    env=env,
                    concurrency=2,
                )
            )
        self.phase.append(start_dispatcher(LOGS, f"{name}-dispatcher", env=env, sweep_every=5))

    def pids(self) -> list[tuple[str, int]]:
        """(part, pid) of the simulator and this phase's processes."""
        out = [("carrier simulator", self.simulator.popen.pid)]
        for process in self.phase:
            part = "Celery workers" if "worker" in process.name else "dispatcher"
            out.append((part, process.popen.pid))
        if self.web is not None:
            out.append(("web tier", self.web.popen.pid))
        return out

    def stop_phase(self) -> None:
        for process in reversed(self.phase):
            process.stop()
        self.phase = []
        if self.web is not None:
            self.web.stop(timeout=30)
            self.web = None

    def close(self) -> None:
        self.stop_phase()
        self.simulator.stop()


def numbers(count: int, now: datetime) -> list[str]:
    """`count` distinct numbers in a block whose local time is inside the federal window."""
    from prospects import windows

    for block in BLOCKS:
        if windows.check(block.format(1), now, policy="federal").allowed:
            width = 5 if "{:05d}" in block else 4
            if count > 10**width:
                continue
            return [block.format(i) for i in range(count)]
    raise SystemExit("no number block is inside the federal calling window right now")


def campaign_with(org, count: int, offset: int, now: datetime, **fields):
    from campaigns.models import Campaign
    from prospects.importing import prospects_import

    campaign = Campaign.objects.create(
        organization=org, name=f"{org.name} {offset}", retry_delay_minutes=600, **fields
    )
    rows = numbers(offset + count, now)[offset:]
    data = "phone\n" + "\n".join(rows) + "\n"
    result = prospects_import(campaign=campaign, fileobj=io.BytesIO(data.encode()))
    assert result["imported"] == count, result
    return campaign


def org_with_dids(name: str, limit: int, dids: int = 20):
    from dids.models import Did
    from orgs.services import org_create

    org = org_create(name=name, slug=name.lower().replace(" ", "-"))
    org.concurrency_limit = limit
    org.save(update_fields=["concurrency_limit"])
    base = 6660000 + 100 * org.id
    for i in range(dids):
        Did.objects.create(organization=org, e164=f"+1415{base + i}", area_code="415", region="US")
    return org


def start_all(campaigns) -> float:
    from campaigns.services import campaign_start

    for campaign in campaigns:
        campaign_start(campaign=campaign)
    return time.monotonic()


def pause_all(campaigns) -> None:
    from campaigns.services import campaign_pause

    for campaign in campaigns:
        campaign.refresh_from_db()
        if campaign.status == "dialing":
            campaign_pause(campaign=campaign)


def reset_data() -> None:
    from django.db import connection

    with connection.cursor() as cur:
        cur.execute(
            "TRUNCATE orgs_organization, campaigns_campaign, campaigns_callattempt,"
            " prospects_prospect, prospects_prospectphone, dids_did, messaging_carriercall,"
            " messaging_webhookevent CASCADE"
        )


def phase_throughput(stack: Stack, args, table: Table) -> bool:
    from campaigns.models import CallAttempt

    reset_data()
    now = datetime.now(UTC)
    total = args.prospects - args.prospects % 4
    per = total // 4
    campaigns = []
    for o in range(2):
        org = org_with_dids(f"Throughput {o}", 10_000)
        for c in range(2):
            offset = (2 * o + c) * per
            campaigns.append(campaign_with(org, per, offset, now, calls_per_second=1000))
    stack.scenario(time_scale=0, deliver_callbacks=False)
    stack.start(
        "throughput",
        callbacks=False,
        DIALER_GLOBAL_CONCURRENCY="100000",
        DIALER_POOL_CAMPAIGN="100000",
    )
    console.print(f"throughput: {total:,} prospects, 4 campaigns at 1,000 calls/s each")
    samples = []
    cpu_before = cpu_seconds(stack.pids())
    try:
        started = start_all(campaigns)
        placed, last_change = 0, time.monotonic()
        while placed < total and time.monotonic() - last_change < 60:
            time.sleep(0.25)
            now_placed = CallAttempt.objects.exclude(sid=None).count()
            if now_placed != placed:
                placed, last_change = now_placed, time.monotonic()
            samples.append((time.monotonic() - started, now_placed))
        elapsed = last_change - started
        cpu = cpu_seconds(stack.pids())
        cpu.subtract(cpu_before)
    finally:
        stack.stop_phase()
    stats = stack.stats()
    rate = placed / elapsed if elapsed else 0.0
    steady = _steady_rate(samples, total)
    twice = sum(1 for n in stats["calls"]["by_to"].values() if n > 1) if stats["calls"] else 0
    table.add_row("throughput: prospects / attempts placed", f"{total:,} / {placed:,}")
    table.add_row("throughput: attempts placed per second, start to last sid", f"{rate:,.0f}")
    table.add_row("throughput: per second between 10 % and 90 % placed", f"{steady:,.0f}")
    table.add_row("throughput: numbers the carrier saw twice", f"{twice:,}")
    if placed:
        per_call = {part: seconds * 1000 / placed for part, seconds in cpu.items()}
        total_ms = sum(per_call.values())
        table.add_row(
            "throughput: CPU ms per attempt, by part",
            ", ".join(f"{part} {ms:.2f}" for part, ms in sorted(per_call.items())),
        )
        cores = os.cpu_count() or 1
        table.add_row(
            f"throughput: ceiling on {cores} cores at {total_ms:.2f} CPU ms per attempt",
            f"{cores * 1000 / total_ms:,.0f}/s",
        )
    ok = placed == total and twice == 0
    return ok and rate >= TARGET_RATE


def _steady_rate(samples, total: int) -> float:
    low = next((s for s in samples if s[1] >= total * 0.1), None)
    high = next((s for s in samples if s[1] >= total * 0.9), None)
    if not low or not high or high[0] <= low[0]:
        return 0.0
    return (high[1] - low[1]) / (high[0] - low[0])


REALISTIC = {
    "ring_seconds": [2, 15],
    "call_outcomes": {"human": 55, "machine": 20, "busy": 10, "no_answer": 10, "failed": 5},
}


def phase_pacing(stack: Stack, args, table: Table) -> bool:
    from datetime import timedelta

    from django.db.models import Min

    from campaigns.models import CallAttempt

    reset_data()
    now = datetime.now(UTC)
    org = org_with_dids("Pacing", 1000)
    campaign = campaign_with(org, PACE * PACE_SECONDS * 2, 0, now, calls_per_second=PACE)
    stack.scenario(time_scale=0.01, **REALISTIC)
    # Limits far above what the pace needs: this phase measures the pace alone.
    stack.start(
        "pacing", callbacks=True, DIALER_GLOBAL_CONCURRENCY="1000", DIALER_POOL_CAMPAIGN="1000"
    )
    console.print(f"pacing: one campaign at {PACE} calls/s for {PACE_SECONDS} s")
    try:
        start_all([campaign])
        time.sleep(WARM_UP + PACE_SECONDS + 5)
        pause_all([campaign])
    finally:
        stack.stop_phase()
    attempts = CallAttempt.objects.filter(campaign=campaign)
    first = attempts.aggregate(first=Min("created_at"))["first"]
    start = first + timedelta(seconds=WARM_UP)
    window = attempts.filter(
        created_at__gte=start, created_at__lt=start + timedelta(seconds=PACE_SECONDS)
    )
    achieved = window.count() / PACE_SECONDS
    off = abs(achieved - PACE) / PACE
    table.add_row(
        f"pacing: calls/s achieved at calls_per_second = {PACE} over {PACE_SECONDS} s",
        f"{achieved:.2f} ({off:+.1%} off)".replace("+", "±"),
    )
    return off <= PACE_TOLERANCE


def phase_limits(stack: Stack, args, table: Table) -> bool:
    from campaigns.voice.dispatch import active_calls_by_org

    reset_data()
    now = datetime.now(UTC)
    org_a = org_with_dids("Limits A", LIMITS["org_a"])
    org_b = org_with_dids("Limits B", LIMITS["org_b"])
    campaigns = [
        campaign_with(org_a, 3_000, 0, now, calls_per_second=50),
        campaign_with(org_b, 3_000, 3_000, now, calls_per_second=50),
    ]
    stack.scenario(time_scale=0.02, **REALISTIC)
    stack.start(
        "limits",
        callbacks=True,
        DIALER_GLOBAL_CONCURRENCY=str(LIMITS["global"]),
        DIALER_POOL_CAMPAIGN=str(LIMITS["pool"]),
    )
    console.print(
        f"limits: org limits {LIMITS['org_a']} and {LIMITS['org_b']}, global "
        f"{LIMITS['global']}, campaign pool {LIMITS['pool']}, {args.limits_seconds:.0f} s"
    )
    peaks = {"a": 0, "b": 0, "all": 0}
    stop = threading.Event()

    def sample():
        from django.db import connection

        while not stop.is_set():
            active = active_calls_by_org()
            a, b = active.get(org_a.id, 0), active.get(org_b.id, 0)
            peaks.update(a=max(peaks["a"], a), b=max(peaks["b"], b), all=max(peaks["all"], a + b))
            time.sleep(0.05)
        connection.close()

    sampler = threading.Thread(target=sample)
    try:
        start_all(campaigns)
        sampler.start()
        time.sleep(args.limits_seconds)
        pause_all(campaigns)
    finally:
        stop.set()
        if sampler.is_alive():
            sampler.join()
        stack.stop_phase()
    carrier_peak = stack.stats()["calls"]["concurrent"]["peak"]
    rows = [
        ("org A", peaks["a"], LIMITS["org_a"]),
        ("org B", peaks["b"], LIMITS["org_b"]),
        ("campaign pool", peaks["all"], LIMITS["pool"]),
        ("global", peaks["all"], LIMITS["global"]),
        ("global, the carrier's own count of live calls", carrier_peak, LIMITS["global"]),
    ]
    for name, peak, limit in rows:
        table.add_row(f"limits: peak active calls, {name} (limit {limit})", f"{peak}")
    return all(peak <= limit for _, peak, limit in rows)


PHASES = {"throughput": phase_throughput, "pacing": phase_pacing, "limits": phase_limits}


def main(argv=None) -> int:
    args = parse_args(argv)
    os.environ["REDIS_URL"] = os.environ.get("REDIS_URL") or "redis://127.0.0.1:6379/14"
    os.environ["CELERY_BROKER_URL"] = os.environ["REDIS_URL"]
    setup_database(BENCH_DB)
    from config.redis import get_redis

    get_redis().flushdb()
    table = Table(title="Voice dispatch")
    table.add_column("figure")
    table.add_column("value", justify="right")
    results = {}
    stack = Stack(args)
    try:
        for name in args.phases.split(","):
            results[name] = PHASES[name](stack, args, table)
    finally:
        stack.close()
    console.print(table)
    for name, met in results.items():
        console.print(f"{name}: {'[green]target met' if met else '[red]target not met'}[/]")
    console.print(f"logs: {LOGS}")
    drop_database(BENCH_DB)
    return 0 if all(results.values()) else 1


if __name__ == "__main__":
    sys.exit(main())
