"""import_prospects: a CSV file from disk into a campaign, printing the counts."""

import io
import json

import pytest
from django.core.management import CommandError, call_command

from prospects.models import Prospect


def run(*args) -> str:
    out = io.StringIO()
    call_command("import_prospects", *args, stdout=out)
    return out.getvalue()


def test_imports_a_file(campaign, tmp_path):
    path = tmp_path / "prospects.csv"
    path.write_text("phone,first_name\n(415) 555-0101,Ann\n415-555-0101,Ann again\nbad,Bo\n")
    output = run("--campaign", str(campaign.pk), str(path))
    result = json.loads(output)
    assert {k: result[k] for k in ("imported", "duplicates", "error_count")} == {
        "imported": 1,
        "duplicates": 1,
        "error_count": 1,
    }
    assert result["errors"] == [{"line": 4, "value": "bad", "reason": "invalid phone number"}]
    ann = Prospect.objects.get()
    assert (ann.campaign, ann.first_name) == (campaign, "Ann")
    assert list(ann.phones.values_list("e164", flat=True)) == ["+14155550101"]


def test_a_missing_campaign_or_file_is_a_clear_error(campaign, tmp_path):
    path = tmp_path / "prospects.csv"
    path.write_text("phone\n4155550101\n")
    with pytest.raises(CommandError, match=f"No campaign with id {campaign.pk + 1000}"):
        run("--campaign", str(campaign.pk + 1000), str(path))
    with pytest.raises(CommandError, match="No such file"):
        run("--campaign", str(campaign.pk), str(tmp_path / "missing.csv"))
    assert not Prospect.objects.exists()


def test_a_file_without_a_phone_column_imports_nothing(campaign, tmp_path):
    path = tmp_path / "prospects.csv"
    path.write_text("name\nAnn\n")
    with pytest.raises(CommandError, match="no 'phone' column"):
        run("--campaign", str(campaign.pk), str(path))
    assert not Prospect.objects.exists()
