from django.apps import AppConfig


class VoiceConfig(AppConfig):
    """The voice engine: dispatch tick, attempts, outcomes, voicemail drops, one-off calls."""

    name = "campaigns.voice"
    label = "campaigns_voice"
    verbose_name = "Voice engine"

    def ready(self) -> None:
        from campaigns.voice import tasks  # noqa: F401  (its tasks are sent by name)
        from campaigns.voice.outcomes import calls_applied
        from messaging.handlers import calls_applied_handler_register

        calls_applied_handler_register(calls_applied)
