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
