"""Caller IDs (DIDs): the numbers calls and texts are sent from."""

from django.db import models
from django.db.models import Q


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
    cooldown_until = models.DateTimeField(null=True, blank=True)
    warming_until = models.DateTimeField(null=True, blank=True)
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
        ]

    def __str__(self) -> str:
        return self.e164
