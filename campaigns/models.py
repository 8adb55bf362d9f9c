"""Campaigns: what is dialed or texted, at what pace, within which windows, retried how."""

from decimal import Decimal

from django.core.validators import MaxValueValidator, MinValueValidator
from django.db import models, transaction
from django.db.models import Q
from django.utils import timezone

from campaigns.validation import (
    RETRYABLE_OUTCOMES,
    default_retry_outcomes,
    validate_caller_id_filter,
    validate_calling_windows,
    validate_retry_outcomes,
    validate_twiml,
    validate_voicemail_drop,
)

# A person who hangs up sooner than this is a human_hangup, not connected; a campaign sets its
# own, one-off calls use this.
DEFAULT_HUMAN_HANGUP_SECONDS = 10


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
            list(self.model._base_manager.filter(pk__in=self.values("pk")).select_for_update(no_key=False))
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

    class SmsMode(models.TextChoices):
        NONE = ""  # a voice campaign (an SMS campaign without a mode is a blast)
        DRIP = "drip"  # one text per tick, paced like a person texting from a pool of numbers
        BLAST = "blast"  # the whole audience as fast as the senders allow

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
    retry_outcomes = models.JSONField(
        default=default_retry_outcomes,
        blank=True,
        validators=[validate_retry_outcomes],
        help_text="Outcomes that are tried again after the retry delay: "
        + ", ".join(RETRYABLE_OUTCOMES)
        + ' ("voicemail" only retries when no voicemail drop is set).',
    )
    human_hangup_seconds = models.PositiveIntegerField(
        default=DEFAULT_HUMAN_HANGUP_SECONDS,
        validators=[MaxValueValidator(600)],
        help_text="A person who hangs up sooner than this is a human_hangup, not connected.",
    )
    voicemail_drop = models.TextField(
        blank=True,
        validators=[validate_voicemail_drop],
        help_text="Left on an answering machine after the beep: text is spoken, an http(s) URL "
        "(alone) is an audio file played; empty = hang up on machines.",
    )
    twiml = models.TextField(
        blank=True,
        validators=[validate_twiml],
        help_text="TwiML for a person who answers; empty = a short pause, then hang up.",
    )
    # SMS (messaging.Message holds the texts; campaigns.sms sends them).
    sms_mode = models.CharField(
        max_length=8, choices=SmsMode.choices, blank=True, default=SmsMode.NONE
    )
    sender_pool = models.ForeignKey(
        "dids.SenderPool",
        on_delete=models.PROTECT,
        null=True,
        blank=True,
        related_name="campaigns",
        help_text="The caller IDs an SMS campaign texts from.",
    )
    start_at = models.DateTimeField(
        null=True, blank=True, help_text="A blast starts by itself at this time (beat)."
    )
    frequency_cap_hours = models.PositiveIntegerField(
        default=24,
        validators=[MaxValueValidator(24 * 90)],
        help_text="Skip anyone the organization texted within this many hours (0 = no cap).",
    )
    # A blast's audience as evaluated at its start: counts by what happened to each prospect.
    audience = models.JSONField(default=dict, blank=True)
    # Drip: when the next prospect may be texted.
    drip_next_at = models.DateTimeField(null=True, blank=True)
    # Pacing: a token bucket of calls_per_second, kept in the row so a restart never bursts.
    pacing_tokens = models.FloatField(default=0.0)
    pacing_at = models.DateTimeField(null=True, blank=True)
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
                name="campaign_sms_mode_valid",
                condition=Q(channel="voice", sms_mode="")
                | Q(channel="sms", sms_mode__in=["", "drip", "blast"]),
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


class CallAttemptQuerySet(models.QuerySet):
    def for_org(self, org):
        return self.filter(organization=org)

    def one_off(self):
        """Calls placed through POST /api/v1/calls/ (the `api` pool)."""
        return self.filter(pool=CallAttempt.Pool.API)

    def active(self):
        return self.exclude(status=CallAttempt.Status.FINISHED)


class CallAttempt(models.Model):
    """One call placed (or about to be) to one number: the campaign's record of it.

    The row is written before the carrier is called, so a crash between the two leaves an
    `originating` row without a sid, which reconciliation asks the carrier about instead of
    dialing again. The carrier's view of the call, as its callbacks report it, is
    `messaging.CarrierCall` (same sid).
    """

    class Pool(models.TextChoices):
        CAMPAIGN = "campaign"  # dialed by a campaign
        IVR = "ivr"  # placed by an IVR flow
        API = "api"  # a one-off call from POST /api/v1/calls/

    class Status(models.TextChoices):
        ORIGINATING = "originating"  # written; the carrier is being asked to place it
        IN_FLIGHT = "in_flight"  # the carrier accepted it (sid stored)
        FINISHED = "finished"  # its outcome is final

    class Outcome(models.TextChoices):
        NONE = ""  # not finished yet
        HUMAN_CONNECTED = "human_connected"
        HUMAN_HANGUP = "human_hangup"
        VOICEMAIL = "voicemail"
        NO_ANSWER = "no_answer"
        BUSY = "busy"
        FAILED = "failed"
        TIMEOUT = "timeout"  # no completion within the timeout
        CANCELED = "canceled"
        REJECTED = "rejected"  # the carrier refused to place it (error_code says why)

    class Drop(models.TextChoices):
        NONE = ""  # no drop asked for: none configured, no machine_end verdict
        REQUESTED = "requested"  # claimed; the carrier is being asked (stays: answer unknown)
        PLAYED = "played"  # the carrier took the TwiML: the message plays after the beep
        FAILED = "failed"  # the call was over, or the carrier refused (error_code says why)

    organization = models.ForeignKey(
        "orgs.Organization", on_delete=models.CASCADE, related_name="+", db_index=False
    )
    campaign = models.ForeignKey(
        Campaign, on_delete=models.CASCADE, null=True, blank=True, related_name="attempts"
    )
    prospect = models.ForeignKey(
        "prospects.Prospect",
        on_delete=models.CASCADE,
        null=True,
        blank=True,
        related_name="attempts",
        db_index=False,  # covered by attempt_once_per_prospect
    )
    pool = models.CharField(max_length=8, choices=Pool.choices, default=Pool.CAMPAIGN)
    attempt_number = models.PositiveIntegerField(default=0)
    # The dispatch claim that placed it: a redelivered task finds its row and dials nothing.
    claim = models.CharField(max_length=32, blank=True)
    to = models.CharField(max_length=16)
    did = models.ForeignKey(
        "dids.Did", on_delete=models.SET_NULL, null=True, blank=True, related_name="attempts"
    )
    from_number = models.CharField(max_length=16, blank=True)
    sid = models.CharField(max_length=34, null=True, blank=True, unique=True)
    status = models.CharField(max_length=12, choices=Status.choices, default=Status.ORIGINATING)
    outcome = models.CharField(max_length=16, choices=Outcome.choices, blank=True, default="")
    # The AMD mode it was placed with: "Enable", "DetectMessageEnd" (a drop is set) or "".
    machine_detection = models.CharField(max_length=16, blank=True)
    answered_by = models.CharField(max_length=32, blank=True)
    duration_seconds = models.IntegerField(null=True, blank=True)
    # Why the carrier refused the call, or the voicemail drop.
    error_code = models.IntegerField(null=True, blank=True)
    drop_status = models.CharField(max_length=12, choices=Drop.choices, blank=True, default="")
    drop_requested_at = models.DateTimeField(null=True, blank=True)
    # A one-off call's Idempotency-Key: a retried request finds this row and places nothing.
    idempotency_key = models.CharField(max_length=255, blank=True, default="")
    created_at = models.DateTimeField(default=timezone.now)
    ended_at = models.DateTimeField(null=True, blank=True)

    objects = CallAttemptQuerySet.as_manager()

    class Meta:
        ordering = ("-created_at", "-id")
        indexes = [
            # Active calls per org and pool (slot allocation), and the timeout sweep.
            models.Index(
                fields=["organization", "pool", "created_at"],
                name="attempt_open",
                condition=~Q(status="finished"),
            ),
            # A campaign's attempts, newest first (API, admin, stats).
            models.Index(fields=["campaign", "-created_at"], name="attempt_campaign_created"),
            # An org's one-off calls, newest first (GET /api/v1/calls/).
            models.Index(
                fields=["organization", "-created_at", "-id"],
                name="attempt_one_off_created",
                condition=Q(pool="api"),
            ),
            # Late AMD verdicts: calls settled as a person before their verdict came, recent
            # first (campaigns.voice.late_verdicts). Few rows: most verdicts come before the end.
            models.Index(
                fields=["ended_at"],
                name="attempt_human_no_verdict",
                condition=Q(
                    status="finished",
                    outcome__in=["human_connected", "human_hangup"],
                    answered_by="",
                )
                & ~Q(machine_detection=""),
            ),
        ]
        constraints = [
            # At most once to the carrier: one row per prospect and claim, however often the
            # task that places it runs.
            models.UniqueConstraint(
                fields=["prospect", "claim"],
                name="attempt_once_per_prospect",
                condition=Q(prospect__isnull=False),
            ),
            # At most once for a retried one-off request: one row per org and key.
            models.UniqueConstraint(
                fields=["organization", "idempotency_key"],
                name="attempt_idempotency_key",
                condition=~Q(idempotency_key=""),
            ),
            models.CheckConstraint(
                name="attempt_status_valid",
                condition=Q(status__in=["originating", "in_flight", "finished"]),
            ),
            models.CheckConstraint(
                name="attempt_drop_status_valid",
                condition=Q(drop_status__in=["", "requested", "played", "failed"]),
            ),
            models.CheckConstraint(
                name="attempt_machine_detection_valid",
                condition=Q(machine_detection__in=["", "Enable", "DetectMessageEnd"]),
            ),
            models.CheckConstraint(
                name="attempt_outcome_when_finished",
                condition=Q(status="finished", outcome__gt="")
                | Q(~Q(status="finished"), outcome=""),
            ),
        ]

    def __str__(self) -> str:
        return f"{self.to} {self.outcome or self.status}"
