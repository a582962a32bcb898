"""healthlib beside its peers (Wagtail 8, a static WSGI app, nginx) in one run of the peers harness.

    .venv/bin/python -m bench.peers [--peers ../shared/peers] [-d 10] [-r 3] [--articles 1000]
                                    [--port 18500] [--keep-db] [--cpu N | --profile N]
                                                                         (make bench-peers ARGS="...")

The peers harness (``bench.sh`` in the peers folder: ``--peers``, else ``$PEERS_DIR``, else
``../shared/peers`` beside the repository) serves one 11 KB health article from Wagtail 8 (1,000
published pages, SQLite, gunicorn 2 sync workers), from a trivial in-memory WSGI app and from nginx,
and load-tests every target in turns in one run. This script

1. builds a SQLite database (``var/bench/peers-<N>.sqlite3``) with N published articles carrying
   the peers' article (``content/article.html`` converted to markdown, checked block by block
   against the HTML; title and intro from ``content/article.json`` as title and summary), each
   created, submitted, approved and published through ``healthlib.workflow``, so the reader page
   stored at publish time is the real one. Like Wagtail's pages, the first has the peers' slug and
   the others ``article-0002`` ...; all share one topic, so the page lists related articles;
2. serves it with gunicorn, 2 sync workers, on 127.0.0.1 (``--port`` and the next one): once with
   healthlib's page cache disabled (``BENCH_PAGE_CACHE=off``, see bench/peers_settings.py) and once
   as deployed (the file-based page cache and its fast path);
3. runs ``WAGTAIL_PCONN=1 bench.sh --serve`` with both URLs added, so Wagtail (with and without
   persistent connections), the static app, nginx and healthlib share one run's conditions, and
   prints the harness's table and the ratios the targets are stated in.

``--cpu N`` instead compares the CPU time per request of the uncached page and of Wagtail (persistent
connections), both WSGI handlers called directly, in turns (robust on a shared machine);
``--profile N`` profiles N uncached requests with pyinstrument.

Raw rows stay where the harness puts them (``/tmp/peers/results``); a JSON summary goes to
bench/results/ (git-ignored).
"""

from __future__ import annotations

import argparse
import csv
import datetime
import hashlib
import json
import os
import random
import re
import signal
import statistics
import subprocess
import sys
import time
import urllib.request
from html.parser import HTMLParser
from pathlib import Path

from bench import generate

ROOT = Path(__file__).resolve().parent.parent
VAR = ROOT / "var" / "bench"
RESULTS = ROOT / "bench" / "results"
DEFAULT_PEERS = "../shared/peers"  # relative to the repository
WORKERS = 2
TARGET_RATIO = 3.0
#: Bump when the way the database is built changes (a kept database is rebuilt).
BUILD_FORMAT = "1"
#: Where the harness builds the Wagtail site and its virtualenv (fixed by the harness's scripts).
PEERS_BUILD = Path("/tmp/peers")
#: CPU seconds of N requests through Wagtail's WSGI handler, with the harness's own request function.
WAGTAIL_CPU = """
import runpy, sys, time
measure, n = sys.argv[1], int(sys.argv[2])
sys.argv = [measure]
get = runpy.run_path(measure, run_name="peers_measure")["wsgi_get"]
for _ in range(50):
    get("/{slug}/")
cpu = time.process_time()
for _ in range(n):
    get("/{slug}/")
print(time.process_time() - cpu)
"""
#: Variables this script sets for healthlib's servers, never passed to the harness's.
OWN_ENVIRONMENT = {"DJANGO_SETTINGS_MODULE", "PYTHONPATH"}


def parse_args(argv: list[str] | None = None) -> argparse.Namespace:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--peers", help=f"the peers harness folder (default: $PEERS_DIR or {DEFAULT_PEERS})")
    parser.add_argument("--articles", type=int, default=1000)
    parser.add_argument("-d", "--duration", type=int, default=10, help="seconds per target per round (harness)")
    parser.add_argument("-r", "--rounds", type=int, default=3)
    parser.add_argument("-c", "--concurrency", type=int, default=8)
    parser.add_argument("-w", "--warmup", type=int, default=3)
    parser.add_argument("--port", type=int, default=18500, help="healthlib uncached on PORT, cached on PORT+1")
    parser.add_argument("--keep-db", action="store_true", help="reuse the database if its inputs are unchanged")
    parser.add_argument("--build-only", action="store_true", help="build (or check) the database and stop")
    parser.add_argument(
        "--cpu", type=int, metavar="N", default=0,
        help="instead of the load test: CPU per request of N uncached requests through each WSGI handler, "
             "healthlib and Wagtail (persistent connections) in turns, 3 rounds",
    )  # fmt: skip
    parser.add_argument(
        "--profile", type=int, metavar="N", default=0,
        help="instead of the load test: N uncached requests through the WSGI handler under pyinstrument",
    )  # fmt: skip
    return parser.parse_args(argv)


def log(message: str) -> None:
    print(f"[peers {time.strftime('%H:%M:%S', time.gmtime())} UTC] {message}", file=sys.stderr, flush=True)


def peers_dir(option: str | None) -> Path:
    folder = Path(option or os.environ.get("PEERS_DIR") or DEFAULT_PEERS)
    if not folder.is_absolute():
        folder = ROOT / folder
    if not (folder / "bench.sh").is_file():
        sys.exit(f"!! the peers harness is not at {folder} (bench.sh missing): pass --peers or set PEERS_DIR")
    return folder.resolve()


# ---------------------------------------------------------------- the article as markdown


class _Blocks(HTMLParser):
    """The blocks of simple article HTML: ``(tag, inline markdown)`` for h2-h6 and p, ```(tag, [items])``
    for ul and ol. ``strong``/``b`` and ``em``/``i`` become ``**``/``*``; other text is escaped for
    markdown (backslash escapes, and entities for ``&`` and ``<``, which Python-Markdown does not unescape)."""

    INLINE = {"strong": "**", "b": "**", "em": "*", "i": "*"}

    def __init__(self) -> None:
        super().__init__(convert_charrefs=True)
        self.blocks: list[tuple[str, str | list[str]]] = []
        self.items: list[str] | None = None
        self.text: list[str] | None = None
        self.tag = ""

    def handle_starttag(self, tag: str, attrs) -> None:
        if tag in ("ul", "ol") and self.items is None and self.text is None:
            self.items = []
            self.blocks.append((tag, self.items))
        elif tag in ("h2", "h3", "h4", "h5", "h6", "p") and self.items is None and self.text is None:
            self.tag, self.text = tag, []
        elif tag == "li" and self.items is not None and self.text is None:
            self.tag, self.text = tag, []
        elif tag in self.INLINE and self.text is not None:
            self.text.append(self.INLINE[tag])
        else:
            raise ValueError(f"<{tag}> here is more than this converter knows (line {self.getpos()[0]})")

    def handle_endtag(self, tag: str) -> None:
        if tag in self.INLINE:
            if self.text is not None:
                self.text.append(self.INLINE[tag])
        elif tag in ("ul", "ol"):
            self.items = None
        elif tag == self.tag and self.text is not None:
            inline = " ".join("".join(self.text).split())
            if tag == "li":
                assert self.items is not None
                self.items.append(inline)
            else:
                self.blocks.append((tag, inline))
            self.text = None

    def handle_data(self, data: str) -> None:
        if self.text is not None:
            escaped = re.sub(r"([\\`*_\[\]])", r"\\\1", data)
            self.text.append(escaped.replace("&", "&amp;").replace("<", "&lt;"))
        elif data.strip():
            raise ValueError(f"text outside a block: {data.strip()[:40]!r}")


def html_blocks(text: str) -> list[tuple[str, str | list[str]]]:
    parser = _Blocks()
    parser.feed(text)
    parser.close()
    return parser.blocks


def html_to_markdown(text: str) -> str:
    """Markdown for simple article HTML: headings, paragraphs, flat lists, bold and italics."""
    out = []
    for tag, inline in html_blocks(text):
        if isinstance(inline, list):
            out.append("\n".join(f"{n}. {item}" if tag == "ol" else f"- {item}" for n, item in enumerate(inline, 1)))
        elif tag[0] == "h":
            out.append("#" * int(tag[1]) + " " + inline)
        else:  # a paragraph that starts like a list item, a heading or a quote stays a paragraph
            out.append(re.sub(r"^(\d+)\.(?=\s)|^([-+#>])", lambda m: f"{m[1]}\\." if m[1] else f"\\{m[2]}", inline))
    return "\n\n".join(out)


def plain_blocks(text: str) -> list[tuple[str, str]]:
    """Tag and visible text of every block, inline markup dropped: what two renderings must share."""
    flat = []
    for tag, inline in html_blocks(text):
        for part in inline if isinstance(inline, list) else [inline]:
            visible = re.sub(r"\\(.)", r"\1", part.replace("**", "").replace("*", ""))
            visible = visible.replace("&lt;", "<").replace("&amp;", "&")
            flat.append((tag, visible))
    return flat


# ---------------------------------------------------------------- the database


def article_content(peers: Path) -> tuple[dict, str, str]:
    """(meta, body markdown, body HTML as the peers serve it)."""
    meta = json.loads((peers / "content" / "article.json").read_text(encoding="utf-8"))
    body_html = (peers / "content" / "article.html").read_text(encoding="utf-8")
    return meta, html_to_markdown(body_html), body_html


def build_stamp(peers: Path, articles: int) -> str:
    digest = hashlib.sha256(f"{BUILD_FORMAT} {articles}\0".encode())
    for name in ("article.html", "article.json"):
        digest.update((peers / "content" / name).read_bytes())
    for path in sorted((ROOT / "healthlib" / "migrations").glob("*.py")):
        digest.update(path.name.encode())
    return digest.hexdigest()


def setup_django(db: Path, cache_dir: Path, *, page_cache: bool = True) -> None:
    os.environ["DJANGO_SETTINGS_MODULE"] = "bench.peers_settings"
    os.environ["BENCH_SQLITE_PATH"] = str(db)
    os.environ["BENCH_CACHE_DIR"] = str(cache_dir)
    if page_cache:
        os.environ.pop("BENCH_PAGE_CACHE", None)
    else:
        os.environ["BENCH_PAGE_CACHE"] = "off"
    import django

    django.setup()


class PeerCopies(generate.Generator):
    """bench/generate.py's bulk path, with the peers' article instead of generated ones and no glossary.

    Rows go in fully formed, as the workflow leaves a published article (revision with its content
    hash and readability, an approving review by a reviewer who is not the author, one event per
    transition); ``generate.store_pages`` then stores every page with the real ``reader_pages.derive``.
    """

    def __init__(self, args: argparse.Namespace, meta: dict, body: str, slugs: list[str]) -> None:
        super().__init__(args)
        self.meta, self.body, self.slugs = meta, body, slugs

    def glossary(self) -> None:
        from healthlib.glossary_automaton import Glossary

        self.term_mentions, self.published_terms = [], []
        self.linker = Glossary.build([])

    def articles(self) -> None:
        from healthlib.content_schema import clean_article_content
        from healthlib.html import plain_text
        from healthlib.markup import render_document
        from healthlib.models import Article, Kind, content_hash
        from healthlib.readability import measure

        summary = self.meta["intro"]
        document = render_document(self.body)
        stats = generate.stats_of([measure(render_document(summary + "\n\n" + self.body).html)])
        text = " ".join([summary, plain_text(document.html)])
        through = generate.Table(Article.topics.through)
        for number, slug in self.slugs:
            rng = random.Random(f"{self.seed}:peers:{number}")
            content = {"title": title_of(self.meta, number), "summary": summary, "body": self.body, "references": []}
            assert clean_article_content(content) == content, "the article's content is not in canonical form"
            item_id = self.ids["item"].next()
            revisions = [(content["title"], content, content_hash(content), stats)]
            fields = self.history(rng, item_id, "published", revisions, 365)
            self.item_row(item_id, Kind.ARTICLE, fields, None)
            self.t_article.add(
                contentitem_ptr_id=item_id, slug=slug, article_type="treatment", live_title=content["title"],
                live_summary=summary, live_body_html=document.html, live_toc_html=document.toc_html,
                live_references=[],
            )  # fmt: skip
            through.add(id=self.ids["m2m"].next(), article_id=item_id, topic_id=self.topics[0].pk)
            self.search_entry(item_id, Kind.ARTICLE, content["title"], text, f"/health/articles/{slug}/")
        through.flush()
        self.verified = 0


def title_of(meta: dict, number: int) -> str:
    """As the Wagtail peer names its pages: the article's title, then "(2)" to "(N)"."""
    return meta["title"] if number == 1 else f"{meta['title']} ({number})"


def build(peers: Path, count: int) -> dict:
    """A fresh database: ``count - 1`` copies by the bulk path, then the measured article through
    ``healthlib.workflow`` (create, submit, approve, publish), which stores its page as publishing does."""
    from django.core.management import call_command

    from healthlib import workflow
    from healthlib.markup import render_document

    meta, body, body_html = article_content(peers)
    rendered, source = plain_blocks(render_document(body).html), plain_blocks(body_html)
    if rendered != source:
        first = next((i for i, (a, b) in enumerate(zip(rendered, source, strict=False)) if a != b), len(source))
        raise SystemExit(f"!! the markdown body renders differently from article.html at block {first}")
    call_command("migrate", verbosity=0, interactive=False)
    started = time.monotonic()
    copies = [(number, f"article-{number:04d}") for number in range(2, count + 1)]
    generator = PeerCopies(
        generate.parse_args(["--articles", str(len(copies)), "--terms", "0", "--quiet"]), meta, body, copies
    )
    generated = generator.run()
    log(f"{len(copies)} copies in {generated['seconds']:.0f} s (bulk path, pages stored by reader_pages.derive)")
    editor, reviewer = generator.editors[0], generator.reviewers[0]
    content = {"title": title_of(meta, 1), "summary": meta["intro"], "body": body, "references": []}
    article = workflow.create_article(
        editor, slug=meta["slug"], article_type="treatment", content=content, topics=[generator.topics[0]]
    )
    workflow.submit(article, editor)
    workflow.approve(article, reviewer)
    workflow.publish(article, editor)
    seconds = time.monotonic() - started
    log(f"{count} articles in {seconds:.0f} s")
    return {"seconds": round(seconds, 1), "markdown_chars": len(body), "rows": generated["rows"]}


def check_page(slug: str) -> dict:
    """The measured page: stored at publish time and current, its size and its queries uncached."""
    from django.test import Client

    from bench.run import NoPageCache, count_queries
    from healthlib import reader_pages
    from healthlib.models import Article

    article = Article.objects.get(slug=slug)
    if not article.is_live or article.live_page_key != reader_pages.fingerprint():
        raise SystemExit(f"!! {slug}: no current stored page (rebuild without --keep-db)")
    client = Client()
    url = f"/health/articles/{slug}/"
    with NoPageCache():
        response = client.get(url)
        client.get(url)
        queries = count_queries(lambda: client.get(url))
    assert response.status_code == 200, response.status_code
    return {"url": url, "bytes": len(response.content), "queries_uncached": queries}


def wsgi_get(url: str):
    """A function that sends one GET for ``url`` through the site's WSGI application, as gunicorn calls it."""
    from wsgiref.util import setup_testing_defaults

    from bench.wsgi import application

    def get() -> bytes:
        environ = {"PATH_INFO": url, "HTTP_HOST": "127.0.0.1", "SERVER_NAME": "127.0.0.1", "SERVER_PORT": "80"}
        setup_testing_defaults(environ)
        status = []
        body = application(environ, lambda s, h, exc_info=None: status.append(s))
        try:
            data = b"".join(body)
        finally:
            getattr(body, "close", lambda: None)()
        assert status == ["200 OK"], status
        return data

    return get


def cpu_per_request(peers: Path, url: str, slug: str, requests: int) -> dict:
    """CPU ms per request of healthlib (uncached, this process) and Wagtail (persistent connections,
    the harness's ``wagtail/measure.py`` in its virtualenv), in turns. CPU time depends less than
    wall-clock time on what else a shared machine runs, though contention inflates it too (caches)."""
    get = wsgi_get(url)
    for _ in range(50):
        get()
    python = PEERS_BUILD / "wagtail-venv" / "bin" / "python"
    measure = peers / "wagtail" / "measure.py"
    env = {k: v for k, v in os.environ.items() if k not in OWN_ENVIRONMENT and not k.startswith("BENCH_")}
    subprocess.run([str(peers / "wagtail" / "setup.sh")], env=env, check=True)  # a no-op once the site is built
    env["PEERS_CONN_MAX_AGE"] = "none"
    runs: dict[str, list[float]] = {"healthlib-uncached": [], "wagtail-pconn": []}
    for _ in range(3):
        out = subprocess.run([str(python), "-c", WAGTAIL_CPU.replace("{slug}", slug), str(measure), str(requests)],
                             env=env, capture_output=True, text=True, check=True).stdout  # fmt: skip
        runs["wagtail-pconn"].append(float(out.split()[-1]) * 1000 / requests)
        cpu = time.process_time()
        for _ in range(requests):
            get()
        runs["healthlib-uncached"].append((time.process_time() - cpu) * 1000 / requests)
    result = {name: {"cpu_ms": round(statistics.median(ms), 3), "rounds": [round(x, 3) for x in ms]}
              for name, ms in runs.items()}  # fmt: skip
    ratio = result["wagtail-pconn"]["cpu_ms"] / result["healthlib-uncached"]["cpu_ms"]
    print(f"CPU per request, WSGI handler called directly, {requests} requests x 3 rounds in turns (median):")
    for name, value in result.items():
        print(f"  {name:20} {value['cpu_ms']:.2f} ms  (rounds {', '.join(f'{x:.2f}' for x in value['rounds'])})")
    print(f"  wagtail-pconn / healthlib-uncached: {ratio:.2f}")
    return {**result, "ratio": round(ratio, 2)}


def profile(url: str, requests: int) -> None:
    """Uncached requests through the site's WSGI application called as gunicorn calls it, profiled."""
    from pyinstrument import Profiler

    get = wsgi_get(url)
    for _ in range(20):
        get()
    cpu = time.process_time()
    for _ in range(requests):
        get()
    print(f"{requests} uncached requests without the profiler: {(time.process_time() - cpu) * 1000 / requests:.2f} "
          "ms CPU per request")  # fmt: skip
    profiler = Profiler(interval=0.0002)
    started = time.perf_counter()
    cpu = time.process_time()
    with profiler:
        for _ in range(requests):
            get()
    wall, cpu = time.perf_counter() - started, time.process_time() - cpu
    print(profiler.output_text(unicode=False, color=False, show_all=False))
    print(f"{requests} uncached requests: {wall * 1000 / requests:.2f} ms wall, {cpu * 1000 / requests:.2f} ms CPU "
          "per request (with the profiler's overhead)")  # fmt: skip


# ---------------------------------------------------------------- serving and the harness


def serve(port: int, env: dict, log_path: Path) -> subprocess.Popen:
    command = [str(Path(sys.executable).parent / "gunicorn"), "--workers", str(WORKERS), "--worker-class", "sync",
               "--bind", f"127.0.0.1:{port}", "--log-level", "warning", "bench.wsgi:application"]  # fmt: skip
    with log_path.open("wb") as out:
        return subprocess.Popen(command, cwd=ROOT, env=env, stdout=out, stderr=subprocess.STDOUT)


def wait_ready(url: str, process: subprocess.Popen) -> None:
    deadline = time.monotonic() + 60
    while time.monotonic() < deadline:
        if process.poll() is not None:
            raise SystemExit(f"!! gunicorn for {url} exited with {process.returncode}")
        try:
            with urllib.request.urlopen(url, timeout=5) as response:
                if response.status == 200:
                    return
        except OSError:
            time.sleep(0.3)
    raise SystemExit(f"!! {url} did not answer 200 within 60 s")


def stop(process: subprocess.Popen) -> None:
    if process.poll() is None:
        process.send_signal(signal.SIGTERM)
        try:
            process.wait(timeout=20)
        except subprocess.TimeoutExpired:
            process.kill()


def run_harness(peers: Path, args: argparse.Namespace, targets: dict[str, tuple[str, int]]) -> Path:
    """Run ``WAGTAIL_PCONN=1 bench.sh --serve`` with ``targets`` (name -> (url, pid)); return its TSV."""
    command = [str(peers / "bench.sh"), "--serve", "-d", str(args.duration), "-r", str(args.rounds),
               "-c", str(args.concurrency), "-w", str(args.warmup)]  # fmt: skip
    for name, (url, pid) in targets.items():
        command += ["--pid", f"{name}={pid}", f"{name}={url}"]
    # Not this process's Django settings: the harness's servers read DJANGO_SETTINGS_MODULE too.
    env = {k: v for k, v in os.environ.items() if k not in OWN_ENVIRONMENT and not k.startswith("BENCH_")}
    env["WAGTAIL_PCONN"] = "1"
    log("running " + " ".join(command[1:]) + " (WAGTAIL_PCONN=1)")
    process = subprocess.Popen(command, env=env, stdout=subprocess.PIPE, text=True)
    tsv = None
    assert process.stdout is not None
    for line in process.stdout:
        print(line, end="", flush=True)
        if line.startswith("raw: "):
            tsv = Path(line[5:].strip())
    if process.wait() != 0 or tsv is None:
        raise SystemExit(f"!! the peers harness failed (exit {process.returncode})")
    return tsv


def summarise(tsv: Path) -> dict[str, dict]:
    """Per target, as the harness's table: median req/s over rounds and server CPU ms per request."""
    rows: dict[str, list[dict]] = {}
    with tsv.open() as f:
        for row in csv.DictReader(f, delimiter="\t"):
            rows.setdefault(row["target"], []).append(row)
    result = {}
    for name, runs in rows.items():
        rps = [int(r["requests"]) / (int(r["duration_us"]) / 1e6) for r in runs]
        known = all(r["server_cpu_s"] != "-" for r in runs)
        requests = sum(int(r["requests"]) for r in runs)
        result[name] = {
            "rps": round(statistics.median(rps), 1),
            "rps_per_round": [round(x, 1) for x in rps],
            "p50_ms": statistics.median(int(r["p50_us"]) for r in runs) / 1000,
            "errors": sum(int(r[k]) for r in runs for k in ("status_err", "connect_err", "read_err", "write_err",
                                                             "timeout_err")),  # fmt: skip
            "server_cpu_ms": round(1000 * sum(float(r["server_cpu_s"]) for r in runs) / requests, 3) if known else None,
            "other_cores": round(statistics.median(
                (float(r["all_cpu_s"]) - float(r["server_cpu_s"]) - float(r["wrk_cpu_s"])) / float(r["elapsed_s"])
                for r in runs), 2) if known else None,
        }  # fmt: skip
    return result


RATIOS = [
    ("healthlib uncached / wagtail-pconn", "healthlib-uncached", "wagtail-pconn", TARGET_RATIO),
    ("healthlib uncached / wagtail", "healthlib-uncached", "wagtail", None),
    ("healthlib uncached / static", "healthlib-uncached", "static", None),
    ("healthlib cached / static", "healthlib-cached", "static", None),
    ("healthlib cached / wagtail-pconn", "healthlib-cached", "wagtail-pconn", None),
]


def ratios_table(stats: dict[str, dict]) -> str:
    lines = ["| ratio | req/s | server CPU per request (inverse) | target |", "|---|---|---|---|"]
    for label, a, b, target in RATIOS:
        if a not in stats or b not in stats:
            continue
        rps = stats[a]["rps"] / stats[b]["rps"]
        cpu_a, cpu_b = stats[a]["server_cpu_ms"], stats[b]["server_cpu_ms"]
        cpu = f"{cpu_b / cpu_a:.2f}" if cpu_a and cpu_b else "–"
        goal = "" if target is None else f">= {target:g}: {'met' if rps >= target else '**missed**'}"
        lines.append(f"| {label} | {rps:.2f} | {cpu} | {goal} |")
    return "\n".join(lines)


def main(argv: list[str] | None = None) -> None:
    args = parse_args(argv)
    peers = peers_dir(args.peers)
    VAR.mkdir(parents=True, exist_ok=True)
    db = VAR / f"peers-{args.articles}.sqlite3"
    cache_dir = VAR / "peers-cache"
    stamp_file = Path(f"{db}.stamp")
    stamp = build_stamp(peers, args.articles)
    fresh = not (args.keep_db and db.exists() and stamp_file.exists() and stamp_file.read_text() == stamp)
    if fresh:
        for suffix in ("", "-wal", "-shm", ".stamp"):
            Path(f"{db}{suffix}").unlink(missing_ok=True)
    setup_django(db, cache_dir, page_cache=not (args.profile or args.cpu))
    from django.core.cache import caches
    from django.db import connection

    from bench.run import versions

    report: dict = {"started": datetime.datetime.now(datetime.UTC).strftime("%Y-%m-%d %H:%M UTC"),
                    "command": "python -m bench.peers " + " ".join(argv if argv is not None else sys.argv[1:]),
                    "articles": args.articles}  # fmt: skip
    if fresh:
        log(f"building {db.relative_to(ROOT)}: {args.articles} articles through healthlib.workflow")
        report["build"] = build(peers, args.articles)
        stamp_file.write_text(stamp)
    slug = json.loads((peers / "content" / "article.json").read_text())["slug"]
    report["page"] = check_page(slug)
    report["versions"] = versions()
    log(f"page {report['page']['url']}: {report['page']['bytes']:,} bytes, "
        f"{report['page']['queries_uncached']} queries uncached")  # fmt: skip
    caches["default"].clear()
    connection.close()
    if args.profile:
        profile(report["page"]["url"], args.profile)
        return
    if args.cpu:
        report["cpu"] = cpu_per_request(peers, report["page"]["url"], slug, args.cpu)
        write_report(report, "peers-cpu")
        return
    if args.build_only:
        return
    env = {**os.environ, "PYTHONPATH": str(ROOT)}
    servers = {
        "healthlib-uncached": (args.port, {**env, "BENCH_PAGE_CACHE": "off"}),
        "healthlib-cached": (args.port + 1, env),
    }
    processes: dict[str, subprocess.Popen] = {}
    try:
        targets = {}
        for name, (port, server_env) in servers.items():
            processes[name] = serve(port, server_env, VAR / f"{name}.log")
            url = f"http://127.0.0.1:{port}{report['page']['url']}"
            wait_ready(url, processes[name])
            targets[name] = (url, processes[name].pid)
        tsv = run_harness(peers, args, targets)
    finally:
        for process in processes.values():
            stop(process)
    report["harness"] = {"tsv": str(tsv), "duration": args.duration, "rounds": args.rounds,
                         "concurrency": args.concurrency}  # fmt: skip
    report["targets"] = summarise(tsv)
    print()
    print(ratios_table(report["targets"]))
    write_report(report, "peers")


def write_report(report: dict, name: str) -> None:
    RESULTS.mkdir(parents=True, exist_ok=True)
    out = RESULTS / f"{name}-{time.strftime('%Y%m%dT%H%M%SZ', time.gmtime())}.json"
    out.write_text(json.dumps(report, indent=2, default=str))
    print(f"\nJSON: {out.relative_to(ROOT)}")


if __name__ == "__main__":
    main()
