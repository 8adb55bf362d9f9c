from django.urls import path
from rest_framework.routers import SimpleRouter

from orgs.api.views import AlertSecretRotateView, AlertSettingsView, AlertViewSet

router = SimpleRouter(trailing_slash="/?")
router.register("alerts", AlertViewSet, basename="alert")

urlpatterns = [
    path("alerts/settings/", AlertSettingsView.as_view(), name="alert-settings"),
    path(
        "alerts/settings/rotate-secret/",
        AlertSecretRotateView.as_view(),
        name="alert-settings-rotate-secret",
    ),
    # The same views without the trailing slash, left out of the schema (one documented path).
    path("alerts/settings", AlertSettingsView.as_view(schema=None)),
    path("alerts/settings/rotate-secret", AlertSecretRotateView.as_view(schema=None)),
    *router.urls,
]
