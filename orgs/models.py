"""Tenants, their operators and their API keys."""

import secrets
import zoneinfo

from django.conf import settings
from django.core.validators import MaxValueValidator, MinValueValidator
from django.db import models, transaction
from django.db.models import Q

CONCURRENCY_LIMIT_MIN = 1
CONCURRENCY_LIMIT_MAX = 10_000


def _new_alert_secret() -> str:
    return secrets.token_hex(32)


class OrganizationQuerySet(models.QuerySet):
    def active(self):
        return self.filter(is_active=True)

    def delete(self):
        # Lock the orgs' campaigns first, for the reason CampaignQuerySet.delete gives. The
        # model is the one the reverse relation `campaigns` leads to: orgs imports no app above.
        campaign = self.model._meta.get_field("campaigns").related_model
        with transaction.atomic(using=self.db):
            list(
                campaign._base_manager.using(self.db)
                .filter(organization__in=self.values("pk"))
                .select_for_update(no_key=False)  # before a delete: the full lock
            )
            return super().delete()


class Organization(models.Model):
    name = models.CharField(max_length=200)
    slug = models.SlugField(max_length=64, unique=True)
    # Simultaneous calls this org may have (claimed + in flight), shared fairly by the dialer.
    concurrency_limit = models.PositiveIntegerField(
        default=10,
        validators=[
            MinValueValidator(CONCURRENCY_LIMIT_MIN),
            MaxValueValidator(CONCURRENCY_LIMIT_MAX),
        ],
    )
    # Region used to parse numbers written without a country code (ISO 3166 alpha-2).
    default_region = models.CharField(max_length=2, default="US")
    default_timezone = models.CharField(max_length=64, default="America/New_York")
    is_active = models.BooleanField(default=True)
    sms_help_text = models.CharField(
        max_length=320,
        blank=True,
        default="Reply STOP to unsubscribe.",
        help_text="The reply to HELP or INFO texted to one of the org's numbers.",
    )
    # Prepaid message segments; a campaign text without credit waits (campaigns.sms).
    sms_credits = models.BigIntegerField(
        default=0, help_text="Message segments the organization may still send."
    )
    blocked_words = models.JSONField(
        default=list,
        blank=True,
        help_text="Words (case-insensitive, whole words) that no campaign text may contain.",
    )
    alert_webhook_url = models.URLField(
        max_length=500,
        blank=True,
        help_text="Failure spikes, no_dids pauses and billing stops are POSTed here as JSON.",
    )
    alert_secret = models.CharField(
        max_length=64,
        default=_new_alert_secret,
        help_text="Signs each alert: X-Outbound-Signature = hex HMAC-SHA256 of the body.",
    )
    created_at = models.DateTimeField(auto_now_add=True)

    objects = OrganizationQuerySet.as_manager()

    class Meta:
        ordering = ("name", "id")
        constraints = [
            models.CheckConstraint(
                name="org_sms_credits_not_negative", condition=Q(sms_credits__gte=0)
            ),
            models.CheckConstraint(
                name="org_concurrency_limit_range",
                condition=Q(concurrency_limit__gte=CONCURRENCY_LIMIT_MIN)
                & Q(concurrency_limit__lte=CONCURRENCY_LIMIT_MAX),
            ),
        ]

    def __str__(self) -> str:
        return self.name

    def delete(self, using=None, keep_parents=False):
        return type(self).objects.using(using or "default").filter(pk=self.pk).delete()

    @property
    def tzinfo(self) -> zoneinfo.ZoneInfo:
        return zoneinfo.ZoneInfo(self.default_timezone)


class Membership(models.Model):
    class Role(models.TextChoices):
        OWNER = "owner"  # manages the org, its members and keys
        ADMIN = "admin"  # runs campaigns, imports, caller IDs
        VIEWER = "viewer"  # reads only

    user = models.ForeignKey(
        settings.AUTH_USER_MODEL, on_delete=models.CASCADE, related_name="memberships"
    )
    organization = models.ForeignKey(
        Organization, on_delete=models.CASCADE, related_name="memberships"
    )
    role = models.CharField(max_length=16, choices=Role.choices, default=Role.ADMIN)
    created_at = models.DateTimeField(auto_now_add=True)

    class Meta:
        constraints = [
            models.UniqueConstraint(fields=("user", "organization"), name="membership_user_org"),
            models.CheckConstraint(
                name="membership_role_valid", condition=Q(role__in=["owner", "admin", "viewer"])
            ),
        ]

    def __str__(self) -> str:
        return f"{self.user} @ {self.organization} ({self.role})"


class Scope(models.TextChoices):
    CAMPAIGNS_READ = "campaigns:read"
    CAMPAIGNS_MANAGE = "campaigns:manage"
    PROSPECTS_READ = "prospects:read"
    PROSPECTS_MANAGE = "prospects:manage"
    DIDS_READ = "dids:read"
    DIDS_MANAGE = "dids:manage"
    SUPPRESSION_READ = "suppression:read"
    SUPPRESSION_MANAGE = "suppression:manage"
    CONCURRENCY_READ = "concurrency:read"
    CONCURRENCY_MANAGE = "concurrency:manage"
    CALLS_READ = "calls:read"
    CALLS_MANAGE = "calls:manage"  # place one-off calls
    EVENTS_READ = "events:read"
    ALERTS_READ = "alerts:read"  # the alert log and where alerts go
    ALERTS_MANAGE = "alerts:manage"  # the alert webhook URL, rotating its signing secret
    MESSAGES_READ = "messages:read"  # texts and dead letters
    MESSAGES_MANAGE = "messages:manage"  # retry dead letters
    BILLING_READ = "billing:read"  # the SMS credit balance
    BILLING_MANAGE = "billing:manage"  # add SMS credits


ALL_SCOPES: tuple[str, ...] = tuple(Scope.values)


class ApiKeyQuerySet(models.QuerySet):
    def usable(self):
        return self.filter(revoked_at__isnull=True, organization__is_active=True)


class ApiKey(models.Model):
    """A secret shown once; only its SHA-256 is stored, found by its public prefix."""

    organization = models.ForeignKey(
        Organization, on_delete=models.CASCADE, related_name="api_keys"
    )
    name = models.CharField(max_length=100)
    prefix = models.CharField(max_length=16, unique=True)
    hashed_key = models.CharField(max_length=64)
    scopes = models.JSONField(default=list)
    created_at = models.DateTimeField(auto_now_add=True)
    revoked_at = models.DateTimeField(null=True, blank=True)
    last_used_at = models.DateTimeField(null=True, blank=True)

    objects = ApiKeyQuerySet.as_manager()

    class Meta:
        ordering = ("-created_at", "-id")
        verbose_name = "API key"

    def __str__(self) -> str:
        return f"{self.name} ({self.prefix}…)"

    @property
    def is_revoked(self) -> bool:
        return self.revoked_at is not None


class AlertDelivery(models.Model):
    """One alert for an organization's webhook: kept until it is delivered or given up on."""

    class Status(models.TextChoices):
        PENDING = "pending"  # waiting for its (next) attempt at next_attempt_at
        DELIVERED = "delivered"  # the receiver answered 2xx
        FAILED = "failed"  # every attempt failed; last_error says why

    organization = models.ForeignKey(
        Organization, on_delete=models.CASCADE, related_name="alerts", db_index=False
    )
    event = models.CharField(max_length=64)
    payload = models.JSONField()
    url = models.URLField(max_length=500)
    status = models.CharField(max_length=12, choices=Status.choices, default=Status.PENDING)
    attempts = models.PositiveSmallIntegerField(default=0)
    next_attempt_at = models.DateTimeField(null=True, blank=True)
    last_error = models.CharField(max_length=300, blank=True)
    created_at = models.DateTimeField(auto_now_add=True)
    delivered_at = models.DateTimeField(null=True, blank=True)

    class Meta:
        ordering = ("-created_at", "-id")
        indexes = [
            # The org's alerts, newest first (API, admin).
            models.Index(fields=["organization", "-created_at"], name="alert_org_created"),
            # The delivery sweep: pending alerts that are due.
            models.Index(
                fields=["next_attempt_at"], name="alert_pending", condition=Q(status="pending")
            ),
        ]
        constraints = [
            models.CheckConstraint(
                name="alert_status_valid",
                condition=Q(status__in=["pending", "delivered", "failed"]),
            ),
        ]

    def __str__(self) -> str:
        return f"{self.event} ({self.status})"
