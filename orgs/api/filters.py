import django_filters

from orgs.models import AlertDelivery


class AlertFilter(django_filters.FilterSet):
    created_after = django_filters.IsoDateTimeFilter(field_name="created_at", lookup_expr="gte")
    created_before = django_filters.IsoDateTimeFilter(field_name="created_at", lookup_expr="lt")

    class Meta:
        model = AlertDelivery
        fields = {"status": ["exact", "in"], "event": ["exact", "in"]}
