"""The carrier boundary's state: calls and messages by sid, and the webhook inbox."""

from django.db import models
from django.db.models import Q
from django.utils import timezone

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


class MessageVariant(models.Model):
    """One text an SMS campaign may send, to its percentage of the audience."""

    campaign = models.ForeignKey(
        "campaigns.Campaign", on_delete=models.CASCADE, related_name="variants"
    )
    name = models.CharField(max_length=50, default="A")
    body = models.TextField(
        help_text="The text; {first_name}, {last_name}, {email} and any import attribute are "
        "filled in, {first_name|there} gives a default. URLs become tracked short links."
    )
    percentage = models.PositiveSmallIntegerField(
        default=100, help_text="Share of the audience (the campaign's variants add up to 100)."
    )
    position = models.PositiveSmallIntegerField(default=0)

    class Meta:
        ordering = ("campaign_id", "position", "id")
        constraints = [
            models.UniqueConstraint(fields=("campaign", "name"), name="variant_campaign_name"),
            models.CheckConstraint(
                name="variant_percentage_range",
                condition=Q(percentage__gte=0) & Q(percentage__lte=100),
            ),
        ]

    def __str__(self) -> str:
        return f"{self.name} ({self.percentage} %)"


class Message(models.Model):
    """One text to one number: queued, sent through the carrier, and what became of it.

    A campaign's message is written before anything is sent (one per prospect and campaign),
    claimed by an executor (`claimed_by`) and marked `submitting_at` just before the carrier is
    asked, so a worker that dies mid-send leaves a row that is reconciled with the carrier,
    never sent blindly again.
    """

    class Status(models.TextChoices):
        QUEUED = "queued"  # waiting for send_at
        SENDING = "sending"  # claimed by an executor (submitting_at: the carrier is asked)
        SENT = "sent"  # the carrier took it (sid stored)
        DELIVERED = "delivered"  # the carrier reported it delivered
        FAILED = "failed"  # not sent (failure_reason) or not delivered (error_code)
        CANCELLED = "cancelled"  # withdrawn before it was sent (campaign cancelled)

    class FailureReason(models.TextChoices):
        NONE = ""
        STALE = "STALE"  # still unsent 30 minutes after its send_at
        BLOCKED_CONTENT = "BLOCKED_CONTENT"  # contains one of the org's blocked words
        CONTACT_BLOCKED = "CONTACT_BLOCKED"  # the number is suppressed (STOP, DNC, ...)
        PROVIDER_ERROR = "PROVIDER_ERROR"  # the carrier refused it, or kept failing
        NO_RESPONSE = "NO_RESPONSE"  # the carrier never answered the send
        RATE_LIMIT_TIMEOUT = "RATE_LIMIT_TIMEOUT"  # waited for its senders' rate too long
        BILLING = "BILLING"  # the organization had no credit for an hour
        UNDELIVERED = "UNDELIVERED"  # the carrier took it but could not deliver it

    class Wait(models.TextChoices):
        NONE = ""
        RATE_LIMIT = "rate_limit"  # the pool's or senders' rate is used up
        BILLING = "billing"  # the organization has no credit

    organization = models.ForeignKey(
        "orgs.Organization", on_delete=models.CASCADE, related_name="+", db_index=False
    )
    campaign = models.ForeignKey(
        "campaigns.Campaign",
        on_delete=models.CASCADE,
        null=True,
        blank=True,
        related_name="messages",
        db_index=False,  # covered by message_once_per_prospect and message_campaign_status
    )
    prospect = models.ForeignKey(
        "prospects.Prospect",
        on_delete=models.CASCADE,
        null=True,
        blank=True,
        related_name="messages",
        db_index=False,  # looked up through the campaign
        db_constraint=False,  # as Prospect's own parents: bulk writes without per-row checks
    )
    variant = models.ForeignKey(
        MessageVariant, on_delete=models.SET_NULL, null=True, blank=True, related_name="+"
    )
    to = models.CharField(max_length=16)
    sender = models.ForeignKey(
        "dids.Did", on_delete=models.SET_NULL, null=True, blank=True, related_name="+"
    )
    from_number = models.CharField(max_length=16, blank=True)
    body = models.TextField()
    segments = models.PositiveSmallIntegerField(default=1)
    encoding = models.CharField(max_length=8, default="GSM-7")
    status = models.CharField(max_length=12, choices=Status.choices, default=Status.QUEUED)
    # Tri-state, as the carrier reports them: None unknown, True yes, False no.
    submitted = models.BooleanField(null=True, blank=True)
    delivered = models.BooleanField(null=True, blank=True)
    sid = models.CharField(max_length=34, null=True, blank=True, unique=True)
    carrier_status = models.CharField(max_length=16, blank=True)
    error_code = models.IntegerField(null=True, blank=True)
    failure_reason = models.CharField(
        max_length=20, choices=FailureReason.choices, blank=True, default=""
    )
    failure_detail = models.CharField(max_length=300, blank=True)
    send_at = models.DateTimeField(default=timezone.now)
    wait = models.CharField(max_length=12, choices=Wait.choices, blank=True, default="")
    waiting_since = models.DateTimeField(null=True, blank=True)
    tries = models.PositiveSmallIntegerField(default=0, help_text="Carrier errors retried.")
    claimed_by = models.CharField(max_length=32, blank=True)
    claimed_at = models.DateTimeField(null=True, blank=True)
    submitting_at = models.DateTimeField(null=True, blank=True)
    created_at = models.DateTimeField(default=timezone.now)
    submitted_at = models.DateTimeField(null=True, blank=True)
    delivered_at = models.DateTimeField(null=True, blank=True)
    updated_at = models.DateTimeField(default=timezone.now)

    class Meta:
        ordering = ("-created_at", "-id")
        indexes = [
            # The executor's claim: a campaign's queued messages that are due, oldest first.
            models.Index(
                fields=["campaign", "send_at", "id"],
                name="message_due",
                condition=Q(status="queued"),
            ),
            # The stale-claim sweep: claimed messages by claim time.
            models.Index(
                fields=["claimed_at"], name="message_claimed", condition=Q(status="sending")
            ),
            # The report sweep: texts the carrier took, by when they last moved.
            models.Index(
                fields=["updated_at"], name="message_awaiting_report", condition=Q(status="sent")
            ),
            # A campaign's messages by status (stats, completion, the error-rate window).
            models.Index(fields=["campaign", "status", "id"], name="message_campaign_status"),
            # The frequency cap: what the org texted a number lately.
            models.Index(fields=["organization", "to", "created_at"], name="message_org_to"),
            # Dead letters by reason, newest first (API, admin).
            models.Index(
                fields=["organization", "failure_reason", "-updated_at"],
                name="message_dead_letters",
                condition=~Q(failure_reason=""),
            ),
        ]
        constraints = [
            # Never texted twice by mistake: one message per prospect and campaign.
            models.UniqueConstraint(
                fields=["campaign", "prospect"],
                name="message_once_per_prospect",
                condition=Q(prospect__isnull=False),
            ),
            models.CheckConstraint(
                name="message_status_valid",
                condition=Q(
                    status__in=["queued", "sending", "sent", "delivered", "failed", "cancelled"]
                ),
            ),
            models.CheckConstraint(
                name="message_failure_reason_only_when_failed",
                condition=Q(status="failed") | Q(failure_reason=""),
            ),
        ]

    def __str__(self) -> str:
        return f"{self.to} {self.status}"


class MessageShortLink(models.Model):
    """A URL in a message, replaced by /l/<code>; clicks are counted and redirected."""

    organization = models.ForeignKey(
        "orgs.Organization", on_delete=models.CASCADE, related_name="+", db_index=False
    )
    campaign = models.ForeignKey(
        "campaigns.Campaign",
        on_delete=models.CASCADE,
        null=True,
        blank=True,
        related_name="short_links",
    )
    message = models.ForeignKey(
        Message,
        on_delete=models.CASCADE,
        null=True,
        blank=True,
        related_name="short_links",
        db_constraint=False,  # written in bulk with the messages
    )
    code = models.CharField(max_length=16, unique=True)
    url = models.URLField(max_length=2000)
    clicks = models.PositiveIntegerField(default=0)
    first_clicked_at = models.DateTimeField(null=True, blank=True)
    created_at = models.DateTimeField(default=timezone.now)

    def __str__(self) -> str:
        return f"/l/{self.code} → {self.url}"


class LinkClick(models.Model):
    """One click on a short link."""

    link = models.ForeignKey(MessageShortLink, on_delete=models.CASCADE, related_name="click_log")
    clicked_at = models.DateTimeField(default=timezone.now)
    user_agent = models.CharField(max_length=400, blank=True)

    class Meta:
        ordering = ("-clicked_at", "-id")

    def __str__(self) -> str:
        return f"{self.link_id} at {self.clicked_at:%Y-%m-%d %H:%M:%S}"
