"""Drip campaigns: the start's validation, one prospect a turn at the pool's pace, a caller ID
once per 15 minutes under concurrent workers, sender choice, windows, completion, pauses."""

import threading
import types
from datetime import UTC, datetime, timedelta

import pytest
from django.db import connection
from django.utils import timezone

from campaigns.models import Campaign
from campaigns.services import campaign_pause, campaign_resume, campaign_start
from campaigns.sms import drip as drip_module
from campaigns.sms.drip import drip_turn, drips_tick, sender_claim
from campaigns.sms.executor import messages_send
from campaigns.sms.tick import sms_tick
from dids.models import Did
from messaging.models import Message
from orgs.models import Organization
from prospects.models import Prospect, Suppression
from tests.campaigns.sms.helpers import drip, numbers_open_now, sender_pool
from tests.factories import SuppressionFactory, make_prospect

# A Monday, 12:00 in New York, 09:00 in Los Angeles, 07:00 in Honolulu.
MONDAY = datetime(2026, 3, 2, 17, 0, tzinfo=UTC)
GAP = 900


@pytest.fixture
def pool(org):
    return sender_pool(org, "+14156660001", "+12126660002", "+13126660003")


def started(org, pool, *numbers, at=MONDAY, **fields):
    """A drip of `org` to `numbers` (in that order), started, its first turn due `at`."""
    campaign = drip(org, pool, **fields)
    for i, e164 in enumerate(numbers):
        make_prospect(campaign, e164, first_name="Ann", priority=len(numbers) - i)
    campaign_start(campaign=campaign)
    Prospect.objects.filter(campaign=campaign).update(next_attempt_at=at - timedelta(hours=1))
    Campaign.objects.filter(pk=campaign.pk).update(drip_next_at=at)
    return campaign


def texts(campaign):
    """The campaign's texts in the order they were written."""
    return list(Message.objects.filter(campaign=campaign).order_by("created_at", "id"))


def at(seconds: float) -> datetime:
    return MONDAY + timedelta(seconds=seconds)


def test_a_drip_starts_with_its_first_turn_now_and_writes_no_text(org, pool):
    campaign = drip(org, pool)
    make_prospect(campaign, "+14155550101")
    make_prospect(campaign, "+14155550102")
    campaign = campaign_start(campaign=campaign)
    assert campaign.status == "dialing"
    assert campaign.drip_next_at == campaign.started_at  # the first turn is now
    assert not Message.objects.exists()
    assert set(Prospect.objects.values_list("status", flat=True)) == {"queued"}


@pytest.mark.parametrize("caller_ids", [1, 3])
def test_one_prospect_a_turn_and_the_next_turn_gap_over_caller_ids_later(org, caller_ids):
    pool = sender_pool(org, *[f"+1415666000{n}" for n in range(caller_ids)])
    campaign = started(org, pool, *[f"+1415555010{n}" for n in range(8)])
    interval = GAP / caller_ids

    assert drips_tick(now=at(0)) == {"texted": 1}
    campaign.refresh_from_db()
    assert campaign.drip_next_at == at(interval)
    assert drips_tick(now=at(0)) == {}
    assert drips_tick(now=at(interval - 1)) == {}
    assert drips_tick(now=at(interval)) == {"texted": 1}
    assert drips_tick(now=at(interval + 3600)) == {"texted": 1}  # one a turn, however late
    assert drips_tick(now=at(interval + 3600)) == {}
    sent = texts(campaign)
    assert [m.send_at for m in sent] == [at(0), at(interval), at(interval + 3600)]
    assert [m.to for m in sent] == ["+14155550100", "+14155550101", "+14155550102"]
    assert all(m.status == "queued" and m.sender_id for m in sent)
    statuses = list(Prospect.objects.filter(campaign=campaign).values_list("status", flat=True))
    assert statuses.count("sending") == 3 and statuses.count("queued") == 5


def test_each_caller_id_texts_at_most_once_per_gap(org, pool):
    campaign = started(org, pool, *[f"+1415555010{n}" for n in range(8)])
    for second in range(0, 2 * GAP + 1, 60):
        drips_tick(now=at(second))
    sent = texts(campaign)
    assert len(sent) == 7  # at 0, 300, 600, ..., 1800
    _assert_gaps(sent)


def run_at_once(*workers) -> None:
    """Each worker in a thread of its own (its own database connection); their errors fail
    the test."""
    errors = []

    def run(worker):
        try:
            worker()
        except BaseException as exc:  # noqa: BLE001 - reported below, in the test's thread
            errors.append(exc)
        finally:
            connection.close()

    threads = [threading.Thread(target=run, args=(w,)) for w in workers]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    assert not errors, errors


def _assert_gaps(sent):
    by_sender: dict[int, list[datetime]] = {}
    for m in sent:
        by_sender.setdefault(m.sender_id, []).append(m.created_at)
    for times in by_sender.values():
        times.sort()
        assert all(b - a >= timedelta(seconds=GAP) for a, b in zip(times, times[1:], strict=False))


@pytest.mark.django_db(transaction=True)
def test_two_workers_ticking_at_once_keep_each_gap_and_text_no_one_twice(org):
    pool = sender_pool(org, "+14156660001", "+14156660002")
    drips = [
        started(org, pool, *[f"+1415555{c}{n:03d}" for n in range(12)]) for c in range(3)
    ]  # three drips sharing two caller IDs: each would text every 450 s on its own
    barrier = threading.Barrier(2)

    def worker():
        for second in range(0, 3600 + 1, 150):
            barrier.wait(timeout=30)
            drips_tick(now=at(second))

    run_at_once(worker, worker)
    sent = list(Message.objects.filter(campaign__in=drips).order_by("created_at", "id"))
    assert len(sent) == 2 * (3600 // GAP + 1)  # each caller ID as often as its gap allows
    _assert_gaps(sent)
    assert len({m.prospect_id for m in sent}) == len(sent)
    sending = Prospect.objects.filter(campaign__in=drips, status="sending")
    assert sorted(sending.values_list("id", flat=True)) == sorted(m.prospect_id for m in sent)


@pytest.mark.django_db(transaction=True)
def test_concurrent_claims_take_each_free_caller_id_once(org, pool):
    taken, barrier = [], threading.Barrier(6)

    def worker():
        barrier.wait(timeout=30)
        taken.append(sender_claim(pool_id=pool.id, to="+14155550101", sticky=None, now=MONDAY))

    run_at_once(*[worker] * 6)
    found = [t for t in taken if t]
    assert len(found) == 3 and len({did for did, _ in found}) == 3
    assert set(Did.objects.values_list("last_sms_at", flat=True)) == {MONDAY}


@pytest.mark.parametrize("vendor", ["postgresql", "sqlite"])
def test_a_number_keeps_its_sender_then_same_area_code_then_the_longest_idle(
    org, pool, monkeypatch, vendor
):
    if vendor != "postgresql":  # the demo's path, on the same database
        monkeypatch.setattr(drip_module, "connection", types.SimpleNamespace(vendor=vendor))
    ny, sf, chicago = (pool.dids.get(e164=e) for e in ("+12126660002", "+14156660001",
                                                       "+13126660003"))  # fmt: skip

    def claim(to, sticky=None, now=MONDAY):
        found = sender_claim(pool_id=pool.id, to=to, sticky=sticky, now=now)
        return found and found[1]

    assert claim("+16175550103", sticky=sf.id) == sf.e164  # sticky
    assert claim("+12125550101") == ny.e164  # same area code
    assert claim("+12125550102", sticky=ny.id) == chicago.e164  # both busy: any free one
    assert claim("+14155550104") is None  # every caller ID texted within its gap
    Did.objects.filter(pk=ny.pk).update(last_sms_at=MONDAY - timedelta(seconds=GAP + 60))
    Did.objects.filter(pk=sf.pk).update(last_sms_at=MONDAY - timedelta(seconds=GAP + 30))
    assert claim("+16175550105") == ny.e164  # no area match: the longest idle
    Did.objects.filter(pk=sf.pk).update(state=Did.State.COOLING)
    assert claim("+14155550106", now=at(GAP)) != sf.e164  # out of rotation


def test_a_turn_uses_the_sticky_sender_of_the_number(org, pool):
    campaign = started(org, pool, "+16175550103")
    sf = pool.dids.get(e164="+14156660001")
    Message.objects.create(organization=org, to="+16175550103", body="x", sender=sf,
                           status="delivered", created_at=MONDAY - timedelta(days=3))  # fmt: skip
    drips_tick(now=MONDAY)
    assert texts(campaign)[0].from_number == sf.e164


def test_outside_its_window_a_prospect_waits_its_turn_and_the_next_is_texted(org, pool):
    campaign = started(org, pool, "+18085550100", "+14155550101")  # Honolulu 07:00 first
    drips_tick(now=MONDAY)
    honolulu = Prospect.objects.get(phones__e164="+18085550100")
    assert (honolulu.status, honolulu.next_attempt_at) == ("queued", at(3600))
    assert [m.to for m in texts(campaign)] == ["+14155550101"]
    assert drips_tick(now=at(GAP)) == {"waiting": 1}
    Message.objects.update(status="delivered")
    Prospect.objects.filter(status="sending").update(status="delivered")
    sms_tick(now=at(GAP))
    campaign.refresh_from_db()
    assert campaign.status == "dialing"  # Honolulu still to come
    assert drips_tick(now=at(3600)) == {"texted": 1}
    assert [m.to for m in texts(campaign)] == ["+14155550101", "+18085550100"]


def test_excluded_prospects_are_passed_over_as_a_blast_leaves_them_out(org, pool):
    campaign = started(org, pool, "+19995550100", "+14155550101", "+14155550102", "+14155550103")
    SuppressionFactory(organization=org, e164="+14155550101", reason=Suppression.Reason.STOP)
    late = make_prospect(campaign, "+14155550104", priority=2, attributes={"x": 1})
    campaign.variants.update(body="Hi {first_name|there}, {nickname}")  # edited since the start
    Prospect.objects.filter(pk=late.pk).update(next_attempt_at=MONDAY)
    Prospect.objects.filter(phones__e164="+14155550103").update(attributes={"nickname": "Cy"})
    assert drips_tick(now=MONDAY) == {"texted": 1}
    outcome = dict(Prospect.objects.values_list("phones__e164", "status"))
    assert outcome["+14155550101"] == "cancelled"  # STOP
    no_zone = Prospect.objects.get(phones__e164="+19995550100")  # area code 999: in no zone
    assert (no_zone.status, no_zone.last_outcome) == ("cancelled", "no_window")
    assert outcome["+14155550102"] == outcome["+14155550104"] == "failed"  # no {nickname}
    assert outcome["+14155550103"] == "sending"
    assert Prospect.objects.get(pk=late.pk).last_outcome == "missing_value"
    assert texts(campaign)[0].body == "Hi Ann, Cy"


def test_a_drip_completes_only_when_every_prospect_is_terminal(org, pool):
    campaign = started(org, pool, "+14155550101", "+14155550102")

    def deliver_and_tick(now):
        Message.objects.update(status="delivered")
        Prospect.objects.filter(status="sending").update(status="delivered")
        sms_tick(now=now)
        campaign.refresh_from_db()
        return campaign.status

    drips_tick(now=MONDAY)
    assert deliver_and_tick(at(1)) == "dialing"  # the second waits for its turn
    Prospect.objects.filter(status="queued").update(next_attempt_at=at(7200))
    assert deliver_and_tick(at(GAP)) == "dialing"  # ... and now for its window
    drips_tick(now=at(7200))
    assert deliver_and_tick(at(7201)) == "completed"


def test_a_paused_drip_does_not_burst_when_resumed(org, pool):
    campaign = started(org, pool, *[f"+1415555010{n}" for n in range(8)])
    drips_tick(now=at(0))
    campaign_pause(campaign=campaign)
    for second in range(300, 7200, 300):
        assert drips_tick(now=at(second)) == {}
    campaign_resume(campaign=campaign)
    assert drips_tick(now=at(7200)) == {"texted": 1}
    assert drips_tick(now=at(7200)) == {}
    assert drips_tick(now=at(7499)) == {}
    assert drips_tick(now=at(7500)) == {"texted": 1}
    assert len(texts(campaign)) == 3


def test_a_drip_without_caller_ids_pauses(org, pool):
    campaign = started(org, pool, "+14155550101")
    pool.dids.update(sms_enabled=False)
    assert drips_tick(now=MONDAY) == {"no_senders": 1}
    campaign.refresh_from_db()
    assert (campaign.status, campaign.pause_reason) == ("paused", "no_dids")


def test_the_executor_sends_a_drip_text_from_the_sender_its_turn_chose(org, pool, carrier):
    Organization.objects.filter(pk=org.pk).update(sms_credits=1_000)
    first, second = numbers_open_now(2)
    campaign = started(org, pool, first, second, at=timezone.now())
    assert drip_turn(campaign_id=campaign.id, now=timezone.now()) == "texted"
    chosen = Message.objects.get()
    assert messages_send(campaign_id=campaign.id)["sent"] == 1
    text = Message.objects.get()
    assert (text.status, text.sender_id, text.from_number) == (
        "sent", chosen.sender_id, chosen.from_number
    )  # fmt: skip
    assert Prospect.objects.get(pk=text.prospect_id).status == "sent"
    assert carrier.stats()["messages"]["by_to"] == {first: 1}


def test_a_drip_text_whose_sender_left_takes_a_free_one_or_waits(org, pool, carrier):
    Organization.objects.filter(pk=org.pk).update(sms_credits=1_000)
    first, second = numbers_open_now(2)
    campaign = started(org, pool, first, second, at=timezone.now())
    drip_turn(campaign_id=campaign.id, now=timezone.now())
    text = Message.objects.get()
    Did.objects.filter(pk=text.sender_id).update(state=Did.State.COOLING)
    busy = Did.objects.exclude(pk=text.sender_id).order_by("id")
    Did.objects.filter(pk=busy[0].pk).update(last_sms_at=timezone.now())  # texted just now
    messages_send(campaign_id=campaign.id)
    text.refresh_from_db()
    assert (text.status, text.sender_id) == ("sent", busy[1].id)
    assert Did.objects.get(pk=busy[1].pk).last_sms_at is not None  # its gap starts

    Did.objects.update(state=Did.State.ACTIVE, last_sms_at=None)
    Campaign.objects.filter(pk=campaign.pk).update(drip_next_at=timezone.now())
    assert drip_turn(campaign_id=campaign.id, now=timezone.now()) == "texted"
    waiting = Message.objects.get(to=second)
    Did.objects.filter(pk=waiting.sender_id).update(state=Did.State.COOLING)
    others = Did.objects.exclude(pk=waiting.sender_id)
    others.update(last_sms_at=timezone.now())  # every other caller ID is within its gap
    messages_send(campaign_id=campaign.id)
    waiting.refresh_from_db()
    assert (waiting.status, waiting.wait) == ("queued", "rate_limit")
    Campaign.objects.filter(pk=campaign.pk).update(drip_next_at=timezone.now())
    assert drip_turn(campaign_id=campaign.id, now=timezone.now()) == "held"
