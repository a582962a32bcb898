"""WSGI entry point of the benchmarked site: the demo site with bench.settings and the reader fast path."""

import os

from django.core.wsgi import get_wsgi_application

os.environ.setdefault("DJANGO_SETTINGS_MODULE", "bench.settings")

from healthlib.cache import CachedPagesWSGI  # noqa: E402  (needs the settings module)

application = get_wsgi_application()
if os.environ.get("BENCH_FAST_PATH") != "off":
    application = CachedPagesWSGI(application)
