import django_filters

from campaigns.api.filters import caller_campaigns
from messaging.models import Message
from orgs.api.filters import InstantFilter


class DeadLetterFilter(django_filters.FilterSet):
    campaign = django_filters.ModelChoiceFilter(queryset=caller_campaigns)

    class Meta:
        model = Message
        fields = {"failure_reason": ["exact", "in"]}


class MessageFilter(DeadLetterFilter):
    to = django_filters.CharFilter(help_text="The number texted, in E.164.")
    created_after = InstantFilter(field_name="created_at", lookup_expr="gte")
    created_before = InstantFilter(field_name="created_at", lookup_expr="lt")

    class Meta:
        model = Message
        fields = {"status": ["exact", "in"], "failure_reason": ["exact", "in"]}
