from rest_framework.routers import SimpleRouter

from dids.api.views import DidHealthViewSet, DidViewSet

router = SimpleRouter(trailing_slash="/?")
# Before `dids`, whose detail route would take "health" for an id.
router.register("dids/health", DidHealthViewSet, basename="did-health")
router.register("dids", DidViewSet, basename="did")
urlpatterns = router.urls
