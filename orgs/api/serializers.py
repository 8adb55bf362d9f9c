from urllib.parse import urlsplit

from rest_framework import serializers

from orgs.models import AlertDelivery
from orgs.services import CREDITS_ADD_MAX


class AlertSerializer(serializers.ModelSerializer):
    """An alert and its delivery: `payload` is the JSON object POSTed to the webhook."""

    class Meta:
        model = AlertDelivery
        fields = (
            "id",
            "event",
            "status",
            "attempts",
            "next_attempt_at",
            "last_error",
            "url",
            "payload",
            "created_at",
            "delivered_at",
        )
        read_only_fields = fields


class AlertSettingsSerializer(serializers.Serializer):
    alert_webhook_url = serializers.URLField(
        max_length=500,
        allow_blank=True,
        help_text="Where alerts are POSTed (http or https); empty turns alerts off.",
    )

    def validate_alert_webhook_url(self, value: str) -> str:
        if value and urlsplit(value).scheme not in ("http", "https"):
            raise serializers.ValidationError("Must be an http or https URL.")
        return value


class AlertSecretSerializer(serializers.Serializer):
    alert_secret = serializers.CharField(
        help_text="The new signing secret, shown this once: X-Outbound-Signature is "
        "sha256=<hex HMAC-SHA256 of the body keyed with it>."
    )


class CreditsSerializer(serializers.Serializer):
    sms_credits = serializers.IntegerField(
        help_text="Message segments the organization may still send."
    )


class CreditsAddSerializer(serializers.Serializer):
    add = serializers.IntegerField(
        min_value=1, max_value=CREDITS_ADD_MAX, help_text="Segments to add to the credit."
    )


class BlockedWordsSerializer(serializers.Serializer):
    blocked_words = serializers.ListField(
        child=serializers.CharField(allow_blank=True, trim_whitespace=False),
        help_text="Words or phrases (case-insensitive, whole words) no campaign text may "
        "contain; trimmed, repeats ignoring case dropped; each 1-50 characters, at most 500.",
    )
