from urllib.parse import urlsplit

from rest_framework import serializers

from orgs.models import AlertDelivery


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
