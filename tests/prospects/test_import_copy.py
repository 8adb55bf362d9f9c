"""The import's COPY path: values round-trip exactly, blocks of ids line up, failures roll back."""

import csv
import io
from datetime import timedelta

import pytest
from django.utils import timezone

from prospects.importing import ImportFileError, prospects_import
from prospects.models import Prospect, ProspectPhone


def run(campaign, data: bytes):
    return prospects_import(campaign=campaign, fileobj=io.BytesIO(data))


def csv_bytes(rows) -> bytes:
    out = io.StringIO()
    csv.writer(out, lineterminator="\n").writerows(rows)
    return out.getvalue().encode()


def test_awkward_values_are_stored_exactly(campaign):
    note = 'tab\there, back\\slash, new\nline, "quotes", é ✓ \U0001f600 ' + "x" * 2000
    data = csv_bytes(
        [
            ["phone", "first_name", "last_name", "email", "note", "empty"],
            ["4155550101", "Zoë\tTab", "O'Brien\\", "zoë@exämple.com", note, ""],
            ["4155550102", "Line\r\nBreak", "日本", "", "", ""],
        ]
    )
    assert run(campaign, data)["imported"] == 2
    zoe = Prospect.objects.get(first_name="Zoë\tTab")
    assert (zoe.last_name, zoe.email) == ("O'Brien\\", "zoë@exämple.com")
    assert zoe.attributes == {"note": note}
    assert (zoe.status, zoe.priority, zoe.attempt_count, zoe.locked_by) == ("queued", 0, 0, "")
    assert abs(zoe.created_at - timezone.now()) < timedelta(minutes=1)
    assert zoe.next_attempt_at == zoe.created_at and zoe.locked_at is None
    other = Prospect.objects.get(last_name="日本")
    assert other.first_name == "Line\r\nBreak"
    assert other.attributes == {}


def test_rows_across_blocks_of_ids_keep_their_numbers_in_file_order(campaign):
    rows = [["phone", "phone2", "email"]]
    for i in range(6_500):
        second = f"212555{i % 10_000:04d}" if i % 3 == 0 else ""
        rows.append([f"41555{i:05d}", second, f"p{i}@example.com"])
    result = run(campaign, csv_bytes(rows))
    assert result["imported"] == 6_500
    prospects = list(Prospect.objects.filter(campaign=campaign).order_by("id"))
    assert [p.email for p in prospects] == [f"p{i}@example.com" for i in range(6_500)]
    phones = {}
    for pid, position, e164 in ProspectPhone.objects.values_list("prospect_id", "position", "e164"):
        phones.setdefault(pid, {})[position] = e164
    for i, p in enumerate(prospects):
        want = {0: f"+141555{i:05d}"}
        if i % 3 == 0:
            want[1] = f"+1212555{i % 10_000:04d}"
        assert phones[p.id] == want


def test_many_numbers_on_one_row(campaign):
    header = ["phone"] + [f"phone{i}" for i in range(2, 15)]
    numbers = [f"41555501{i:02d}" for i in range(14)]
    assert run(campaign, csv_bytes([header, numbers]))["imported"] == 1
    stored = ProspectPhone.objects.order_by("position").values_list("position", "e164")
    assert list(stored) == [(i, "+1" + n) for i, n in enumerate(numbers)]


def test_a_nul_byte_late_in_the_file_rolls_back_everything(campaign):
    data = b"phone\n" + b"".join(f"41555{i:05d}\n".encode() for i in range(20_000))
    with pytest.raises(ImportFileError, match="binary"):
        run(campaign, data + b"4155550000\x00\n")
    assert not Prospect.objects.exists()
    assert not ProspectPhone.objects.exists()


def test_a_bad_byte_after_several_blocks_rolls_back_everything(campaign):
    data = b"phone\n" + b"".join(f"41555{i:05d}\n".encode() for i in range(30_000))
    with pytest.raises(ImportFileError, match="UTF-8"):
        run(campaign, data + b"\xff\n")
    assert not Prospect.objects.exists()
    assert not ProspectPhone.objects.exists()
    # The connection is usable again and a good import goes through.
    assert run(campaign, b"phone\n4155550101\n")["imported"] == 1
