import django_filters

from campaigns.api.filters import caller_campaigns
from prospects.models import Prospect, Suppression


class ProspectFilter(django_filters.FilterSet):
    campaign = django_filters.ModelChoiceFilter(queryset=caller_campaigns)

    class Meta:
        model = Prospect
        fields = {"campaign": ["exact"], "status": ["exact", "in"]}


class SuppressionFilter(django_filters.FilterSet):
    e164 = django_filters.CharFilter()

    class Meta:
        model = Suppression
        fields = {"reason": ["exact"]}
