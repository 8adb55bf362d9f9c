from celery import shared_task

from campaigns.sms.executor import messages_send
from campaigns.sms.tick import reports_reconcile, text_claims_release_stale
from campaigns.sms.tick import sms_tick as run_sms_tick
from config.locks import skip_if_running


@shared_task(name="campaigns.sms.tick", soft_time_limit=10, time_limit=20)
def sms_tick() -> dict:
    """Beat, every second: scheduled blasts start, sending campaigns get executor lanes."""
    with skip_if_running("sms_tick", ttl=10) as acquired:
        return run_sms_tick() if acquired else {"skipped": 1}


@shared_task(name="campaigns.sms.send", soft_time_limit=50, time_limit=60)
def sms_send(*, campaign_id: int, lane: int | None = None) -> dict:
    """One batch of an executor lane (claims are written first: a repeat claims others)."""
    return messages_send(campaign_id=campaign_id, lane=lane)


@shared_task(
    name="campaigns.sms.release_stale_claims", acks_late=True, soft_time_limit=50, time_limit=60
)
def sms_release_stale_claims() -> dict:
    """Lost claims, then texts whose final report never came."""
    with skip_if_running("sms_release_stale_claims", ttl=60) as acquired:
        if not acquired:
            return {"skipped": 1}
        return {**text_claims_release_stale(), **reports_reconcile()}
