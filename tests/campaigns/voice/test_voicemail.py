"""Voicemail drops through the simulated carrier and the live webhooks: the message played
after the beep and final, a drop the call no longer takes and retried, two workers racing
for one drop."""

import threading
from datetime import timedelta

import pytest
from django.utils import timezone

from campaigns.models import CallAttempt, Campaign
from campaigns.voice.voicemail import voicemail_drops
from config.events import campaign_stream, events_read
from messaging.models import CarrierCall
from messaging.providers import get_provider
from messaging.services import inbox_apply_batch
from messaging.twiml import message_twiml
from prospects.models import Prospect
from tests.campaigns.conftest import dial, settled, work_until
from tests.waiting import eventually, in_thread

pytestmark = [
    pytest.mark.django_db(transaction=True),
    pytest.mark.usefixtures("callbacks", "dialing_streams"),
]

DROP = "Hi, this is Acme & Co. Please call us back."
# Machines whose greeting ends half a simulated second after the answer and that would
# record for 1000 simulated seconds (10 s real) if nothing hung up.
MACHINES = {
    "time_scale": 0.01,
    "ring_seconds": [0, 0],
    "call_durations": {"machine": [1000, 1000]},
    "amd_detection_ms": [500, 500],
    "amd_machine_end": {"machine_end_beep": 1},
    "call_outcomes": {"machine": 1},
}


@pytest.fixture
def with_drop(dialing):
    Campaign.objects.filter(pk=dialing.pk).update(voicemail_drop=DROP)
    dialing.refresh_from_db()
    return dialing


def greeting_ended(count=1):
    """Apply callbacks (nothing else) until `count` live calls have their machine_end verdict."""
    live = CarrierCall.objects.filter(answered_by="machine_end_beep", status="in-progress")
    eventually(lambda: inbox_apply_batch() is not None and live.count() == count)


def test_the_drop_plays_after_the_beep_and_the_voicemail_is_final(with_drop, carrier):
    carrier.scenario(**MACHINES)
    (attempt,) = dial(with_drop, "4155550101")

    work_until(settled(attempt))

    (update,) = carrier.twiml_updates()
    assert (update["sid"], update["to"]) == (attempt.sid, "+14155550101")
    assert update["twiml"] == message_twiml(DROP)
    assert "Acme &amp; Co. Please call us back." in update["twiml"]
    attempt.refresh_from_db()
    assert (attempt.outcome, attempt.drop_status) == ("voicemail", "played")
    assert attempt.answered_by == "machine_end_beep"
    assert attempt.duration_seconds < 100  # the message, not the 1000 s the machine records
    prospect = Prospect.objects.get()
    assert (prospect.status, prospect.last_outcome) == ("voicemail", "voicemail")
    assert carrier.stats()["calls"]["created"] == 1  # not dialed again
    (event,) = [e for e in events_read(campaign_stream(with_drop.pk)) if "voicemail" in e["type"]]
    assert event["data"]["drop"] == "played" and event["data"]["retry"] is False


def test_a_drop_the_call_no_longer_takes_counts_as_voicemail_without_one(with_drop, carrier):
    carrier.scenario(**MACHINES)
    (attempt,) = dial(with_drop, "4155550101")
    greeting_ended()
    get_provider().hangup_call(attempt.sid)  # the machine hangs up before the drop is asked

    assert voicemail_drops() == {"failed": 1}
    work_until(settled(attempt))

    attempt.refresh_from_db()
    assert (attempt.outcome, attempt.drop_status, attempt.error_code) == (
        "voicemail",
        "failed",
        21220,
    )
    prospect = Prospect.objects.get()
    assert (prospect.status, prospect.last_outcome) == ("queued", "voicemail")  # retried
    assert prospect.next_attempt_at > timezone.now() + timedelta(minutes=59)
    assert carrier.twiml_updates() == []
    assert carrier.stats()["rejections"] == {"21220": 1}
    (event,) = [e for e in events_read(campaign_stream(with_drop.pk)) if "voicemail" in e["type"]]
    assert event["data"]["drop"] == "failed" and event["data"]["retry"] is True


def test_a_drop_whose_answer_was_lost_counts_as_played(with_drop, carrier, settings):
    settings.DIALER_AMD_GRACE_SECONDS = 0
    carrier.scenario(**MACHINES)
    (attempt,) = dial(with_drop, "4155550101")
    greeting_ended()
    carrier.scenario(**MACHINES, api_latency_ms=[600, 600])  # answers after we stop waiting
    settings.TWILIO_HTTP_TIMEOUT = 0.2
    get_provider.cache_clear()

    assert voicemail_drops() == {"unknown": 1}
    assert CallAttempt.objects.get(pk=attempt.pk).drop_status == "requested"
    attempt = work_until(settled(attempt))

    assert (attempt.outcome, attempt.drop_status) == ("voicemail", "requested")
    assert Prospect.objects.get().status == "voicemail"  # not called again: it may have played
    assert len(carrier.twiml_updates()) == 1  # and it did
    (event,) = [e for e in events_read(campaign_stream(with_drop.pk)) if "voicemail" in e["type"]]
    assert event["data"]["drop"] == "unknown" and event["data"]["retry"] is False


def test_a_call_over_before_its_verdict_was_applied_gets_no_drop_and_is_retried(with_drop, carrier):
    carrier.scenario(**{**MACHINES, "time_scale": 0})  # answered, detected and over at once
    (attempt,) = dial(with_drop, "4155550101")

    work_until(settled(attempt))

    attempt.refresh_from_db()
    assert (attempt.outcome, attempt.drop_status) == ("voicemail", "failed")
    assert Prospect.objects.get().status == "queued"
    assert carrier.twiml_updates() == []  # the carrier was not asked


def test_two_workers_racing_play_each_drop_once(with_drop, carrier):
    carrier.scenario(**MACHINES)
    numbers = [f"41555501{i:02d}" for i in range(5)]  # the tick claims 5
    attempts = dial(with_drop, *numbers)
    greeting_ended(len(numbers))
    barrier, results = threading.Barrier(2), {}
    for thread in [in_thread(voicemail_drops, results, str(n), barrier) for n in range(2)]:
        thread.join(20)

    assert sum(r.get("played", 0) for r in results.values()) == len(numbers), results
    updates = carrier.twiml_updates()
    assert sorted(u["sid"] for u in updates) == sorted(a.sid for a in attempts)
    assert carrier.stats()["calls"]["twiml_updates"] == len(numbers)
    assert set(CallAttempt.objects.values_list("drop_status", flat=True)) == {"played"}
    assert voicemail_drops() == {}  # and nothing is left to play
