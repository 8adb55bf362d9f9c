import django_filters

from campaigns.models import Campaign
from prospects.models import Prospect, Suppression


def _caller_campaigns(request):
    """Only the caller's campaigns are valid choices: another org's id is "not a valid choice",
    exactly like an id that does not exist."""
    auth = getattr(request, "auth", None)
    if auth is None:
        return Campaign.objects.none()
    return Campaign.objects.filter(organization=auth.organization)


class ProspectFilter(django_filters.FilterSet):
    campaign = django_filters.ModelChoiceFilter(queryset=_caller_campaigns)

    class Meta:
        model = Prospect
        fields = {"campaign": ["exact"], "status": ["exact", "in"]}


class SuppressionFilter(django_filters.FilterSet):
    e164 = django_filters.CharFilter()

    class Meta:
        model = Suppression
        fields = {"reason": ["exact"]}
