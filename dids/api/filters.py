import django_filters

from dids.models import Did


class DidFilter(django_filters.FilterSet):
    class Meta:
        model = Did
        fields = {
            "state": ["exact", "in"],
            "area_code": ["exact"],
            "sms_enabled": ["exact"],
            "voice_enabled": ["exact"],
        }
