import os

from django.core.wsgi import get_wsgi_application

os.environ.setdefault("DJANGO_SETTINGS_MODULE", "config.settings")
django_application = get_wsgi_application()

from messaging.webhooks import WebhookIngress  # noqa: E402  (needs the apps loaded)

application = WebhookIngress(django_application)
