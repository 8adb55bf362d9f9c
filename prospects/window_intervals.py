"""Local wall-clock windows as UTC instants and intervals, for `windows.py`. Pure functions.

A "spans" function gives the wall-clock spans allowed on a local date (minutes after
midnight, half-open). Local time is always found UTC -> zone with zoneinfo: a wall time that
occurs twice (clocks going back) is never inside; one that is skipped never occurs, so a span
edge inside a gap moves to the gap's end. Instants are whole seconds since the epoch.

zoneinfo does not publish a zone's transitions, so `_day_offsets` finds them per UTC day by
sampling the offset every three hours and bisecting to the second where it changes (no zone
changes twice within three hours), and caches the result.
"""

import datetime as dt
import functools
from collections.abc import Callable, Iterable
from zoneinfo import ZoneInfo

Span = tuple[int, int]  # [start, end) minutes after local midnight
Spans = Callable[[dt.date], tuple[Span, ...]]
Interval = tuple[int, int]  # [start, end) UTC seconds

DAY = 86_400
_EPOCH_ORDINAL = dt.date(1970, 1, 1).toordinal()
_SEARCH_CHUNK = 2 * DAY
_SAMPLE = 3 * 3600


def local_time(ts: int, zone: ZoneInfo) -> dt.datetime:
    return dt.datetime.fromtimestamp(ts, zone)


def is_repeated(local: dt.datetime) -> bool:
    """Whether this wall time occurs twice (the hour repeated when clocks go back)."""
    return local.fold == 1 or local.replace(fold=1).utcoffset() != local.utcoffset()


def is_open_at(ts: int, zone: ZoneInfo, spans: Spans) -> bool:
    """Whether the wall time at `ts` in `zone` is inside that local date's spans."""
    local = local_time(ts, zone)
    if is_repeated(local):
        return False
    second = local.hour * 3600 + local.minute * 60 + local.second
    return any(a * 60 <= second < b * 60 for a, b in spans(local.date()))


def first_open(ts: int, clocks: Iterable[tuple[ZoneInfo, Spans]], horizon: int) -> int | None:
    """The earliest second in [ts, ts + horizon) inside every (zone, spans) clock, or None."""
    clocks = list(clocks)
    limit = ts + horizon
    start = ts
    while start < limit:
        end = min(start + _SEARCH_CHUNK, limit)
        common: tuple[Interval, ...] = ((start, end),)
        for zone, spans in clocks:
            common = intersect(common, open_intervals(zone, spans, start, end))
            if not common:
                break
        if common:
            return common[0][0]
        start = end
    return None


def open_intervals(zone: ZoneInfo, spans: Spans, start: int, end: int) -> tuple[Interval, ...]:
    """The UTC seconds in [start, end) whose wall time in `zone` is inside `spans`, merged."""
    segments = _segments(zone, start - DAY, end + DAY)
    found = []
    for s0, s1, offset in segments:
        for day in range((s0 + offset) // DAY, (s1 + offset - 1) // DAY + 1):
            base = day * DAY - offset
            for a, b in spans(dt.date.fromordinal(day + _EPOCH_ORDINAL)):
                lo, hi = max(base + a * 60, s0, start), min(base + b * 60, s1, end)
                if lo < hi:
                    found.append((lo, hi))
    merged = union(found)
    # Clocks going back by d at T repeat the wall times of [T - d, T + d): never inside.
    for (_, t, before), (_, _, after) in zip(segments, segments[1:], strict=False):
        if after < before:
            merged = subtract(merged, (t - (before - after), t + (before - after)))
    return merged


def _segments(zone: ZoneInfo, start: int, end: int) -> list[tuple[int, int, int]]:
    """(from, to, UTC offset in seconds) covering [start, end), one per constant offset."""
    changes: list[tuple[int, int]] = []
    for day in range(start // DAY, (end - 1) // DAY + 1):
        for t, offset in _day_offsets(zone.key, day):
            if not changes or changes[-1][1] != offset:
                changes.append((t, offset))
    out = []
    for i, (t, offset) in enumerate(changes):
        t_next = changes[i + 1][0] if i + 1 < len(changes) else end
        lo, hi = max(t, start), min(t_next, end)
        if lo < hi:
            out.append((lo, hi, offset))
    return out


@functools.lru_cache(maxsize=16_384)
def _day_offsets(key: str, day: int) -> tuple[tuple[int, int], ...]:
    """The UTC offset at the start of a UTC day, then (instant, new offset) at each change."""
    zone = ZoneInfo(key)
    t0 = day * DAY
    points = [*range(t0, t0 + DAY, _SAMPLE), t0 + DAY]
    offsets = [_offset(zone, t) for t in points]
    found = [(t0, offsets[0])]
    for i in range(len(points) - 1):
        if offsets[i] == offsets[i + 1]:
            continue
        lo, hi = points[i], points[i + 1]  # off(lo) == offsets[i] != off(hi)
        while hi - lo > 1:
            mid = (lo + hi) // 2
            if _offset(zone, mid) == offsets[i]:
                lo = mid
            else:
                hi = mid
        if hi < t0 + DAY:  # a change at midnight is the next day's first offset
            found.append((hi, _offset(zone, hi)))
    return tuple(found)


def _offset(zone: ZoneInfo, ts: int) -> int:
    return int(dt.datetime.fromtimestamp(ts, zone).utcoffset().total_seconds())


# --- Interval sets: sorted tuples of disjoint half-open intervals ---------------------------


def union(intervals: Iterable[tuple[int, int]]) -> tuple[tuple[int, int], ...]:
    """Any intervals, sorted and merged (touching ones too)."""
    out: list[tuple[int, int]] = []
    for a, b in sorted(intervals):
        if out and a <= out[-1][1]:
            if b > out[-1][1]:
                out[-1] = (out[-1][0], b)
        else:
            out.append((a, b))
    return tuple(out)


def intersect(xs, ys) -> tuple[tuple[int, int], ...]:
    out = []
    i = j = 0
    while i < len(xs) and j < len(ys):
        lo, hi = max(xs[i][0], ys[j][0]), min(xs[i][1], ys[j][1])
        if lo < hi:
            out.append((lo, hi))
        if xs[i][1] < ys[j][1]:
            i += 1
        else:
            j += 1
    return tuple(out)


def subtract(xs, cut: tuple[int, int]) -> tuple[tuple[int, int], ...]:
    out = []
    for a, b in xs:
        if b <= cut[0] or a >= cut[1]:
            out.append((a, b))
            continue
        if a < cut[0]:
            out.append((a, cut[0]))
        if b > cut[1]:
            out.append((cut[1], b))
    return tuple(out)
