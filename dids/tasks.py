from celery import shared_task

from config.locks import skip_if_running
from dids.health import dids_lifecycle, health_apply


@shared_task(name="dids.health.apply", acks_late=True, soft_time_limit=50, time_limit=60)
def apply_health(*, did_ids: list[int]) -> dict:
    """Move the caller IDs' health windows by their new events; rescore, act."""
    return health_apply(did_ids)


@shared_task(name="dids.health.lifecycle", soft_time_limit=50, time_limit=60)
def lifecycle() -> dict:
    """Beat, every 60 s: cooled and warmed caller IDs back into rotation, on a ramp."""
    with skip_if_running("dids_lifecycle", ttl=60) as acquired:
        return dids_lifecycle() if acquired else {"skipped": 1}
