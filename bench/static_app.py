"""The baseline: the article page's bytes returned from memory by a trivial WSGI app.

``BENCH_STATIC_FILE`` names a file holding the exact bytes of the article page; it is read once at
import. Served through the same gunicorn with the same workers, this is the ceiling the cached
article page is measured against.
"""

import os

with open(os.environ["BENCH_STATIC_FILE"], "rb") as f:
    BODY = f.read()
HEADERS = [("Content-Type", "text/html; charset=utf-8"), ("Content-Length", str(len(BODY)))]


def application(environ, start_response):
    start_response("200 OK", HEADERS)
    return [BODY]
