"""The demo's SMS blast, live: its texts by status, messages per second, dead letters, clicks.

`BlastMonitor` samples the database (campaigns.selectors.blast_progress_get), the blast's
event stream and the carrier's message counters; it keeps the recent and peak send rate.
`Clicker` plays the recipients who open the link in their text. `render` draws a sample,
`summary` and `summary_table` condense the finished run.
"""

import time
from dataclasses import dataclass

import requests
from django.db.models import F
from rich.panel import Panel
from rich.table import Table

from campaigns.selectors import BlastProgress, blast_progress_get
from demo.live import (
    PROSPECT_ORDER,
    RATE_WINDOW,
    Watch,
    campaign_panel,
    carrier_stats,
    clock,
    counts_table,
    events_table,
    listed,
    section,
    summary_head,
    summary_start,
)
from demo.scenario import CLICK_PERCENT
from messaging.models import Message, MessageShortLink

TEXT_ORDER = list(Message.Status.values)  # queued, sending, sent, then what became of them
REASON_ORDER = [r for r in Message.FailureReason.values if r]
OPEN_PROSPECTS = ("queued", "sending", "sent")  # not yet delivered, failed or cancelled


@dataclass
class BlastSample:
    progress: BlastProgress
    elapsed: float
    per_second: float  # texts the carrier took per second, lately
    carrier: dict  # its message counters, refusals and callbacks
    events: list[dict]


@dataclass(kw_only=True)
class BlastMonitor(Watch):
    credits: int  # the organization's SMS credit before the start
    peak_per_second: float = 0.0

    def sample(self) -> BlastSample:
        now = time.monotonic()
        progress = blast_progress_get(campaign_id=self.campaign_id)
        per_second = self._rate.add(now, progress.submitted)
        self.peak_per_second = max(self.peak_per_second, per_second)
        stats = carrier_stats(self.carrier_url, limit=1)  # the most texted number
        carrier = {
            **stats.get("messages", {}),
            "rejections": stats.get("rejections", {}),
            "callbacks": stats.get("callbacks", {}),
        }
        return BlastSample(progress, now - self.started, per_second, carrier, self._tail.read())


@dataclass
class Clicker:
    """The recipients who open their link: CLICK_PERCENT of the delivered texts with a short
    link (by the link's id), each once, through the web server's redirect as a phone would."""

    campaign_id: int
    web_url: str

    def click(self, *, at_most: int = 50) -> int:
        codes = list(
            MessageShortLink.objects.filter(
                campaign_id=self.campaign_id, clicks=0, message__status=Message.Status.DELIVERED
            )
            .annotate(bucket=F("id") % 100)
            .filter(bucket__lt=CLICK_PERCENT)
            .values_list("code", flat=True)[:at_most]
        )
        for code in codes:
            try:
                requests.get(f"{self.web_url}/l/{code}", allow_redirects=False, timeout=5)
            except requests.RequestException:
                return 0  # the web server is busy: the same links are clicked next time
        return len(codes)


# --- Drawing ---------------------------------------------------------------------------------


def render(sample: BlastSample, *, title: str) -> Panel:
    progress = sample.progress
    return campaign_panel(
        sample,
        open_statuses=OPEN_PROSPECTS,
        rows=[
            [
                counts_table("Texts", progress.texts, TEXT_ORDER),
                counts_table("Dead letters", progress.dead_letters, REASON_ORDER),
                _sending(sample),
            ],
            [
                counts_table("Prospects", progress.prospects, PROSPECT_ORDER),
                events_table(sample.events),
            ],
        ],
        title=title,
        border_style="magenta",
    )


def _sending(sample: BlastSample) -> Table:
    progress = sample.progress
    pool = progress.campaign.sender_pool
    table = section("Sending")
    table.add_column(style="dim")
    table.add_column(justify="right")
    table.add_column(style="dim")
    table.add_row(
        "texts/s", f"{sample.per_second:,.0f}", f"pool {pool.rate_per_minute / 60:,.0f}/s"
    )
    table.add_row("taken by carrier", f"{progress.submitted:,}", f"{progress.segments:,} segments")
    table.add_row("credit left", f"{progress.campaign.organization.sms_credits:,}", "segments")
    clicks = progress.clicks
    table.add_row("clicks", f"{clicks['clicks']:,}", f"on {clicks['messages_clicked']:,} texts")
    by_status = sample.carrier.get("by_status", {})
    table.add_row(
        "carrier reports",
        f"{by_status.get('delivered', 0):,}",
        f"delivered, {by_status.get('undelivered', 0):,} not",
    )
    callbacks = sample.carrier.get("callbacks", {})
    table.add_row(
        "callbacks", f"{callbacks.get('sent', 0):,}", f"{callbacks.get('failed', 0)} failed"
    )
    return table


def progress_line(sample: BlastSample) -> str:
    """One line of progress for a log (when the output is not a terminal)."""
    p = sample.progress
    return (
        f"{clock(sample.elapsed)} {p.campaign.status}: texts "
        + ", ".join(f"{k} {v}" for k, v in sorted(p.texts.items()))
        + f"; {sample.per_second:.0f} texts/s; clicks {p.clicks['clicks']}"
    )


# --- The summary -----------------------------------------------------------------------------


def summary(monitor: BlastMonitor, sample: BlastSample) -> dict:
    """The finished blast in numbers (also written as JSON for automation)."""
    progress = sample.progress
    campaign = progress.campaign
    first, last = progress.first_submitted_at, progress.last_submitted_at
    span = (last - first).total_seconds() if first and last else 0.0
    credits_left = campaign.organization.sms_credits
    carrier = sample.carrier
    callbacks = carrier.get("callbacks", {})
    return {
        **summary_head(sample),
        "audience": campaign.audience,
        "texts": sum(progress.texts.values()),
        "texts_by_status": progress.texts,
        "dead_letters": progress.dead_letters,
        "submitted": progress.submitted,
        "segments": progress.segments,
        "messages_per_second": {
            "average": round(progress.submitted / span, 1) if span else 0.0,
            "peak": round(monitor.peak_per_second, 1),
            "pool_rate": round(campaign.sender_pool.rate_per_minute / 60, 1),
        },
        "credits": {
            "start": monitor.credits,
            "end": credits_left,
            "spent": monitor.credits - credits_left,
        },
        "clicks": progress.clicks,
        "carrier": {
            "messages": carrier.get("created", 0),
            "by_status": carrier.get("by_status", {}),
            "most_texts_to_one_number": max(carrier.get("by_to", {}).values(), default=0),
            "refused": sum(carrier.get("rejections", {}).values()),
            "status_callbacks": callbacks.get("by_kind", {}).get("sms-status", 0),
            "callbacks_failed": callbacks.get("failed", 0),
        },
    }


def summary_table(result: dict) -> Table:
    table = summary_start("SMS blast", result)
    audience = dict(result["audience"])
    evaluated = audience.pop("evaluated", 0)
    table.add_row("audience at the start", listed(evaluated, audience))
    table.add_row("texts", listed(result["texts"], result["texts_by_status"]))
    dead = result["dead_letters"]
    table.add_row("dead letters", listed(sum(dead.values()), dead))
    rate = result["messages_per_second"]
    table.add_row(
        "texts per second",
        f"{rate['average']:,} from the first to the last, {rate['peak']:,} at the peak over "
        f"{RATE_WINDOW:g} s (the pool's rate {rate['pool_rate']:,g})",
    )
    credits = result["credits"]
    table.add_row(
        "credit",
        f"{credits['spent']:,} segments spent for {result['submitted']:,} texts the carrier "
        f"took ({result['segments']:,} segments); {credits['end']:,} left",
    )
    clicks = result["clicks"]
    table.add_row(
        "clicks", f"{clicks['clicks']:,} on the links of {clicks['messages_clicked']:,} texts"
    )
    carrier = result["carrier"]
    reports = ", ".join(f"{k} {v:,}" for k, v in sorted(carrier["by_status"].items()))
    table.add_row(
        "carrier",
        f"{carrier['messages']:,} texts ({reports}); {carrier['refused']} refused; at most "
        f"{carrier['most_texts_to_one_number']} to one number; "
        f"{carrier['status_callbacks']:,} signed status callbacks, "
        f"{carrier['callbacks_failed']} refused",
    )
    return table
