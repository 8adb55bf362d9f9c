from django.core.management.base import BaseCommand
from django.db import transaction
from django_celery_beat.models import IntervalSchedule, PeriodicTask

from config.beat import PERIODIC_TASKS


class Command(BaseCommand):
    help = "Register every periodic task the code defines in celery beat (idempotent)."

    @transaction.atomic
    def handle(self, *args, **opts):
        created = updated = 0
        for spec in PERIODIC_TASKS:
            every, period = _interval(spec.every_seconds)
            schedule, _ = IntervalSchedule.objects.get_or_create(every=every, period=period)
            _, was_created = PeriodicTask.objects.update_or_create(
                name=spec.name,
                defaults={
                    "task": spec.task,
                    "interval": schedule,
                    "crontab": None,
                    "description": spec.description,
                    "enabled": True,
                },
            )
            created += was_created
            updated += not was_created
        self.stdout.write(
            f"Periodic tasks: {created} created, {updated} up to date "
            f"({len(PERIODIC_TASKS)} defined)."
        )


def _interval(seconds: float) -> tuple[int, str]:
    if seconds >= 1 and float(seconds).is_integer():
        return int(seconds), IntervalSchedule.SECONDS
    return max(1, int(seconds * 1_000_000)), IntervalSchedule.MICROSECONDS
