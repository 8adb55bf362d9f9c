"""Campaigns: what is dialed or texted, at what pace, within which windows, retried how."""

from decimal import Decimal

from django.core.validators import MaxValueValidator, MinValueValidator
from django.db import models, transaction
from django.db.models import Q

from campaigns.validation import validate_caller_id_filter, validate_calling_windows


class CampaignQuerySet(models.QuerySet):
    def for_org(self, org):
        return self.filter(organization=org)

    def running(self):
        return self.filter(status=Campaign.Status.DIALING)

    def delete(self):
        # Prospects reference their campaign without a database constraint (prospects.models),
        # so lock the campaigns first: an import holding one finishes before its prospects are
        # collected, and an import that starts later finds the campaign gone.
        with transaction.atomic(using=self.db):
            list(self.model._base_manager.filter(pk__in=self.values("pk")).select_for_update())
            return super().delete()


class Campaign(models.Model):
    class Channel(models.TextChoices):
        VOICE = "voice"
        SMS = "sms"

    class Status(models.TextChoices):
        CREATED = "created"  # configured, never started
        DIALING = "dialing"  # the engine claims and contacts its prospects
        PAUSED = "paused"  # stopped by an operator or automatically (see pause_reason)
        COMPLETED = "completed"  # nothing queued, due later or in flight
        CANCELLED = "cancelled"  # stopped for good by an operator

    class PauseReason(models.TextChoices):
        NONE = ""
        MANUAL = "manual"  # an operator paused it
        NO_DIDS = "no_dids"  # no healthy caller ID left; resumes only by hand
        ERROR_RATE = "error_rate"  # too many recent sends failed
        BILLING = "billing"  # the organization ran out of credit

    class CallingPolicy(models.TextChoices):
        FEDERAL = "federal"  # 08:00-21:00 recipient-local, every country
        STATE = "state"  # federal plus the stricter US state rules

    organization = models.ForeignKey(
        "orgs.Organization", on_delete=models.CASCADE, related_name="campaigns"
    )
    name = models.CharField(max_length=200)
    channel = models.CharField(max_length=8, choices=Channel.choices, default=Channel.VOICE)
    status = models.CharField(max_length=16, choices=Status.choices, default=Status.CREATED)
    pause_reason = models.CharField(
        max_length=16, choices=PauseReason.choices, default=PauseReason.NONE, blank=True
    )
    calls_per_second = models.DecimalField(
        max_digits=8,
        decimal_places=3,
        default=Decimal("1"),
        validators=[MinValueValidator(Decimal("0.001")), MaxValueValidator(Decimal("1000"))],
        help_text="Pace of new attempts; fractions allowed (0.5 = one call every two seconds).",
    )
    caller_id_filter = models.JSONField(
        default=dict,
        blank=True,
        validators=[validate_caller_id_filter],
        help_text='Restricts caller IDs: {"area_codes": ["415"], "regions": ["US"]}; empty = all.',
    )
    calling_policy = models.CharField(
        max_length=16, choices=CallingPolicy.choices, default=CallingPolicy.FEDERAL
    )
    calling_windows = models.JSONField(
        default=list,
        blank=True,
        validators=[validate_calling_windows],
        help_text='Narrower windows, recipient-local: [{"days": ["mon", ...], "start": "09:00", '
        '"end": "17:00"}]; empty = the policy window.',
    )
    timezone = models.CharField(
        max_length=64, blank=True, help_text="The campaign's reference time zone for reporting."
    )
    max_attempts_per_phone_number = models.PositiveSmallIntegerField(
        default=2, validators=[MinValueValidator(1), MaxValueValidator(20)]
    )
    retry_delay_minutes = models.PositiveIntegerField(
        default=60, validators=[MinValueValidator(0), MaxValueValidator(60 * 24 * 30)]
    )
    priority = models.IntegerField(default=0, help_text="Higher is dialed first.")
    created_at = models.DateTimeField(auto_now_add=True)
    updated_at = models.DateTimeField(auto_now=True)
    started_at = models.DateTimeField(null=True, blank=True)
    finished_at = models.DateTimeField(null=True, blank=True)

    objects = CampaignQuerySet.as_manager()

    class Meta:
        ordering = ("-created_at", "-id")
        indexes = [
            # The dispatch tick lists each org's dialing campaigns by priority.
            models.Index(
                fields=["status", "organization", "-priority", "id"], name="campaign_dispatch"
            ),
            # Tenant-scoped lists in the API and admin.
            models.Index(fields=["organization", "-created_at"], name="campaign_org_created"),
        ]
        constraints = [
            models.CheckConstraint(
                name="campaign_status_valid",
                condition=Q(status__in=["created", "dialing", "paused", "completed", "cancelled"]),
            ),
            models.CheckConstraint(
                name="campaign_channel_valid", condition=Q(channel__in=["voice", "sms"])
            ),
            models.CheckConstraint(
                name="campaign_pause_reason_only_when_paused",
                condition=Q(status="paused") | Q(pause_reason=""),
            ),
            models.CheckConstraint(
                name="campaign_cps_positive", condition=Q(calls_per_second__gt=0)
            ),
            models.CheckConstraint(
                name="campaign_attempts_per_number_positive",
                condition=Q(max_attempts_per_phone_number__gte=1),
            ),
        ]

    def __str__(self) -> str:
        return self.name

    def delete(self, using=None, keep_parents=False):
        return type(self).objects.using(using or "default").filter(pk=self.pk).delete()
