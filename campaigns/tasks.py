from celery import shared_task

from campaigns.attempts import calls_place
from campaigns.dispatch import dispatch_tick as run_dispatch_tick
from campaigns.late_verdicts import attempts_correct_late_verdicts
from campaigns.outcomes import (
    attempts_reconcile,
    attempts_settle,
    attempts_time_out,
    claims_release_stale,
)
from campaigns.sms_engine import claims_release_stale as sms_claims_release_stale
from campaigns.sms_engine import reports_reconcile
from campaigns.sms_engine import sms_tick as run_sms_tick
from campaigns.sms_send import messages_send
from campaigns.voicemail import voicemail_drops
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
        return {"released": claims_release_stale()} if acquired else {"skipped": 1}


def calls_sweep() -> dict:
    """Time out calls that never finished, reconcile attempts left without a sid, play drops
    a lost task left unplayed, settle (also calls whose verdict was waited for in vain),
    correct outcomes a late machine verdict contradicts."""
    return {
        "timed_out": attempts_time_out(),
        "reconciled": attempts_reconcile(),
        "dropped": voicemail_drops(),
        "settled": attempts_settle(),
        "corrected": attempts_correct_late_verdicts(),
    }


@shared_task(name="campaigns.dialer.sweep_calls", acks_late=True, soft_time_limit=50, time_limit=60)
def sweep_calls() -> dict:
    with skip_if_running("sweep_calls", ttl=60) as acquired:
        return calls_sweep() if acquired else {"skipped": 1}


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
        return {**sms_claims_release_stale(), **reports_reconcile()}
