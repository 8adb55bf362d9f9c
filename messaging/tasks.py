from celery import shared_task

from messaging.services import DEFER_SECONDS, inbox_apply_batch

MAX_BATCHES_PER_RUN = 20


@shared_task(
    name="messaging.webhooks.apply_inbox", acks_late=True, soft_time_limit=50, time_limit=60
)
def apply_inbox() -> dict:
    """Apply pending webhook events in batches; re-enqueue when more remain after the cap, and
    look again later when some wait for their call's or message's row. The engines' handlers
    take what each batch applied (messaging.handlers)."""
    totals: dict[str, int] = {}
    for _ in range(MAX_BATCHES_PER_RUN):
        counts = inbox_apply_batch()
        for outcome, n in counts.items():
            totals[outcome] = totals.get(outcome, 0) + n
        if not counts or set(counts) == {"deferred"}:
            break
    else:
        apply_inbox.apply_async()
    if totals.get("deferred"):
        apply_inbox.apply_async(countdown=DEFER_SECONDS)
    return totals
