from django.urls import path
from rest_framework.routers import SimpleRouter

from campaigns.api.views import CallViewSet, CampaignViewSet, ConcurrencySettingsView

router = SimpleRouter(trailing_slash="/?")
router.register("campaigns", CampaignViewSet, basename="campaign")
router.register("calls", CallViewSet, basename="call")

urlpatterns = [
    path(
        "campaign/concurrency-settings",
        ConcurrencySettingsView.as_view(),
        name="concurrency-settings",
    ),
    # The same view with a trailing slash, left out of the schema (one documented path).
    path("campaign/concurrency-settings/", ConcurrencySettingsView.as_view(schema=None)),
    *router.urls,
]
