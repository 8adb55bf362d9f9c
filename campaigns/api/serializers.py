from urllib.parse import urlsplit

from django.core.exceptions import ValidationError as DjangoValidationError
from rest_framework import serializers

from campaigns.models import CallAttempt, Campaign
from campaigns.validation import (
    VARIANT_BODY_MAX,
    VARIANT_NAME_MAX,
    sms_mode_for,
    validate_variants,
)
from dids.models import SenderPool
from orgs.api.fields import OrgPrimaryKeyRelatedField
from orgs.models import CONCURRENCY_LIMIT_MAX, CONCURRENCY_LIMIT_MIN
from prospects import windows
from prospects.phones import normalize_one


class _VariantListSerializer(serializers.ListSerializer):
    def get_attribute(self, instance):
        # A voice campaign has none (validation keeps it so): no query for it in lists.
        if instance.channel != Campaign.Channel.SMS:
            return []
        return instance.variants.all()

    def run_child_validation(self, data):
        # Each variant is whole even in a PATCH: the list replaces the campaign's.
        variant = MessageVariantSerializer(data=data)
        variant.is_valid(raise_exception=True)
        return variant.validated_data

    def to_internal_value(self, data):
        variants = super().to_internal_value(data)
        try:
            validate_variants(variants)
        except DjangoValidationError as exc:
            raise serializers.ValidationError(exc.messages) from None
        return variants


class MessageVariantSerializer(serializers.Serializer):
    name = serializers.CharField(max_length=VARIANT_NAME_MAX)
    body = serializers.CharField(
        max_length=VARIANT_BODY_MAX,
        help_text="{first_name}, {last_name}, {email} and any import attribute are filled in; "
        "{first_name|there} gives a default. URLs become tracked short links.",
    )
    percentage = serializers.IntegerField(
        min_value=0, max_value=100, help_text="Share of the audience."
    )

    class Meta:
        list_serializer_class = _VariantListSerializer


class CampaignSerializer(serializers.ModelSerializer):
    sender_pool = OrgPrimaryKeyRelatedField(
        queryset=SenderPool.objects.all(),
        required=False,
        allow_null=True,
        help_text="SMS: the id of one of the organization's sender pools to text from.",
    )
    variants = MessageVariantSerializer(
        many=True,
        required=False,
        help_text="SMS: the texts, replaced as a whole when given; names unique, percentages "
        "adding up to 100.",
    )

    class Meta:
        model = Campaign
        fields = (
            "id",
            "name",
            "channel",
            "status",
            "pause_reason",
            "calls_per_second",
            "caller_id_filter",
            "calling_policy",
            "calling_windows",
            "timezone",
            "max_attempts_per_phone_number",
            "retry_delay_minutes",
            "retry_outcomes",
            "human_hangup_seconds",
            "voicemail_drop",
            "twiml",
            "priority",
            "sms_mode",
            "sender_pool",
            "start_at",
            "frequency_cap_hours",
            "audience",
            "variants",
            "created_at",
            "updated_at",
            "started_at",
            "finished_at",
        )
        read_only_fields = (
            "status",
            "pause_reason",
            "audience",
            "created_at",
            "updated_at",
            "started_at",
            "finished_at",
        )

    def validate_timezone(self, value: str) -> str:
        import zoneinfo

        if value and value not in zoneinfo.available_timezones():
            raise serializers.ValidationError("Not an IANA time zone.")
        return value

    def validate(self, attrs):
        """SMS settings follow the channel: an SMS campaign without a mode is a blast; a voice
        campaign has no mode, pool or variants (those of a campaign turned voice are dropped)."""
        was = self.instance
        channel = attrs.get("channel", was.channel if was else Campaign.Channel.VOICE)
        kept = was.sms_mode if was is not None and was.channel == channel else ""
        given_mode = attrs.get("sms_mode", kept)
        try:
            attrs["sms_mode"] = sms_mode_for(channel=channel, sms_mode=given_mode)
        except DjangoValidationError as exc:
            raise serializers.ValidationError(exc.message_dict) from None
        if channel == Campaign.Channel.SMS:
            return attrs
        errors = {}
        if attrs.get("sender_pool"):
            errors["sender_pool"] = ["Only SMS campaigns text from a sender pool."]
        if attrs.get("variants"):
            errors["variants"] = ["Only SMS campaigns have variants."]
        if errors:
            raise serializers.ValidationError(errors)
        if was is not None and was.channel == Campaign.Channel.SMS:
            attrs.update(sender_pool=None, variants=[])
        return attrs


class TransitionErrorSerializer(serializers.Serializer):
    """409 from start/pause/resume/cancel: the transition its current status does not allow."""

    detail = serializers.CharField()
    code = serializers.CharField()
    status = serializers.ChoiceField(choices=Campaign.Status.choices)


class ConcurrencySettingsSerializer(serializers.Serializer):
    concurrency_limit = serializers.IntegerField(
        min_value=CONCURRENCY_LIMIT_MIN, max_value=CONCURRENCY_LIMIT_MAX
    )


class _BlankAsNull:
    """Shows an empty value as null: "not known (yet)"."""

    def to_representation(self, value):
        return None if value == "" else super().to_representation(value)


class _NullableChoiceField(_BlankAsNull, serializers.ChoiceField):
    pass


class _NullableCharField(_BlankAsNull, serializers.CharField):
    pass


class CallSerializer(serializers.ModelSerializer):
    """A one-off call: `outcome` is null until the carrier's callbacks settle it."""

    caller_id = serializers.CharField(source="from_number", read_only=True)
    outcome = _NullableChoiceField(
        choices=CallAttempt.Outcome.choices[1:], allow_null=True, read_only=True
    )
    answered_by = _NullableCharField(allow_null=True, read_only=True)

    class Meta:
        model = CallAttempt
        fields = (
            "id",
            "sid",
            "to",
            "caller_id",
            "status",
            "outcome",
            "answered_by",
            "duration_seconds",
            "error_code",
            "created_at",
            "ended_at",
        )
        read_only_fields = fields


class CallCreateSerializer(serializers.Serializer):
    to = serializers.CharField(
        max_length=32,
        help_text="The number to call: E.164, or national in the organization's default region.",
    )
    caller_id = serializers.CharField(
        max_length=32,
        required=False,
        default="",
        allow_blank=True,
        help_text="One of the organization's active voice caller IDs; omitted, one is chosen "
        "as for campaigns (same area code, then health, then least recently used).",
    )
    twiml_url = serializers.URLField(
        max_length=2000,
        required=False,
        default="",
        allow_blank=True,
        help_text="An http(s) URL the carrier fetches the call's TwiML from when it connects.",
    )
    twiml = serializers.CharField(
        max_length=4000,
        required=False,
        default="",
        allow_blank=True,
        help_text="Inline TwiML, instead of a URL.",
    )
    calling_policy = serializers.ChoiceField(
        choices=Campaign.CallingPolicy.choices, default=Campaign.CallingPolicy.FEDERAL
    )
    timezone = serializers.CharField(
        source="recipient_timezone",
        max_length=64,
        required=False,
        default="",
        allow_blank=True,
        help_text="The recipient's IANA time zone, if known: it is added to the zones the "
        "number may ring in, and every one of them must be inside the calling window.",
    )
    idempotency_key = serializers.CharField(
        max_length=255,
        required=False,
        default="",
        help_text="Or the Idempotency-Key header: a request retried with the same key gets "
        "the first call back and places none.",
    )

    def _e164(self, value: str) -> str:
        number = normalize_one(value, region=self.context["organization"].default_region)
        if number is None:
            raise serializers.ValidationError("Not a valid phone number.")
        return number.e164

    def validate_to(self, value: str) -> str:
        return self._e164(value)

    def validate_caller_id(self, value: str) -> str:
        return self._e164(value) if value else ""

    def validate_twiml_url(self, value: str) -> str:
        if not value:
            return value
        parts = urlsplit(value)
        if parts.scheme not in ("http", "https"):
            raise serializers.ValidationError("Must be an http or https URL.")
        if "_" in (parts.hostname or ""):
            raise serializers.ValidationError("The carrier refuses host names with underscores.")
        return value

    def validate_timezone(self, value: str) -> str:
        if value and not windows.is_zone(value):
            raise serializers.ValidationError("Not an IANA time zone.")
        return value

    def validate(self, attrs):
        if attrs["twiml_url"] and attrs["twiml"]:
            raise serializers.ValidationError({"twiml": ["Give twiml_url or twiml, not both."]})
        if not (attrs["twiml_url"] or attrs["twiml"]):
            raise serializers.ValidationError({"twiml_url": ["Give twiml_url or twiml."]})
        header = self.context.get("idempotency_key_header", "")
        if len(header) > 255:
            raise serializers.ValidationError(
                {"idempotency_key": ["The Idempotency-Key header is over 255 characters."]}
            )
        if header and attrs["idempotency_key"] and header != attrs["idempotency_key"]:
            raise serializers.ValidationError(
                {"idempotency_key": ["Differs from the Idempotency-Key header."]}
            )
        attrs["idempotency_key"] = attrs["idempotency_key"] or header
        return attrs


class CallErrorSerializer(serializers.Serializer):
    """A call refused (422, 429) or not placed by the carrier (422, 502): see `code`."""

    detail = serializers.CharField()
    code = serializers.CharField()
    next_allowed_at = serializers.DateTimeField(
        required=False, allow_null=True, help_text="outside_calling_window: when it opens."
    )
    reason = serializers.CharField(required=False, help_text="outside_calling_window: why.")
    carrier_code = serializers.IntegerField(
        required=False, allow_null=True, help_text="carrier_*: the carrier's error code."
    )
    call = CallSerializer(required=False, help_text="carrier_*: the call, finished `rejected`.")


class SmsStatsSerializer(serializers.Serializer):
    """Where an SMS campaign stands (campaigns.selectors.blast_progress_get)."""

    prospects = serializers.DictField(child=serializers.IntegerField(), help_text="By status.")
    texts = serializers.DictField(child=serializers.IntegerField(), help_text="By status.")
    dead_letters = serializers.DictField(
        child=serializers.IntegerField(), help_text="Failed texts by failure reason."
    )
    submitted = serializers.IntegerField(help_text="Texts the carrier took.")
    segments = serializers.IntegerField(help_text="Their segments: the credit they used.")
    first_submitted_at = serializers.DateTimeField(allow_null=True)
    last_submitted_at = serializers.DateTimeField(allow_null=True)
    clicks = serializers.DictField(
        child=serializers.IntegerField(),
        help_text="Short-link clicks: clicks, links_clicked, messages_clicked.",
    )
