"""Prospects with their ordered phone numbers, and the suppression (DNC/STOP) list."""

from django.db import models
from django.db.models import Q
from django.utils import timezone as dj_timezone

# Statuses a prospect does not leave by itself.
TERMINAL_STATUSES = (
    "human_connected",
    "human_hangup",
    "voicemail",
    "no_answer",
    "busy",
    "completed",
    "exhausted",
    "suppressed",
    "cancelled",
    "failed",
    "delivered",
)


class ProspectQuerySet(models.QuerySet):
    def for_org(self, org):
        return self.filter(organization=org)

    def queued(self):
        return self.filter(status=Prospect.Status.QUEUED)

    def due(self, now=None):
        return self.queued().filter(next_attempt_at__lte=now or dj_timezone.now())


class Prospect(models.Model):
    class Status(models.TextChoices):
        QUEUED = "queued"  # waiting for its next attempt (due at next_attempt_at)
        DIALING = "dialing"  # claimed by the engine or in flight (locked_by/locked_at set)
        HUMAN_CONNECTED = "human_connected"  # a person answered and stayed on the line
        HUMAN_HANGUP = "human_hangup"  # a person answered and hung up within the threshold
        VOICEMAIL = "voicemail"  # a machine answered (and took the drop, if configured)
        NO_ANSWER = "no_answer"  # rang out, and the policy does not retry it
        BUSY = "busy"  # busy, and the policy does not retry it
        COMPLETED = "completed"  # reached by a channel without call outcomes; nothing more
        EXHAUSTED = "exhausted"  # every number used its attempts, or it has no number
        SUPPRESSED = "suppressed"  # on the suppression list at import; stored, never contacted
        CANCELLED = "cancelled"  # stopped (suppressed after import, campaign cancelled)
        FAILED = "failed"  # a permanent error on every number, or its text failed
        SENDING = "sending"  # SMS: its text is waiting to go or going to the carrier
        SENT = "sent"  # SMS: the carrier took its text; delivery not reported yet
        DELIVERED = "delivered"  # SMS: the carrier reported its text delivered

    TERMINAL = TERMINAL_STATUSES

    # No database-level constraint on the two parents: a per-row foreign-key check cost the
    # import more than half its time. Deletes still cascade (Django's collector), and a
    # campaign's delete locks its row first, so it cannot race an import (campaigns.models).
    organization = models.ForeignKey(
        "orgs.Organization",
        on_delete=models.CASCADE,
        related_name="prospects",
        db_constraint=False,
    )
    campaign = models.ForeignKey(
        "campaigns.Campaign",
        on_delete=models.CASCADE,
        related_name="prospects",
        db_index=False,  # covered by prospect_campaign_status
        db_constraint=False,
    )
    first_name = models.CharField(max_length=100, blank=True)
    last_name = models.CharField(max_length=100, blank=True)
    email = models.CharField(max_length=254, blank=True)
    attributes = models.JSONField(default=dict, blank=True)
    # An explicit IANA zone (from the import); empty = derived from the numbers only.
    timezone = models.CharField(max_length=64, blank=True)
    # Every zone any of its numbers may ring in, plus the explicit one: the claim's window filter.
    time_zones = models.JSONField(default=list, blank=True)
    status = models.CharField(max_length=16, choices=Status.choices, default=Status.QUEUED)
    priority = models.IntegerField(default=0, help_text="Higher is contacted first.")
    attempt_count = models.PositiveIntegerField(default=0)
    next_attempt_at = models.DateTimeField(default=dj_timezone.now)
    locked_by = models.CharField(max_length=64, blank=True)
    locked_at = models.DateTimeField(null=True, blank=True)
    last_outcome = models.CharField(max_length=32, blank=True)
    replied_at = models.DateTimeField(null=True, blank=True, help_text="When they last texted us.")
    created_at = models.DateTimeField(default=dj_timezone.now)
    updated_at = models.DateTimeField(auto_now=True)

    objects = ProspectQuerySet.as_manager()

    class Meta:
        ordering = ("id",)
        indexes = [
            # API/admin lists filtered by campaign and status.
            models.Index(fields=["campaign", "status", "id"], name="prospect_campaign_status"),
            # The dispatch claim: a campaign's queued prospects by priority, then id.
            models.Index(
                fields=["campaign", "-priority", "id"],
                name="prospect_claim_queued",
                condition=Q(status="queued"),
            ),
            # The stale-claim sweep: claimed prospects by claim time.
            models.Index(
                fields=["locked_at"], name="prospect_claimed", condition=Q(status="dialing")
            ),
        ]
        constraints = [
            models.CheckConstraint(
                name="prospect_status_valid",
                condition=Q(
                    status__in=["queued", "dialing", "sending", "sent", *TERMINAL_STATUSES]
                ),
            ),
        ]

    def __str__(self) -> str:
        name = f"{self.first_name} {self.last_name}".strip()
        return name or f"prospect {self.pk}"


class ProspectPhone(models.Model):
    """One of a prospect's numbers, in dialing order (position 0 first)."""

    prospect = models.ForeignKey(
        Prospect, on_delete=models.CASCADE, related_name="phones", db_index=False
    )
    # Denormalised from the prospect so a number is unique within its campaign.
    campaign = models.ForeignKey(
        "campaigns.Campaign",
        on_delete=models.CASCADE,
        related_name="+",
        db_index=False,
        db_constraint=False,  # as Prospect.campaign
    )
    position = models.PositiveSmallIntegerField(default=0)
    e164 = models.CharField(max_length=16)
    # libphonenumber's time zones for the number.
    time_zones = models.JSONField(default=list, blank=True)

    class Meta:
        ordering = ("prospect_id", "position")
        constraints = [
            # Also the index that loads a prospect's numbers in order.
            models.UniqueConstraint(
                fields=("prospect", "position"), name="prospectphone_prospect_position"
            ),
            # Dedupe on import; also serves "who in this campaign has this number".
            models.UniqueConstraint(
                fields=("campaign", "e164"), name="prospectphone_campaign_e164"
            ),
        ]

    def __str__(self) -> str:
        return self.e164


class SuppressionQuerySet(models.QuerySet):
    def for_org(self, org):
        return self.filter(organization=org)


class Suppression(models.Model):
    class Reason(models.TextChoices):
        DNC = "dnc"  # a do-not-call list entry
        STOP = "stop"  # the recipient texted STOP (or the carrier reported an opt-out)
        COMPLAINT = "complaint"  # the recipient complained
        MANUAL = "manual"  # an operator added it

    organization = models.ForeignKey(
        "orgs.Organization",
        on_delete=models.CASCADE,
        related_name="suppressions",
        db_index=False,  # covered by suppression_org_e164
    )
    e164 = models.CharField(max_length=16)
    reason = models.CharField(max_length=16, choices=Reason.choices, default=Reason.MANUAL)
    source = models.CharField(max_length=100, blank=True, help_text="Where it came from.")
    created_at = models.DateTimeField(default=dj_timezone.now)

    objects = SuppressionQuerySet.as_manager()

    class Meta:
        ordering = ("-created_at", "-id")
        constraints = [
            # Also the index of every "is this number suppressed for this org" check.
            models.UniqueConstraint(fields=("organization", "e164"), name="suppression_org_e164"),
            models.CheckConstraint(
                name="suppression_reason_valid",
                condition=Q(reason__in=["dnc", "stop", "complaint", "manual"]),
            ),
        ]

    def __str__(self) -> str:
        return f"{self.e164} ({self.reason})"
