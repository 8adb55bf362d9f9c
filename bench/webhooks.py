"""Benchmark: signed carrier status callbacks accepted per second by the web tier, none lost.

Run as `make bench-webhooks`. Starts gunicorn (2 worker processes) on the project against a
database of its own (`outbound_bench_webhooks`), creates N calls, then a local aiohttp load
generator posts their signed status callbacks (initiated, ringing, in-progress, completed)
with 64 requests in flight. It prints accepted callbacks/s, checks every callback is in the
inbox exactly once, then times the batch processor applying them and checks every call ended
`completed`.
"""

import argparse
import asyncio
import random
import sys
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

from bench.common import ROOT, drop_database, setup_database  # noqa: E402
from config.launcher import Process, free_port, service_env, start_web  # noqa: E402

BENCH_DB = "outbound_bench_webhooks"
TOKEN = "bench-webhook-token"
TARGET = 1_500
LOGS = ROOT / "bench" / "out"


def parse_args(argv):
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--calls", type=int, default=5_000, help="calls; 4 callbacks each")
    parser.add_argument("--in-flight", type=int, default=64)
    parser.add_argument("--workers", type=int, default=2, help="gunicorn worker processes")
    parser.add_argument("--threads", type=int, default=8, help="threads per gunicorn worker")
    return parser.parse_args(argv)


def start_gunicorn(port: int, workers: int, threads: int) -> Process:
    """The web tier on `port`, once its /health/ answers; its log is bench/out/web.log."""
    env = service_env(
        TWILIO_AUTH_TOKEN=TOKEN, PUBLIC_BASE_URL=f"http://127.0.0.1:{port}", LOG_LEVEL="WARNING"
    )
    LOGS.mkdir(parents=True, exist_ok=True)
    return start_web(LOGS, port=port, env=env, workers=workers, threads=threads)


def build_callbacks(port: int, sids: list[str]) -> list[tuple[dict, str]]:
    from twilio.request_validator import RequestValidator

    url = f"http://127.0.0.1:{port}/webhooks/twilio/voice/status/"
    validator = RequestValidator(TOKEN)
    out = []
    for sid in sids:
        for seq, status in enumerate(("initiated", "ringing", "in-progress", "completed")):
            params = {
                "CallSid": sid,
                "AccountSid": "AC" + "0" * 32,
                "CallStatus": status,
                "SequenceNumber": str(seq),
                "From": "+14155550100",
                "To": "+14155550101",
                "CallbackSource": "call-progress-events",
                "Direction": "outbound-api",
                "Timestamp": "Mon, 23 Nov 2026 10:00:00 +0000",
            }
            if status == "completed":
                params.update(CallDuration="31", Duration="1", SipResponseCode="200")
            out.append((params, validator.compute_signature(url, params)))
    random.Random(1).shuffle(out)  # callbacks arrive out of order, as they do
    return out


async def post_all(url: str, callbacks, in_flight: int) -> dict[int, int]:
    import aiohttp

    statuses: dict[int, int] = {}
    queue = iter(callbacks)
    connector = aiohttp.TCPConnector(limit=in_flight)
    async with aiohttp.ClientSession(connector=connector) as session:

        async def worker():
            for params, signature in queue:
                for attempt in range(5):
                    try:
                        async with session.post(
                            url, data=params, headers={"X-Twilio-Signature": signature}
                        ) as resp:
                            await resp.read()
                            statuses[resp.status] = statuses.get(resp.status, 0) + 1
                            break
                    except aiohttp.ClientError:
                        await asyncio.sleep(0.05 * (attempt + 1))

        await asyncio.gather(*(worker() for _ in range(in_flight)))
    return statuses


def main(argv=None) -> int:
    args = parse_args(argv)
    from rich.console import Console
    from rich.table import Table

    console = Console(highlight=False)
    console.print(f"[bold]Webhook bench[/]: {args.calls:,} calls x 4 signed callbacks")
    setup_database(BENCH_DB)
    from messaging.models import CarrierCall, WebhookEvent
    from messaging.services import inbox_apply_batch
    from orgs.services import org_create

    org = org_create(name="Bench", slug="bench")
    sids = [f"CA{i:032x}" for i in range(args.calls)]
    CarrierCall.objects.bulk_create(
        [
            CarrierCall(organization=org, sid=s, to="+14155550101", from_number="+14155550100")
            for s in sids
        ],
        batch_size=5000,
    )
    port = free_port()
    callbacks = build_callbacks(port, sids)
    server = start_gunicorn(port, args.workers, args.threads)
    try:
        url = f"http://127.0.0.1:{port}/webhooks/twilio/voice/status/"
        asyncio.run(post_all(url, callbacks[:200], 16))  # warm up the workers
        WebhookEvent.objects.all().delete()
        started = time.perf_counter()
        statuses = asyncio.run(post_all(url, callbacks, args.in_flight))
        accept_seconds = time.perf_counter() - started
    finally:
        server.stop(timeout=30)
    accepted = statuses.get(204, 0)
    stored = WebhookEvent.objects.count()
    started = time.perf_counter()
    while inbox_apply_batch():
        pass
    apply_seconds = time.perf_counter() - started
    completed = CarrierCall.objects.filter(status="completed").count()

    rate = accepted / accept_seconds
    table = Table(title="Signed status callbacks")
    table.add_column("figure")
    table.add_column("value", justify="right")
    table.add_row("callbacks sent", f"{len(callbacks):,}")
    table.add_row("answers", ", ".join(f"{k}: {v:,}" for k, v in sorted(statuses.items())))
    table.add_row(
        f"accepted per second (gunicorn, {args.workers} uvicorn workers)",
        f"{rate:,.0f}",
    )
    table.add_row("stored in the inbox (none lost, none twice)", f"{stored:,}")
    table.add_row(
        "batch apply: seconds / events per second",
        f"{apply_seconds:.2f} / {stored / apply_seconds:,.0f}",
    )
    table.add_row("calls ended completed", f"{completed:,} of {len(sids):,}")
    console.print(table)
    ok = accepted == len(callbacks) == stored and completed == len(sids)
    console.print(
        f"target ≥ {TARGET:,}/s accepted, none lost: "
        f"{'[green]met' if ok and rate >= TARGET else '[red]not met'}[/]"
    )
    drop_database(BENCH_DB)
    return 0 if ok else 1


if __name__ == "__main__":
    sys.exit(main())
