from rest_framework import serializers

from orgs.services import CREDITS_ADD_MAX


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
