"""tests.settings with Django's RedisCache as the default cache (the page cache's shared cache).

Selected by ``make test-redis`` (``pytest --ds tests.settings_redis``) inside tests/with_redis.sh, which
starts a throwaway redis-server and sets HEALTHLIB_TEST_REDIS_URL. Each pytest-xdist worker uses its
own Redis database, since the tests clear the cache between them.
"""

import os

from tests.settings import *  # noqa: F403

_worker = os.environ.get("PYTEST_XDIST_WORKER", "gw0")
CACHES = {
    "default": {
        "BACKEND": "django.core.cache.backends.redis.RedisCache",
        "LOCATION": f"{os.environ['HEALTHLIB_TEST_REDIS_URL']}/{int(_worker.removeprefix('gw') or 0) + 1}",
        "OPTIONS": {"socket_timeout": 5, "socket_connect_timeout": 5},
    }
}
