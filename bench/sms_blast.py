"""Benchmark: an SMS blast through PostgreSQL, Redis and Celery workers to the carrier over HTTP.

Run as `make bench-sms`. It uses its own database, `outbound_bench_sms` beside the one
DATABASE_URL names (dropped, recreated, migrated), and Redis database 6 unless REDIS_URL names
one. Everything runs as in production: the carrier simulator over HTTP through the twilio SDK,
Celery workers for the `sms` and `webhooks` queues, `run_dispatcher` ticking (its SMS tick
starts the executor lanes), and gunicorn taking the carrier's signed delivery reports. Every
guardrail is on: suppression and frequency cap at the start, the recipient's window, blocked
words, the org's credit, the pool's and each sender's rate, short links in the text.

Everything shares the machine's two cores, the carrier included. The carrier sends two signed
reports per text (sent, then delivered or undelivered), and taking one in and applying it
costs about as much as sending a text, so when the reports land during the blast they take
most of the CPU the send path would use. The bench therefore runs the send path under two
carrier timings:

1. blast: 100,000 prospects (a few suppressed), two variants (one with a link), 40 caller IDs
   at 100 MPS each and a pool of 300,000 a minute. The carrier reports each text
   `--report-after` seconds (60) after taking it, so the reports arrive after the burst and
   the send path has the cores to itself, as it would with the web tier on machines of its
   own. Figures: the start (audience, texts, links written),
   messages submitted to the carrier per second (first to last accepted; and between 10 %
   and 90 %), the time until every delivery report is applied, CPU per message by part,
   numbers texted twice (the carrier's count).
2. naive baseline, under the same carrier timing: the same kind of texts, one Celery task
   per message with per-row ORM reads and writes and the SDK's synchronous client
   (bench/naive_sms.py), on the same worker concurrency. Figure: messages submitted per
   second, and the ratio.
3. blast with the reports flowing, once the baseline's reports are applied: `--flowing`
   prospects (20,000), the carrier reporting 0.5-2 s (sent) and 2-10 s more (delivered)
   after taking each text, so the web tier and the inbox work on the same cores during the
   send. Figures as in 1.
Targets (on 1 and 2): at least 2,000 messages/s submitted, and at least 10x the baseline.
"""

import argparse
import io
import os
import sys
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

BENCH_DB = "outbound_bench_sms"
ACCOUNT, TOKEN = "AC" + "c5" * 16, "bench-sms-token"
TARGET_RATE, TARGET_RATIO = 2_000, 10.0
SENDERS, SENDER_MPS, POOL_RATE = 40, 100, 300_000
LOGS = ROOT / "bench" / "out" / "sms"
VARIANTS = [
    (
        "A",
        "Hi {first_name|there}, our spring sale starts today: https://shop.example.com/spring",
        50,
    ),
    ("B", "Hello {first_name|friend}! Spring prices are in store now. Reply STOP to opt out.", 50),
]

console = Console(highlight=False)


def parse_args(argv):
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--prospects", type=int, default=100_000)
    parser.add_argument("--naive", type=int, default=5_000, help="baseline messages")
    parser.add_argument("--concurrency", type=int, default=4, help="sms worker processes")
    parser.add_argument("--lanes", type=int, default=8, help="SMS_LANES")
    parser.add_argument("--batch", type=int, default=500, help="SMS_BATCH")
    parser.add_argument(
        "--report-after", type=float, default=60.0, help="carrier's report delay in 1 and 2 (s)"
    )
    parser.add_argument("--flowing", type=int, default=20_000, help="prospects in 3; 0: skip")
    return parser.parse_args(argv)


class Stack:
    """The simulator, the web tier, the workers and the dispatcher for the whole run."""

    def __init__(self, args):
        LOGS.mkdir(parents=True, exist_ok=True)
        self.simulator, self.carrier = start_simulator(
            LOGS, env=service_env(), account=ACCOUNT, token=TOKEN
        )
        port = free_port()
        env = service_env(
            TWILIO_ACCOUNT_SID=ACCOUNT,
            TWILIO_AUTH_TOKEN=TOKEN,
            TWILIO_API_BASE_URL=self.carrier,
            PUBLIC_BASE_URL=f"http://127.0.0.1:{port}",
            LOG_LEVEL="WARNING",
            SMS_LANES=str(args.lanes),
            SMS_BATCH=str(args.batch),
        )
        self.web = start_web(LOGS, port=port, env=env, workers=2, threads=8)
        self.workers = [
            start_worker(LOGS, "sms-worker", queues="sms", env=env, concurrency=args.concurrency),
            start_worker(LOGS, "webhooks-worker", queues="webhooks,default", env=env),
            start_worker(
                LOGS,
                "naive-worker",
                queues="naive",
                env=env,
                concurrency=args.concurrency,
                include="bench.naive_sms",
            ),
        ]
        self.dispatcher = start_dispatcher(LOGS, "dispatcher", env=env, sweep_every=30)

    def pids(self, *, naive: bool = False) -> list[tuple[str, int]]:
        sms, webhooks, baseline = self.workers
        out = [("carrier simulator", self.simulator.popen.pid), ("web tier", self.web.popen.pid)]
        out.append(("Celery sms", (baseline if naive else sms).popen.pid))
        out += [("Celery webhooks", webhooks.popen.pid), ("dispatcher", self.dispatcher.popen.pid)]
        return out

    def reports_after(self, seconds: float) -> None:
        """The carrier reports `sent` this many seconds (plus 0.5-2) after taking a text, and
        `delivered` or `undelivered` 2-10 s after that."""
        import requests

        scenario = {
            "seed": 5,
            "time_scale": 1.0,
            "mps": {"long_code": SENDER_MPS},
            "sms_delivery_rate": 0.95,
            "sms_sent_seconds": [0.5 + seconds, 2.0 + seconds],
            "sms_delivered_seconds": [2.0, 10.0],
        }
        requests.put(f"{self.carrier}/_sim/scenario", json=scenario, timeout=5).raise_for_status()

    def stats(self) -> dict:
        import requests

        return requests.get(f"{self.carrier}/_sim/stats", params={"limit": 1}, timeout=30).json()

    def close(self) -> None:
        self.dispatcher.stop()
        for worker in reversed(self.workers):
            worker.stop()
        self.web.stop(timeout=30)
        self.simulator.stop()


def build(prospects: int, naive: int, flowing: int):
    """The org, its caller IDs and pool, and the two campaigns with their prospects."""
    from campaigns.models import Campaign
    from dids.models import Did, SenderPool
    from messaging.models import MessageVariant
    from orgs.services import org_create
    from prospects.importing import prospects_import
    from prospects.models import Suppression

    org = org_create(name="Blast", slug="blast")
    org.sms_credits = 10 * (prospects + naive)
    org.blocked_words = ["casino", "free money", "lottery"]
    org.save()
    pool = SenderPool.objects.create(organization=org, name="main", rate_per_minute=POOL_RATE)
    dids = [
        Did(organization=org, e164=f"+1212{6660000 + i}", area_code="212", region="US",
            sms_mps=SENDER_MPS)
        for i in range(SENDERS)
    ]  # fmt: skip
    pool.dids.add(*Did.objects.bulk_create(dids))
    numbers = _numbers(prospects + naive + flowing)
    Suppression.objects.bulk_create(
        Suppression(organization=org, e164=n, reason="dnc") for n in numbers[:prospects:1000]
    )
    campaigns = []
    cut = prospects + naive
    for name, rows in (
        ("blast", numbers[:prospects]),
        ("baseline", numbers[prospects:cut]),
        ("flowing", numbers[cut:]),
    ):
        campaign = Campaign.objects.create(
            organization=org, name=name, channel="sms", sms_mode="blast", sender_pool=pool
        )
        for label, body, pct in VARIANTS:
            MessageVariant.objects.create(campaign=campaign, name=label, body=body, percentage=pct)
        data = "phone,first_name\n" + "".join(f"{n},P{i}\n" for i, n in enumerate(rows))
        prospects_import(campaign=campaign, fileobj=io.BytesIO(data.encode()))
        campaigns.append(campaign)
    return org, campaigns


def _numbers(count: int) -> list[str]:
    """Distinct numbers in New York (inside the texting window from 13:00 to 01:00 UTC)."""
    from prospects import windows

    now = datetime.now(UTC)
    for block in ("+1212{:07d}", "+1415{:07d}", "+1808{:07d}"):
        if windows.check(block.format(2_000_000), now, channel="sms").allowed:
            return [block.format(2_000_000 + i) for i in range(count)]
    raise SystemExit("no number block is inside the texting window right now")


def submitted_rate(campaign) -> tuple[int, float, float]:
    """(texts the carrier accepted, their rate first to last, between 10 % and 90 %)."""
    from messaging.models import Message

    times = sorted(
        Message.objects.filter(campaign=campaign, submitted=True).values_list(
            "submitted_at", flat=True
        )
    )
    if len(times) < 2:
        return len(times), 0.0, 0.0
    span = (times[-1] - times[0]).total_seconds()
    low, high = times[len(times) // 10], times[len(times) * 9 // 10]
    steady = (len(times) * 8 // 10) / max((high - low).total_seconds(), 1e-9)
    return len(times), len(times) / max(span, 1e-9), steady


def texts_left(campaign, *statuses: str):
    """A check for wait_until: True once none of the campaign's texts is in `statuses`, else
    how many still are."""
    from messaging.models import Message

    def check():
        left = Message.objects.filter(campaign=campaign, status__in=statuses).count()
        return True if left == 0 else left

    return check


def wait_until(check, *, idle: float, what: str) -> float:
    """Poll until `check()` is true; gives up when its progress stops for `idle` seconds."""
    started, last, seen = time.monotonic(), time.monotonic(), None
    while True:
        value = check()
        if value is True:
            return time.monotonic() - started
        if value != seen:
            seen, last = value, time.monotonic()
        if time.monotonic() - last > idle:
            console.print(f"[red]{what}: no progress for {idle:.0f} s, stopping at {seen}")
            return time.monotonic() - started
        time.sleep(0.25)


def run_blast(stack, campaign, table, *, label: str, report_after: float) -> tuple[float, bool]:
    from django.db.models import Count

    from campaigns.services import campaign_start
    from messaging.models import Message

    stack.reports_after(report_after)
    before = cpu_seconds(stack.pids())
    t0 = time.monotonic()
    campaign_start(campaign=campaign)
    start_s = time.monotonic() - t0
    campaign.refresh_from_db()
    queued = campaign.audience.get("queued", 0)
    console.print(f"{label}: {campaign.audience}")

    wait_until(texts_left(campaign, "queued", "sending"), idle=60, what=f"{label}: sending")
    cpu = cpu_seconds(stack.pids())
    cpu.subtract(before)

    left = texts_left(campaign, "sent")
    idle = 60 + report_after
    reports_s = wait_until(left, idle=idle, what=f"{label}: reports") + (time.monotonic() - t0)
    sent, rate, steady = submitted_rate(campaign)
    stats = stack.stats()["messages"]  # by_to: the most texted number only
    most = max(stats["by_to"].values(), default=0)
    counts = dict(
        Message.objects.filter(campaign=campaign).values_list("status").annotate(n=Count("id"))
    )
    rows = [
        ("prospects / texts queued at the start",
         f"{campaign.audience['evaluated']:,} / {queued:,}"),
        ("start (audience, variants, texts, links written)", f"{start_s:.1f} s"),
        ("texts accepted by the carrier", f"{sent:,}"),
        ("submitted per second, first to last", f"{rate:,.0f}"),
        ("submitted per second, 10 % to 90 %", f"{steady:,.0f}"),
        ("from the start until every delivery report is applied", f"{reports_s:.1f} s"),
        ("final statuses", ", ".join(f"{k} {v:,}" for k, v in sorted(counts.items()))),
        ("most texts the carrier took for one number", f"{most:,}"),
    ]  # fmt: skip
    if sent:
        per = {part: s * 1000 / sent for part, s in cpu.items()}
        parts = ", ".join(f"{part} {ms:.2f}" for part, ms in sorted(per.items()))
        rows.append(
            ("CPU ms per text until the last was sent", f"{parts} ({sum(per.values()):.2f} in all)")
        )
    for name, value in rows:
        table.add_row(f"{label}: {name}", value)
    return rate, sent == queued and most == 1


def run_naive(stack, campaign, table) -> float:
    """Under the carrier timing the blast had."""
    from bench.naive_sms import QUEUE, send_one
    from campaigns.sms.blast import blast_prepare
    from messaging.models import Message

    blast_prepare(campaign=campaign)  # the same texts; the campaign stays created: no lanes
    ids = list(Message.objects.filter(campaign=campaign).values_list("id", flat=True))
    with send_one.app.producer_or_acquire() as producer:
        for message_id in ids:
            send_one.apply_async(args=[message_id], queue=QUEUE, producer=producer)

    wait_until(texts_left(campaign, "queued", "sending"), idle=60, what="baseline")
    sent, rate, steady = submitted_rate(campaign)
    table.add_row("baseline: texts accepted by the carrier", f"{sent:,} of {len(ids):,}")
    table.add_row("baseline: submitted per second, first to last", f"{rate:,.0f}")
    table.add_row("baseline: submitted per second, 10 % to 90 %", f"{steady:,.0f}")
    return rate


def main(argv=None) -> int:
    args = parse_args(argv)
    os.environ["REDIS_URL"] = os.environ.get("REDIS_URL") or "redis://127.0.0.1:6379/6"
    os.environ["CELERY_BROKER_URL"] = os.environ["REDIS_URL"]
    setup_database(BENCH_DB)
    from config.redis import get_redis

    get_redis().flushdb()
    t0 = time.monotonic()
    _org, (blast, baseline, flowing) = build(args.prospects, args.naive, args.flowing)
    console.print(
        f"setup: {args.prospects:,} + {args.naive:,} + {args.flowing:,} prospects"
        f" in {time.monotonic() - t0:.0f} s"
    )
    table = Table(title="SMS blast")
    table.add_column("figure")
    table.add_column("value", justify="right")
    stack = Stack(args)
    try:
        after = args.report_after
        rate, clean = run_blast(stack, blast, table, label="blast", report_after=after)
        naive = run_naive(stack, baseline, table)
        ratio = rate / naive if naive else 0.0
        table.add_row("blast / baseline", f"{ratio:.1f}x")
        if args.flowing:  # last, once the baseline's reports are applied
            wait_until(texts_left(baseline, "sent"), idle=60 + after, what="baseline: reports")
            _rate, flowed = run_blast(
                stack, flowing, table, label="reports flowing", report_after=0.0
            )
            clean = clean and flowed
    finally:
        stack.close()
    console.print(table)
    met = clean and rate >= TARGET_RATE and ratio >= TARGET_RATIO
    console.print(
        f"targets ({TARGET_RATE:,}/s, {TARGET_RATIO:.0f}x the baseline, none twice): "
        + ("[green]met" if met else "[red]not met")
    )
    console.print(f"logs: {LOGS}")
    drop_database(BENCH_DB)
    return 0


if __name__ == "__main__":
    sys.exit(main())
