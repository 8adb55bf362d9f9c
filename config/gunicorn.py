"""The web tier's gunicorn settings: `gunicorn -c python:config.gunicorn config.wsgi:application`.

Threads, so a worker takes many of the carrier's callbacks at once while each waits on its
inbox insert; WEB_CONCURRENCY (gunicorn's own variable) sets the worker processes.
"""

import os

workers = int(os.environ.get("WEB_CONCURRENCY", "2"))
worker_class = "gthread"
threads = int(os.environ.get("WEB_THREADS", "8"))
# Longer than the carrier's idle keep-alive (aiohttp keeps one 15 s): the client closes an idle
# connection first, so no callback is sent on a connection the server is closing (gunicorn's
# 2 s default lost one report in 40,000 in the SMS bench).
keepalive = 75
