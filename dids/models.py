"""Caller IDs (DIDs): the numbers calls and texts are sent from."""

from django.core.exceptions import ValidationError
from django.db import models
from django.db.models import Q
from django.utils import timezone

SMS_MPS_MAX = 1000  # segments per second a caller ID may be set to send at


def validate_sms_mps(value: float) -> None:
    if not 0 < value <= SMS_MPS_MAX:
        raise ValidationError(
            f"Over 0 and at most {SMS_MPS_MAX} segments a second; empty = by number type.",
            code="sms_mps_range",
        )


class DidQuerySet(models.QuerySet):
    def for_org(self, org):
        return self.filter(organization=org)

    def in_rotation(self):
        return self.filter(state=Did.State.ACTIVE)


class Did(models.Model):
    class State(models.TextChoices):
        WARMING = "warming"  # new; enters rotation when warming_until passes
        ACTIVE = "active"  # in rotation
        COOLING = "cooling"  # out of rotation until cooldown_until (health dropped)
        BURNED = "burned"  # out for good (health collapsed or spam-labelled)
        RETIRED = "retired"  # removed by an operator

    organization = models.ForeignKey(
        "orgs.Organization",
        on_delete=models.CASCADE,
        related_name="dids",
        db_index=False,  # covered by did_org_e164
    )
    e164 = models.CharField(max_length=16)
    area_code = models.CharField(max_length=8, blank=True)
    region = models.CharField(max_length=2, blank=True, help_text="ISO region of the number.")
    friendly_name = models.CharField(max_length=100, blank=True)
    state = models.CharField(max_length=16, choices=State.choices, default=State.ACTIVE)
    health_score = models.FloatField(default=1.0)
    voice_enabled = models.BooleanField(default=True)
    sms_enabled = models.BooleanField(default=True)
    last_call_at = models.DateTimeField(null=True, blank=True)
    last_sms_at = models.DateTimeField(null=True, blank=True)
    sms_mps = models.FloatField(
        null=True,
        blank=True,
        validators=[validate_sms_mps],
        help_text=f"Segments per second the carrier sends from it, over 0 and at most "
        f"{SMS_MPS_MAX}; empty = by number type (long code 1, toll-free 3).",
    )
    cooldown_until = models.DateTimeField(null=True, blank=True)
    warming_until = models.DateTimeField(null=True, blank=True)
    # Health (dids.health): the window's running sums, kept as events arrive (no recount).
    health_warning = models.BooleanField(default=False)
    health_since = models.DateTimeField(
        null=True, blank=True, help_text="Calls before this (its last cooldown) do not count."
    )
    health_calls = models.PositiveIntegerField(default=0)
    health_answered = models.PositiveIntegerField(default=0)
    health_humans = models.PositiveIntegerField(default=0)
    health_seconds = models.PositiveIntegerField(default=0)
    health_no_answer = models.PositiveIntegerField(default=0)
    health_spam = models.PositiveIntegerField(default=0)
    # Events are numbered (`seq`) as they are applied; the window is (low, health_seq], where
    # low = max(health_floor, health_seq - DID_HEALTH_WINDOW); a cooldown moves the floor.
    health_seq = models.PositiveIntegerField(default=0)
    health_floor = models.PositiveIntegerField(default=0)
    cooldowns = models.PositiveIntegerField(default=0)
    burned_at = models.DateTimeField(null=True, blank=True)
    # Ramp back into rotation: calls since it returned; None once the ramp is over.
    ramp_calls = models.PositiveIntegerField(null=True, blank=True)
    ramp_credit = models.FloatField(default=0.0)
    calls_today = models.PositiveIntegerField(default=0)
    calls_today_on = models.DateField(null=True, blank=True)
    created_at = models.DateTimeField(auto_now_add=True)
    updated_at = models.DateTimeField(auto_now=True)

    objects = DidQuerySet.as_manager()

    class Meta:
        ordering = ("e164",)
        verbose_name = "caller ID (DID)"
        verbose_name_plural = "caller IDs (DIDs)"
        indexes = [
            # Caller-ID selection: an org's active numbers by area code, then health.
            models.Index(
                fields=["organization", "area_code", "-health_score"],
                name="did_select_active",
                condition=Q(state="active"),
            ),
            # The lifecycle sweep: cooling and warming numbers whose deadline passed.
            models.Index(fields=["state", "cooldown_until"], name="did_lifecycle"),
        ]
        constraints = [
            models.UniqueConstraint(fields=("organization", "e164"), name="did_org_e164"),
            models.CheckConstraint(
                name="did_state_valid",
                condition=Q(state__in=["warming", "active", "cooling", "burned", "retired"]),
            ),
            models.CheckConstraint(
                name="did_health_range", condition=Q(health_score__gte=0) & Q(health_score__lte=1)
            ),
            models.CheckConstraint(
                name="did_sms_mps_range",
                condition=Q(sms_mps__isnull=True) | Q(sms_mps__gt=0, sms_mps__lte=SMS_MPS_MAX),
            ),
        ]

    def __str__(self) -> str:
        return self.e164


class DidHealthEvent(models.Model):
    """One finished call from a caller ID, as its health score sees it."""

    did = models.ForeignKey(Did, on_delete=models.CASCADE, related_name="health_events")
    organization = models.ForeignKey(
        "orgs.Organization", on_delete=models.CASCADE, related_name="+", db_index=False
    )
    attempt = models.OneToOneField(
        "campaigns.CallAttempt",
        on_delete=models.SET_NULL,
        null=True,
        blank=True,
        related_name="health_event",
    )
    outcome = models.CharField(max_length=16)
    answered_by = models.CharField(max_length=32, blank=True)
    duration_seconds = models.PositiveIntegerField(default=0)
    sip_response_code = models.IntegerField(null=True, blank=True)
    answered = models.BooleanField(default=False)
    human = models.BooleanField(default=False)
    no_answer = models.BooleanField(default=False)
    spam = models.BooleanField(
        default=False, help_text="The carrier's spam signal (SIP 603/607/608)."
    )
    # Its place in the caller ID's sequence once applied (dids.health); 0: applied, but made
    # before the caller ID's last cooldown, so in no window.
    seq = models.PositiveIntegerField(null=True, blank=True)
    created_at = models.DateTimeField(default=timezone.now)

    class Meta:
        indexes = [models.Index(fields=["did", "seq"], name="did_health_seq")]

    def __str__(self) -> str:
        return f"{self.did_id} {self.outcome}"


class SenderPool(models.Model):
    """Caller IDs that send a campaign's texts, and the rate the pool may send at in all."""

    organization = models.ForeignKey(
        "orgs.Organization", on_delete=models.CASCADE, related_name="sender_pools", db_index=False
    )
    name = models.CharField(max_length=100)
    dids = models.ManyToManyField(Did, related_name="sender_pools", blank=True)
    rate_per_minute = models.PositiveIntegerField(
        default=17_000,
        help_text="Messages per minute across every worker and campaign using this pool.",
    )
    created_at = models.DateTimeField(auto_now_add=True)

    class Meta:
        ordering = ("name", "id")
        constraints = [
            models.UniqueConstraint(fields=("organization", "name"), name="senderpool_org_name"),
            models.CheckConstraint(
                name="senderpool_rate_positive", condition=Q(rate_per_minute__gt=0)
            ),
        ]

    def __str__(self) -> str:
        return self.name
