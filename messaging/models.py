"""The carrier boundary's state: calls and messages by sid, and the webhook inbox."""

from django.db import models
from django.db.models import Q

# Lifecycle rank of call statuses: a callback applies only if it moves the call forward.
CALL_STATUS_RANK = {
    "queued": 0,
    "initiated": 1,
    "ringing": 2,
    "in-progress": 3,
    "completed": 4,
    "busy": 4,
    "no-answer": 4,
    "canceled": 4,
    "failed": 4,
}
# Message statuses: terminal ones are sticky; `delivered` never goes back to `sent`.
MESSAGE_STATUS_RANK = {
    "accepted": 0,
    "scheduled": 0,
    "queued": 1,
    "sending": 2,
    "sent": 3,
    "delivered": 4,
    "undelivered": 4,
    "failed": 4,
    "canceled": 4,
    "read": 5,
}
TERMINAL_RANK = 4


class CarrierCall(models.Model):
    """A call placed through the carrier, as its callbacks report it."""

    organization = models.ForeignKey(
        "orgs.Organization", on_delete=models.CASCADE, related_name="+", null=True, blank=True
    )
    sid = models.CharField(max_length=34, unique=True)
    to = models.CharField(max_length=32)
    from_number = models.CharField(max_length=32)
    status = models.CharField(max_length=16, default="queued")
    status_rank = models.PositiveSmallIntegerField(default=0)
    sequence_number = models.IntegerField(default=-1)
    answered_by = models.CharField(max_length=32, blank=True)
    machine_detection_ms = models.IntegerField(null=True, blank=True)
    duration_seconds = models.IntegerField(null=True, blank=True)
    sip_response_code = models.IntegerField(null=True, blank=True)
    created_at = models.DateTimeField(auto_now_add=True)
    updated_at = models.DateTimeField(auto_now=True)
    ended_at = models.DateTimeField(null=True, blank=True)

    class Meta:
        indexes = [
            # Reconciliation: calls still not terminal, oldest first.
            models.Index(
                fields=["created_at"],
                name="carriercall_open",
                condition=Q(status_rank__lt=TERMINAL_RANK),
            ),
        ]

    def __str__(self) -> str:
        return f"{self.sid} {self.status}"


class CarrierMessage(models.Model):
    """A message sent through the carrier, as its callbacks report it."""

    organization = models.ForeignKey(
        "orgs.Organization", on_delete=models.CASCADE, related_name="+", null=True, blank=True
    )
    sid = models.CharField(max_length=34, unique=True)
    to = models.CharField(max_length=32)
    from_number = models.CharField(max_length=32)
    status = models.CharField(max_length=16, default="queued")
    status_rank = models.PositiveSmallIntegerField(default=1)
    error_code = models.IntegerField(null=True, blank=True)
    num_segments = models.PositiveSmallIntegerField(null=True, blank=True)
    created_at = models.DateTimeField(auto_now_add=True)
    updated_at = models.DateTimeField(auto_now=True)

    def __str__(self) -> str:
        return f"{self.sid} {self.status}"


class WebhookEvent(models.Model):
    """The inbox: every signed carrier callback, stored once, applied later in batches."""

    class Kind(models.TextChoices):
        VOICE_STATUS = "voice_status"
        VOICE_AMD = "voice_amd"
        SMS_STATUS = "sms_status"
        SMS_INBOUND = "sms_inbound"

    class Outcome(models.TextChoices):
        PENDING = ""  # not applied yet
        APPLIED = "applied"  # changed the call, message or prospect state
        STALE = "stale"  # older than what was already applied (late or repeated)
        UNKNOWN_SID = "unknown_sid"  # no call or message with this sid: kept and counted
        IGNORED = "ignored"  # nothing to do (e.g. an inbound text to an unknown number)

    kind = models.CharField(max_length=16, choices=Kind.choices)
    sid = models.CharField(max_length=64)
    # What makes a delivery the same event: a repeat with the same key is a no-op.
    dedupe_key = models.CharField(max_length=128, unique=True)
    sequence = models.IntegerField(default=0)
    payload = models.JSONField()
    received_at = models.DateTimeField(auto_now_add=True)
    processed_at = models.DateTimeField(null=True, blank=True)
    outcome = models.CharField(max_length=16, choices=Outcome.choices, blank=True, default="")
    # A callback can overtake the write of its call's row (the carrier answers the create and
    # calls back at once): an event for an unknown sid waits until then before it is counted.
    apply_after = models.DateTimeField(null=True, blank=True)

    class Meta:
        indexes = [
            # The batch processor's claim: unprocessed events in arrival order.
            models.Index(
                fields=["id"], name="webhookevent_pending", condition=Q(processed_at__isnull=True)
            ),
            # Looking up a call's or message's events (admin, debugging).
            models.Index(fields=["sid"], name="webhookevent_sid"),
        ]

    def __str__(self) -> str:
        return f"{self.kind} {self.sid}"
