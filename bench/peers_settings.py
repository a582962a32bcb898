"""Settings of ``make bench-peers`` (bench/peers.py): bench.settings on SQLite, as the peer set-up runs.

- Persistent database connections (``CONN_MAX_AGE=None``), as the ``wagtail-pconn`` peer; the
  production settings keep them 60 s with health checks (``immunotherapy/settings_production.py``).
- healthlib's defaults for what a page shows (no ad slots: the demo site's placeholders are not part
  of the peers' page), and the "at least one reference" checklist rule off: the peers' article has
  none, and the real workflow publishes it.
- ``BENCH_PAGE_CACHE=off``: healthlib's page cache disabled through its own setting
  (``HEALTHLIB["CACHE_ALIAS"]`` names a DummyCache), every request a miss; the rest of the stack,
  the fast path included, stays as deployed.
"""

import os

from bench.settings import *  # noqa: F403
from bench.settings import CACHES, DATABASES
from bench.settings import HEALTHLIB as SITE_HEALTHLIB

DATABASES["default"]["CONN_MAX_AGE"] = None
HEALTHLIB = {**SITE_HEALTHLIB, "AD_SLOTS": [], "CHECKLIST": {"references": "off"}}

if os.environ.get("BENCH_PAGE_CACHE") == "off":
    CACHES = {**CACHES, "page-cache-off": {"BACKEND": "django.core.cache.backends.dummy.DummyCache"}}
    HEALTHLIB["CACHE_ALIAS"] = "page-cache-off"
