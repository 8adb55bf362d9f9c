from rest_framework import serializers

from campaigns.models import Campaign
from messaging.models import Message
from orgs.api.fields import OrgPrimaryKeyRelatedField


class MessageSerializer(serializers.ModelSerializer):
    """A text: `submitted` and `delivered` are null until the carrier says yes or no."""

    variant = serializers.CharField(
        source="variant.name", read_only=True, allow_null=True, help_text="The variant's name."
    )

    class Meta:
        model = Message
        fields = (
            "id",
            "to",
            "from_number",
            "campaign",
            "prospect",
            "variant",
            "body",
            "segments",
            "encoding",
            "status",
            "submitted",
            "delivered",
            "sid",
            "carrier_status",
            "error_code",
            "failure_reason",
            "failure_detail",
            "send_at",
            "created_at",
            "submitted_at",
            "delivered_at",
        )
        read_only_fields = fields


class DeadLetterCampaignCountSerializer(serializers.Serializer):
    campaign = serializers.IntegerField(allow_null=True)
    failure_reason = serializers.ChoiceField(choices=Message.FailureReason.choices[1:])
    count = serializers.IntegerField()


class DeadLetterSummarySerializer(serializers.Serializer):
    total = serializers.IntegerField()
    retryable = serializers.IntegerField(help_text="Of them, those with a retryable reason.")
    by_reason = serializers.DictField(
        child=serializers.IntegerField(), help_text="Every failure reason, 0 where none."
    )
    by_campaign = DeadLetterCampaignCountSerializer(many=True)


class DeadLetterSummaryQuerySerializer(serializers.Serializer):
    campaign = OrgPrimaryKeyRelatedField(
        queryset=Campaign.objects.all(), required=False, help_text="Only this campaign's."
    )


class DeadLetterRetrySerializer(serializers.Serializer):
    ids = serializers.ListField(
        child=serializers.IntegerField(min_value=1),
        required=False,
        min_length=1,
        max_length=10_000,
        help_text="The texts to send again; those that cannot be are skipped.",
    )
    failure_reason = serializers.ChoiceField(
        choices=Message.FailureReason.choices[1:],
        required=False,
        help_text="Or every dead letter with this reason (UNDELIVERED is never sent again).",
    )
    campaign = OrgPrimaryKeyRelatedField(
        queryset=Campaign.objects.all(),
        required=False,
        help_text="Or every retryable dead letter of this campaign (with failure_reason: those).",
    )

    def validate(self, attrs):
        if "ids" in attrs and len(attrs) > 1:
            raise serializers.ValidationError(
                {"ids": ["Give ids, or a failure_reason and/or a campaign, not both."]}
            )
        if not attrs:
            raise serializers.ValidationError(
                {"ids": ["Give ids, or a failure_reason and/or a campaign."]}
            )
        return attrs


class DeadLetterRetryResultSerializer(serializers.Serializer):
    requeued = serializers.IntegerField(help_text="Queued again, due now.")
    skipped = serializers.IntegerField(
        help_text="Not queued: unknown ids, not failed, UNDELIVERED (the carrier took them) "
        "or of a cancelled campaign."
    )
