"""tests.settings for the app servers and the editor's process behind Varnish (tests/test_varnish.py).

The database is the one tests.settings picks from the environment (a SQLite file through
HEALTHLIB_TEST_SQLITE_FILE, or PostgreSQL through PGHOST/PGPORT/PGDATABASE); the shared cache is
Redis at HEALTHLIB_TEST_REDIS_URL; purges go by xkey to the Varnish at HEALTHLIB_TEST_VARNISH_URL.
"""

import os

from tests.settings import *  # noqa: F403

CACHES = {
    "default": {
        "BACKEND": "django.core.cache.backends.redis.RedisCache",
        "LOCATION": os.environ["HEALTHLIB_TEST_REDIS_URL"],
        "OPTIONS": {"socket_timeout": 5, "socket_connect_timeout": 5},
    }
}
HEALTHLIB = {
    "CACHE_TAG_HEADER": "xkey",
    "EDGE_MAX_AGE": 86400,
    "PURGE_BACKENDS": {
        "varnish": {"BACKEND": "varnish", "URLS": [os.environ["HEALTHLIB_TEST_VARNISH_URL"]], "MODE": "xkey"}
    },
}
# TASKS stays Django's default, the immediate backend: purges are sent right after each commit,
# in the process that made the change.
