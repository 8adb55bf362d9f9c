from rest_framework.routers import SimpleRouter

from dids.api.views import DidHealthViewSet, DidViewSet, SenderPoolViewSet

router = SimpleRouter(trailing_slash="/?")
# Before `dids`, whose detail route would take "health" for an id.
router.register("dids/health", DidHealthViewSet, basename="did-health")
router.register("dids", DidViewSet, basename="did")
router.register("sender-pools", SenderPoolViewSet, basename="sender-pool")
urlpatterns = router.urls
