from celery import shared_task

from campaigns.services import prospects_release_stale_claims


@shared_task(
    name="campaigns.dialer.release_stale_claims", acks_late=True, soft_time_limit=50, time_limit=60
)
def release_stale_claims() -> dict:
    return {"released": prospects_release_stale_claims()}
