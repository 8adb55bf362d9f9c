"""CSV import of prospects and of suppression lists: per-row errors, bulk writes.

A file is read as UTF-8 CSV with a header row. Each record is checked on its own: a bad row is
reported with its line number (the header is line 1) and reason while the good rows import.
A file that is not CSV text, or lacks a `phone` column, raises ImportFileError before anything
is written. The whole import is one transaction, in which the campaign row stays locked, so
imports into one campaign run one after another and dedupe against what is stored is exact.
Writing is `prospects.copying`'s: on PostgreSQL a streamed binary COPY, overlapped with reading.
"""

import codecs
import csv
import io
import json
import zoneinfo
from collections.abc import Callable, Iterator
from dataclasses import dataclass, field

from django.conf import settings
from django.db import transaction
from django.utils import timezone

from prospects import windows
from prospects.copying import prospect_writer
from prospects.models import Prospect, ProspectPhone, Suppression
from prospects.phones import PhoneNormalizer

BATCH_ROWS = 2_000  # rows handed to the writer at a time
SNIFF_BYTES = 64 * 1024
STANDARD_COLUMNS = {"phone", "first_name", "last_name", "email", "timezone"}
MAX_LEN = {"first_name": 100, "last_name": 100, "email": 254}
_VALID_ZONES = frozenset(zoneinfo.available_timezones())

_BINARY = "The file is not CSV text (it contains binary data)."
_json_string = json.encoder.encode_basestring_ascii  # a str as a JSON string literal

# Called with the number of bytes read so far. It must not use the database: while the file is
# read, the connection is busy with the import's COPY.
Progress = Callable[[int], None]


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
        if b"\x00" in data:
            raise ImportFileError(_BINARY)
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
        raise ImportFileError(_BINARY)
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


class _Columns:
    """Where each column of a prospects file is. A missing standard column points one past the
    row's end: the loop appends an empty field to every row, so it reads as empty."""

    def __init__(self, header: list[str]):
        idx = {name: i for i, name in enumerate(header) if name}
        self.width = len(header)
        self.header = header
        extra = sorted(
            (h for h in idx if h.startswith("phone") and h[5:].isdigit()), key=lambda h: int(h[5:])
        )
        self.phone, self.more = idx["phone"], [idx[name] for name in extra]
        missing = self.width
        self.first_name, self.last_name, self.email, self.timezone = (
            idx.get(name, missing) for name in ("first_name", "last_name", "email", "timezone")
        )
        # Other columns become attributes: (JSON-encoded name, index).
        self.attributes = [
            (json.dumps(name), i)
            for name, i in idx.items()
            if name not in STANDARD_COLUMNS
            and not (name.startswith("phone") and name[5:].isdigit())
        ]


def prospects_import(*, campaign, fileobj, progress: Progress | None = None) -> dict:
    """Import a prospects CSV into a campaign (a campaigns.Campaign); returns the counts and the
    first errors."""
    header, rows = _open_csv(fileobj, progress)
    lookup = PhoneNormalizer(campaign.organization.default_region).lookup
    result = ImportResult()
    with transaction.atomic():
        # Imports into one campaign are serialised, so dedupe against what is there is exact.
        locked = type(campaign).objects.select_for_update(no_key=True).filter(pk=campaign.pk)
        if not locked.exists():
            raise ImportFileError("The campaign was deleted.")
        seen = set(ProspectPhone.objects.filter(campaign=campaign).values_list("e164", flat=True))
        suppressed = set(
            Suppression.objects.for_org(campaign.organization).values_list("e164", flat=True)
        )
        with prospect_writer(campaign) as writer:
            for batch in _accepted(rows, _Columns(header), lookup, seen, suppressed, result):
                writer.write(batch)
    return result.as_dict()


def _accepted(rows, cols: _Columns, lookup, seen: set, suppressed: set, result: ImportResult):
    """Checks each record; yields batches of the rows to store in the writer's tuple shape.

    Counts the suppressed, duplicate and bad rows in result. This loop runs once per row of
    files with millions of them, hence the local names and the single-number shortcuts.
    """
    width, phone_col, more_phones, attr_cols = cols.width, cols.phone, cols.more, cols.attributes
    fn_col, ln_col, email_col, tz_col = cols.first_name, cols.last_name, cols.email, cols.timezone
    max_first, max_last, max_email = MAX_LEN["first_name"], MAX_LEN["last_name"], MAX_LEN["email"]
    queued, suppressed_status = Prospect.Status.QUEUED.value, Prospect.Status.SUPPRESSED.value
    zones_json: dict[tuple, str] = {}  # a prospect's zones -> JSON (sorted)
    dial_zones = _DialZones()
    batch: list[tuple] = []
    for line, row in rows:
        if len(row) != width:
            if any(v.strip() for v in row):  # else a blank line
                result.error(
                    line, ",".join(row)[:200], f"expected {width} fields, found {len(row)}"
                )
            continue
        row.append("")  # what a missing standard column reads
        raw_phone = row[phone_col]
        number = lookup(raw_phone)
        if number is None:
            reason = "phone is empty" if not raw_phone.strip() else "invalid phone number"
            result.error(line, raw_phone, reason)
            continue
        numbers = (number,)  # tuples of strings: the garbage collector soon stops tracking them
        if more_phones:
            more, bad = _more_numbers(row, more_phones, cols.header, lookup)
            if bad:
                result.error(line, *bad)
                continue
            numbers += more
        tz = row[tz_col].strip()
        if tz and tz not in _VALID_ZONES:
            result.error(line, tz, "timezone is not an IANA time zone")
            continue
        first, last, email = row[fn_col].strip(), row[ln_col].strip(), row[email_col].strip()
        if len(first) > max_first or len(last) > max_last or len(email) > max_email:
            result.error(line, *_too_long(first, last, email))
            continue
        if email and "@" not in email:
            result.error(line, email, "invalid email address")
            continue
        if number[0] in seen:
            result.duplicates += 1
            continue
        if len(numbers) == 1:
            seen.add(number[0])
            zones = dial_zones(number, tz)
            all_suppressed = number[0] in suppressed
        else:
            numbers = _unseen(numbers, seen)
            zones = tuple(sorted({z for n in numbers for z in dial_zones(n, tz)}))
            all_suppressed = all(n[0] in suppressed for n in numbers)
        zjson = zones_json.get(zones)
        if zjson is None:
            zjson = zones_json[zones] = json.dumps(list(zones))
        attributes = _attributes_json(row, attr_cols) if attr_cols else "{}"
        if all_suppressed:
            result.suppressed += 1
        else:
            result.imported += 1
        status = suppressed_status if all_suppressed else queued
        batch.append((first, last, email, attributes, tz, zjson, status, numbers))
        if len(batch) >= BATCH_ROWS:
            yield batch
            batch = []
    yield batch


class _DialZones:
    """The zones a number may ring in for the calling-window check (prospects.windows): its
    own plus its whole area code's, with the prospect's explicit zone. Within a NANP area code
    that depends only on the number's own zones, so it is worked out once per area code."""

    def __init__(self):
        self._cache: dict[tuple[str, tuple, str], tuple[str, ...]] = {}

    def __call__(self, number: tuple, tz: str) -> tuple[str, ...]:
        e164, zones = number
        key = (e164[:5] if e164.startswith("+1") else e164, zones, tz)
        found = self._cache.get(key)
        if found is None:
            found = self._cache[key] = windows.possible_zones(e164, tz)
        return found


def _more_numbers(row, cols, header, lookup) -> tuple[tuple, tuple[str, str] | None]:
    """The row's further numbers (phone2, ...), or the (value, reason) of the first bad one."""
    numbers = ()
    for col in cols:
        value = row[col]
        if not value or value.isspace():
            continue
        number = lookup(value)
        if number is None:
            return (), (value, f"{header[col]}: invalid phone number")
        numbers += (number,)
    return numbers, None


def _unseen(numbers: tuple, seen: set[str]) -> tuple:
    """The numbers not seen before (in the campaign or earlier in the row); marks them seen."""
    kept = []
    for number in numbers:
        if number[0] not in seen:
            seen.add(number[0])
            kept.append(number)
    return tuple(kept)


def _too_long(first: str, last: str, email: str) -> tuple[str, str]:
    for name, value in (("first_name", first), ("last_name", last), ("email", email)):
        if len(value) > MAX_LEN[name]:
            return value[:50], f"{name} is longer than {MAX_LEN[name]} characters"
    raise AssertionError("no field is too long")


def _attributes_json(row: list[str], cols: list[tuple[str, int]]) -> str:
    """The non-empty extra columns as a JSON object (what json.dumps would write)."""
    if len(cols) == 1:
        name, i = cols[0]
        return f"{{{name}: {_json_string(row[i])}}}" if row[i] != "" else "{}"
    parts = [f"{name}: {_json_string(row[i])}" for name, i in cols if row[i] != ""]
    return "{" + ", ".join(parts) + "}" if parts else "{}"


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
