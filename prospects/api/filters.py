import django_filters

from orgs.api.filters import caller_org_rows
from prospects.models import Prospect, Suppression


class ProspectFilter(django_filters.FilterSet):
    # The caller's campaigns (the model the relation leads to: prospects imports no app above).
    campaign = django_filters.ModelChoiceFilter(
        queryset=caller_org_rows(Prospect._meta.get_field("campaign").related_model)
    )

    class Meta:
        model = Prospect
        fields = {"campaign": ["exact"], "status": ["exact", "in"]}


class SuppressionFilter(django_filters.FilterSet):
    e164 = django_filters.CharFilter()

    class Meta:
        model = Suppression
        fields = {"reason": ["exact"]}
