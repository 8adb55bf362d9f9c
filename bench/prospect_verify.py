"""Checks an import against phonenumbers' own answers for a random sample of the file's rows.

For each sampled row the plain library calls (parse with the org's region, is_valid_number,
E.164 format, time_zones_for_number) decide what the database must hold: a row with an invalid
number must be absent (and listed among the errors when the list reaches its line); a valid row
must be stored once, its numbers in order with the library's E.164 and time zones, its
prospect's zones those the calling-window rules give its numbers (prospects.windows), with
the explicit one; suppressed exactly when every
number is on the suppression list.
"""

import csv
import json
import multiprocessing
import random
from dataclasses import dataclass, field
from pathlib import Path

import phonenumbers
from django.db import connection, connections
from phonenumbers import timezone as pn_timezone

from prospects.windows import possible_zones

REGION = "US"


def library_verdicts(raws: list[str]) -> list[tuple[str, list[str]] | None]:
    """(E.164, time zones) per number as the library gives them, None when not valid."""
    out = []
    for raw in raws:
        try:
            number = phonenumbers.parse(raw, REGION)
        except phonenumbers.NumberParseException:
            out.append(None)
            continue
        if not phonenumbers.is_valid_number(number):
            out.append(None)
            continue
        e164 = phonenumbers.format_number(number, phonenumbers.PhoneNumberFormat.E164)
        out.append((e164, list(pn_timezone.time_zones_for_number(number))))
    return out


@dataclass
class Verification:
    sampled: int = 0
    valid: int = 0
    invalid: int = 0
    checks: int = 0
    mismatches: int = 0
    examples: list[str] = field(default_factory=list)

    def check(self, ok: bool, what: str) -> None:
        self.checks += 1
        if not ok:
            self.mismatches += 1
            if len(self.examples) < 15:
                self.examples.append(what)


def _sample_rows(path: Path, lines: set[int]) -> dict[int, dict]:
    """The file's rows at the given line numbers (the header is line 1; no multi-line fields)."""
    rows = {}
    with open(path, newline="", encoding="utf-8") as fh:
        reader = csv.DictReader(fh)
        for line, row in enumerate(reader, start=2):
            if line in lines:
                rows[line] = row
    return rows


def _verdicts(raws: list[str]) -> list:
    """The library's verdicts, computed on two processes (the database connection is closed)."""
    connections.close_all()
    chunks = [raws[i : i + 5000] for i in range(0, len(raws), 5000)]
    with multiprocessing.get_context("fork").Pool(2) as pool:
        return [v for part in pool.map(library_verdicts, chunks) for v in part]


def _load(campaign, emails: list[str]) -> tuple[dict, dict]:
    """Prospects of the campaign by email, and each one's numbers in position order."""
    by_email: dict[str, list[dict]] = {}
    phones: dict[int, list[tuple]] = {}
    with connection.cursor() as cur:
        cur.execute(
            "SELECT id, email, first_name, last_name, timezone, time_zones, status, attributes"
            " FROM prospects_prospect WHERE campaign_id = %s AND email = ANY(%s)",
            [campaign.pk, emails],
        )
        names = [c.name for c in cur.description]
        for values in cur.fetchall():
            p = dict(zip(names, values, strict=True))
            by_email.setdefault(p["email"], []).append(p)
        ids = [p["id"] for ps in by_email.values() for p in ps]
        cur.execute(
            "SELECT prospect_id, position, e164, time_zones FROM prospects_prospectphone"
            " WHERE prospect_id = ANY(%s) ORDER BY prospect_id, position",
            [ids],
        )
        for pid, position, e164, zones in cur.fetchall():
            phones.setdefault(pid, []).append((position, e164, zones))
    return by_email, phones


def verify(
    *, campaign, path: Path, rows: int, sample: int, seed: int, result: dict, suppressed: set[str]
) -> Verification:
    from prospects.models import Prospect, ProspectPhone

    v = Verification()
    lines = set(random.Random(seed + 1).sample(range(2, rows + 2), min(sample, rows)))
    error_lines = {e["line"] for e in result["errors"]}
    listed_up_to = max(error_lines) if len(result["errors"]) < result["error_count"] else rows + 1
    file_rows = _sample_rows(path, lines | error_lines)
    order = sorted(file_rows)
    raws = [file_rows[line]["phone"] for line in order]
    raws += [file_rows[line]["phone2"] for line in order]
    verdicts = _verdicts(raws)
    first, second = verdicts[: len(order)], verdicts[len(order) :]
    by_email, phones = _load(campaign, [file_rows[line]["email"] for line in order])

    for line, p1, p2 in zip(order, first, second, strict=True):
        row = file_rows[line]
        has2 = bool(row["phone2"].strip())
        valid = p1 is not None and (p2 is not None or not has2)
        if line not in lines:  # an error the import listed; the library must agree
            v.check(not valid, f"line {line} listed as an error but valid: {row['phone']!r}")
            continue
        v.sampled += 1
        stored = by_email.get(row["email"], [])
        if not valid:
            v.invalid += 1
            v.check(not stored, f"line {line}: invalid {row['phone']!r} but stored")
            if line <= listed_up_to:
                v.check(line in error_lines, f"line {line}: invalid but not listed as an error")
            continue
        v.valid += 1
        if len(stored) != 1:
            v.check(False, f"line {line}: {len(stored)} prospects stored for {row['email']}")
            continue
        p = stored[0]
        numbers = [p1] + ([p2] if has2 else [])
        got = [(pos, e164, _json(z)) for pos, e164, z in phones.get(p["id"], [])]
        want = [(i, e164, zones) for i, (e164, zones) in enumerate(numbers)]
        v.check(got == want, f"line {line}: numbers {got} != library {want}")
        zones = {z for e164, _ in numbers for z in possible_zones(e164, row["timezone"])}
        v.check(set(_json(p["time_zones"])) == zones, f"line {line}: prospect zones differ")
        status = "suppressed" if all(e in suppressed for e, _ in numbers) else "queued"
        v.check(p["status"] == status, f"line {line}: status {p['status']} != {status}")
        attributes = {"company": row["company"]} if row["company"] else {}
        v.check(
            (p["first_name"], p["last_name"], p["timezone"], _json(p["attributes"]))
            == (row["first_name"], row["last_name"], row["timezone"], attributes),
            f"line {line}: fields differ",
        )

    # Whole-import consistency.
    prospects = Prospect.objects.filter(campaign=campaign)
    total = result["imported"] + result["suppressed"]
    v.check(prospects.count() == total, "prospect count != imported + suppressed")
    v.check(
        prospects.filter(status="suppressed").count() == result["suppressed"],
        "suppressed count differs",
    )
    v.check(
        total + result["duplicates"] + result["error_count"] == rows,
        "imported + suppressed + duplicates + errors != rows in file",
    )
    first_phones = ProspectPhone.objects.filter(campaign=campaign, position=0).count()
    v.check(first_phones == total, "some prospect lacks its first number")
    return v


def _json(value):
    return json.loads(value) if isinstance(value, str) else value
