"""The demo's live display and its summary: what the voice campaign is doing, twice a second.

`Monitor` samples the database (campaigns.selectors), the campaign's event stream in Redis and
the carrier's own counters; it keeps the peaks and the recent call rate, which no single
sample holds. `render` draws a sample with rich; `summary` condenses the finished run. The
pieces any campaign's display uses (`Rate`, `EventTail`, `carrier_stats`, the tables) are
shared with the SMS blast's (`demo.blast`).
"""

import statistics
import time
from collections import deque
from dataclasses import dataclass, field

import requests
from rich.console import Group
from rich.markup import escape
from rich.panel import Panel
from rich.progress_bar import ProgressBar
from rich.table import Table

from campaigns.models import CallAttempt
from campaigns.selectors import CampaignProgress, campaign_progress_get
from config.events import campaign_stream, events_read
from prospects.models import Prospect

RATE_WINDOW = 5.0  # seconds of history behind "calls per second"
RECENT_EVENTS = 8
TOP_CALLER_IDS = 5
OPEN_ATTEMPTS = (CallAttempt.Status.ORIGINATING, CallAttempt.Status.IN_FLIGHT)
# Display order: open work first, then the outcomes.
PROSPECT_ORDER = list(Prospect.Status.values)
ATTEMPT_ORDER = [*OPEN_ATTEMPTS, *(o for o in CallAttempt.Outcome.values if o)]


@dataclass
class Sample:
    progress: CampaignProgress
    elapsed: float
    calls_per_second: float
    carrier: dict
    events: list[dict]
    dids: int  # the org's caller IDs


@dataclass
class Rate:
    """How fast a growing count grew over the last RATE_WINDOW seconds, per second."""

    _history: deque = field(default_factory=deque)

    def add(self, now: float, count: int) -> float:
        self._history.append((now, count))
        while self._history[0][0] < now - RATE_WINDOW:
            self._history.popleft()
        (t0, n0), (t1, n1) = self._history[0], self._history[-1]
        return (n1 - n0) / (t1 - t0) if t1 > t0 else 0.0


@dataclass
class EventTail:
    """The last RECENT_EVENTS events of a Redis stream, read on from where it last stopped."""

    stream: str
    _events: deque = field(default_factory=lambda: deque(maxlen=RECENT_EVENTS))
    _cursor: str = "0-0"

    def read(self) -> list[dict]:
        for event in events_read(self.stream, after=self._cursor, count=500):
            self._cursor = event["id"]
            self._events.append(event)
        return list(self._events)


def carrier_stats(carrier_url: str, *, limit: int = 0) -> dict:
    """The carrier's counters (`limit`: the busiest numbers kept by `by_to`); {} when it does
    not answer."""
    try:
        return requests.get(f"{carrier_url}/_sim/stats?limit={limit}", timeout=2).json()
    except requests.RequestException:
        return {}


@dataclass(kw_only=True)
class Watch:
    """What a display keeps between its samples of one campaign: when it began watching, the
    rate of the count it follows, the tail of the campaign's event stream."""

    campaign_id: int
    carrier_url: str
    started: float = field(default_factory=time.monotonic)
    _rate: Rate = field(default_factory=Rate)
    _tail: EventTail = field(init=False)

    def __post_init__(self) -> None:
        self._tail = EventTail(campaign_stream(self.campaign_id))


@dataclass(kw_only=True)
class Monitor(Watch):
    dids: int
    peaks: dict[str, int] = field(default_factory=dict)

    def sample(self) -> Sample:
        now = time.monotonic()
        progress = campaign_progress_get(campaign_id=self.campaign_id)
        rate = self._rate.add(now, progress.attempts_total)
        stats = carrier_stats(self.carrier_url)
        carrier = {**stats.get("calls", {}), "callbacks": stats.get("callbacks", {})}
        active = progress.active
        for name, value in (
            ("campaign_pool", active.campaign_pool),
            ("org", active.org),
            ("global", active.total),
            ("carrier", carrier.get("concurrent", {}).get("peak", 0)),
        ):
            self.peaks[name] = max(self.peaks.get(name, 0), value)
        elapsed = now - self.started
        return Sample(progress, elapsed, rate, carrier, self._tail.read(), self.dids)


# --- Drawing ---------------------------------------------------------------------------------


def render(sample: Sample, *, title: str) -> Panel:
    progress = sample.progress
    return campaign_panel(
        sample,
        open_statuses=("queued", "dialing"),
        rows=[
            [
                counts_table("Prospects", progress.prospects, PROSPECT_ORDER),
                counts_table("Attempts", progress.attempts, ATTEMPT_ORDER),
                _limits(sample),
            ],
            [_caller_ids(progress, sample.dids), events_table(sample.events)],
        ],
        title=title,
    )


def campaign_panel(
    sample,
    *,
    open_statuses: tuple[str, ...],
    rows: list[list],
    title: str,
    border_style: str = "cyan",
) -> Panel:
    """A sample's campaign: its name, status, time and progress over its prospects (done: not
    in `open_statuses`), then `rows` of tables side by side."""
    campaign, prospects = sample.progress.campaign, sample.progress.prospects
    total = sum(prospects.values())
    open_ = sum(prospects.get(s, 0) for s in open_statuses)
    header = Table.grid(padding=(0, 2))
    header.add_row(
        f"[bold]{escape(campaign.name)}[/] #{campaign.pk}",
        f"status [bold]{campaign.status}[/]{_reason(campaign)}",
        f"{clock(sample.elapsed)} elapsed",
        f"{total - open_:,} of {total:,} prospects done",
    )
    parts = [header, ProgressBar(total=max(total, 1), completed=total - open_, width=72)]
    for row in rows:
        grid = Table.grid(padding=(0, 3))
        grid.add_row(*row)
        parts += ["", grid]
    return Panel(Group(*parts), title=title, border_style=border_style)


def duration_seconds(campaign, elapsed: float) -> float:
    """How long the campaign ran: start to finish, else the time watched."""
    if campaign.finished_at and campaign.started_at:
        return (campaign.finished_at - campaign.started_at).total_seconds()
    return elapsed


def summary_head(sample) -> dict:
    """A summary's first numbers: the sample's campaign, how long it ran, its prospects."""
    campaign, prospects = sample.progress.campaign, sample.progress.prospects
    return {
        "campaign": campaign.pk,
        "status": campaign.status,
        "duration_seconds": round(duration_seconds(campaign, sample.elapsed), 1),
        "prospects": sum(prospects.values()),
        "prospects_by_status": prospects,
    }


def section(title: str) -> Table:
    """A titled block of rows without borders."""
    return Table(title=title, title_justify="left", show_header=False, box=None, pad_edge=False)


def _reason(campaign) -> str:
    return f" ({campaign.pause_reason})" if campaign.pause_reason else ""


def clock(seconds: float) -> str:
    minutes, secs = divmod(int(seconds), 60)
    return f"{minutes}:{secs:02d}"


def counts_table(title: str, counts: dict[str, int], order: list[str]) -> Table:
    table = section(title)
    table.add_column(style="dim")
    table.add_column(justify="right")
    for name in [*order, *sorted(set(counts) - set(order))]:
        if counts.get(name):
            table.add_row(name, f"{counts[name]:,}")
    table.add_row("[bold]total", f"[bold]{sum(counts.values()):,}")
    return table


def _limits(sample: Sample) -> Table:
    active = sample.progress.active
    table = section("Active calls")
    table.add_column(style="dim")
    table.add_column(justify="right")
    table.add_column()
    for name, value, limit in (
        ("org", active.org, active.org_limit),
        ("campaign pool", active.campaign_pool, active.campaign_pool_limit),
        ("global", active.total, active.global_limit),
    ):
        table.add_row(name, f"{value}/{limit}", ProgressBar(total=limit, completed=value, width=16))
    concurrent = sample.carrier.get("concurrent", {})
    table.add_row("live at carrier", f"{concurrent.get('current', 0)}", "")
    pace = float(sample.progress.campaign.calls_per_second)
    table.add_row("calls/s", f"{sample.calls_per_second:.1f}", f"[dim]pace {pace:g}/s")
    callbacks = sample.carrier.get("callbacks", {})
    table.add_row(
        "callbacks", f"{callbacks.get('sent', 0):,}", f"[dim]{callbacks.get('failed', 0)} failed"
    )
    return table


def _caller_ids(progress: CampaignProgress, dids: int) -> Table:
    used = progress.calls_by_caller_id
    table = section(f"Caller IDs used: {len(used)}/{dids}")
    table.add_column()
    table.add_column(justify="right")
    for number, calls in used[:TOP_CALLER_IDS]:
        table.add_row(number, f"{calls:,} calls")
    return table


def events_table(events: list[dict]) -> Table:
    table = section("Recent events")
    table.add_column(style="dim")
    table.add_column()
    table.add_column(style="dim")
    for event in events:
        data = event["data"]
        detail = " ".join(
            part
            for part in (
                data.get("to", ""),
                f"from {data['caller_id']}" if data.get("caller_id") else "",
                "-> retry" if data.get("retry") else "",
                data.get("reason", ""),  # a dead-lettered text's
                f"error {data['error_code']}" if data.get("error_code") else "",
            )
            if part
        )
        table.add_row(event["at"][11:23], event["type"].removeprefix("campaign."), detail)
    return table


def progress_line(sample: Sample) -> str:
    """One line of progress for a log (when the output is not a terminal)."""
    p = sample.progress
    active = p.active
    return (
        f"{clock(sample.elapsed)} {p.campaign.status}: prospects "
        + ", ".join(f"{k} {v}" for k, v in sorted(p.prospects.items()))
        + f"; attempts {p.attempts_total}; active {active.org}/{active.org_limit}; "
        f"{sample.calls_per_second:.1f} calls/s"
    )


# --- The summary -----------------------------------------------------------------------------


def summary(monitor: Monitor, sample: Sample) -> dict:
    """The finished run in numbers (also written as JSON for automation)."""
    progress = sample.progress
    campaign = progress.campaign
    duration = duration_seconds(campaign, sample.elapsed)
    calls = [n for _, n in progress.calls_by_caller_id]
    active = progress.active
    return {
        **summary_head(sample),
        "attempts": progress.attempts_total,
        "attempts_by_outcome": progress.attempts,
        "calls_per_second": {
            "pace": float(campaign.calls_per_second),
            "average": round(progress.attempts_total / duration, 1) if duration else 0.0,
        },
        "peak_active": dict(monitor.peaks),
        "limits": {
            "org": active.org_limit,
            "campaign_pool": active.campaign_pool_limit,
            "global": active.global_limit,
        },
        "carrier": {
            "calls": sample.carrier.get("created", 0),
            "callbacks_sent": sample.carrier.get("callbacks", {}).get("sent", 0),
            "callbacks_failed": sample.carrier.get("callbacks", {}).get("failed", 0),
        },
        "caller_ids": {
            "in_use": len(calls),
            "of": sample.dids,
            "calls_min": min(calls, default=0),
            "calls_median": statistics.median(calls) if calls else 0,
            "calls_max": max(calls, default=0),
        },
    }


def summary_table(result: dict) -> Table:
    table = summary_start("campaign", result)
    table.add_row("attempts", listed(result["attempts"], result["attempts_by_outcome"]))
    pace = result["calls_per_second"]
    table.add_row("calls per second", f"{pace['average']} on average (pace {pace['pace']:g})")
    peaks, limits = result["peak_active"], result["limits"]
    table.add_row(
        "peak active calls",
        f"org {peaks.get('org', 0)}/{limits['org']}, campaign pool "
        f"{peaks.get('campaign_pool', 0)}/{limits['campaign_pool']}, global "
        f"{peaks.get('global', 0)}/{limits['global']}; live at the carrier at most "
        f"{peaks.get('carrier', 0)}",
    )
    ids = result["caller_ids"]
    table.add_row(
        "caller IDs",
        f"{ids['in_use']} of {ids['of']} used; calls per caller ID: min {ids['calls_min']}, "
        f"median {ids['calls_median']:g}, max {ids['calls_max']}",
    )
    carrier = result["carrier"]
    table.add_row(
        "carrier",
        f"{carrier['calls']:,} calls placed; {carrier['callbacks_sent']:,} signed callbacks "
        f"delivered, {carrier['callbacks_failed']} refused",
    )
    return table


def summary_start(kind: str, result: dict) -> Table:
    """A summary's table with its first rows: how long the campaign ran, its prospects."""
    table = Table(
        title=f"Summary: {kind} #{result['campaign']} {result['status']}", show_header=False
    )
    table.add_column("", style="bold")
    table.add_column("")
    table.add_row("duration", f"{clock(result['duration_seconds'])} (m:ss)")
    table.add_row("prospects", listed(result["prospects"], result["prospects_by_status"]))
    return table


def listed(total: int, counts: dict[str, int]) -> str:
    parts = ", ".join(f"{name} {n:,}" for name, n in sorted(counts.items(), key=lambda i: -i[1]))
    return f"{total:,}: {parts}"
