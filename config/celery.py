"""The Celery app: named queues, routing by configuration, JSON only, time limits everywhere."""

import os

from celery import Celery, Signature
from kombu import Exchange, Queue

os.environ.setdefault("DJANGO_SETTINGS_MODULE", "config.settings")

app = Celery("outbound")
app.config_from_object("django.conf:settings", namespace="CELERY")

# The queues, named in one place. Workers subscribe by name (`celery worker -Q dialer,sms`).
QUEUES = ("dialer", "sms", "webhooks", "health", "stats", "default")

# Routing by task-name prefix; a task's `name=` is its deployment contract.
TASK_ROUTES = {
    "campaigns.dialer.*": {"queue": "dialer"},
    "campaigns.sms.*": {"queue": "sms"},
    "messaging.webhooks.*": {"queue": "webhooks"},
    "dids.health.*": {"queue": "health"},
    "campaigns.stats.*": {"queue": "stats"},
    "*": {"queue": "default"},
}

# Soft and hard time limits for every task come from settings (CELERY_TASK_*_TIME_LIMIT);
# tasks with other needs set their own.
app.conf.update(
    task_queues=[Queue(name, Exchange(name, type="direct"), routing_key=name) for name in QUEUES],
    task_default_queue="default",
    task_routes=TASK_ROUTES,
    task_serializer="json",
    result_serializer="json",
    accept_content=["json"],
    task_ignore_result=True,
    task_reject_on_worker_lost=True,
    worker_prefetch_multiplier=4,
    broker_connection_retry_on_startup=True,
    beat_scheduler="django_celery_beat.schedulers:DatabaseScheduler",
    timezone="UTC",
)
app.autodiscover_tasks()


def task_signature(name: str, **options) -> Signature:
    """The task registered as `name` (its stable `name=`), so that a service enqueues work
    without importing a tasks module. Its `apply_async` routes by that name (TASK_ROUTES) and,
    in eager mode, runs the task in place."""
    if name not in app.tasks:  # a web or command process loads the apps' tasks modules once
        app.loader.import_default_modules()
    return app.signature(name, **options)
