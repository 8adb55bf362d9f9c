import django_filters

from campaigns.models import Campaign


class CampaignFilter(django_filters.FilterSet):
    class Meta:
        model = Campaign
        fields = {"status": ["exact", "in"], "channel": ["exact"], "name": ["exact", "icontains"]}
