"""calling_window: one JSON verdict per number, from the command line or a CSV batch.

The command computes and touches no table, so these tests do not ask for the database.
"""

import io
import json

import pytest
from django.core.management import CommandError, call_command

NY = "+12122220100"


def run(*args) -> list[dict]:
    out = io.StringIO()
    call_command("calling_window", *args, stdout=out)
    lines = out.getvalue().splitlines()
    return [json.loads(line) for line in lines]


def run_one(*args) -> dict:
    found = run(*args)
    assert len(found) == 1
    return found[0]


def test_prints_one_verdict():
    # 2025-03-09 is the US spring-forward day: 08:00 EDT is 12:00 UTC.
    assert run_one(NY, "--at", "2025-03-09T06:00:00Z") == {
        "allowed": False,
        "zones": ["America/New_York"],
        "reason": "Sun 2025-03-09 01:00 in America/New_York is outside federal 08:00-21:00",
        "next_allowed_at": "2025-03-09T12:00:00+00:00",
    }
    allowed = run_one(NY, "--at", "2025-03-09T12:00:00+00:00", "--channel", "sms")
    assert allowed["allowed"] is True
    assert allowed["next_allowed_at"] == "2025-03-09T12:00:00+00:00"


def test_an_instant_without_offset_is_utc_and_one_with_an_offset_is_converted():
    assert run_one(NY, "--at", "2025-03-09T06:00")["next_allowed_at"] == (
        "2025-03-09T12:00:00+00:00"
    )
    # 08:30 EDT written with its offset: allowed, reported in UTC.
    found = run_one(NY, "--at", "2025-07-01T08:30:00-04:00")
    assert (found["allowed"], found["next_allowed_at"]) == (True, "2025-07-01T12:30:00+00:00")


def test_policy_window_and_timezone_options():
    # Florida under the state policy closes at 20:00 EDT = 00:00 UTC.
    florida = run_one("+13052220100", "--at", "2025-07-02T00:00:00Z", "--policy", "state")
    assert (florida["allowed"], florida["next_allowed_at"]) == (False, "2025-07-02T12:00:00+00:00")
    # Two campaign windows; 12:30 EDT waits for 13:00 EDT = 17:00 UTC.
    split = run_one(
        NY, "--at", "2025-07-01T16:30:00Z", "--window", "09:00-12:00", "--window", "13:00-17:00"
    )
    assert (split["allowed"], split["next_allowed_at"]) == (False, "2025-07-01T17:00:00+00:00")
    # Toll-free: unknown without a zone, Chicago's window with one (08:00 CDT = 13:00 UTC).
    assert run_one("+18002220100", "--at", "2025-07-01T12:00:00Z") == {
        "allowed": False,
        "zones": ["Etc/Unknown"],
        "reason": "non-geographic number: its time zone is unknown without an explicit one",
        "next_allowed_at": None,
    }
    chicago = run_one(
        "+18002220100", "--at", "2025-07-01T12:00:00Z", "--timezone", "America/Chicago"
    )
    assert chicago["zones"] == ["America/Chicago"]
    assert chicago["next_allowed_at"] == "2025-07-01T13:00:00+00:00"


def test_an_invalid_number_is_a_verdict_not_an_error():
    assert run_one("+16842220100", "--at", "2025-07-01T16:00:00Z") == {
        "allowed": False,
        "zones": [],
        "reason": "invalid number",
        "next_allowed_at": None,
    }


def test_without_at_it_judges_now():
    assert set(run_one(NY)) == {"allowed", "zones", "reason", "next_allowed_at"}


def test_batch_prints_one_line_per_row_in_order(tmp_path):
    path = tmp_path / "rows.csv"
    path.write_text(
        "phone_e164,utc_datetime,channel,policy,window,timezone\n"
        f"{NY},2025-03-09T06:00:00Z,,,,\n"
        "+18002220100,2025-07-01T15:00:00Z,sms,,,America/Chicago\n"
        "\n"
        '+14012220100,2025-12-27T20:00:00Z,voice,state,"09:00-12:00;13:00-17:00",\n'
        "+16842220100,2025-07-01T15:00:00Z,,,,\n"
        "+12052220100,2025-07-06T15:00:00Z,,state,,\n"
    )
    found = run("--batch", str(path))
    assert [(v["allowed"], v["next_allowed_at"]) for v in found] == [
        (False, "2025-03-09T12:00:00+00:00"),
        (True, "2025-07-01T15:00:00+00:00"),
        # Rhode Island, Saturday 15:00 EST: the campaign allows it, RI's 10:00-17:00 too.
        (True, "2025-12-27T20:00:00+00:00"),
        (False, None),
        # Alabama on a Sunday: Monday 08:00 CDT.
        (False, "2025-07-07T13:00:00+00:00"),
    ]
    assert found[1]["zones"] == ["America/Chicago"]


def test_batch_without_a_header_and_with_short_rows(tmp_path):
    path = tmp_path / "rows.csv"
    path.write_text(f"{NY},2025-07-01T11:00:00Z\n{NY},2025-07-01T12:00:00Z,sms,federal\n")
    assert [v["allowed"] for v in run("--batch", str(path))] == [False, True]


def test_batch_columns_may_come_in_any_order(tmp_path):
    path = tmp_path / "rows.csv"
    path.write_text(
        "phone_e164,timezone,utc_datetime\n+18002220100,America/Chicago,2025-07-01T13:00:00Z\n"
    )
    assert run_one("--batch", str(path))["allowed"] is True


@pytest.mark.parametrize(
    "args, message",
    [
        (("212-222-0100", "--at", "2025-07-01T12:00:00Z"), "E.164"),
        (("+1 212 222 0100", "--at", "2025-07-01T12:00:00Z"), "E.164"),
        ((NY, "--at", "2025-07-01 noon"), "ISO 8601"),
        ((NY, "--at", "2025-13-01T12:00:00Z"), "ISO 8601"),
        ((NY, "--at", "2025-07-01T12:00:00Z", "--window", "9-17"), "bad window"),
        ((NY, "--at", "2025-07-01T12:00:00Z", "--window", "17:00-09:00"), "bad window"),
        ((NY, "--at", "2025-07-01T12:00:00Z", "--window", "25:00-26:00"), "bad window"),
        ((NY, "--at", "2025-07-01T12:00:00Z", "--timezone", "Mars/Base"), "IANA"),
        ((NY, "--at", "2025-07-01T12:00:00Z", "--policy", "strict"), "policy"),
        ((NY, "--at", "2025-07-01T12:00:00Z", "--channel", "fax"), "channel"),
        ((), "PHONE"),
    ],
)
def test_bad_input_is_a_clear_error_and_prints_nothing(args, message):
    out = io.StringIO()
    with pytest.raises(CommandError, match=message):
        call_command("calling_window", *args, stdout=out)
    assert out.getvalue() == ""


@pytest.mark.parametrize(
    "row, message",
    [
        ("2125550100,2025-07-01T12:00:00Z,,,,", "line 3: '2125550100' is not a phone number"),
        (f"{NY},yesterday,,,,", "line 3: 'yesterday' is not an ISO 8601"),
        (f"{NY},,,,,", "line 3: utc_datetime is empty"),
        (f"{NY},2025-07-01T12:00:00Z,,,09:00-08:00,", "line 3: bad window"),
        (f"{NY},2025-07-01T12:00:00Z,,,,Nowhere/City", "line 3: 'Nowhere/City' is not an IANA"),
        (f"{NY},2025-07-01T12:00:00Z,,lenient,,", "line 3: policy 'lenient'"),
        (f"{NY},2025-07-01T12:00:00Z,,,,,extra", "line 3: expected at most 6 columns"),
    ],
)
def test_a_bad_batch_row_prints_nothing(tmp_path, row, message):
    path = tmp_path / "rows.csv"
    path.write_text(
        f"phone_e164,utc_datetime,channel,policy,window,timezone\n{NY},2025-07-01T12:00:00Z\n{row}\n"
    )
    out = io.StringIO()
    with pytest.raises(CommandError, match=message):
        call_command("calling_window", "--batch", str(path), stdout=out)
    assert out.getvalue() == ""


def test_batch_errors_about_the_file_itself(tmp_path):
    with pytest.raises(CommandError, match="Cannot read"):
        run("--batch", str(tmp_path / "missing.csv"))
    path = tmp_path / "rows.csv"
    path.write_text("phone_e164,when\n")
    with pytest.raises(CommandError, match="line 1: expected the columns"):
        run("--batch", str(path))
    path.write_text(f"{NY},2025-07-01T12:00:00Z\n")
    with pytest.raises(CommandError, match="--batch takes every setting from the file"):
        run("--batch", str(path), NY)
