from rest_framework import serializers

from dids.models import Did
from dids.services import did_number_fields
from prospects.phones import normalize_one


class DidSerializer(serializers.ModelSerializer):
    phone_number = serializers.CharField(write_only=True, required=False)

    class Meta:
        model = Did
        fields = (
            "id",
            "phone_number",
            "e164",
            "area_code",
            "region",
            "friendly_name",
            "state",
            "health_score",
            "voice_enabled",
            "sms_enabled",
            "last_call_at",
            "last_sms_at",
            "cooldown_until",
            "warming_until",
            "created_at",
            "updated_at",
        )
        read_only_fields = (
            "e164",
            "area_code",
            "region",
            "health_score",
            "last_call_at",
            "last_sms_at",
            "cooldown_until",
            "created_at",
            "updated_at",
        )

    def validate(self, attrs):
        org = self.context["organization"]
        raw = attrs.pop("phone_number", None)
        if raw is None and self.instance is None:
            raise serializers.ValidationError({"phone_number": ["This field is required."]})
        if raw is not None:
            number = normalize_one(raw, region=org.default_region)
            if number is None:
                raise serializers.ValidationError({"phone_number": ["Not a valid phone number."]})
            clash = Did.objects.for_org(org).filter(e164=number.e164)
            if self.instance is not None:
                clash = clash.exclude(pk=self.instance.pk)
            if clash.exists():
                raise serializers.ValidationError(
                    {"phone_number": [f"{number.e164} is already a caller ID of this org."]}
                )
            attrs.update(did_number_fields(number.e164))
        return attrs


# --- Health (output only) ------------------------------------------------------------------


class DidHealthComponentsSerializer(serializers.Serializer):
    """The score's parts, 0..1 each, over the calls in its window."""

    answer_rate = serializers.FloatField(help_text="Answered / calls.")
    duration = serializers.FloatField(help_text="Mean seconds per call / 60, capped at 1.")
    engagement = serializers.FloatField(help_text="Answered by a person / answered.")
    no_answer_trend = serializers.FloatField(help_text="1 - no-answer rate.")
    spam_clean = serializers.FloatField(help_text="1 - rate of the carrier's spam signal.")


class DidHealthSerializer(serializers.Serializer):
    id = serializers.IntegerField()
    e164 = serializers.CharField()
    state = serializers.ChoiceField(choices=Did.State.choices)
    warning = serializers.BooleanField(help_text="Active, but its score is below the warning line.")
    score = serializers.FloatField(help_text="0..1, the weighted components.")
    components = DidHealthComponentsSerializer()
    health_calls = serializers.IntegerField(help_text="Calls in the score's window.")
    cooldown_until = serializers.DateTimeField(allow_null=True)
    ramp_calls = serializers.IntegerField(
        allow_null=True,
        help_text="Calls since it came back into rotation; null when it is not ramping.",
    )
    calls_today = serializers.IntegerField(help_text="Calls placed today (UTC).")


class DidTrafficShareSerializer(serializers.Serializer):
    id = serializers.IntegerField()
    e164 = serializers.CharField()
    calls = serializers.IntegerField()
    share = serializers.FloatField(help_text="Its calls / all the pool's campaign calls.")


class DidStateCountsSerializer(serializers.Serializer):
    warming = serializers.IntegerField()
    active = serializers.IntegerField()
    cooling = serializers.IntegerField()
    burned = serializers.IntegerField()
    retired = serializers.IntegerField()


class DidPoolReportSerializer(serializers.Serializer):
    counts = DidStateCountsSerializer(help_text="Caller IDs by state.")
    active_with_warning = serializers.IntegerField()
    traffic = DidTrafficShareSerializer(
        many=True, help_text="Campaign calls of the last 24 hours by caller ID, largest first."
    )
    burned_last_7_days = serializers.IntegerField()
    burn_rate_per_day = serializers.FloatField(help_text="Burned in the last 7 days / 7.")
    runs_out_at = serializers.DateTimeField(
        allow_null=True,
        help_text="When no active caller ID is left at the burn rate; null when none burn.",
    )


class DidTransitionErrorSerializer(serializers.Serializer):
    """409 from release: the caller ID is not cooling."""

    detail = serializers.CharField()
    code = serializers.CharField()
    state = serializers.ChoiceField(choices=Did.State.choices)
