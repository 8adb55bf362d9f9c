import io

import pytest

from prospects.importing import ImportFileError, prospects_import
from prospects.models import Prospect, ProspectPhone
from tests.factories import SuppressionFactory


def run(campaign, text: str | bytes):
    data = text.encode() if isinstance(text, str) else text
    return prospects_import(campaign=campaign, fileobj=io.BytesIO(data))


def test_good_rows_in_many_formats_are_normalised(campaign):
    csv = (
        "phone,first_name,last_name,email,timezone,company\n"
        "(415) 555-0101,Ann,Lee,ann@example.com,,Initech\n"
        "415-555-0102,Bo,,,,\n"
        "+1 212 555 0103,Cy,,,America/Chicago,\n"
        "1-312-555-0104,Di,,,,\n"
        "415.555.0105,Ed,,,,\n"
        "+442079460000,Fay,,,,\n"
    )
    result = run(campaign, csv)
    assert result == {
        "imported": 6,
        "suppressed": 0,
        "duplicates": 0,
        "error_count": 0,
        "errors": [],
    }
    numbers = list(ProspectPhone.objects.order_by("e164").values_list("e164", flat=True))
    assert numbers == [
        "+12125550103",
        "+13125550104",
        "+14155550101",
        "+14155550102",
        "+14155550105",
        "+442079460000",
    ]
    ann = Prospect.objects.get(first_name="Ann")
    assert ann.attributes == {"company": "Initech"}
    assert ann.email == "ann@example.com"
    assert ann.status == Prospect.Status.QUEUED
    assert ann.phones.get().time_zones == ["America/Los_Angeles"]
    cy = Prospect.objects.get(first_name="Cy")
    assert cy.timezone == "America/Chicago"
    assert set(cy.time_zones) == {"America/New_York", "America/Chicago"}


def test_bad_rows_are_reported_with_line_numbers_and_good_rows_import(campaign):
    csv = (
        "phone,first_name,timezone\n"
        "4155550101,Ann,\n"  # line 2: good
        "not-a-number,Bo,\n"  # line 3
        ",Cy,\n"  # line 4
        "4155550104,Di,Mars/Olympus\n"  # line 5
        "4155550105,Ed\n"  # line 6: too few fields
        "123,Fi,\n"  # line 7
        "4155550107,Gus,Europe/Paris\n"  # line 8: good
    )
    result = run(campaign, csv)
    assert result["imported"] == 2
    assert result["error_count"] == 5
    assert [(e["line"], e["value"]) for e in result["errors"]] == [
        (3, "not-a-number"),
        (4, ""),
        (5, "Mars/Olympus"),
        (6, "4155550105,Ed"),
        (7, "123"),
    ]
    reasons = [e["reason"] for e in result["errors"]]
    assert reasons[0] == "invalid phone number"
    assert reasons[1] == "phone is empty"
    assert "IANA" in reasons[2]
    assert "expected 3 fields" in reasons[3]
    assert Prospect.objects.filter(campaign=campaign).count() == 2


def test_line_numbers_count_physical_lines_of_quoted_fields(campaign):
    csv = 'phone,note\n4155550101,"two\nlines"\nbad,x\n'
    result = run(campaign, csv)
    assert result["errors"] == [{"line": 4, "value": "bad", "reason": "invalid phone number"}]


def test_duplicates_inside_the_file_and_against_existing_rows(campaign):
    assert run(campaign, "phone\n4155550101\n(415) 555-0101\n4155550102\n")["duplicates"] == 1
    second = run(campaign, "phone\n+14155550102\n4155550103\n")
    assert second["imported"] == 1 and second["duplicates"] == 1
    assert ProspectPhone.objects.filter(campaign=campaign).count() == 3


def test_same_number_in_another_campaign_is_not_a_duplicate(campaign, other_campaign):
    run(campaign, "phone\n4155550101\n")
    assert run(other_campaign, "phone\n4155550101\n")["imported"] == 1


def test_suppressed_numbers_are_stored_but_not_queued(campaign, other_org):
    SuppressionFactory(organization=campaign.organization, e164="+14155550101")
    SuppressionFactory(organization=other_org, e164="+14155550102")  # another tenant's list
    result = run(campaign, "phone\n4155550101\n4155550102\n")
    assert result["suppressed"] == 1 and result["imported"] == 1
    statuses = dict(ProspectPhone.objects.values_list("e164", "prospect__status"))
    assert statuses == {"+14155550101": "suppressed", "+14155550102": "queued"}


def test_extra_numbers_are_kept_in_order(campaign):
    result = run(campaign, "phone,phone2,phone3\n4155550101,,2125550103\n4155550104,bad,\n")
    assert result["imported"] == 1
    assert result["errors"] == [
        {"line": 3, "value": "bad", "reason": "phone2: invalid phone number"}
    ]
    prospect = Prospect.objects.get()
    assert list(prospect.phones.order_by("position").values_list("e164", flat=True)) == [
        "+14155550101",
        "+12125550103",
    ]


@pytest.mark.parametrize(
    "data, message",
    [
        (b"\x89PNG\r\n\x1a\n\x00\x00\x00IHDR", "binary"),
        (b"first_name,last_name\nAnn,Lee\n", "no 'phone' column"),
        (b"", "empty"),
        ("phone\n4155550101\n".encode("utf-16"), "not"),
    ],
)
def test_a_file_that_cannot_be_imported_changes_nothing(campaign, data, message):
    with pytest.raises(ImportFileError, match=message):
        run(campaign, data)
    assert not Prospect.objects.exists()


def test_an_invalid_byte_late_in_the_file_rolls_back_everything(campaign):
    data = b"phone\n" + b"4155550101\n" * 10 + b"\xff\xfe\n"
    data = b"phone\n" + b"".join(f"41555{i:05d}\n".encode() for i in range(9000)) + b"\xff\n"
    with pytest.raises(ImportFileError):
        run(campaign, data)
    assert not Prospect.objects.exists()


def test_only_the_first_thousand_errors_are_listed(campaign):
    data = "phone\n" + "bad\n" * 1500
    result = run(campaign, data)
    assert result["error_count"] == 1500
    assert len(result["errors"]) == 1000
