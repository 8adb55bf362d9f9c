from django.urls import path
from rest_framework.routers import SimpleRouter

from orgs.api.views import (
    AlertSecretRotateView,
    AlertSettingsView,
    AlertViewSet,
    BlockedWordsView,
    CreditsView,
)

router = SimpleRouter(trailing_slash="/?")
router.register("alerts", AlertViewSet, basename="alert")


def _with_and_without_slash(route: str, view, name: str) -> list:
    """Like the routers (`/?`): the slash form is documented, the other left out of the schema."""
    return [
        path(f"{route}/", view.as_view(), name=name),
        path(route, view.as_view(schema=None)),
    ]


urlpatterns = [
    *_with_and_without_slash("alerts/settings", AlertSettingsView, "alert-settings"),
    *_with_and_without_slash(
        "alerts/settings/rotate-secret", AlertSecretRotateView, "alert-settings-rotate-secret"
    ),
    *_with_and_without_slash("credits", CreditsView, "credits"),
    *_with_and_without_slash("blocked-words", BlockedWordsView, "blocked-words"),
    *router.urls,
]
