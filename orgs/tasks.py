from celery import shared_task

from config.locks import skip_if_running
from orgs.alerts import DELIVER_SOFT_TIME_LIMIT, DELIVER_TIME_LIMIT, alert_deliver, alerts_sweep


@shared_task(
    name="orgs.alerts.deliver",
    acks_late=True,
    soft_time_limit=DELIVER_SOFT_TIME_LIMIT,
    time_limit=DELIVER_TIME_LIMIT,
)
def deliver_alert(*, alert_id: int) -> dict:
    """One attempt at an alert; the next one, if needed, is enqueued with a countdown."""
    return alert_deliver(alert_id=alert_id)


@shared_task(name="orgs.alerts.sweep", soft_time_limit=50, time_limit=60)
def sweep_alerts() -> dict:
    """Beat, every 30 s: enqueue the alerts that are due (their task was lost)."""
    with skip_if_running("alerts_sweep", ttl=60) as acquired:
        return alerts_sweep() if acquired else {"skipped": 1}
