from celery import shared_task, signals

from campaigns.voice.attempts import attempts_warm_up, calls_place
from campaigns.voice.dispatch import dispatch_tick as run_dispatch_tick
from campaigns.voice.late_verdicts import attempts_correct_late_verdicts
from campaigns.voice.outcomes import attempts_settle, call_claims_release_stale
from campaigns.voice.sweep import calls_sweep
from campaigns.voice.voicemail import voicemail_drops
from config.locks import skip_if_running


@shared_task(name="campaigns.dialer.dispatch_tick", soft_time_limit=10, time_limit=20)
def dispatch_tick() -> dict:
    """Beat, every second: allocate slots, pace, claim; the attempts go out after commit."""
    return run_dispatch_tick()


@shared_task(name="campaigns.dialer.place_calls", acks_late=True, soft_time_limit=50, time_limit=60)
def place_calls(*, campaign_id: int, claim: str, prospect_ids: list[int]) -> dict:
    return calls_place(campaign_id=campaign_id, claim=claim, prospect_ids=prospect_ids)


@shared_task(name="campaigns.dialer.settle", acks_late=True, soft_time_limit=50, time_limit=60)
def settle() -> dict:
    """Finished calls become outcomes; a machine verdict that came late corrects one."""
    return {**attempts_settle(), "corrected": attempts_correct_late_verdicts()}


@shared_task(
    name="campaigns.dialer.drop_voicemails", acks_late=True, soft_time_limit=50, time_limit=60
)
def drop_voicemails() -> dict:
    """Leave the campaign's message on machines whose greeting just ended; then settle the
    calls whose drop could not be played (over already)."""
    counts = voicemail_drops()
    if counts.get("failed"):
        settle.apply_async()
    return counts


@shared_task(
    name="campaigns.dialer.release_stale_claims", acks_late=True, soft_time_limit=50, time_limit=60
)
def release_stale_claims() -> dict:
    with skip_if_running("release_stale_claims", ttl=60) as acquired:
        return {"released": call_claims_release_stale()} if acquired else {"skipped": 1}


@shared_task(name="campaigns.dialer.sweep_calls", acks_late=True, soft_time_limit=50, time_limit=60)
def sweep_calls() -> dict:
    with skip_if_running("sweep_calls", ttl=60) as acquired:
        return calls_sweep() if acquired else {"skipped": 1}


@signals.worker_init.connect
def _warm_up(**_) -> None:
    """Load in the parent what the first task of every prefork child would otherwise load for
    itself (URL resolver, number metadata, the carrier SDK's lazily imported modules): the
    children share it from the fork instead of each paying for it."""
    attempts_warm_up()
