"""The voice engine against PostgreSQL and the simulated carrier: the tick's claims, the
attempt's last checks, outcomes, retries and rotation, completion, and the sweeps."""

import threading
from datetime import timedelta

import pytest
from django.db import connection, transaction

from campaigns.models import CallAttempt, Campaign
from campaigns.voice.attempts import calls_place
from campaigns.voice.outcomes import (
    attempts_reconcile,
    attempts_settle,
    attempts_time_out,
    call_claims_release_stale,
)
from messaging.models import CarrierCall
from messaging.providers import get_provider
from prospects.models import Prospect, Suppression
from tests.campaigns.conftest import NOON, place, tick
from tests.campaigns.conftest import import_due as import_rows
from tests.waiting import eventually

S = Prospect.Status


def claimed_ids(campaign):
    return list(
        Prospect.objects.filter(campaign=campaign, status=S.DIALING).values_list("id", flat=True)
    )


def finish(attempt, status, *, answered_by="", duration=0):
    """What the inbox writes when the carrier reports the call's final status."""
    CarrierCall.objects.filter(sid=attempt.sid).update(
        status=status, status_rank=4, answered_by=answered_by, duration_seconds=duration
    )


def test_a_tick_claims_at_the_campaign_pace_and_stamps_the_claim(dialing, settings):
    import_rows(dialing, *[f"41555501{i:02d},," for i in range(20)])
    Campaign.objects.filter(pk=dialing.pk).update(pacing_tokens=0, pacing_at=NOON)

    result = tick(NOON + timedelta(seconds=1))  # one second at 5 calls/s

    assert result["claimed"] == 5
    rows = Prospect.objects.filter(status=S.DIALING)
    assert rows.count() == 5 and len({p.locked_by for p in rows}) == 1
    assert all(p.locked_at == NOON + timedelta(seconds=1) for p in rows)
    assert tick(NOON + timedelta(seconds=1))["claimed"] == 0  # the bucket is empty


def test_claims_never_exceed_the_org_limit_or_the_global_limit(dialing, org, settings):
    import_rows(dialing, *[f"41555501{i:02d},," for i in range(30)])
    Campaign.objects.filter(pk=dialing.pk).update(calls_per_second=100, pacing_tokens=100)
    org.concurrency_limit = 4
    org.save()
    assert tick()["claimed"] == 4
    assert tick(NOON + timedelta(seconds=5))["claimed"] == 0  # the org is full

    org.concurrency_limit = 50
    org.save()
    settings.DIALER_GLOBAL_CONCURRENCY = 10
    assert tick(NOON + timedelta(seconds=10))["claimed"] == 6  # 10 globally, 4 in use


def test_only_prospects_inside_their_window_in_every_zone_are_claimed(dialing):
    import_rows(
        dialing,
        "4155550101,,",  # Los Angeles: 10:00
        "8005550101,,",  # toll-free, no zone: never
        "8005550102,,America/Chicago",  # toll-free with an explicit zone: 12:00
        "2125550101,4155550102,",  # New York and Los Angeles: both open
    )
    Campaign.objects.filter(pk=dialing.pk).update(
        pacing_tokens=5, calling_windows=[{"start": "09:00", "end": "12:00"}]
    )
    tick()
    got = set(Prospect.objects.filter(status=S.DIALING).values_list("phones__e164", flat=True))
    assert got == {"+14155550101"}  # Chicago is at 12:00 (closed), New York at 13:00


def test_an_attempt_places_one_call_and_a_repeated_task_places_none(dialing, carrier):
    import_rows(dialing, "4155550101,,")
    tick()
    assert place(dialing) == {"prepared": 1, "placed": 1}
    attempt = CallAttempt.objects.get()
    assert attempt.status == "in_flight" and attempt.sid.startswith("CA")
    assert (attempt.to, attempt.from_number) == ("+14155550101", "+14156660001")
    assert CarrierCall.objects.filter(sid=attempt.sid).exists()

    p = Prospect.objects.get()
    assert calls_place(
        campaign_id=dialing.id, claim=p.locked_by, prospect_ids=[p.id], now=NOON
    ) == {"already_placed": 1}
    assert carrier.stats()["calls"]["created"] == 1


def test_the_last_checks_cancel_the_suppressed_and_pause_without_caller_ids(dialing, org, carrier):
    import_rows(dialing, "4155550101,,", "4155550102,,")
    tick()
    Suppression.objects.create(organization=org, e164="+14155550101", reason="dnc")
    org.dids.update(state="cooling")
    counts = place(dialing)

    assert counts == {"dnc": 1, "no_dids": 1}
    assert Prospect.objects.get(phones__e164="+14155550101").status == S.CANCELLED
    assert Prospect.objects.get(phones__e164="+14155550102").status == S.QUEUED
    dialing.refresh_from_db()
    assert (dialing.status, dialing.pause_reason) == ("paused", "no_dids")
    assert carrier.stats()["calls"]["created"] == 0
    assert tick(NOON + timedelta(seconds=5))["claimed"] == 0  # stays paused


def test_outcomes_retry_then_rotate_numbers_then_exhaust(dialing, carrier):
    Campaign.objects.filter(pk=dialing.pk).update(
        max_attempts_per_phone_number=1, retry_delay_minutes=60
    )
    import_rows(dialing, "4155550101,4155550102,")
    dialed = []
    now = NOON
    for _ in range(2):
        Campaign.objects.filter(pk=dialing.pk).update(pacing_tokens=5)
        assert tick(now)["claimed"] == 1
        place(dialing, now=now)
        attempt = CallAttempt.objects.filter(status="in_flight").get()
        dialed.append(attempt.to)
        finish(attempt, "busy")
        assert attempts_settle(now=now) == {"busy": 1}
        now += timedelta(minutes=61)
    assert dialed == ["+14155550101", "+14155550102"]
    p = Prospect.objects.get()
    assert (p.status, p.last_outcome, p.attempt_count) == (S.EXHAUSTED, "busy", 2)


@pytest.mark.parametrize(
    ("status", "answered_by", "duration", "outcome", "prospect_status"),
    [
        ("completed", "human", 45, "human_connected", S.HUMAN_CONNECTED),
        ("completed", "human", 4, "human_hangup", S.HUMAN_HANGUP),
        ("completed", "machine_end_beep", 20, "voicemail", S.QUEUED),  # retried: no drop
        ("no-answer", "", 0, "no_answer", S.QUEUED),
        ("failed", "", 0, "failed", S.FAILED),
    ],
)
def test_each_outcome_sets_the_prospect(
    dialing, carrier, status, answered_by, duration, outcome, prospect_status
):
    import_rows(dialing, "4155550101,,")
    tick()
    place(dialing)
    finish(CallAttempt.objects.get(), status, answered_by=answered_by, duration=duration)
    attempts_settle(now=NOON)
    attempt, p = CallAttempt.objects.get(), Prospect.objects.get()
    assert (attempt.status, attempt.outcome) == ("finished", outcome)
    assert (p.status, p.last_outcome, p.locked_by) == (prospect_status, outcome, "")
    if prospect_status == S.QUEUED:
        assert p.next_attempt_at == NOON + timedelta(minutes=60)
    assert attempts_settle(now=NOON) == {}  # settling twice changes nothing


def machine_reached_with_a_drop(campaign, drop_status):
    """A call of a campaign with a drop, ended after a machine_end verdict, its drop in
    `drop_status` (requested at NOON)."""
    Campaign.objects.filter(pk=campaign.pk).update(voicemail_drop="Hi, call us back.")
    import_rows(campaign, "4155550101,,")
    tick()
    place(campaign)
    attempt = CallAttempt.objects.get()
    CallAttempt.objects.filter(pk=attempt.pk).update(
        drop_status=drop_status, drop_requested_at=NOON
    )
    finish(attempt, "completed", answered_by="machine_end_beep", duration=30)
    return attempt


@pytest.mark.parametrize(
    ("drop_before", "drop_after", "prospect_status"),
    [
        ("played", "played", S.VOICEMAIL),
        ("requested", "requested", S.VOICEMAIL),  # no answer came back: maybe left, not again
        ("", "failed", S.QUEUED),  # the call ended before the drop was asked for
        ("failed", "failed", S.QUEUED),  # the carrier refused it
    ],
)
def test_voicemail_is_final_only_when_the_drop_may_have_played(
    dialing, carrier, drop_before, drop_after, prospect_status
):
    attempt = machine_reached_with_a_drop(dialing, drop_before)
    assert attempt.machine_detection == "DetectMessageEnd"
    attempts_settle(now=NOON + timedelta(minutes=5))
    attempt.refresh_from_db()
    assert (attempt.outcome, attempt.drop_status) == ("voicemail", drop_after)
    assert Prospect.objects.get().status == prospect_status


def test_settling_waits_for_the_answer_to_a_drop_request(dialing, carrier, settings):
    machine_reached_with_a_drop(dialing, "requested")
    wait = settings.DIALER_AMD_GRACE_SECONDS + settings.TWILIO_HTTP_TIMEOUT

    assert attempts_settle(now=NOON + timedelta(seconds=wait - 1)) == {}
    assert attempts_settle(now=NOON + timedelta(seconds=wait + 1)) == {"voicemail": 1}


def test_the_campaign_completes_when_nothing_is_queued_or_in_flight(dialing, carrier):
    import_rows(dialing, "4155550101,,")
    Campaign.objects.filter(pk=dialing.pk).update(retry_outcomes=[])
    tick()
    place(dialing)
    assert tick(NOON + timedelta(seconds=1))["completed"] == 0  # in flight
    finish(CallAttempt.objects.get(), "no-answer")
    attempts_settle(now=NOON)
    assert tick(NOON + timedelta(seconds=2))["completed"] == 1
    dialing.refresh_from_db()
    assert dialing.status == "completed" and dialing.finished_at is not None


def test_sweeps_release_dead_claims_time_out_calls_and_reconcile(dialing, carrier, settings):
    import_rows(dialing, "4155550101,,", "4155550102,,", "4155550103,,")
    tick()
    ids = claimed_ids(dialing)
    assert len(ids) == 3
    late = NOON + timedelta(hours=1)
    # The task for one claimed prospect died before it wrote an attempt; the others placed.
    claim = Prospect.objects.get(pk=ids[0]).locked_by
    calls_place(campaign_id=dialing.id, claim=claim, prospect_ids=ids[1:], now=NOON)
    assert call_claims_release_stale(now=late) == 1
    assert Prospect.objects.get(pk=ids[0]).status == S.QUEUED

    in_flight = CallAttempt.objects.filter(status="in_flight").order_by("id")
    first, second = list(in_flight)
    # A crash between writing the attempt and storing the sid: the carrier has the call.
    CallAttempt.objects.filter(pk=second.pk).update(sid=None, status="originating")
    CarrierCall.objects.filter(sid=second.sid).delete()
    assert attempts_reconcile(now=late) == {"found": 1}
    assert CallAttempt.objects.get(pk=second.pk).sid == second.sid

    assert attempts_time_out(now=NOON + timedelta(minutes=31)) == 2
    assert set(CallAttempt.objects.values_list("outcome", flat=True)) == {"timeout"}
    assert carrier.stats()["calls"]["created"] == 2  # nothing was dialed twice


def test_an_attempt_the_carrier_never_saw_goes_back_to_the_queue(dialing, carrier):
    import_rows(dialing, "4155550101,,")
    tick()
    p = Prospect.objects.get()
    CallAttempt.objects.create(
        organization=dialing.organization,
        campaign=dialing,
        prospect=p,
        claim=p.locked_by,
        to="+14155550101",
        from_number="+14156660001",
        created_at=NOON,
    )
    Prospect.objects.filter(pk=p.pk).update(attempt_count=1)
    assert attempts_reconcile(now=NOON + timedelta(minutes=5)) == {"never_placed": 1}
    p.refresh_from_db()
    assert (p.status, p.attempt_count, p.last_outcome) == (S.QUEUED, 0, "never_placed")


def test_a_call_whose_answer_was_lost_is_looked_up_never_dialed_again(dialing, carrier, settings):
    import_rows(dialing, "4155550101,,")
    tick()
    carrier.scenario(api_latency_ms=[600, 600])  # the carrier answers after we stop waiting
    settings.TWILIO_HTTP_TIMEOUT = 0.2
    get_provider.cache_clear()

    assert place(dialing) == {"prepared": 1, "unconfirmed": 1}
    attempt = CallAttempt.objects.get()
    assert (attempt.status, attempt.sid) == ("originating", None)
    assert Prospect.objects.get().status == S.DIALING  # still claimed: not requeued
    late = NOON + timedelta(hours=1)
    assert call_claims_release_stale(now=late) == 0
    eventually(lambda: carrier.stats()["calls"]["created"] == 1, what="the call at the carrier")

    carrier.scenario()
    assert attempts_reconcile(now=late) == {"found": 1}
    attempt.refresh_from_db()
    assert attempt.status == "in_flight" and attempt.sid
    assert carrier.stats()["calls"]["created"] == 1  # looked up, not dialed again


@pytest.mark.django_db(transaction=True)
def test_a_batch_aborted_to_break_a_deadlock_places_its_calls_on_the_next_try(dialing, carrier):
    """Another transaction holds the caller ID (as a call being settled does when it writes the
    call's health event) and then wants the batch's prospect: PostgreSQL aborts the batch,
    which waited first. The batch tries again instead of leaving its prospect claimed and
    uncalled until the stale-claim sweep, minutes later."""
    import_rows(dialing, "4155550101,,")
    tick()
    prospect = Prospect.objects.get()
    caller_id = dialing.organization.dids.get()
    outcome = {}

    def batch():
        try:
            outcome["counts"] = calls_place(
                campaign_id=dialing.id, claim=prospect.locked_by, prospect_ids=[prospect.id],
                now=NOON,
            )  # fmt: skip
        except Exception as error:  # noqa: BLE001 - shown by the assertion below
            outcome["error"] = error
        finally:
            connection.close()

    worker = threading.Thread(target=batch)
    with transaction.atomic(), connection.cursor() as cur:
        cur.execute("SELECT 1 FROM dids_did WHERE id = %s FOR KEY SHARE", [caller_id.id])
        worker.start()

        def batch_waits() -> bool:
            cur.execute("SELECT count(*) FROM pg_locks WHERE NOT granted")
            return cur.fetchone()[0] > 0

        eventually(batch_waits, what="the batch waiting for the caller ID")
        cur.execute("SELECT 1 FROM prospects_prospect WHERE id = %s FOR UPDATE", [prospect.id])
    worker.join(timeout=30)
    assert "error" not in outcome, outcome.get("error")
    assert outcome["counts"] == {"prepared": 1, "placed": 1}
    attempt = CallAttempt.objects.get()
    assert (attempt.prospect_id, attempt.claim, attempt.status) == (
        prospect.id, prospect.locked_by, "in_flight"
    )  # fmt: skip
    assert carrier.stats()["calls"]["created"] == 1
