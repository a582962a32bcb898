"""Settings for ``make stress``: tests.settings with a shared SQLite file (WAL) and a shared FileBasedCache.

Every gunicorn worker and the writer process use the same database file and the same cache
directory, so page-cache invalidation on publish crosses processes as it does in production.
Paths come from ``STRESS_DIR`` (tests/stress/run.py sets it).
"""

import os

from tests.settings import *  # noqa: F403

_DIR = os.environ["STRESS_DIR"]
DEBUG = False
DATABASES = {
    "default": {
        "ENGINE": "django.db.backends.sqlite3",
        "NAME": os.path.join(_DIR, "db.sqlite3"),
        "OPTIONS": {
            "init_command": "PRAGMA journal_mode=WAL; PRAGMA synchronous=NORMAL;",
            "transaction_mode": "IMMEDIATE",
            "timeout": 30,
        },
    }
}
CACHES = {
    "default": {
        "BACKEND": "django.core.cache.backends.filebased.FileBasedCache",
        "LOCATION": os.path.join(_DIR, "cache"),
        "OPTIONS": {"MAX_ENTRIES": 100_000},
    }
}
LOGGING = {
    "version": 1,
    "disable_existing_loggers": False,
    "handlers": {"console": {"class": "logging.StreamHandler"}},
    "root": {"handlers": ["console"], "level": "WARNING"},
}
