from rest_framework import serializers

from prospects.models import Prospect, Suppression
from prospects.phones import normalize_one


class ProspectSerializer(serializers.ModelSerializer):
    phone_numbers = serializers.SerializerMethodField()

    class Meta:
        model = Prospect
        fields = (
            "id",
            "campaign",
            "first_name",
            "last_name",
            "email",
            "attributes",
            "timezone",
            "time_zones",
            "phone_numbers",
            "status",
            "priority",
            "attempt_count",
            "next_attempt_at",
            "last_outcome",
            "created_at",
            "updated_at",
        )
        read_only_fields = fields

    def get_phone_numbers(self, obj) -> list[str]:
        return [phone.e164 for phone in obj.phones.all()]


class SuppressionSerializer(serializers.ModelSerializer):
    phone_number = serializers.CharField(write_only=True, help_text="Any usual format.")

    class Meta:
        model = Suppression
        fields = ("id", "phone_number", "e164", "reason", "source", "created_at")
        read_only_fields = ("e164", "created_at")

    def validate(self, attrs):
        org = self.context["organization"]
        raw = attrs.pop("phone_number", None)
        if raw is not None:
            number = normalize_one(raw, region=org.default_region)
            if number is None:
                raise serializers.ValidationError({"phone_number": ["Not a valid phone number."]})
            attrs["e164"] = number.e164
            clash = Suppression.objects.for_org(org).filter(e164=number.e164)
            if self.instance is not None:
                clash = clash.exclude(pk=self.instance.pk)
            if clash.exists():
                raise serializers.ValidationError(
                    {"phone_number": [f"{number.e164} is already suppressed."]}
                )
        elif self.instance is None:
            raise serializers.ValidationError({"phone_number": ["This field is required."]})
        return attrs


class ImportResultSerializer(serializers.Serializer):
    imported = serializers.IntegerField()
    suppressed = serializers.IntegerField(required=False)
    duplicates = serializers.IntegerField()
    error_count = serializers.IntegerField()
    errors = serializers.ListField(child=serializers.DictField())


class ImportFileSerializer(serializers.Serializer):
    file = serializers.FileField()
