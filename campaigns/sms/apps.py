from django.apps import AppConfig


class SmsConfig(AppConfig):
    """The SMS engine: blast and drip, the executor, rates, guards, delivery reports."""

    name = "campaigns.sms"
    label = "campaigns_sms"
    verbose_name = "SMS engine"

    def ready(self) -> None:
        from campaigns.channels import start_handler_register
        from campaigns.models import Campaign
        from campaigns.sms import tasks  # noqa: F401  (its tasks are sent by name)
        from campaigns.sms.delivery import texts_report
        from campaigns.sms.tick import sms_campaign_start
        from messaging.handlers import text_reports_handler_register

        start_handler_register(channel=Campaign.Channel.SMS, handler=sms_campaign_start)
        text_reports_handler_register(texts_report)
