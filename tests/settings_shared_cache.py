"""tests.settings with a database file and a file-based cache that several processes share.

Used by tests/test_cache_processes.py; paths come from the environment.
"""

import os

from tests.settings import *  # noqa: F403

DATABASES = {"default": {"ENGINE": "django.db.backends.sqlite3", "NAME": os.environ["HEALTHLIB_SHARED_DB"]}}
CACHES = {
    "default": {
        "BACKEND": "django.core.cache.backends.filebased.FileBasedCache",
        "LOCATION": os.environ["HEALTHLIB_SHARED_CACHE"],
    }
}
if os.environ.get("HEALTHLIB_SHARED_REDIS"):  # a Redis database the processes share (tests/with_redis.sh)
    CACHES = {
        "default": {
            "BACKEND": "django.core.cache.backends.redis.RedisCache",
            "LOCATION": os.environ["HEALTHLIB_SHARED_REDIS"],
        }
    }
