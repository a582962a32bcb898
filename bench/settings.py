"""Settings for the benchmarks: the demo site with a chosen database and page cache, DEBUG off.

Environment:
- ``BENCH_DB``: ``sqlite`` (file at ``BENCH_SQLITE_PATH``) or ``postgres`` (PGHOST/PGPORT/PGUSER/PGDATABASE,
  as set by ``tests/with_postgres.sh``);
- ``BENCH_CACHE_DIR``: the shared file-based page cache (as the demo site uses); ``BENCH_CACHE=dummy``
  turns the page cache off, to measure uncached pages.
"""

import os

from immunotherapy.settings import *  # noqa: F403
from immunotherapy.settings import MIDDLEWARE

DEBUG = False
ALLOWED_HOSTS = ["127.0.0.1", "localhost", "testserver"]
PASSWORD_HASHERS = ["django.contrib.auth.hashers.MD5PasswordHasher"]
EMAIL_BACKEND = "django.core.mail.backends.locmem.EmailBackend"
LOGGING = {"version": 1, "disable_existing_loggers": False, "root": {"level": "WARNING"}}

if os.environ.get("BENCH_DB", "sqlite") == "postgres":
    DATABASES = {
        "default": {
            "ENGINE": "django.db.backends.postgresql",
            "NAME": os.environ.get("PGDATABASE", "postgres"),
            "USER": os.environ.get("PGUSER", "postgres"),
            "HOST": os.environ["PGHOST"],
            "PORT": os.environ.get("PGPORT", "5432"),
            "CONN_MAX_AGE": None,
            # As the README recommends for production: server-side parameters and prepared statements
            # (the planner, not the execution, is most of a stored page's two queries).
            "OPTIONS": {"server_side_binding": True, "prepare_threshold": 5},
        }
    }
else:
    DATABASES = {
        "default": {
            "ENGINE": "django.db.backends.sqlite3",
            "NAME": os.environ.get("BENCH_SQLITE_PATH", "var/bench.sqlite3"),
            "OPTIONS": {"init_command": "PRAGMA journal_mode=WAL; PRAGMA synchronous=NORMAL;"},
        }
    }

if os.environ.get("BENCH_CACHE") == "dummy":
    CACHES = {"default": {"BACKEND": "django.core.cache.backends.dummy.DummyCache"}}
else:
    CACHES = {
        "default": {
            "BACKEND": "django.core.cache.backends.filebased.FileBasedCache",
            "LOCATION": os.environ.get("BENCH_CACHE_DIR", "var/bench-cache"),
            "OPTIONS": {"MAX_ENTRIES": 100_000},
        }
    }

# The reader fast path (healthlib.cache.PageCacheMiddleware) goes first, as in the demo site.
FAST_PATH = "healthlib.cache.PageCacheMiddleware"
MIDDLEWARE = [FAST_PATH, *(m for m in MIDDLEWARE if m != FAST_PATH)]
if os.environ.get("BENCH_FAST_PATH") == "off":  # to measure the page cache without the fast path
    MIDDLEWARE.remove(FAST_PATH)
