"""Writing imported prospects: streamed binary COPY on PostgreSQL, bulk_create elsewhere.

The importer hands over batches of accepted rows, each a tuple
(first_name, last_name, email, attributes JSON, timezone, time zones JSON, status, numbers)
where numbers are (E.164, time zones) pairs in dialing order. Everything happens on the
caller's connection inside its transaction, so a failure anywhere rolls the whole import back.

On PostgreSQL the prospects go in through one COPY per block of ids that stays open across
batches, so the server parses and indexes one batch while the importer reads the next. The ids
come from the table's sequence a block at a time (small blocks first, so a small import does
not burn ids); a block's phone rows follow in one COPY when the block is full. While the writer
is open the connection is in COPY mode: nothing else may use it. The server's side of the
import (COPY, index entries, and the foreign-key checks at commit) is most of its time, so the
rows go in COPY's binary format, which the server reads with less work than text.
"""

import json
import struct
from contextlib import AbstractContextManager
from datetime import UTC, datetime, timedelta

from django.db import connection
from django.utils import timezone

from prospects.models import Prospect, ProspectPhone

FIRST_BLOCK, MAX_BLOCK = 1_000, 100_000
# Column order of the COPY and, in the comments, the binary type each field is written as.
_PROSPECT_COLUMNS = (
    "id",  # int8
    "organization_id",  # int8
    "campaign_id",  # int8
    "first_name",  # text (varchar)
    "last_name",
    "email",
    "attributes",  # jsonb
    "timezone",  # text
    "time_zones",  # jsonb
    "status",  # text
    "priority",  # int4
    "attempt_count",  # int4
    "next_attempt_at",  # timestamptz
    "locked_by",  # text
    "last_outcome",  # text
    "created_at",  # timestamptz
    "updated_at",  # timestamptz
)
_PHONE_COLUMNS = ("prospect_id", "campaign_id", "position", "e164", "time_zones")  # int8 int8 int2
_PROSPECTS_COPY = (
    f"COPY {Prospect._meta.db_table} ({', '.join(_PROSPECT_COLUMNS)}) FROM STDIN (FORMAT BINARY)"
)
_PHONES_COPY = (
    f"COPY {ProspectPhone._meta.db_table} ({', '.join(_PHONE_COLUMNS)}) FROM STDIN (FORMAT BINARY)"
)

# --- COPY's binary format -------------------------------------------------------------------
# A signature, then per row an int16 field count and per field an int32 byte length and the
# bytes (big-endian integers, UTF-8 text, jsonb as a version byte and JSON text, timestamptz as
# microseconds since 2000-01-01 UTC); an int16 -1 ends the data. Rows are built as str with
# one character per byte (latin-1), which Python formats, joins and encodes much faster than it
# concatenates bytes: integers are packed then read as latin-1, text is UTF-8 read as latin-1.

_SIGNATURE = b"PGCOPY\n\xff\r\n\x00" + bytes(8)  # + flags and header extension length: zero
_TRAILER = b"\xff\xff"
_PG_EPOCH = datetime(2000, 1, 1, tzinfo=UTC)


def _chars(data: bytes) -> str:
    return data.decode("latin-1")


_LENGTH = [_chars(struct.pack(">i", n)) for n in range(1024)]  # int32 length prefixes


def _text(value: str) -> str:
    """A text (or varchar) field, length included."""
    data = value if value.isascii() else _chars(value.encode())
    return (_LENGTH[len(data)] if len(data) < 1024 else _chars(struct.pack(">i", len(data)))) + data


def _jsonb(text: str) -> str:
    return _text("\x01" + text)


def _int2(value: int) -> str:
    return _LENGTH[2] + _chars(struct.pack(">h", value))


def _int8(value: int) -> str:
    return _LENGTH[8] + _chars(struct.pack(">q", value))


def prospect_writer(campaign) -> "CopyWriter | BulkCreateWriter":
    if connection.vendor == "postgresql":
        return CopyWriter(campaign)
    return BulkCreateWriter(campaign)


class CopyWriter(AbstractContextManager):
    def __init__(self, campaign):
        now = _int8((timezone.now() - _PG_EPOCH) // timedelta(microseconds=1))
        int4_zero, empty = _LENGTH[4] + _chars(bytes(4)), _text("")
        # The fields every row shares, around the id and around the row's own values.
        self.row_start = _chars(struct.pack(">h", len(_PROSPECT_COLUMNS)))
        self.campaign_fields = _int8(campaign.organization_id) + _int8(campaign.pk)
        self.row_end = int4_zero * 2 + now + empty * 2 + now * 2
        self.phone_start = _chars(struct.pack(">h", len(_PHONE_COLUMNS)))
        self.phone_campaign = _int8(campaign.pk)
        self.positions = [_int2(i) for i in range(10)]
        self.fields: dict = {}  # a status, a JSON text or a number's zones -> its field
        self.block = FIRST_BLOCK
        self.ids: list[int] = []
        self.used = 0  # ids of the block already written
        self.copy_cm = self.copy = None  # the open prospects COPY
        self.phones: list[str] = []  # the block's phone rows
        connection.ensure_connection()
        self.cursor = connection.connection.cursor()
        self.cursor.execute("SELECT pg_get_serial_sequence(%s, 'id')", (Prospect._meta.db_table,))
        self.sequence = self.cursor.fetchone()[0]

    def write(self, batch: list[tuple]) -> None:
        start = 0
        while start < len(batch):
            if self.used == len(self.ids):
                self._next_block()
            stop = start + len(self.ids) - self.used
            self._write_prospects(batch[start:stop])
            start = stop

    def __exit__(self, exc_type, exc, tb):
        try:
            if exc is None:
                self._end_block()
            elif self.copy_cm is not None:
                try:  # abort the COPY (the server drops it); the importer's exception goes on
                    self.copy_cm.__exit__(exc_type, exc, tb)
                except Exception:
                    pass
        finally:
            self.cursor.close()
        return None

    def _write_prospects(self, rows: list[tuple]) -> None:
        ids = self.ids[self.used : self.used + len(rows)]
        self.used += len(ids)
        row_start, campaign_fields, row_end = self.row_start, self.campaign_fields, self.row_end
        phone_start, phone_campaign, positions = (
            self.phone_start,
            self.phone_campaign,
            self.positions,
        )
        fields, phones, text, jsonb = self.fields, self.phones, _text, _jsonb
        lines = []
        for pid, (first, last, email, attributes, tz, zones, status, numbers) in zip(
            ids, rows, strict=True
        ):
            id_field = _int8(pid)
            if len(numbers) > len(positions):
                positions.extend(_int2(i) for i in range(len(positions), len(numbers)))
            zones_field = fields.get(zones) or fields.setdefault(zones, jsonb(zones))
            lines.append(
                f"{row_start}{id_field}{campaign_fields}{text(first)}{text(last)}{text(email)}"
                f"{jsonb(attributes)}{text(tz)}{zones_field}"
                f"{fields.get(status) or fields.setdefault(status, text(status))}{row_end}"
            )
            for position, (e164, number_zones) in enumerate(numbers):
                zones_field = fields.get(number_zones) or fields.setdefault(
                    number_zones, jsonb(json.dumps(list(number_zones)))
                )
                phones.append(
                    f"{phone_start}{id_field}{phone_campaign}{positions[position]}"
                    f"{text(e164)}{zones_field}"
                )
        self.copy.write("".join(lines).encode("latin-1"))

    def _next_block(self) -> None:
        self._end_block()
        self.cursor.execute(
            "SELECT nextval(%s) FROM generate_series(1, %s)", (self.sequence, self.block)
        )
        self.ids = [r[0] for r in self.cursor.fetchall()]
        self.used = 0
        self.block = min(self.block * 4, MAX_BLOCK)
        self.copy_cm = self.cursor.copy(_PROSPECTS_COPY)
        self.copy = self.copy_cm.__enter__()
        self.copy.write(_SIGNATURE)

    def _end_block(self) -> None:
        if self.copy_cm is not None:
            cm, self.copy_cm = self.copy_cm, None
            self.copy.write(_TRAILER)
            cm.__exit__(None, None, None)
        if self.phones:
            data = "".join(self.phones).encode("latin-1")
            self.phones = []
            with self.cursor.copy(_PHONES_COPY) as copy:
                copy.write(_SIGNATURE)
                copy.write(data)
                copy.write(_TRAILER)


class BulkCreateWriter(AbstractContextManager):
    def __init__(self, campaign):
        self.campaign = campaign

    def write(self, batch: list[tuple]) -> None:
        now = timezone.now()
        prospects = Prospect.objects.bulk_create(
            [
                Prospect(
                    organization_id=self.campaign.organization_id,
                    campaign=self.campaign,
                    first_name=first,
                    last_name=last,
                    email=email,
                    attributes=json.loads(attributes),
                    timezone=tz,
                    time_zones=json.loads(zones),
                    status=status,
                    next_attempt_at=now,
                    created_at=now,
                )
                for first, last, email, attributes, tz, zones, status, _ in batch
            ]
        )
        ProspectPhone.objects.bulk_create(
            [
                ProspectPhone(
                    prospect=p,
                    campaign=self.campaign,
                    position=i,
                    e164=e164,
                    time_zones=list(zones),
                )
                for p, row in zip(prospects, batch, strict=True)
                for i, (e164, zones) in enumerate(row[7])
            ],
            batch_size=5000,
        )

    def __exit__(self, *exc):
        return None
