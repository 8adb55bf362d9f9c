import django_filters

from orgs.models import AlertDelivery


def caller_org_rows(model):
    """A ModelChoiceFilter's queryset: only the caller's organization's rows of `model` are
    valid choices, so another org's id is "not a valid choice", exactly like an id that does
    not exist."""

    def queryset(request):
        auth = getattr(request, "auth", None)
        if auth is None:
            return model.objects.none()
        return model.objects.filter(organization=auth.organization)

    return queryset


class AlertFilter(django_filters.FilterSet):
    created_after = django_filters.IsoDateTimeFilter(field_name="created_at", lookup_expr="gte")
    created_before = django_filters.IsoDateTimeFilter(field_name="created_at", lookup_expr="lt")

    class Meta:
        model = AlertDelivery
        fields = {"status": ["exact", "in"], "event": ["exact", "in"]}
