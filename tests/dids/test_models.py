"""What the database refuses for caller IDs."""

import pytest
from django.db import IntegrityError, transaction

from dids.models import Did
from tests.factories import DidFactory


def test_a_number_is_unique_per_org_not_globally(org, other_org):
    DidFactory(organization=org, e164="+14155550101")
    DidFactory(organization=other_org, e164="+14155550101")
    with pytest.raises(IntegrityError), transaction.atomic():
        DidFactory(organization=org, e164="+14155550101")


@pytest.mark.parametrize(
    "changes",
    [
        {"state": "lost"},
        {"health_score": 1.5},
        {"health_score": -0.1},
        {"sms_mps": 0},
        {"sms_mps": 1000.5},
    ],
)
def test_invalid_rows_are_rejected(org, changes):
    did = DidFactory(organization=org)
    with pytest.raises(IntegrityError), transaction.atomic():
        Did.objects.filter(pk=did.pk).update(**changes)
