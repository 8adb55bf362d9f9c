import django_filters

from dids.models import Did, SenderPool


class DidFilter(django_filters.FilterSet):
    class Meta:
        model = Did
        fields = {
            "state": ["exact", "in"],
            "area_code": ["exact"],
            "sms_enabled": ["exact"],
            "voice_enabled": ["exact"],
        }


class SenderPoolFilter(django_filters.FilterSet):
    class Meta:
        model = SenderPool
        fields = {"name": ["exact", "icontains"]}
