from rest_framework.routers import SimpleRouter

from campaigns.sms.api.views import DeadLetterViewSet, MessageViewSet

router = SimpleRouter(trailing_slash="/?")
router.register("messages", MessageViewSet, basename="message")
router.register("dead-letters", DeadLetterViewSet, basename="dead-letter")
urlpatterns = router.urls
