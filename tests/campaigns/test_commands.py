"""setup_periodic_tasks installs every entry of config/beat.py, and running it again is a no-op."""

import io

from django.core.management import call_command
from django_celery_beat.models import IntervalSchedule, PeriodicTask

from config.beat import PERIODIC_TASKS
from config.celery import app


def setup() -> str:
    out = io.StringIO()
    call_command("setup_periodic_tasks", stdout=out)
    return out.getvalue()


def rows() -> list[dict]:
    return list(
        PeriodicTask.objects.order_by("id").values(
            "id", "name", "task", "interval_id", "crontab_id", "enabled", "description"
        )
    )


def test_every_periodic_task_is_registered(db):
    output = setup()
    assert f"{len(PERIODIC_TASKS)} created" in output
    app.loader.import_default_modules()  # what a worker does at start: autodiscover tasks
    registered = {task.name: task for task in PeriodicTask.objects.select_related("interval")}
    for spec in PERIODIC_TASKS:
        task = registered[spec.name]
        assert task.task == spec.task
        assert task.enabled and task.crontab is None
        assert task.interval.every * {"seconds": 1, "microseconds": 1e-6}[task.interval.period] == (
            spec.every_seconds
        )
        assert spec.task in app.tasks  # the name beat sends is a task a worker knows


def test_running_it_twice_changes_nothing(db):
    setup()
    first = rows()
    output = setup()
    assert rows() == first
    assert "0 created" in output
    assert IntervalSchedule.objects.count() == len({s.every_seconds for s in PERIODIC_TASKS})


def test_it_repairs_an_edited_entry(db):
    setup()
    spec = PERIODIC_TASKS[0]
    PeriodicTask.objects.filter(name=spec.name).update(enabled=False, task="renamed.task")
    setup()
    task = PeriodicTask.objects.get(name=spec.name)
    assert (task.enabled, task.task) == (True, spec.task)
