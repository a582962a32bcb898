"""Time healthlib.search.search() over a few thousand index entries.

SQLite (in memory):      .venv/bin/python bench/search.py
PostgreSQL (throwaway):  tests/with_postgres.sh .venv/bin/python bench/search.py
Optional argument: number of entries (default 5000), each ~300 words.
"""

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


def main() -> None:
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
            f"  {query[:24]!r:28} total {results.total:>5}  median {statistics.median(timings) * 1000:7.2f} ms"
            f"  min {min(timings) * 1000:7.2f} ms"
        )


if __name__ == "__main__":
    main()
