"""Periodic tasks the code defines. `setup_periodic_tasks` registers them in django-celery-beat.

Each entry: the beat entry's name, the task's stable name, its interval in seconds, and an
optional queue. Later features append theirs here so one idempotent command installs them all.
"""

from dataclasses import dataclass


@dataclass(frozen=True)
class PeriodicTask:
    name: str
    task: str
    every_seconds: float
    description: str = ""


PERIODIC_TASKS: tuple[PeriodicTask, ...] = (
    PeriodicTask(
        name="dialer: dispatch tick",
        task="campaigns.dialer.dispatch_tick",
        every_seconds=1,
        description="Shares free call slots, paces campaigns and claims prospects to dial.",
    ),
    PeriodicTask(
        name="prospects: release stale claims",
        task="campaigns.dialer.release_stale_claims",
        every_seconds=60,
        description="Claims older than PROSPECT_LOCK_TIMEOUT_SECONDS with no attempt: re-queued.",
    ),
    PeriodicTask(
        name="dialer: time out, reconcile and settle calls",
        task="campaigns.dialer.sweep_calls",
        every_seconds=60,
        description="Calls with no final status after DIALER_CALL_TIMEOUT_SECONDS end as timeout; "
        "attempts left without a sid are reconciled with the carrier.",
    ),
    PeriodicTask(
        name="caller IDs: health lifecycle",
        task="dids.health.lifecycle",
        every_seconds=60,
        description="Cooled caller IDs whose cooldown is over, and warmed ones, back into "
        "rotation on a ramp.",
    ),
    PeriodicTask(
        name="webhooks: apply the inbox",
        task="messaging.webhooks.apply_inbox",
        every_seconds=5,
        description="Applies stored carrier callbacks; a safety net for the per-arrival trigger.",
    ),
    PeriodicTask(
        name="sms: tick",
        task="campaigns.sms.tick",
        every_seconds=1,
        description="Starts scheduled blasts, keeps executor lanes running for sending SMS "
        "campaigns, completes finished ones.",
    ),
    PeriodicTask(
        name="sms: release stale claims",
        task="campaigns.sms.release_stale_claims",
        every_seconds=60,
        description="Messages claimed longer than SMS_CLAIM_TIMEOUT_SECONDS: re-queued, or "
        "found at the carrier first when they were being sent.",
    ),
    PeriodicTask(
        name="alerts: deliver due alerts",
        task="orgs.alerts.sweep",
        every_seconds=30,
        description="Enqueues pending organization alerts that are due (a lost delivery task, a "
        "broker that was down); fails those whose last attempt never answered.",
    ),
)
