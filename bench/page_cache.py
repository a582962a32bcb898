"""One publish, many cached pages: how many of the other cached reader pages stay served from the cache
(issue 12: >= 99%; with one global content version it was 0%), and what each home-made layer of
:mod:`healthlib.cache` buys, measured in the same run.

Run: .venv/bin/python bench/page_cache.py [--articles 2000] [--terms 2000] [--publishes 5] [--requests 400]

The data is the benchmark generator's (bench/generate.py: 20 topics, 1-3 per article), in a SQLite file
and a file-based page cache in a temporary directory (bench/settings.py, the demo site's stack with
PageCacheMiddleware first). Every live article page, every live term page, every topic and type page
and the listings are read twice (rendered, then served from the cache); then, per round, one live
article gets a new title through the workflow (save_draft, submit, approve, publish; the derived work
runs after commit with the immediate task backend) and every page is read again. A page counts as
served from the cache when its request ran no query (every reader page runs at least one when
rendered). The ratio is over the cached pages other than the published article's own page.

The layers: CPU time per request (``time.process_time``, median of 5 rounds of ``--requests``
requests over 50 articles) of a cached article page through the WSGI handler in this process, with
each layer taken away in turn.
"""

from __future__ import annotations

import argparse
import io
import json
import os
import random
import statistics
import sys
import tempfile
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent


def parse_args(argv=None) -> argparse.Namespace:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--articles", type=int, default=2000)
    parser.add_argument("--terms", type=int, default=2000)
    parser.add_argument("--publishes", type=int, default=5)
    parser.add_argument("--requests", type=int, default=400)
    parser.add_argument("--seed", type=int, default=12)
    return parser.parse_args(argv)


def setup(workdir: str) -> None:
    os.environ["DJANGO_SETTINGS_MODULE"] = "bench.settings"
    os.environ["BENCH_DB"] = "sqlite"
    os.environ["BENCH_SQLITE_PATH"] = os.path.join(workdir, "bench.sqlite3")
    os.environ["BENCH_CACHE_DIR"] = os.path.join(workdir, "cache")
    sys.path.insert(0, str(ROOT))
    import django

    django.setup()


def pages() -> dict[str, list[str]]:
    from healthlib.models import Article, ArticleType, GlossaryTerm, Topic

    live = Article.objects.filter(live_revision__isnull=False)
    return {
        "article": [f"/health/articles/{slug}/" for slug in live.values_list("slug", flat=True).order_by("slug")],
        "term": [
            f"/health/glossary/{slug}/"
            for slug in GlossaryTerm.objects.filter(live_revision__isnull=False).values_list("slug", flat=True)
        ],
        "topic": [f"/health/topics/{slug}/" for slug in Topic.objects.values_list("slug", flat=True)],
        "type": [f"/health/types/{value}/" for value in ArticleType.values if value != ArticleType.POLICY],
        "listing": ["/health/", "/health/articles/", "/health/glossary/", "/health/feeds/rss/", "/health/sitemap.xml"],
    }


def read_all(client, urls: dict[str, list[str]]) -> dict[str, list[str]]:
    """Read every page; the pages that were rendered (ran a query), by kind."""
    from django.db import connection
    from django.test.utils import CaptureQueriesContext

    rendered: dict[str, list[str]] = {kind: [] for kind in urls}
    for kind, group in urls.items():
        for url in group:
            connection.queries_log.clear()  # it keeps the last 9,000 queries: a full log counts none
            with CaptureQueriesContext(connection) as queries:
                response = client.get(url)
            if response.status_code != 200:
                raise SystemExit(f"{url}: {response.status_code}")
            if len(queries):
                rendered[kind].append(url)
    return rendered


def republish(article, editor, reviewer, kind: str) -> None:
    from healthlib import workflow

    content = dict(article.latest_revision.content)
    if kind == "retitled":
        content["title"] = f"{article.live_title} (revised)"
    else:  # a new revision of the text, as most are
        content["body"] += "\n\nAsk your care team which of these applies to you."
    workflow.save_draft(article, editor, content, based_on=article.latest_revision)
    workflow.submit(article, editor)
    workflow.approve(article, reviewer)
    workflow.publish(article, editor)


def ratio_of_other_pages_kept(args, urls) -> list[dict]:
    from django.contrib.auth import get_user_model
    from django.test import Client

    from healthlib.models import Article, ArticleType

    client = Client()
    total = sum(len(group) for group in urls.values())
    first = read_all(client, urls)
    again = read_all(client, urls)
    assert not any(again.values()), f"not cached after one read: {again}"
    print(f"warm: {total} pages ({', '.join(f'{len(v)} {k}' for k, v in urls.items())}), "
          f"{sum(map(len, first.values()))} rendered, then all {total} from the cache")  # fmt: skip
    User = get_user_model()
    editor = User.objects.get(username="admin")
    reviewer = User.objects.get(username="reviewer0")
    rng = random.Random(args.seed)
    candidates = list(Article.objects.filter(state="published").exclude(article_type=ArticleType.POLICY).order_by("pk"))
    rounds = []
    chosen = rng.sample(candidates, 2 * args.publishes)
    for kind, article in [("new text", a) for a in chosen[::2]] + [("retitled", a) for a in chosen[1::2]]:
        own = f"/health/articles/{article.slug}/"
        started = time.process_time()
        republish(article, editor, reviewer, kind)
        publish_cpu = time.process_time() - started
        rendered = read_all(client, urls)
        others = [url for group in rendered.values() for url in group if url != own]
        kept = (total - 1 - len(others)) / (total - 1)
        rounds.append(
            {
                "kind": kind,
                "article": article.slug,
                "topics": list(article.topics.values_list("slug", flat=True)),
                "rendered_again": {kind: len(group) for kind, group in rendered.items()},
                "other_pages": total - 1,
                "kept": kept,
                "publish_cpu_ms": publish_cpu * 1000,
            }
        )
        print(
            f"publish ({kind}) {article.slug}: {kept:.2%} of the other {total - 1} cached pages served from the cache; "
            f"rendered again: {rounds[-1]['rendered_again']} (publish + retire: {publish_cpu * 1000:.0f} ms CPU)"
        )
    return rounds


# ---------------------------------------------------------------- the layers


def environ(path: str) -> dict:
    return {
        "REQUEST_METHOD": "GET", "PATH_INFO": path, "QUERY_STRING": "", "SCRIPT_NAME": "",
        "SERVER_NAME": "localhost", "SERVER_PORT": "80", "HTTP_HOST": "localhost", "SERVER_PROTOCOL": "HTTP/1.1",
        "wsgi.input": io.BytesIO(), "wsgi.url_scheme": "http", "wsgi.errors": sys.stderr,
    }  # fmt: skip


def per_request_us(app, paths: list[str], requests: int, before_each=None) -> float:
    def start_response(status, headers, exc_info=None):
        if not status.startswith("200"):
            raise SystemExit(status)

    def one(path):
        if before_each is not None:
            before_each()
        result = app(environ(path), start_response)
        b"".join(result)
        getattr(result, "close", lambda: None)()

    for path in paths:  # stored and in memory
        one(path)
        one(path)
    medians = []
    for _ in range(5):
        started = time.process_time()
        for n in range(requests):
            one(paths[n % len(paths)])
        medians.append((time.process_time() - started) / requests * 1e6)
    return statistics.median(medians)


def layers(args, urls) -> dict[str, float]:
    from django.conf import settings
    from django.core.handlers.wsgi import WSGIHandler
    from django.test import override_settings

    from healthlib import cache as page_cache

    paths = urls["article"][:50]
    result = {}
    result["all layers (CachedPagesWSGI + PageCacheMiddleware + pages in memory + stat())"] = per_request_us(
        page_cache.CachedPagesWSGI(WSGIHandler()), paths, args.requests
    )
    django_app = WSGIHandler()
    result["without CachedPagesWSGI"] = per_request_us(django_app, paths, args.requests)

    def forget_pages():
        page_cache._local_pages.clear()
        page_cache._wsgi_pages.clear()

    result["without CachedPagesWSGI and the pages in memory"] = per_request_us(
        django_app, paths, args.requests, forget_pages
    )
    result["without CachedPagesWSGI and the stat() of generation files (read each time)"] = per_request_us(
        django_app, paths, args.requests, page_cache._file_memo.clear
    )
    result["CachedPagesWSGI without the stat() of generation files"] = per_request_us(
        page_cache.CachedPagesWSGI(WSGIHandler()), paths, args.requests, page_cache._file_memo.clear
    )
    without = [m for m in settings.MIDDLEWARE if m != "healthlib.cache.PageCacheMiddleware"]
    with override_settings(MIDDLEWARE=without):
        result["without PageCacheMiddleware (the view decorator alone)"] = per_request_us(
            WSGIHandler(), paths, args.requests
        )
    for name, value in result.items():
        print(f"{value:8.1f} µs CPU per cached article page: {name}")
    return result


def main(argv=None) -> None:
    args = parse_args(argv)
    with tempfile.TemporaryDirectory(prefix="healthlib-page-cache-") as workdir:
        setup(workdir)
        from django.core.management import call_command

        from bench import generate

        call_command("migrate", verbosity=0)
        started = time.monotonic()
        generate.main(["--articles", str(args.articles), "--terms", str(args.terms), "--quiet"])
        print(f"generated {args.articles} articles, {args.terms} terms in {time.monotonic() - started:.0f} s")
        urls = pages()
        rounds = ratio_of_other_pages_kept(args, urls)
        worst = {}
        for kind in ("new text", "retitled"):
            worst[kind] = min(r["kept"] for r in rounds if r["kind"] == kind)
            print(f"one publish ({kind}) leaves {worst[kind]:.2%} (worst of {args.publishes}) of the other cached "
                  f"pages served from the cache; target >= 99%: {'met' if worst[kind] >= 0.99 else 'NOT met'}")  # fmt: skip
        costs = layers(args, urls)
        print(json.dumps({"args": vars(args), "rounds": rounds, "layers_us": costs, "worst_kept": worst}))


if __name__ == "__main__":
    main()
