"""Tasks land on their named queues in the real Redis broker."""

import pytest
import redis
from django.conf import settings

from campaigns.voice.tasks import release_stale_claims
from config.celery import QUEUES, app, task_signature


@pytest.fixture
def broker():
    client = redis.Redis.from_url(settings.CELERY_BROKER_URL)
    client.delete(*QUEUES)
    yield client
    client.delete(*QUEUES)


def test_each_task_prefix_is_routed_to_its_queue(broker):
    release_stale_claims.delay()
    app.send_task("dids.health.recompute")
    app.send_task("messaging.webhooks.apply")
    app.send_task("campaigns.sms.send_batch")
    app.send_task("campaigns.stats.rollup")
    app.send_task("orgs.something_else")
    assert {q: broker.llen(q) for q in QUEUES} == {
        "dialer": 1,
        "health": 1,
        "webhooks": 1,
        "sms": 1,
        "stats": 1,
        "default": 1,
    }


def test_only_json_is_accepted():
    assert app.conf.task_serializer == "json"
    assert list(app.conf.accept_content) == ["json"]
    assert app.conf.task_time_limit and app.conf.task_soft_time_limit


@pytest.mark.django_db
def test_a_task_sent_by_its_name_runs_in_place_in_eager_mode(broker, monkeypatch):
    monkeypatch.setitem(app.conf, "task_always_eager", True)
    result = task_signature("campaigns.dialer.release_stale_claims").apply_async()
    assert result.get() == {"released": 0}
    assert {q: broker.llen(q) for q in QUEUES} == dict.fromkeys(QUEUES, 0)  # not sent


def test_a_task_sent_by_its_name_goes_to_its_queue(broker):
    task_signature("campaigns.sms.send").apply_async(kwargs={"campaign_id": 0, "lane": 0})
    assert broker.llen("sms") == 1
