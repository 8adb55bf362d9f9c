"""Many rows in one statement: what is stored is what the ORM would have stored."""

from datetime import UTC, datetime, timedelta

from campaigns.models import CallAttempt
from config.bulk import rows_insert, rows_update
from messaging.models import CarrierCall
from prospects.models import Prospect
from tests.factories import CampaignFactory, DidFactory, OrganizationFactory


def test_inserted_rows_hold_their_values_and_defaults_and_get_their_keys_in_order(db):
    campaign = CampaignFactory()
    at = datetime(2026, 3, 8, 6, 59, 59, 123456, tzinfo=UTC)
    keys = rows_insert(
        Prospect,
        [
            {
                "organization_id": campaign.organization_id,
                "campaign_id": campaign.id,
                "first_name": f"Zoë {i}",
                "attributes": {"plan": "gold", "n": i, "tags": ["a", "b"]},
                "time_zones": ["America/Chicago"],
                "status": Prospect.Status.DIALING,
                "next_attempt_at": at + timedelta(minutes=i),
            }
            for i in range(3)
        ],
    )
    assert len(keys) == 3 and keys == sorted(keys)
    for i, key in enumerate(keys):
        stored = Prospect.objects.get(pk=key)
        assert stored.first_name == f"Zoë {i}"
        assert stored.attributes == {"plan": "gold", "n": i, "tags": ["a", "b"]}
        assert stored.time_zones == ["America/Chicago"]
        assert stored.status == "dialing"
        assert stored.next_attempt_at == at + timedelta(minutes=i)
        assert (stored.priority, stored.attempt_count, stored.locked_by, stored.locked_at) == (
            0,
            0,
            "",
            None,
        )
        assert stored.email == "" and stored.created_at is not None


def test_ignoring_conflicts_skips_rows_already_there_and_stamps_the_others(db):
    org = OrganizationFactory()
    CarrierCall.objects.create(organization=org, sid="CA1", to="+1", from_number="+2")
    rows_insert(
        CarrierCall,
        [
            {"organization_id": org.id, "sid": sid, "to": "+1212", "from_number": "+1415"}
            for sid in ("CA1", "CA2")
        ],
        ignore_conflicts=True,
    )
    assert CarrierCall.objects.get(sid="CA1").to == "+1"
    second = CarrierCall.objects.get(sid="CA2")
    assert (second.to, second.status, second.sequence_number) == ("+1212", "queued", -1)
    assert second.created_at is not None and second.updated_at is not None


def test_rows_update_sets_each_row_its_own_values_where_the_condition_holds(db):
    org = OrganizationFactory()
    did = DidFactory(organization=org)
    attempts = [
        CallAttempt.objects.create(organization=org, to=f"+1212555000{i}", did=did)
        for i in range(3)
    ]
    CallAttempt.objects.filter(pk=attempts[2].pk).update(
        status=CallAttempt.Status.FINISHED, outcome=CallAttempt.Outcome.BUSY
    )
    changed = rows_update(
        CallAttempt,
        ["sid", "status", "duration_seconds"],
        [(a.pk, f"CA{i}", CallAttempt.Status.IN_FLIGHT, 10 * i) for i, a in enumerate(attempts)],
        only_if={"status": CallAttempt.Status.ORIGINATING},
    )
    assert changed == 2
    stored = {a.pk: a for a in CallAttempt.objects.all()}
    assert [
        (stored[a.pk].sid, stored[a.pk].status, stored[a.pk].duration_seconds) for a in attempts
    ] == [
        ("CA0", "in_flight", 0),
        ("CA1", "in_flight", 10),
        (None, "finished", None),
    ]
