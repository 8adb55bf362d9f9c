"""calling_window: may a number be called or texted at an instant? One JSON verdict per number.

    manage.py calling_window +12125550100 --at 2025-03-09T12:00:00Z --policy state
    manage.py calling_window --batch rows.csv

The batch file's columns are phone_e164, utc_datetime, channel, policy, window, timezone (a
header row naming them is optional); an empty cell means the default: voice, federal, no
campaign window, no explicit time zone. A window is HH:MM-HH:MM, several separated by ";".
Every row is checked before anything is printed, so bad input prints nothing but the error.
"""

import csv
import datetime as dt
import json
import re

from django.core.management.base import BaseCommand, CommandError

from prospects import windows
from prospects.window_rules import CHANNELS

COLUMNS = ("phone_e164", "utc_datetime", "channel", "policy", "window", "timezone")
_E164 = re.compile(r"^\+[1-9]\d{1,14}$")


class Command(BaseCommand):
    help = "Print whether a number may be called or texted at an instant, and when next, as JSON."

    def add_arguments(self, parser):
        parser.add_argument("phone", nargs="?", help="the number in E.164, e.g. +12125550100")
        parser.add_argument("--at", help="the instant, ISO 8601 (no offset = UTC); default now")
        parser.add_argument("--channel", default="", help="voice (default) or sms")
        parser.add_argument("--policy", default="", help="federal (default) or state")
        parser.add_argument(
            "--window",
            action="append",
            default=[],
            help="a campaign window HH:MM-HH:MM, recipient-local, every day (repeatable)",
        )
        parser.add_argument("--timezone", default="", help="the prospect's IANA time zone")
        parser.add_argument("--batch", metavar="FILE.csv", help="check every row of a CSV file")

    def handle(self, *args, **opts):
        if opts["batch"]:
            if opts["phone"] or opts["at"] or opts["window"] or opts["timezone"]:
                raise CommandError("--batch takes every setting from the file; give no PHONE.")
            if opts["channel"] or opts["policy"]:
                raise CommandError("--batch takes every setting from the file.")
            requests = list(_read_batch(opts["batch"]))
        elif opts["phone"]:
            at = opts["at"] or dt.datetime.now(dt.UTC).isoformat()
            requests = [
                _request(
                    opts["phone"],
                    at,
                    opts["channel"],
                    opts["policy"],
                    opts["window"],
                    opts["timezone"],
                )
            ]
        else:
            raise CommandError("Give a PHONE number or --batch FILE.csv.")
        for phone, at, kwargs in requests:
            verdict = windows.check(phone, at, **kwargs)
            self.stdout.write(json.dumps(_as_json(verdict)))


def _as_json(verdict: windows.Verdict) -> dict:
    when = verdict.next_allowed_at
    return {
        "allowed": verdict.allowed,
        "zones": list(verdict.zones),
        "reason": verdict.reason,
        "next_allowed_at": None if when is None else when.isoformat(),
    }


def _read_batch(path: str):
    try:
        with open(path, newline="", encoding="utf-8-sig") as fh:
            rows = list(csv.reader(fh))
    except OSError as exc:
        raise CommandError(f"Cannot read {path}: {exc.strerror or exc}") from None
    except UnicodeDecodeError:
        raise CommandError(f"{path} is not UTF-8 text.") from None
    order = list(range(len(COLUMNS)))
    first = 0
    if rows and rows[0] and rows[0][0].strip().lower() == COLUMNS[0]:
        header = [cell.strip().lower() for cell in rows[0]]
        unknown = [name for name in header if name not in COLUMNS]
        if unknown or len(set(header)) != len(header):
            raise CommandError(f"line 1: expected the columns {', '.join(COLUMNS)}.")
        order = [header.index(name) if name in header else None for name in COLUMNS]
        first = 1
    for line, row in enumerate(rows[first:], start=first + 1):
        if not any(cell.strip() for cell in row):
            continue
        if len(row) > len(COLUMNS):
            raise CommandError(f"line {line}: expected at most {len(COLUMNS)} columns.")
        cells = [row[i] if i is not None and i < len(row) else "" for i in order]
        phone, at, channel, policy, window, timezone = cells
        if not at.strip():
            raise CommandError(f"line {line}: utc_datetime is empty.")
        spans = [part for part in re.split(r"[;,]", window) if part.strip()]
        try:
            yield _request(phone, at, channel, policy, spans, timezone)
        except CommandError as exc:
            raise CommandError(f"line {line}: {exc}") from None


def _request(phone: str, at: str, channel: str, policy: str, spans: list[str], timezone: str):
    phone, timezone = phone.strip(), timezone.strip()
    channel, policy = channel.strip().lower() or "voice", policy.strip().lower() or "federal"
    if not _E164.match(phone):
        raise CommandError(f"{phone!r} is not a phone number in E.164 format (+ and digits).")
    if channel not in CHANNELS:
        raise CommandError(f"channel {channel!r} is not one of {', '.join(sorted(CHANNELS))}.")
    if policy not in windows.POLICIES:
        raise CommandError(
            f"policy {policy!r} is not one of {', '.join(sorted(windows.POLICIES))}."
        )
    if timezone and not windows.is_zone(timezone):
        raise CommandError(f"{timezone!r} is not an IANA time zone.")
    try:
        parsed = tuple(windows.parse_window(span) for span in spans)
    except ValueError as exc:
        raise CommandError(f"bad window: {exc}.") from None
    kwargs = {"channel": channel, "policy": policy, "windows": parsed, "explicit_tz": timezone}
    return phone, _instant(at), kwargs


def _instant(text: str) -> dt.datetime:
    try:
        at = dt.datetime.fromisoformat(text.strip())
    except ValueError:
        raise CommandError(f"{text.strip()!r} is not an ISO 8601 date and time.") from None
    return at.replace(tzinfo=dt.UTC) if at.tzinfo is None else at
