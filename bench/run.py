"""Run the benchmarks on SQLite and PostgreSQL and print a markdown table (``make bench``).

    .venv/bin/python -m bench.run [--articles 10000] [--terms 10000] [--db both|sqlite|postgres]
                                  [--duration 10] [--skip-throughput] [--write-docs]

For each database, in a child process: a fresh database (a SQLite file under var/bench/, or a throwaway
PostgreSQL cluster started by tests/with_postgres.sh), migrate, generate the data (bench/generate.py),
then measure

- in-process costs with Django's test Client: article page cached and uncached (time, queries),
  the publish transition, glossary linking of a 5,000-word article against 10, 1,000 and 10,000
  terms, markdown to HTML;
- editorial screens: admin changelist, review queue, review-due report, reader search;
- reader throughput through gunicorn (2 sync workers for every target) with wrk on 127.0.0.1:
  the static baseline (bench/static_app.py: the same page bytes from memory), the cached article
  page, the uncached article page; requests/s, p50/p99 latency, errors, ratio to the baseline, and
  server CPU time per request from /proc/<pid>/stat of the gunicorn master and workers.

Results: a markdown table on stdout and JSON under bench/results/ (git-ignored); ``--write-docs``
also replaces the generated section of docs/benchmarks.md.
"""

from __future__ import annotations

import argparse
import datetime
import json
import os
import platform
import re
import shutil
import signal
import socket
import statistics
import subprocess
import sys
import time
import urllib.request
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
VAR = ROOT / "var" / "bench"
RESULTS = ROOT / "bench" / "results"
DOCS = ROOT / "docs" / "benchmarks.md"
PYTHON = sys.executable
WORKERS = 2
TARGETS = {
    "cached_ratio": 0.70,
    "uncached_queries": 4,
    "uncached_ms": 2.0,
    "link_ratio": 2.0,
    "link_ms": 10.0,
    "screen_ms_100k_pg": 300.0,
    "search_ms_100k": 50.0,
}


def parse_args(argv=None) -> argparse.Namespace:
    parser = argparse.ArgumentParser(description="healthlib benchmarks")
    parser.add_argument("--articles", type=int, default=10_000)
    parser.add_argument("--terms", type=int, default=10_000)
    parser.add_argument("--db", choices=["both", "sqlite", "postgres"], default="both")
    parser.add_argument("--duration", type=int, default=10, help="seconds of load per throughput target")
    parser.add_argument("--connections", type=int, default=4)
    parser.add_argument("--skip-throughput", action="store_true")
    parser.add_argument("--link-every", type=int, default=None, help="glossary-link every Nth article (generator)")
    parser.add_argument("--keep-db", action="store_true", help="SQLite: reuse var/bench/<n>.sqlite3 if present")
    parser.add_argument("--write-docs", action="store_true", help="update the generated part of docs/benchmarks.md")
    parser.add_argument("--from-json", help="print the table of an earlier run's JSON (with --write-docs: record it)")
    parser.add_argument("--inner", action="store_true", help=argparse.SUPPRESS)
    parser.add_argument("--skip-generate", action="store_true", help=argparse.SUPPRESS)  # inner: data exists
    parser.add_argument("--out", help=argparse.SUPPRESS)
    return parser.parse_args(argv)


# ---------------------------------------------------------------- helpers


def median_ms(samples: list[float]) -> float:
    return round(statistics.median(samples) * 1000, 3)


class Samples(list):
    """Wall-clock seconds per call, plus the process CPU seconds per call (``cpu``).

    The machine is shared (the load generator, the database server, other work), so wall-clock
    medians include waiting for a CPU; CPU time of this process shows the work itself (for
    PostgreSQL it leaves out the server's share).
    """

    cpu: list[float]


def timed(fn, repeat: int, warmup: int = 2) -> Samples:
    for _ in range(warmup):
        fn()
    samples = Samples()
    samples.cpu = []
    for _ in range(repeat):
        cpu = time.process_time()
        start = time.perf_counter()
        fn()
        samples.append(time.perf_counter() - start)
        samples.cpu.append(time.process_time() - cpu)
    return samples


def cpu_ms(samples: Samples) -> float:
    """Mean CPU per call (process_time ticks are too coarse for a per-call median)."""
    return round(sum(samples.cpu) * 1000 / max(len(samples.cpu), 1), 3)


def count_queries(fn) -> int:
    from django.db import connection
    from django.test.utils import CaptureQueriesContext

    with CaptureQueriesContext(connection) as ctx:
        fn()
    return len(ctx.captured_queries)


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def log(message: str) -> None:
    print(f"[bench {time.strftime('%H:%M:%S')}] {message}", file=sys.stderr, flush=True)


# ---------------------------------------------------------------- in-process measurements


def published_slugs(limit: int) -> list[str]:
    from healthlib.models import Article, ArticleType

    return list(
        Article.objects.filter(live_revision__isnull=False)
        .exclude(article_type=ArticleType.POLICY)
        .order_by("pk")
        .values_list("slug", flat=True)[:limit]
    )


class NoPageCache:
    """Point healthlib's page cache at a DummyCache alias: every request renders."""

    def __enter__(self):
        from django.conf import settings

        self.saved = settings.HEALTHLIB
        settings.CACHES.setdefault("bench-dummy", {"BACKEND": "django.core.cache.backends.dummy.DummyCache"})
        settings.HEALTHLIB = {**self.saved, "CACHE_ALIAS": "bench-dummy"}

    def __exit__(self, *exc):
        from django.conf import settings

        settings.HEALTHLIB = self.saved


def article_page(slugs: list[str]) -> dict:
    from django.core.cache import caches
    from django.test import Client

    client = Client()
    url = f"/health/articles/{slugs[0]}/"
    result = {}
    with NoPageCache():
        # Different articles on each request: no warm per-article state helps.
        it = iter(slugs * 10)
        samples = timed(lambda: client.get(f"/health/articles/{next(it)}/"), repeat=min(200, len(slugs) * 5))
        queries = count_queries(lambda: client.get(url))
        size = len(client.get(url).content)
    result["uncached"] = {"median_ms": median_ms(samples), "cpu_ms": cpu_ms(samples),
                          "p90_ms": round(sorted(samples)[int(len(samples) * .9)] * 1000, 3),
                          "queries": queries, "bytes": size}  # fmt: skip
    # The same page rendered per request, as a signed-in user or a stale stored page gets it.
    from healthlib import reader_pages

    stored_format = reader_pages.FORMAT
    reader_pages.FORMAT = "bench: not the stored pages' format"
    try:
        with NoPageCache():
            it = iter(slugs * 10)
            samples = timed(lambda: client.get(f"/health/articles/{next(it)}/"), repeat=min(200, len(slugs) * 5))
            queries = count_queries(lambda: client.get(url))
    finally:
        reader_pages.FORMAT = stored_format
    result["rendered"] = {"median_ms": median_ms(samples), "cpu_ms": cpu_ms(samples), "queries": queries}
    caches["default"].clear()
    client.get(url)
    samples = timed(lambda: client.get(url), repeat=300)
    result["cached"] = {
        "median_ms": median_ms(samples),
        "cpu_ms": cpu_ms(samples),
        "queries": count_queries(lambda: client.get(url)),
    }
    etag = client.get(url)["ETag"]
    samples = timed(lambda: client.get(url, HTTP_IF_NONE_MATCH=etag), repeat=200)
    result["cached_304"] = {
        "median_ms": median_ms(samples),
        "status": client.get(url, HTTP_IF_NONE_MATCH=etag).status_code,
    }
    return result


def long_document(words: int = 5000) -> str:
    from healthlib.models import Revision

    parts, total = [], 0
    for content in Revision.objects.filter(item__kind="article").order_by("pk").values_list("content", flat=True)[:20]:
        parts.append(content["body"])
        total += len(content["body"].split())
        if total >= words:
            break
    text = "\n\n".join(parts)
    return " ".join(text.split(" ")[: int(len(text.split(" ")) * words / max(total, 1))])


def linking_and_markdown() -> dict:
    from healthlib.glossary_automaton import Glossary
    from healthlib.glossary_linker import _load_terms
    from healthlib.markup import render_document
    from healthlib.readability import measure

    text = long_document(5000)
    html = render_document(text).html
    words = measure(html).words
    terms = _load_terms()
    result = {"document_words": words, "linking": {}}
    for n in (10, 1000, 10000):
        subset = terms[:n]
        glossary = Glossary.build(subset)
        samples = timed(lambda g=glossary: g.link(html).html, repeat=15)
        linked = glossary.link(html).html.count('class="glossary-term"')
        result["linking"][str(n)] = {
            "terms": len(subset),
            "median_ms": median_ms(samples),
            "cpu_ms": cpu_ms(samples),
            "links": linked,
        }
        build = timed(lambda s=subset: Glossary.build(s), repeat=3, warmup=0)
        result["linking"][str(n)]["build_ms"] = median_ms(build)
    samples = timed(lambda: render_document(text), repeat=10)
    result["markdown_5000_words_ms"] = median_ms(samples)
    from healthlib.models import Revision

    body = Revision.objects.filter(item__kind="article").order_by("pk").values_list("content", flat=True)[0]["body"]
    samples = timed(lambda: render_document(body), repeat=20)
    result["markdown_article_ms"] = median_ms(samples)
    result["markdown_article_words"] = len(body.split())
    return result


def publish_transition(repeat: int = 8) -> dict:
    from django.contrib.auth import get_user_model

    from healthlib import workflow
    from healthlib.models import Revision

    User = get_user_model()
    editor = User.objects.get(username="editor0")
    reviewer = User.objects.get(username="reviewer0")
    content = dict(Revision.objects.filter(item__kind="article").order_by("pk").values_list("content", flat=True)[0])
    samples, queries = [], []
    for i in range(repeat):
        content = {**content, "title": f"Publish benchmark {i} {time.time_ns()}"}
        article = workflow.create_article(editor, slug=f"publish-bench-{time.time_ns()}", article_type="guide",
                                          content=content)  # fmt: skip
        workflow.submit(article, editor)
        workflow.approve(article, reviewer)
        from django.db import connection
        from django.test.utils import CaptureQueriesContext

        with CaptureQueriesContext(connection) as ctx:
            start = time.perf_counter()
            workflow.publish(article, editor)
            samples.append(time.perf_counter() - start)
        queries.append(len(ctx.captured_queries))
    return {
        "median_ms": median_ms(samples),
        "queries": int(statistics.median(queries)),
        "words": len(content["body"].split()),
    }


def editorial_screens() -> dict:
    from django.test import Client

    from healthlib.models import Article, ContentItem, State

    screens = {
        "changelist": ("admin", "/admin/healthlib/article/"),
        "changelist_overdue": ("admin", "/admin/healthlib/article/?overdue=yes"),
        "review_queue": ("reviewer0", "/admin/healthlib/reviewqueue/"),
        "review_due": ("editor0", "/admin/healthlib/reviewdates/"),
    }
    result = {}
    for name, (username, url) in screens.items():
        from django.contrib.auth import get_user_model

        client = Client()
        client.force_login(get_user_model().objects.get(username=username))
        response = client.get(url)
        if response.status_code != 200:
            result[name] = {"status": response.status_code}
            continue
        samples = timed(lambda c=client, u=url: c.get(u), repeat=7, warmup=1)
        result[name] = {
            "median_ms": median_ms(samples),
            "cpu_ms": cpu_ms(samples),
            "queries": count_queries(lambda c=client, u=url: c.get(u)),
            "bytes": len(response.content),
            "status": 200,
        }
    # Search as readers use it (never stored in the page cache).
    client = Client()
    queries = ["treatment", "immune cells", "lymphoma", "side effects", "cytokin", "doctor visit week"]
    try:
        probe = client.get("/health/search/", {"q": queries[0]})
        status = probe.status_code
    except Exception as error:  # search may not exist yet in this tree
        status = repr(error)
    if status == 200:
        samples = Samples()
        samples.cpu = []
        for q in queries:
            part = timed(lambda q=q: client.get("/health/search/", {"q": q}), repeat=5, warmup=1)
            samples += part
            samples.cpu += part.cpu
        result["search"] = {
            "median_ms": median_ms(samples),
            "cpu_ms": cpu_ms(samples),
            "queries": count_queries(lambda: client.get("/health/search/", {"q": queries[1]})),
            "status": 200,
            "terms": queries,
        }
    else:
        result["search"] = {"status": status}
    result["rows"] = {
        "articles": Article.objects.count(),
        "in_review": ContentItem.objects.filter(state=State.IN_REVIEW).count(),
        "live": ContentItem.objects.filter(live_revision__isnull=False).count(),
    }
    return result


# ---------------------------------------------------------------- throughput


def cpu_seconds(pid: int) -> float:
    """utime + stime of a process and its live children (gunicorn master and workers)."""
    ticks = os.sysconf("SC_CLK_TCK")
    total = 0.0
    pids = [pid]
    try:
        children = Path(f"/proc/{pid}/task/{pid}/children").read_text().split()
        pids += [int(c) for c in children]
    except OSError:
        pass
    for p in pids:
        try:
            fields = Path(f"/proc/{p}/stat").read_text().rsplit(")", 1)[1].split()
        except OSError:
            continue
        total += (int(fields[11]) + int(fields[12])) / ticks
    return total


class Server:
    def __init__(self, app: str, env: dict) -> None:
        self.port = free_port()
        self.url = f"http://127.0.0.1:{self.port}"
        command = [str(Path(PYTHON).parent / "gunicorn"), "-w", str(WORKERS), "-k", "sync", "-b",
                   f"127.0.0.1:{self.port}", "--log-level", "warning", app]  # fmt: skip
        self.process = subprocess.Popen(command, cwd=ROOT, env=env, stdout=subprocess.DEVNULL, stderr=subprocess.PIPE)

    def wait(self, path: str) -> bytes:
        deadline = time.monotonic() + 60
        while time.monotonic() < deadline:
            try:
                with urllib.request.urlopen(self.url + path, timeout=5) as response:
                    return response.read()
            except OSError:
                if self.process.poll() is not None:
                    raise RuntimeError(self.process.stderr.read().decode()) from None
                time.sleep(0.2)
        raise RuntimeError(f"server did not answer {path}")

    def stop(self) -> None:
        self.process.send_signal(signal.SIGTERM)
        try:
            self.process.wait(timeout=20)
        except subprocess.TimeoutExpired:
            self.process.kill()


def parse_duration_ms(text: str) -> float:
    value, unit = re.fullmatch(r"([\d.]+)(us|ms|s|m)", text).groups()
    return float(value) * {"us": 0.001, "ms": 1, "s": 1000, "m": 60000}[unit]


def load(url: str, duration: int, connections: int) -> dict:
    if shutil.which("wrk"):
        out = subprocess.run(
            ["wrk", "-t1", f"-c{connections}", f"-d{duration}s", "--latency", url],
            capture_output=True, text=True, check=True,
        ).stdout  # fmt: skip
        requests = int(re.search(r"(\d+) requests in", out).group(1))
        errors = 0
        if m := re.search(r"Non-2xx or 3xx responses: (\d+)", out):
            errors += int(m.group(1))
        if m := re.search(r"Socket errors: connect (\d+), read (\d+), write (\d+), timeout (\d+)", out):
            errors += sum(int(g) for g in m.groups())
        latency = dict(re.findall(r"^\s+(50|99)%\s+(\S+)", out, re.M))
        return {
            "tool": "wrk",
            "requests": requests,
            "rps": float(re.search(r"Requests/sec:\s+([\d.]+)", out).group(1)),
            "p50_ms": parse_duration_ms(latency["50"]),
            "p99_ms": parse_duration_ms(latency["99"]),
            "errors": errors,
        }
    return python_load(url, duration, connections)


def python_load(url: str, duration: int, connections: int) -> dict:
    """Fallback load generator when wrk is missing: threads issuing keep-alive-less GETs."""
    import http.client
    import threading
    from urllib.parse import urlsplit

    parts = urlsplit(url)
    latencies: list[float] = []
    errors = [0]
    stop = time.monotonic() + duration
    lock = threading.Lock()

    def worker():
        local = []
        while time.monotonic() < stop:
            start = time.perf_counter()
            try:
                conn = http.client.HTTPConnection(parts.hostname, parts.port, timeout=10)
                conn.request("GET", parts.path)
                response = conn.getresponse()
                response.read()
                conn.close()
                if response.status >= 400:
                    errors[0] += 1
            except OSError:
                errors[0] += 1
            local.append(time.perf_counter() - start)
        with lock:
            latencies.extend(local)

    threads = [threading.Thread(target=worker) for _ in range(connections)]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    latencies.sort()
    return {
        "tool": "python",
        "requests": len(latencies),
        "rps": round(len(latencies) / duration, 1),
        "p50_ms": round(latencies[len(latencies) // 2] * 1000, 3),
        "p99_ms": round(latencies[int(len(latencies) * 0.99)] * 1000, 3),
        "errors": errors[0],
    }


ROUNDS = 5


def throughput(slug: str, duration: int, connections: int) -> dict:
    """Requests/s of each target, interleaved: ROUNDS rounds of ``duration / ROUNDS`` seconds per target.

    All servers run side by side and the targets take turns, so a change in the load from outside
    (this machine is shared) falls on every target alike instead of on whichever ran at that moment.
    """
    path = f"/health/articles/{slug}/"
    env = {**os.environ}
    servers: dict[str, Server] = {}
    try:
        servers["cached"] = Server("bench.wsgi:application", env)
        body = servers["cached"].wait(path)
        static_file = VAR / "page.html"
        static_file.write_bytes(body)
        servers["static"] = Server("bench.static_app:application", {**env, "BENCH_STATIC_FILE": str(static_file)})
        # The page cache as the view decorator alone serves it (no PageCacheMiddleware, no CachedPagesWSGI):
        # the "before" of the reader fast path.
        servers["cached_without_fast_path"] = Server("bench.wsgi:application", {**env, "BENCH_FAST_PATH": "off"})
        servers["uncached"] = Server("bench.wsgi:application", {**env, "BENCH_CACHE": "dummy"})
        for server in servers.values():
            for _ in range(20):  # start and warm both workers
                server.wait(path)
        runs: dict[str, list[dict]] = {name: [] for name in servers}
        cpu: dict[str, float] = {name: 0.0 for name in servers}
        seconds = max(1, round(duration / ROUNDS))
        for _ in range(ROUNDS):
            for name, server in servers.items():
                before = cpu_seconds(server.process.pid)
                runs[name].append(load(server.url + path, seconds, connections))
                cpu[name] += cpu_seconds(server.process.pid) - before
    finally:
        for server in servers.values():
            server.stop()
    results: dict = {"page_bytes": len(body), "rounds": ROUNDS, "seconds_per_round": seconds}
    for name, parts in runs.items():
        requests = sum(part["requests"] for part in parts)
        results[name] = {
            "tool": parts[0]["tool"],
            "requests": requests,
            "rps": round(requests / (seconds * ROUNDS), 1),
            "rps_per_round": [part["rps"] for part in parts],
            "p50_ms": round(statistics.median(part["p50_ms"] for part in parts), 3),
            "p99_ms": round(max(part["p99_ms"] for part in parts), 3),
            "errors": sum(part["errors"] for part in parts),
            "server_cpu_ms_per_request": round(cpu[name] * 1000 / max(requests, 1), 4),
        }
        log(f"{name}: {results[name]['rps']:.0f} req/s, {results[name]['server_cpu_ms_per_request']} ms CPU/request")
    base = results["static"]
    for name in ("cached", "uncached", "cached_without_fast_path"):
        results[name]["ratio_to_static"] = round(results[name]["rps"] / base["rps"], 3) if base["rps"] else None
        results[name]["cpu_ratio_static_to_this"] = round(
            base["server_cpu_ms_per_request"] / max(results[name]["server_cpu_ms_per_request"], 1e-9), 3
        )
    return results


# ---------------------------------------------------------------- one database (child process)


def versions() -> dict:
    import django
    from django.db import connection

    info = {"python": platform.python_version(), "django": django.get_version(), "database": connection.vendor}
    with connection.cursor() as cursor:
        if connection.vendor == "sqlite":
            cursor.execute("select sqlite_version()")
        else:
            cursor.execute("show server_version")
        info["database_version"] = cursor.fetchone()[0]
    return info


def inner(args: argparse.Namespace) -> None:
    os.environ.setdefault("DJANGO_SETTINGS_MODULE", "bench.settings")
    import django

    django.setup()
    from django.core.management import call_command
    from django.db import connection

    from bench import generate

    result: dict = {"articles": args.articles, "terms": args.terms}
    exists = args.skip_generate or (
        connection.vendor == "sqlite" and args.keep_db and Path(os.environ["BENCH_SQLITE_PATH"]).exists()
    )
    call_command("migrate", verbosity=0, interactive=False)  # a kept database gets new indexes too
    if not exists:
        log(f"{connection.vendor}: generating {args.articles} articles, {args.terms} terms")
        argv = ["--articles", str(args.articles), "--terms", str(args.terms)]
        if args.link_every:
            argv += ["--link-every", str(args.link_every)]
        result["generate"] = generate.main(argv)
    result["versions"] = versions()
    from django.core.cache import caches

    caches["default"].clear()
    slugs = published_slugs(60)
    log(f"{connection.vendor}: editorial screens")
    result["screens"] = editorial_screens()
    log(f"{connection.vendor}: article page in-process")
    result["article_page"] = article_page(slugs)
    log(f"{connection.vendor}: linking and markdown")
    result["linking"] = linking_and_markdown()
    log(f"{connection.vendor}: publish transition")
    result["publish"] = publish_transition()
    if not args.skip_throughput:
        connection.close()
        caches["default"].clear()
        log(f"{connection.vendor}: throughput ({args.duration} s per target)")
        result["throughput"] = throughput(slugs[0], args.duration, args.connections)
    Path(args.out).write_text(json.dumps(result, indent=2, default=str))


def run_database(db: str, args: argparse.Namespace) -> dict:
    VAR.mkdir(parents=True, exist_ok=True)
    out = VAR / f"result-{db}.json"
    out.unlink(missing_ok=True)
    cache_dir = VAR / f"cache-{db}"
    shutil.rmtree(cache_dir, ignore_errors=True)
    env = {**os.environ, "DJANGO_SETTINGS_MODULE": "bench.settings", "BENCH_DB": db,
           "BENCH_CACHE_DIR": str(cache_dir), "PYTHONPATH": str(ROOT)}  # fmt: skip
    env.pop("BENCH_CACHE", None)
    command = [PYTHON, "-m", "bench.run", "--inner", "--out", str(out), "--articles", str(args.articles),
               "--terms", str(args.terms), "--duration", str(args.duration), "--connections", str(args.connections)]  # fmt: skip
    if args.skip_throughput:
        command.append("--skip-throughput")
    if args.link_every:
        command += ["--link-every", str(args.link_every)]
    if db == "sqlite":
        path = VAR / f"bench-{args.articles}-{args.terms}.sqlite3"
        if args.keep_db:
            command.append("--keep-db")
        else:
            for suffix in ("", "-wal", "-shm"):
                Path(f"{path}{suffix}").unlink(missing_ok=True)
        env["BENCH_SQLITE_PATH"] = str(path)
    else:
        command = [str(ROOT / "tests" / "with_postgres.sh"), *command]
        env.pop("HEALTHLIB_SKIP_POSTGRES", None)
    subprocess.run(command, cwd=ROOT, env=env, check=True)
    return json.loads(out.read_text())


# ---------------------------------------------------------------- report


def machine() -> dict:
    cpu = next((line.split(":", 1)[1].strip() for line in Path("/proc/cpuinfo").read_text().splitlines()
                if line.startswith("model name")), platform.processor())  # fmt: skip
    free = subprocess.run(["free", "-h"], capture_output=True, text=True).stdout.strip()
    return {
        "nproc": os.cpu_count(),
        "cpu": cpu,
        "memory": free,
        "load_average_at_start": os.getloadavg(),
        "wrk": shutil.which("wrk") is not None,
    }


def verdict(ok: bool | None) -> str:
    return "n/a" if ok is None else ("met" if ok else "**missed**")


def table(report: dict) -> str:
    lines = []
    n = report["articles"]
    lines.append(f"### {n:,} articles, {report['terms']:,} glossary terms ({report['started']})\n")
    m = report["machine"]
    memory = next((line.split()[1] for line in m["memory"].splitlines() if line.startswith("Mem:")), "?")
    versions = "; ".join(
        f"{db}: Python {r['versions']['python']}, Django {r['versions']['django']}, "
        f"{r['versions']['database']} {r['versions']['database_version']}"
        for db, r in report["databases"].items()
        if "versions" in r
    )
    lines.append(
        f"Machine: {m['nproc']} CPUs ({m['cpu']}), {memory} RAM, load average at start "
        f"{m['load_average_at_start'][0]:.1f}. {versions}. Command: `{report['command']}`.\n"
    )
    dbs = [db for db in ("sqlite", "postgres") if db in report["databases"]]
    header = "| measurement | " + " | ".join(dbs) + " | target |"
    lines += [header, "|---|" + "---|" * len(dbs) + "---|"]

    def row(label: str, getter, target: str = "") -> None:
        cells = []
        for db in dbs:
            try:
                cells.append(getter(report["databases"][db]))
            except (KeyError, TypeError, IndexError):
                cells.append("–")
        lines.append(f"| {label} | " + " | ".join(cells) + f" | {target} |")

    def tp(name):
        return lambda r: (f"{r['throughput'][name]['rps']:,.0f} req/s, p50 {r['throughput'][name]['p50_ms']:.2f} ms, "
                          f"p99 {r['throughput'][name]['p99_ms']:.2f} ms, {r['throughput'][name]['errors']} errors, "
                          f"{r['throughput'][name]['server_cpu_ms_per_request']:.3f} ms CPU/req")  # fmt: skip

    row("throughput: static baseline (gunicorn, 2 sync workers)", tp("static"))
    row(
        "server CPU per request, static / cached",
        lambda r: f"{r['throughput']['cached']['cpu_ratio_static_to_this']:.2f}",
    )
    row("throughput: cached article page", tp("cached"))
    row("cached / static req/s", lambda r: f"{r['throughput']['cached']['ratio_to_static']:.2f}", ">= 0.70")
    row("throughput: cached page without the fast path (before)", tp("cached_without_fast_path"))
    row("  ratio to static", lambda r: f"{r['throughput']['cached_without_fast_path']['ratio_to_static']:.2f}")
    row("throughput: uncached article page", tp("uncached"))
    row("uncached / static req/s", lambda r: f"{r['throughput']['uncached']['ratio_to_static']:.2f}")
    row("page size", lambda r: f"{r['throughput']['page_bytes']:,} bytes")
    row("article page uncached, in-process", lambda r: f"{r['article_page']['uncached']['median_ms']:.2f} ms median "
        f"(CPU {r['article_page']['uncached']['cpu_ms']:.2f} ms), {r['article_page']['uncached']['queries']} queries",
        "<= 2 ms, <= 4 queries")  # fmt: skip
    row("article page rendered per request (signed in, or stale stored page)", lambda r:
        f"{r['article_page']['rendered']['median_ms']:.2f} ms median "
        f"(CPU {r['article_page']['rendered']['cpu_ms']:.2f} ms), {r['article_page']['rendered']['queries']} queries")  # fmt: skip
    row("article page cached, in-process", lambda r: f"{r['article_page']['cached']['median_ms']:.3f} ms "
        f"(CPU {r['article_page']['cached']['cpu_ms']:.3f} ms), {r['article_page']['cached']['queries']} queries")  # fmt: skip
    row(
        "article page 304 (If-None-Match), in-process",
        lambda r: f"{r['article_page']['cached_304']['median_ms']:.3f} ms",
    )
    row("publish transition", lambda r: f"{r['publish']['median_ms']:.1f} ms, {r['publish']['queries']} queries "
        f"({r['publish']['words']} words)")  # fmt: skip
    for n in ("10", "1000", "10000"):
        row(f"glossary linking, {n} terms", lambda r, n=n: f"{r['linking']['linking'][n]['median_ms']:.2f} ms "
            f"(CPU {r['linking']['linking'][n]['cpu_ms']:.2f} ms) "
            f"({r['linking']['document_words']} words, {r['linking']['linking'][n]['links']} links)",
            "<= 10 ms; 10,000 <= 2x 10" if n == "10000" else "")  # fmt: skip
    row("markdown to HTML, 5,000 words", lambda r: f"{r['linking']['markdown_5000_words_ms']:.1f} ms")
    row("markdown to HTML, one article", lambda r: f"{r['linking']['markdown_article_ms']:.1f} ms "
        f"({r['linking']['markdown_article_words']} words)")  # fmt: skip
    for name, label, target in [
        ("changelist", "admin changelist (articles)", "<= 300 ms at 100k on PostgreSQL"),
        ("changelist_overdue", "admin changelist, overdue filter", "<= 300 ms at 100k on PostgreSQL"),
        ("review_queue", "review queue", "<= 300 ms at 100k on PostgreSQL"),
        ("review_due", "review-due report", "<= 300 ms at 100k on PostgreSQL"),
        ("search", "search page (6 queries)", "<= 50 ms at 100k"),
    ]:

        def cell(r, name=name):
            s = r["screens"][name]
            if "median_ms" not in s:
                return f"not available ({s.get('status')})"
            return f"{s['median_ms']:.1f} ms (CPU {s['cpu_ms']:.1f} ms), {s['queries']} queries"

        row(label, cell, target)
    row("rows: live / in review", lambda r: f"{r['screens']['rows']['live']:,} / {r['screens']['rows']['in_review']:,}")
    row("data generation", lambda r: f"{r['generate']['seconds']:.0f} s")
    return "\n".join(lines)


def check_targets(report: dict) -> list[str]:
    notes = []
    for db, r in report["databases"].items():
        tp = r.get("throughput")
        if tp:
            notes.append(
                f"{db}: cached/static {tp['cached']['ratio_to_static']:.2f} -> {verdict(tp['cached']['ratio_to_static'] >= TARGETS['cached_ratio'])}"
            )
        u = r["article_page"]["uncached"]
        notes.append(f"{db}: uncached page {u['median_ms']:.2f} ms, {u['queries']} queries -> "
                     f"{verdict(u['median_ms'] <= TARGETS['uncached_ms'] and u['queries'] <= TARGETS['uncached_queries'])}")  # fmt: skip
        link = r["linking"]["linking"]
        ok = (
            link["10000"]["median_ms"] <= TARGETS["link_ms"]
            and link["10000"]["median_ms"] <= TARGETS["link_ratio"] * link["10"]["median_ms"]
        )
        notes.append(
            f"{db}: linking 10,000 terms {link['10000']['median_ms']:.2f} ms vs 10 terms {link['10']['median_ms']:.2f} ms -> {verdict(ok)}"
        )
        if report["articles"] >= 100_000:
            for name in ("changelist", "review_queue", "review_due"):
                s = r["screens"][name]
                if db == "postgres" and "median_ms" in s:
                    notes.append(
                        f"{db}: {name} {s['median_ms']:.0f} ms -> {verdict(s['median_ms'] <= TARGETS['screen_ms_100k_pg'])}"
                    )
            s = r["screens"]["search"]
            if "median_ms" in s:
                notes.append(
                    f"{db}: search {s['median_ms']:.1f} ms -> {verdict(s['median_ms'] <= TARGETS['search_ms_100k'])}"
                )
    return notes


def write_docs(report: dict, text: str) -> None:
    """Replace the generated section for this number of articles (one section per size)."""
    begin = f"<!-- bench:generated:{report['articles']}:begin -->"
    end = f"<!-- bench:generated:{report['articles']}:end -->"
    doc = DOCS.read_text() if DOCS.exists() else f"# Benchmarks\n\n{begin}\n{end}\n"
    if begin not in doc:
        doc += f"\n{begin}\n{end}\n"
    head, rest = doc.split(begin, 1)
    _, tail = rest.split(end, 1)
    DOCS.write_text(f"{head}{begin}\n{text}\n{end}{tail}")


def main(argv=None) -> None:
    args = parse_args(argv)
    if args.inner:
        inner(args)
        return
    if args.from_json:  # print (and with --write-docs, record) the table of an earlier run
        report = json.loads(Path(args.from_json).read_text())
        text = table(report) + "\n\nTargets:\n" + "\n".join(f"- {note}" for note in check_targets(report))
        print(text)
        if args.write_docs:
            write_docs(report, text)
        return
    report = {
        "started": datetime.datetime.now(datetime.UTC).strftime("%Y-%m-%d %H:%M UTC"),
        "command": "python -m bench.run " + " ".join(argv if argv is not None else sys.argv[1:]),
        "articles": args.articles,
        "terms": args.terms,
        "machine": machine(),
        "databases": {},
    }
    for db in ["sqlite", "postgres"] if args.db == "both" else [args.db]:
        log(f"=== {db} ===")
        report["databases"][db] = run_database(db, args)
    RESULTS.mkdir(parents=True, exist_ok=True)
    stamp = datetime.datetime.now(datetime.UTC).strftime("%Y%m%dT%H%M%SZ")
    path = RESULTS / f"bench-{args.articles}-{stamp}.json"
    path.write_text(json.dumps(report, indent=2, default=str))
    text = table(report)
    notes = check_targets(report)
    text += "\n\nTargets:\n" + "\n".join(f"- {note}" for note in notes)
    print(text)
    print(f"\nJSON: {path.relative_to(ROOT)}")
    if args.write_docs:
        write_docs(report, text)


if __name__ == "__main__":
    main()
