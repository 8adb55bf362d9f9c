"""Send rates in Redis (campaigns.sms.rate) and the per-sender schedule (campaigns.sms.senders)."""

import itertools
import threading
from datetime import UTC, datetime, timedelta

import pytest

from campaigns.sms.rate import Sender, pool_key, sender_key, tokens_take
from campaigns.sms.senders import Scheduler, SenderInfo, did_sms_mps
from config.redis import get_redis

_ids = itertools.count(900_000)


@pytest.fixture
def pool_id():
    """A pool (and senders) no other test touches; their buckets are removed afterwards."""
    pid = next(_ids)
    yield pid
    r = get_redis()
    r.delete(pool_key(pid), *(sender_key(f"{pid}-{n}") for n in range(4)))


def take(pool_id, rate_per_minute, *senders):
    return tokens_take(pool_id=pool_id, rate_per_minute=rate_per_minute, senders=list(senders))


def test_the_pool_gives_one_second_of_its_rate_then_says_when_the_next_comes(pool_id):
    fast = Sender(f"{pool_id}-0", mps=1000, want=50)
    first = take(pool_id, 600, fast)  # 10 a second
    assert first.total == 10 and first.by_sender == {f"{pool_id}-0": 10}
    again = take(pool_id, 600, fast)
    assert again.total == 0
    assert 0 < again.wait_seconds <= 0.1


def test_a_sender_gives_its_messages_per_second(pool_id):
    slow = Sender(f"{pool_id}-0", mps=1, want=5)
    grant = take(pool_id, 100_000, slow)
    assert grant.total == 1
    assert 0.9 <= grant.wait_seconds <= 1.0


def test_a_sender_counts_segments(pool_id):
    toll_free = Sender(f"{pool_id}-0", mps=3, want=5, segments=2)
    grant = take(pool_id, 100_000, toll_free)
    assert grant.total == 1  # 2 of its 3 segments; the next needs one more
    assert 0.3 <= grant.wait_seconds <= 0.34


def test_senders_share_what_the_pool_allows_in_order(pool_id):
    a = Sender(f"{pool_id}-0", mps=100, want=4)
    b = Sender(f"{pool_id}-1", mps=100, want=4)
    grant = take(pool_id, 300, a, b)  # 5 a second
    assert grant.by_sender == {a.key: 4, b.key: 1}
    assert grant.total == 5


def test_workers_taking_at_once_never_get_more_than_there_is(pool_id):
    grants = []

    def worker():
        for _ in range(20):
            grants.append(take(pool_id, 60 * 40, Sender(f"{pool_id}-0", 1000, 3)).total)

    threads = [threading.Thread(target=worker) for _ in range(4)]
    started = datetime.now(UTC)
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    elapsed = (datetime.now(UTC) - started).total_seconds()
    # 40 in the bucket at first, 40 a second after that: never more, however they interleave.
    assert sum(grants) <= 40 + 40 * elapsed + 1


@pytest.mark.parametrize(
    "e164, configured, mps",
    [("+14155550100", None, 1.0), ("+18885550100", None, 3.0), ("+14155550100", 75.0, 75.0)],
)
def test_a_senders_rate_is_its_setting_or_its_types(e164, configured, mps):
    assert did_sms_mps(e164, configured) == mps


START = datetime(2026, 3, 2, 15, 0, tzinfo=UTC)


def senders(*specs):
    return [SenderInfo(i, e164, e164[2:5], mps) for i, (e164, mps) in enumerate(specs, 1)]


def test_each_sender_is_scheduled_at_its_rate_and_the_least_busy_goes_next():
    scheduler = Scheduler(senders(("+14155550001", 1), ("+14155550002", 1)), START, 100_000)
    times = [scheduler.assign("+14155551000", 1, None, START) for _ in range(6)]
    by_sender = {}
    for sender, at in times:
        by_sender.setdefault(sender.id, []).append(round((at - START).total_seconds(), 2))
    assert by_sender == {1: [0, 1, 2], 2: [0, 1, 2]}


def test_same_area_code_first_then_any_and_sticky_wins():
    scheduler = Scheduler(senders(("+14155550001", 1), ("+12125550002", 1)), START, 100_000)
    assert scheduler.assign("+12125551000", 1, None, START)[0].id == 2
    assert scheduler.assign("+16175551000", 1, None, START)[0].id == 1  # no 617: least busy
    assert scheduler.assign("+12125551001", 1, 1, START)[0].id == 1  # it was texted from 1


def test_the_pool_rate_spaces_texts_when_senders_are_faster():
    scheduler = Scheduler(senders(("+14155550001", 1000)), START, 60)  # one a second
    offsets = [(scheduler.assign("+14155551000", 1, None, START)[1] - START).total_seconds()
               for _ in range(3)]  # fmt: skip
    assert offsets == [0, 1, 2]


def test_a_text_waiting_for_its_window_goes_when_it_opens_and_delays_no_one():
    scheduler = Scheduler(senders(("+14155550001", 1)), START, 100_000)
    opens = START + timedelta(hours=3)
    assert scheduler.assign("+14155551000", 1, None, opens)[1] == opens
    assert scheduler.assign("+14155551001", 1, None, START)[1] == START
