from rest_framework import serializers

from dids.models import Did, SenderPool
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
            "sms_mps",
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


# --- Sender pools ------------------------------------------------------------------------------


class SenderPoolSerializer(serializers.ModelSerializer):
    dids = serializers.PrimaryKeyRelatedField(
        many=True, read_only=True, help_text="Its caller IDs (ids of SMS-enabled DIDs)."
    )

    class Meta:
        model = SenderPool
        fields = ("id", "name", "rate_per_minute", "dids", "created_at")
        read_only_fields = fields


class SenderPoolInputSerializer(serializers.Serializer):
    name = serializers.CharField(max_length=100)
    rate_per_minute = serializers.IntegerField(
        min_value=1,
        max_value=2_147_483_647,
        required=False,
        help_text="Messages per minute across every worker and campaign using this pool "
        "(17000 when a pool is created without it).",
    )
    dids = serializers.ListField(
        child=serializers.IntegerField(min_value=1),
        required=False,
        max_length=10_000,
        help_text="Ids of the organization's SMS-enabled caller IDs; replaces the pool's.",
    )


class SenderPoolInUseSerializer(serializers.Serializer):
    """409 from delete: campaigns still text from the pool."""

    detail = serializers.CharField()
    code = serializers.CharField()
    campaigns = serializers.ListField(child=serializers.IntegerField())


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
