from rest_framework.routers import SimpleRouter

from prospects.api.views import ProspectViewSet, SuppressionViewSet

router = SimpleRouter(trailing_slash="/?")
router.register("prospects", ProspectViewSet, basename="prospect")
router.register("suppressions", SuppressionViewSet, basename="suppression")
urlpatterns = router.urls
