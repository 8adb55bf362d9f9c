from django.urls import path

from orgs.api.views import BlockedWordsView, CreditsView


def _with_and_without_slash(route: str, view, name: str) -> list:
    """Like the routers (`/?`): the slash form is documented, the other left out of the schema."""
    return [
        path(f"{route}/", view.as_view(), name=name),
        path(route, view.as_view(schema=None)),
    ]


urlpatterns = [
    *_with_and_without_slash("credits", CreditsView, "credits"),
    *_with_and_without_slash("blocked-words", BlockedWordsView, "blocked-words"),
]
