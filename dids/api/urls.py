from rest_framework.routers import SimpleRouter

from dids.api.views import DidViewSet

router = SimpleRouter(trailing_slash="/?")
router.register("dids", DidViewSet, basename="did")
urlpatterns = router.urls
