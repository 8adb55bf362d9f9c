import django_filters

from campaigns.models import CallAttempt, Campaign
from orgs.api.filters import InstantFilter, caller_org_rows

caller_campaigns = caller_org_rows(Campaign)


class CampaignFilter(django_filters.FilterSet):
    class Meta:
        model = Campaign
        fields = {"status": ["exact", "in"], "channel": ["exact"], "name": ["exact", "icontains"]}


class CallFilter(django_filters.FilterSet):
    outcome = django_filters.ChoiceFilter(choices=CallAttempt.Outcome.choices[1:])
    to = django_filters.CharFilter(help_text="The number called, in E.164.")
    caller_id = django_filters.CharFilter(field_name="from_number", help_text="In E.164.")
    created_after = InstantFilter(field_name="created_at", lookup_expr="gte")
    created_before = InstantFilter(field_name="created_at", lookup_expr="lt")

    class Meta:
        model = CallAttempt
        fields = {"status": ["exact", "in"], "outcome": ["exact", "in"]}
