from django.contrib import admin
from django.urls import include, path
from drf_spectacular.views import SpectacularAPIView, SpectacularSwaggerView

from config.health import health
from messaging.views import link_redirect

api_v1 = [
    path("", include("campaigns.api.urls")),
    path("", include("prospects.api.urls")),
    path("", include("dids.api.urls")),
    path("", include("campaigns.sms.api.urls")),
    path("", include("orgs.api.urls")),
]

urlpatterns = [
    path("admin/", admin.site.urls),
    path("health/", health, name="health"),
    path("l/<slug:code>", link_redirect, name="link-redirect"),
    path("webhooks/twilio/", include("messaging.urls")),
    path("api/v1/", include(api_v1)),
    path(
        "api/schema/",
        SpectacularAPIView.as_view(authentication_classes=[], permission_classes=[]),
        name="schema",
    ),
    path(
        "api/docs/",
        SpectacularSwaggerView.as_view(
            url_name="schema", authentication_classes=[], permission_classes=[]
        ),
        name="swagger-ui",
    ),
]

# Under /api/ an unrouted path and a request Django refuses (a body too large) get JSON errors
# like every other API error.
handler400 = "orgs.api.errors.bad_request"
handler404 = "orgs.api.errors.not_found"
