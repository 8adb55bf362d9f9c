"""What the carrier saw, for `GET /_sim/stats`. Single-threaded (the event loop), so plain ints."""

from collections import Counter, defaultdict
from dataclasses import dataclass, field, fields
from typing import Any


@dataclass
class Gauge:
    current: int = 0
    peak: int = 0

    def up(self) -> None:
        self.current += 1
        self.peak = max(self.peak, self.current)

    def down(self) -> None:
        self.current -= 1

    def to_dict(self) -> dict[str, int]:
        return {"current": self.current, "peak": self.peak}


@dataclass
class Traffic:
    """Creates of one kind (calls or messages), by To, by From and by final status."""

    created: int = 0
    by_to: Counter[str] = field(default_factory=Counter)
    by_from: Counter[str] = field(default_factory=Counter)
    by_account: Counter[str] = field(default_factory=Counter)
    by_status: Counter[str] = field(default_factory=Counter)

    def add(self, *, account: str, to: str, from_: str) -> None:
        self.created += 1
        self.by_to[to] += 1
        self.by_from[from_] += 1
        self.by_account[account] += 1

    def to_dict(self, limit: int | None) -> dict[str, Any]:
        return {
            "created": self.created,
            "by_to": _top(self.by_to, limit),
            "by_from": _top(self.by_from, limit),
            "by_account": dict(self.by_account),
            "by_status": dict(self.by_status),
        }


def _top(counter: Counter[str], limit: int | None) -> dict[str, int]:
    return dict(counter.most_common(limit)) if limit is not None else dict(counter)


@dataclass
class Stats:
    calls: Traffic = field(default_factory=Traffic)
    messages: Traffic = field(default_factory=Traffic)
    calls_queued: int = 0
    twiml_updates: int = 0  # live calls whose TwiML an update replaced
    concurrent: Gauge = field(default_factory=Gauge)
    concurrent_by_account: defaultdict[str, Gauge] = field(
        default_factory=lambda: defaultdict(Gauge)
    )
    requests: Gauge = field(default_factory=Gauge)
    rejections: Counter[str] = field(default_factory=Counter)
    callbacks_sent: int = 0
    callbacks_failed: int = 0
    callbacks_retried: int = 0
    callbacks_dropped: int = 0
    callbacks_by_kind: Counter[str] = field(default_factory=Counter)
    inbound: Counter[str] = field(default_factory=Counter)
    notifications: Counter[str] = field(default_factory=Counter)  # call-log entries by code

    def reset(self) -> None:
        """Zero every counter except requests in flight (they are still being answered)."""
        fresh = Stats(requests=self.requests)
        for f in fields(self):
            setattr(self, f.name, getattr(fresh, f.name))

    def call_live(self, account: str) -> None:
        self.concurrent.up()
        self.concurrent_by_account[account].up()

    def call_ended(self, account: str, status: str, *, was_live: bool) -> None:
        self.calls.by_status[status] += 1
        if was_live:
            self.concurrent.down()
            self.concurrent_by_account[account].down()

    def reject(self, code: int) -> None:
        self.rejections[str(code)] += 1

    def to_dict(self, *, limit: int | None = None, opted_out_pairs: int = 0) -> dict[str, Any]:
        return {
            "calls": {
                **self.calls.to_dict(limit),
                "queued": self.calls_queued,
                "twiml_updates": self.twiml_updates,
                "concurrent": self.concurrent.to_dict(),
                "concurrent_by_account": {
                    account: g.to_dict() for account, g in self.concurrent_by_account.items()
                },
            },
            "messages": self.messages.to_dict(limit),
            "requests_in_flight": self.requests.to_dict(),
            "rejections": dict(self.rejections),
            "callbacks": {
                "sent": self.callbacks_sent,
                "failed": self.callbacks_failed,
                "retried": self.callbacks_retried,
                "dropped": self.callbacks_dropped,
                "by_kind": dict(self.callbacks_by_kind),
            },
            "inbound": dict(self.inbound),
            "notifications": dict(self.notifications),
            "opted_out_pairs": opted_out_pairs,
        }
