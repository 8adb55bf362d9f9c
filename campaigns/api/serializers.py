from rest_framework import serializers

from campaigns.models import Campaign
from orgs.models import CONCURRENCY_LIMIT_MAX, CONCURRENCY_LIMIT_MIN


class CampaignSerializer(serializers.ModelSerializer):
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
            "priority",
            "created_at",
            "updated_at",
            "started_at",
            "finished_at",
        )
        read_only_fields = (
            "status",
            "pause_reason",
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


class TransitionErrorSerializer(serializers.Serializer):
    """409 from start/pause/resume/cancel: the transition its current status does not allow."""

    detail = serializers.CharField()
    code = serializers.CharField()
    status = serializers.ChoiceField(choices=Campaign.Status.choices)


class ConcurrencySettingsSerializer(serializers.Serializer):
    concurrency_limit = serializers.IntegerField(
        min_value=CONCURRENCY_LIMIT_MIN, max_value=CONCURRENCY_LIMIT_MAX
    )


class ImportResultSerializer(serializers.Serializer):
    imported = serializers.IntegerField()
    suppressed = serializers.IntegerField(required=False)
    duplicates = serializers.IntegerField()
    error_count = serializers.IntegerField()
    errors = serializers.ListField(child=serializers.DictField())


class ImportFileSerializer(serializers.Serializer):
    file = serializers.FileField()
