"""In-process render time of a reader page, uncached and from the page cache, with Django's test Client.

    .venv/bin/python bench/reader_render.py [--requests 200] [--path /health/articles/checkpoint-inhibitors/]

Builds the demo library in a throwaway SQLite file (migrate + load_demo), uses the demo's
FileBasedCache in a throwaway directory, and reports the SQL queries and the median time of
``client.get`` for each case. "Uncached" retires the cached pages (a content-version bump, as a
publish does) before every request; the bump itself is not timed.
"""

from __future__ import annotations

import argparse
import os
import statistics
import sys
import tempfile
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--requests", type=int, default=200)
    parser.add_argument("--path", default="/health/articles/checkpoint-inhibitors/")
    args = parser.parse_args()

    tmp = Path(tempfile.mkdtemp(prefix="healthlib-bench-"))
    os.environ["DJANGO_SETTINGS_MODULE"] = "immunotherapy.settings"
    from django.conf import settings

    settings.DATABASES["default"]["NAME"] = str(tmp / "db.sqlite3")
    settings.CACHES["default"]["LOCATION"] = str(tmp / "cache")
    settings.DEBUG = False
    settings.ALLOWED_HOSTS = ["testserver"]
    settings.LOGGING_CONFIG = None
    import django

    django.setup()
    from django.core.management import call_command
    from django.db import connection
    from django.test import Client
    from django.test.utils import CaptureQueriesContext

    from healthlib.cache import invalidate

    call_command("migrate", verbosity=0)
    with open(os.devnull, "w") as quiet:
        call_command("load_demo", stdout=quiet)
    client = Client()

    def timed(before=None) -> tuple[list[float], int]:
        times = []
        queries = 0
        for _ in range(args.requests):
            if before:
                before()
            with CaptureQueriesContext(connection) as captured:
                start = time.perf_counter()
                response = client.get(args.path)
                times.append(time.perf_counter() - start)
            assert response.status_code == 200, response.status_code
            queries = max(queries, len(captured))
        return times, queries

    for _ in range(5):  # warm up imports, template loading, the glossary automaton
        invalidate()
        client.get(args.path)
    uncached, uncached_queries = timed(before=invalidate)
    client.get(args.path)
    cached, cached_queries = timed()
    size = len(client.get(args.path).content)
    print(f"page: {args.path} ({size} bytes), {args.requests} requests each, Django {django.get_version()}")
    for name, times, queries in (("uncached", uncached, uncached_queries), ("cached", cached, cached_queries)):
        ms = sorted(t * 1000 for t in times)
        print(
            f"{name:>9}: median {statistics.median(ms):6.2f} ms   p90 {ms[int(len(ms) * 0.9)]:6.2f} ms   "
            f"max SQL queries per request {queries}"
        )


if __name__ == "__main__":
    main()
