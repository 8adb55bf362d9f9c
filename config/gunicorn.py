"""The web tier's gunicorn settings: `gunicorn -c python:config.gunicorn config.asgi:application`.

uvicorn workers (uvloop, httptools): the carrier's callbacks are taken on the event loop
(`messaging.ingress`) and Django runs in a pool of WEB_THREADS threads per worker beside
them; WEB_CONCURRENCY (gunicorn's own variable) sets the worker processes.
"""

import os

workers = int(os.environ.get("WEB_CONCURRENCY", "2"))
worker_class = "uvicorn_worker.UvicornWorker"
# Longer than the carrier's idle keep-alive (aiohttp keeps one 15 s): the client closes an idle
# connection first, so no callback is sent on a connection the server is closing (a 2 s
# keep-alive lost one report in 40,000 in the SMS bench).
keepalive = 75
