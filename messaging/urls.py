from django.urls import path

from messaging import webhooks

urlpatterns = [
    path("voice/status/", webhooks.voice_status, name="twilio-voice-status"),
    path("voice/amd/", webhooks.voice_amd, name="twilio-voice-amd"),
    path("sms/status/", webhooks.sms_status, name="twilio-sms-status"),
    path("sms/inbound/", webhooks.sms_inbound, name="twilio-sms-inbound"),
]
