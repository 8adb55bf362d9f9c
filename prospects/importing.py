"""CSV import of prospects and of suppression lists: per-row errors, bulk writes.

A file is read as UTF-8 CSV with a header row. Each record is checked on its own: a bad row is
reported with its line number (the header is line 1) and reason while the good rows import.
A file that is not CSV text, or lacks a `phone` column, raises ImportFileError before anything
is written. The whole import is one transaction; on PostgreSQL rows go in with COPY.
"""

import codecs
import csv
import io
import json
import zoneinfo
from collections.abc import Callable, Iterator
from dataclasses import dataclass, field

from django.conf import settings
from django.db import connection, transaction
from django.utils import timezone

from campaigns.models import Campaign
from prospects.models import Prospect, ProspectPhone, Suppression
from prospects.phones import PhoneNormalizer

CHUNK_ROWS = 20_000
SNIFF_BYTES = 64 * 1024
STANDARD_COLUMNS = {"phone", "first_name", "last_name", "email", "timezone"}
MAX_LEN = {"first_name": 100, "last_name": 100, "email": 254}
_VALID_ZONES = frozenset(zoneinfo.available_timezones())

Progress = Callable[[int], None]  # called with the number of bytes read so far


class ImportFileError(Exception):
    """The file as a whole cannot be imported (not CSV, no phone column); nothing was written."""


@dataclass
class ImportResult:
    imported: int = 0
    suppressed: int = 0
    duplicates: int = 0
    error_count: int = 0
    errors: list[dict] = field(default_factory=list)

    def error(self, line: int, value: str, reason: str) -> None:
        self.error_count += 1
        if len(self.errors) < settings.IMPORT_MAX_ERRORS_LISTED:
            self.errors.append({"line": line, "value": value, "reason": reason})

    def as_dict(self, *, with_suppressed: bool = True) -> dict:
        out = {
            "imported": self.imported,
            "suppressed": self.suppressed,
            "duplicates": self.duplicates,
            "error_count": self.error_count,
            "errors": self.errors,
        }
        if not with_suppressed:
            del out["suppressed"]
        return out


# --- Reading --------------------------------------------------------------------------------


class _CountingReader(io.RawIOBase):
    """Wraps a binary file to report progress in bytes."""

    def __init__(self, raw, progress: Progress | None):
        self.raw, self.progress, self.read_bytes = raw, progress, 0

    def readable(self) -> bool:
        return True

    def readinto(self, buffer) -> int:
        data = self.raw.read(len(buffer))
        n = len(data)
        buffer[:n] = data
        self.read_bytes += n
        if self.progress is not None:
            self.progress(self.read_bytes)
        return n


def _open_csv(fileobj, progress: Progress | None) -> tuple[list[str], Iterator[tuple[int, list]]]:
    """The normalised header and an iterator of (line number, fields); checks the file first."""
    head = fileobj.read(SNIFF_BYTES)
    if isinstance(head, str):
        raise TypeError("open the file in binary mode")
    if not head.strip():
        raise ImportFileError("The file is empty: expected CSV with a header row.")
    if b"\x00" in head:
        raise ImportFileError("The file is not CSV text (it contains binary data).")
    try:
        codecs.getincrementaldecoder("utf-8-sig")().decode(head, final=False)
    except UnicodeDecodeError:
        raise ImportFileError("The file is not UTF-8 CSV text.") from None
    raw = io.BufferedReader(_CountingReader(_Rejoin(head, fileobj), progress), 1 << 20)
    text = io.TextIOWrapper(raw, encoding="utf-8-sig", newline="")
    reader = csv.reader(text, strict=True)
    try:
        header = next(reader)
    except (csv.Error, StopIteration) as exc:
        raise ImportFileError(f"The file is not valid CSV: {exc}") from None
    header = [h.strip().lower() for h in header]
    if "phone" not in header:
        raise ImportFileError(
            "The file has no 'phone' column. The header row must name a 'phone' column "
            f"(found: {', '.join(h for h in header if h) or 'nothing'})."
        )
    dupes = sorted({h for h in header if h and header.count(h) > 1})
    if dupes:
        raise ImportFileError(f"The header names these columns twice: {', '.join(dupes)}.")

    def rows() -> Iterator[tuple[int, list]]:
        last = reader.line_num
        while True:
            try:
                row = next(reader)
            except StopIteration:
                return
            except UnicodeDecodeError:
                raise ImportFileError(
                    f"The file is not UTF-8 CSV text (after line {last})."
                ) from None
            except csv.Error as exc:
                raise ImportFileError(
                    f"The file is not valid CSV near line {last + 1}: {exc}"
                ) from None
            start, last = last + 1, reader.line_num
            yield start, row

    return header, rows()


class _Rejoin(io.RawIOBase):
    """The sniffed head followed by the rest of the file."""

    def __init__(self, head: bytes, rest):
        self.head, self.rest = head, rest

    def read(self, size=-1) -> bytes:
        if not self.head:
            return self.rest.read(size)
        if 0 <= size < len(self.head):
            out, self.head = self.head[:size], self.head[size:]
        else:
            out, self.head = self.head, b""
        return out


# --- Prospects ------------------------------------------------------------------------------


def prospects_import(*, campaign: Campaign, fileobj, progress: Progress | None = None) -> dict:
    """Import a prospects CSV into a campaign; returns the counts and the first errors."""
    header, rows = _open_csv(fileobj, progress)
    org = campaign.organization
    normalizer = PhoneNormalizer(org.default_region)
    idx = {name: i for i, name in enumerate(header) if name}
    phone_cols = [idx["phone"]] + [
        idx[name]
        for name in sorted(
            (h for h in idx if h.startswith("phone") and h[5:].isdigit()), key=lambda h: int(h[5:])
        )
    ]
    attr_cols = [
        (name, i)
        for name, i in idx.items()
        if name not in STANDARD_COLUMNS and not (name.startswith("phone") and name[5:].isdigit())
    ]
    get = {name: idx.get(name) for name in ("first_name", "last_name", "email", "timezone")}
    width = len(header)
    result = ImportResult()
    tz_json: dict[tuple, str] = {}

    with transaction.atomic():
        # Imports into one campaign are serialised, so dedupe against what is there is exact.
        Campaign.objects.select_for_update().filter(pk=campaign.pk).first()
        seen = set(ProspectPhone.objects.filter(campaign=campaign).values_list("e164", flat=True))
        suppressed = set(Suppression.objects.for_org(org).values_list("e164", flat=True))
        writer = _ProspectWriter(campaign)
        batch: list[tuple] = []
        for line, row in rows:
            if len(row) != width:
                if not any(v.strip() for v in row):
                    continue  # blank line
                result.error(
                    line, ",".join(row)[:200], f"expected {width} fields, found {len(row)}"
                )
                continue
            raw_phone = row[phone_cols[0]]
            first = normalizer.normalize(raw_phone)
            if first is None:
                reason = "phone is empty" if not raw_phone.strip() else "invalid phone number"
                result.error(line, raw_phone, reason)
                continue
            numbers = [first]
            bad = None
            for col in phone_cols[1:]:
                value = row[col]
                if not value.strip():
                    continue
                number = normalizer.normalize(value)
                if number is None:
                    bad = (value, f"{header[col]}: invalid phone number")
                    break
                numbers.append(number)
            if bad:
                result.error(line, *bad)
                continue
            tz_value = row[get["timezone"]].strip() if get["timezone"] is not None else ""
            if tz_value and tz_value not in _VALID_ZONES:
                result.error(line, tz_value, "timezone is not an IANA time zone")
                continue
            fields = {}
            too_long = None
            for name in ("first_name", "last_name", "email"):
                col = get[name]
                value = row[col].strip() if col is not None else ""
                if len(value) > MAX_LEN[name]:
                    too_long = (value[:50], f"{name} is longer than {MAX_LEN[name]} characters")
                    break
                fields[name] = value
            if too_long:
                result.error(line, *too_long)
                continue
            if fields["email"] and "@" not in fields["email"]:
                result.error(line, fields["email"], "invalid email address")
                continue
            if first.e164 in seen:
                result.duplicates += 1
                continue
            kept = []
            for number in numbers:
                if number.e164 not in seen:
                    seen.add(number.e164)
                    kept.append(number)
            all_suppressed = all(n.e164 in suppressed for n in kept)
            zones: set[str] = set()
            for n in kept:
                zones.update(n.time_zones)
            if tz_value:
                zones.add(tz_value)
            key = tuple(sorted(zones))
            zones_json = tz_json.get(key)
            if zones_json is None:
                zones_json = tz_json[key] = json.dumps(list(key))
            attributes = {name: row[i] for name, i in attr_cols if row[i] != ""}
            status = Prospect.Status.SUPPRESSED if all_suppressed else Prospect.Status.QUEUED
            if all_suppressed:
                result.suppressed += 1
            else:
                result.imported += 1
            batch.append((fields, attributes, tz_value, zones_json, status, kept))
            if len(batch) >= CHUNK_ROWS:
                writer.write(batch, tz_json)
                batch = []
        if batch:
            writer.write(batch, tz_json)
    return result.as_dict()


class _ProspectWriter:
    """Writes batches of parsed rows: COPY on PostgreSQL, bulk_create elsewhere."""

    PROSPECT_COLUMNS = (
        "id",
        "organization_id",
        "campaign_id",
        "first_name",
        "last_name",
        "email",
        "attributes",
        "timezone",
        "time_zones",
        "status",
        "priority",
        "attempt_count",
        "next_attempt_at",
        "locked_by",
        "last_outcome",
        "created_at",
        "updated_at",
    )
    PHONE_COLUMNS = ("prospect_id", "campaign_id", "position", "e164", "time_zones")

    def __init__(self, campaign: Campaign):
        self.campaign = campaign
        self.postgres = connection.vendor == "postgresql"

    def write(self, batch: list[tuple], tz_json: dict) -> None:
        if self.postgres:
            self._copy(batch, tz_json)
        else:
            self._bulk_create(batch)

    def _copy(self, batch, tz_json) -> None:
        now = timezone.now()
        org_id, campaign_id = self.campaign.organization_id, self.campaign.pk
        connection.ensure_connection()
        with connection.connection.cursor() as cur:
            cur.execute(
                "SELECT nextval(pg_get_serial_sequence(%s, 'id')) FROM generate_series(1, %s)",
                (Prospect._meta.db_table, len(batch)),
            )
            ids = [r[0] for r in cur.fetchall()]
            with cur.copy(
                f"COPY {Prospect._meta.db_table} ({', '.join(self.PROSPECT_COLUMNS)}) FROM STDIN"
            ) as copy:
                for pid, (fields, attributes, tz_value, zones_json, status, _) in zip(
                    ids, batch, strict=True
                ):
                    copy.write_row(
                        (
                            pid,
                            org_id,
                            campaign_id,
                            fields["first_name"],
                            fields["last_name"],
                            fields["email"],
                            json.dumps(attributes) if attributes else "{}",
                            tz_value,
                            zones_json,
                            status,
                            0,
                            0,
                            now,
                            "",
                            "",
                            now,
                            now,
                        )
                    )
            with cur.copy(
                f"COPY {ProspectPhone._meta.db_table} ({', '.join(self.PHONE_COLUMNS)}) FROM STDIN"
            ) as copy:
                for pid, row in zip(ids, batch, strict=True):
                    for position, number in enumerate(row[5]):
                        zones = number.time_zones
                        zjson = tz_json.get(zones)
                        if zjson is None:
                            zjson = tz_json[zones] = json.dumps(list(zones))
                        copy.write_row((pid, campaign_id, position, number.e164, zjson))

    def _bulk_create(self, batch) -> None:
        now = timezone.now()
        prospects = Prospect.objects.bulk_create(
            [
                Prospect(
                    organization_id=self.campaign.organization_id,
                    campaign=self.campaign,
                    timezone=tz_value,
                    time_zones=json.loads(zones_json),
                    status=status,
                    attributes=attributes,
                    next_attempt_at=now,
                    created_at=now,
                    **fields,
                )
                for fields, attributes, tz_value, zones_json, status, _ in batch
            ]
        )
        ProspectPhone.objects.bulk_create(
            [
                ProspectPhone(
                    prospect=p,
                    campaign=self.campaign,
                    position=i,
                    e164=n.e164,
                    time_zones=list(n.time_zones),
                )
                for p, row in zip(prospects, batch, strict=True)
                for i, n in enumerate(row[5])
            ],
            batch_size=5000,
        )


# --- Suppression lists ----------------------------------------------------------------------


def suppressions_import(*, org, fileobj, source: str = "import", progress=None) -> dict:
    """Load a DNC list (`phone` column; optional `reason`); existing entries are duplicates."""
    header, rows = _open_csv(fileobj, progress)
    normalizer = PhoneNormalizer(org.default_region)
    phone_col = header.index("phone")
    reason_col = header.index("reason") if "reason" in header else None
    reasons = set(Suppression.Reason.values)
    width = len(header)
    result = ImportResult()
    now = timezone.now()
    with transaction.atomic():
        seen = set(Suppression.objects.for_org(org).values_list("e164", flat=True))
        new: list[Suppression] = []
        for line, row in rows:
            if len(row) != width:
                if not any(v.strip() for v in row):
                    continue
                result.error(
                    line, ",".join(row)[:200], f"expected {width} fields, found {len(row)}"
                )
                continue
            number = normalizer.normalize(row[phone_col])
            if number is None:
                value = row[phone_col]
                result.error(
                    line, value, "phone is empty" if not value.strip() else "invalid phone number"
                )
                continue
            reason = row[reason_col].strip().lower() if reason_col is not None else ""
            if reason and reason not in reasons:
                result.error(line, reason, f"reason must be one of {', '.join(sorted(reasons))}")
                continue
            if number.e164 in seen:
                result.duplicates += 1
                continue
            seen.add(number.e164)
            new.append(
                Suppression(
                    organization=org,
                    e164=number.e164,
                    reason=reason or Suppression.Reason.DNC,
                    source=source,
                    created_at=now,
                )
            )
            result.imported += 1
        Suppression.objects.bulk_create(new, batch_size=5000)
    return result.as_dict(with_suppressed=False)
