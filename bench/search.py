"""Time search, in two ways.

Synthetic index (healthlib.search.search() over generated entries, nothing else in the database):

    SQLite (in memory):      .venv/bin/python bench/search.py [entries]
    PostgreSQL (throwaway):  tests/with_postgres.sh .venv/bin/python bench/search.py [entries]

The reader's search page over an existing benchmark database (bench/generate.py data), the six
queries of bench/run.py one by one plus page 2 of the first, with the Django test Client:

    DJANGO_SETTINGS_MODULE=bench.settings BENCH_CACHE=dummy BENCH_DB=sqlite BENCH_SQLITE_PATH=... \
        .venv/bin/python bench/search.py --site
"""

import json
import os
import random
import statistics
import sys
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))
os.environ.setdefault("DJANGO_SETTINGS_MODULE", "tests.settings")

import django  # noqa: E402

django.setup()

from django.core.management import call_command  # noqa: E402
from django.db import connection  # noqa: E402

from healthlib import search  # noqa: E402
from healthlib.models import ContentItem, Kind, SearchEntry  # noqa: E402

random.seed(6)
VOCABULARY = [
    "".join(random.choice("bcdfghklmnprstvz") + random.choice("aeiou") for _ in range(random.randint(2, 4)))
    for _ in range(3000)
] + ["cancer", "immune", "therapy", "melanoma", "lymphoma", "fatigue", "rash", "checkpoint", "vaccine", "cells"]
WEIGHTS = [1 / (rank + 1) for rank in range(len(VOCABULARY))]


def text(words: int) -> str:
    return " ".join(random.choices(VOCABULARY, weights=WEIGHTS, k=words))


#: The queries of bench/run.py's editorial screens.
SITE_QUERIES = ["treatment", "immune cells", "lymphoma", "side effects", "cytokin", "doctor visit week"]


def site(repeat: int = 5) -> None:
    """Median wall and mean CPU ms per query of GET /health/search/ on the configured database."""
    from django.test import Client
    from django.test.utils import CaptureQueriesContext

    client = Client()
    cases = [({"q": q}, q) for q in SITE_QUERIES] + [({"q": SITE_QUERIES[0], "page": "2"}, f"{SITE_QUERIES[0]} p2")]
    rows, walls = [], []
    for params, label in cases:
        response = client.get("/health/search/", params)  # warm-up
        assert response.status_code == 200, (label, response.status_code)
        wall, cpu = [], []
        for _ in range(repeat):
            c0, t0 = time.process_time(), time.perf_counter()
            client.get("/health/search/", params)
            wall.append(time.perf_counter() - t0)
            cpu.append(time.process_time() - c0)
        with CaptureQueriesContext(connection) as captured:
            response = client.get("/health/search/", params)
        count = response.content.decode().split('class="healthlib-result-count" role="status">', 1)[1].split("<")[0]
        if "p2" not in label:
            walls += wall
        rows.append(
            {
                "query": label,
                "median_ms": round(statistics.median(wall) * 1000, 2),
                "cpu_ms": round(sum(cpu) * 1000 / len(cpu), 2),
                "queries": len(captured),
                "shown": count.replace("\u201c", '"').replace("\u201d", '"'),
            }
        )
    for row in rows:
        print(json.dumps(row, ensure_ascii=False))
    print(json.dumps({"vendor": connection.vendor, "median_ms_six_queries": round(statistics.median(walls) * 1000, 2),
                      "load": os.getloadavg()}))  # fmt: skip


def main() -> None:
    if "--site" in sys.argv:
        site()
        return
    n = int(sys.argv[1]) if len(sys.argv) > 1 else 5000
    call_command("migrate", verbosity=0)
    started = time.perf_counter()
    items = ContentItem.objects.bulk_create(
        [ContentItem(kind=Kind.ARTICLE, title=f"item {i}") for i in range(n)], batch_size=500
    )
    SearchEntry.objects.bulk_create(
        [
            SearchEntry(item_id=item.pk, kind=Kind.ARTICLE, title=text(4), body_text=text(300), url=f"/a/{item.pk}/")
            for item in items
        ],
        batch_size=500,
    )
    with connection.cursor() as cursor:  # what autovacuum / a quiet moment would have done
        cursor.execute("VACUUM ANALYZE healthlib_searchentry" if connection.vendor == "postgresql" else "ANALYZE")
    print(f"{connection.vendor}: indexed {n} entries of ~300 words in {time.perf_counter() - started:.1f} s")
    queries = [
        VOCABULARY[0],  # the most common word: matches most entries
        VOCABULARY[50],
        VOCABULARY[2000],  # rare
        "cancer immune",
        VOCABULARY[3][:3],  # a prefix
        '"NEAR( hostile * input',
        "x" * 5000,
    ]
    for query in queries:
        timings = []
        for _ in range(15):
            started = time.perf_counter()
            results = search.search(query, limit=20)
            timings.append(time.perf_counter() - started)
        print(
            f"  {query[:24]!r:28} total {results.total:>5}{'+' if results.capped else ' '}  median {statistics.median(timings) * 1000:7.2f} ms"
            f"  min {min(timings) * 1000:7.2f} ms"
        )


if __name__ == "__main__":
    main()
