"""The web tier as gunicorn serves it (`config/gunicorn.py`): the carrier's webhooks on the
event loop (`messaging.ingress`), Django's WSGI application in a thread pool beside them."""

import os

from a2wsgi import WSGIMiddleware

from config.wsgi import django_application
from messaging.ingress import WebhookIngress  # after config.wsgi: needs the apps loaded

application = WebhookIngress(
    WSGIMiddleware(django_application, workers=int(os.environ.get("WEB_THREADS", "8")))
)
