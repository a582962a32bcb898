"""Varnish in front of healthlib: how soon a change reaches readers, and what the VCL costs per request.

    .venv/bin/python -m bench.varnish [--changes 5] [--duration 3] [--rounds 3] [--connections 16]
    tests/with_postgres.sh .venv/bin/python -m bench.varnish      (the same on PostgreSQL)

The stack of tests/test_varnish.py (tests/varnish_stack.py: the shipped VCL with vmod_xkey, two
gunicorn app servers, Redis, the database), started once:

(a) **commit to new page**: a reader polls one article through Varnish on a keep-alive connection
    while the editor's process publishes a new revision, reaffirms or archives it (each ``--changes``
    times, on different articles). Reported: from the transition's commit (``time.time()`` in the
    editor's process, in the first after-commit callback) to the first response through Varnish that
    shows the change (polls 5 ms apart), and to the moment the purge had been accepted. One publish
    before them warms the app servers up and is not counted. Target: <= 1 s.
(b) **cached article vs static object**: requests/s through Varnish of the cached article page against
    the same bytes cached by the same Varnish from a plain file server (``python -m http.server``),
    in ``--rounds`` rounds of ``--duration`` seconds each, one after the other, with the same load
    generator (wrk, ``make bench-deps``; else bench/run.py's Python one). Reported: the median of the
    rounds' ratios (each round's two runs are adjacent in time), and varnishd's CPU time per request of
    each (/proc, manager and child): on a loaded machine the second is the steadier measure of what the
    article costs Varnish. Target: >= 90 % of the static object.

Prints a markdown table; JSON under bench/results/ (git-ignored).
"""

from __future__ import annotations

import argparse
import datetime
import http.client
import json
import os
import statistics
import subprocess
import sys
import tempfile
import threading
import time
from collections.abc import Callable
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

from bench.run import cpu_seconds, load  # noqa: E402
from tests import varnish_stack  # noqa: E402

RESULTS = ROOT / "bench" / "results"
STATIC_PATH = "/bench-static/article.html"
#: Only for the bench: one more backend, the file server, and its address routed to it.
STATIC_VCL = """
backend static_files {{ .host = "127.0.0.1"; .port = "{port}"; }}
sub vcl_recv {{
    if (req.url ~ "^/bench-static/") {{
        set req.backend_hint = static_files;
        return (hash);
    }}
}}
"""
#: Between two polls of the reader: the resolution of (a).
POLL_INTERVAL = 0.005
#: Generous: a loaded machine. Only a change that never shows would take this long.
POLL_DEADLINE = 30.0


def page(slug: str) -> str:
    return f"/health/articles/{slug}/"


def commit_to_page(stack, action: str, slug: str, changed: Callable[[int, str], bool], **arguments) -> dict:
    """Poll ``slug`` through Varnish while the editor's process runs ``action``; the delays after its commit."""
    path = page(slug)
    stack.get(path)
    assert stack.get(path).cache == "HIT", f"{path} is not cached"
    seen: dict = {}
    running = threading.Event()

    def poll() -> None:
        connection = http.client.HTTPConnection("127.0.0.1", stack.varnish_port, timeout=30)
        deadline = time.monotonic() + POLL_DEADLINE
        try:
            while time.monotonic() < deadline:
                connection.request("GET", path, headers={"Host": "localhost"})
                response = connection.getresponse()
                body = response.read().decode("utf-8", "replace")
                received = time.time()
                running.set()
                if changed(response.status, body):
                    seen.update(at=received, cache=response.getheader("X-Cache"))
                    return
                seen["polls"] = seen.get("polls", 0) + 1
                time.sleep(POLL_INTERVAL)  # leave the cores to the servers (2 here)
        finally:
            connection.close()

    poller = threading.Thread(target=poll)
    poller.start()
    running.wait(timeout=30)
    answer = stack.do(action, slug=slug, readers=False, **arguments)
    answered = time.time()
    poller.join()
    if "at" not in seen:
        raise RuntimeError(f"{action} of {slug}: the page did not change within {POLL_DEADLINE} s")
    committed = answer["committed_at"]
    return {
        "action": action,
        "page_ms": round((seen["at"] - committed) * 1000, 1),
        "purged_ms": round((answered - committed) * 1000, 1),
        "old_pages_polled": seen.get("polls", 0),
        "pending_purges": answer["pending_purges"],
    }


def freshness(stack, changes: int) -> list[dict]:
    today = datetime.datetime.now(datetime.UTC).date().isoformat()
    # Not counted: its page may be the first request an app server answers (Django's lazy start-up).
    warm_up = commit_to_page(stack, "publish", "warm-up", lambda s, b: "Warm-up" in b, title="Warm-up")
    rows = [{**warm_up, "action": "warm-up publish"}]
    for i in range(changes):
        title = f"Revision {i} of the bench"
        rows.append(commit_to_page(stack, "publish", f"publish-{i}", lambda s, b, t=title: t in b, title=title))
        rows.append(
            commit_to_page(
                stack, "reaffirm", f"reaffirm-{i}", lambda s, b: f'Last reviewed on <time datetime="{today}">' in b
            )
        )
        rows.append(commit_to_page(stack, "archive", f"archive-{i}", lambda s, b: s in (404, 410)))
    return rows


def throughput(stack, args: argparse.Namespace) -> dict:
    static_port = stack.extra_ports[0]
    article = stack.get(page("throughput"))
    article = stack.get(page("throughput"))
    assert article.cache == "HIT"
    root = Path(tempfile.mkdtemp(prefix="healthlib-bench-static-"))
    (root / "bench-static").mkdir()
    (root / "bench-static" / "article.html").write_bytes(article.body.encode())
    server = subprocess.Popen(
        [sys.executable, "-m", "http.server", "--bind", "127.0.0.1", "--directory", str(root), str(static_port)],
        stdout=subprocess.DEVNULL,
        stderr=subprocess.DEVNULL,
    )
    try:
        varnish_stack._wait_for_port(static_port, server, "http.server", root / "none.log")
        static = stack.get(STATIC_PATH)
        static = stack.get(STATIC_PATH)
        assert static.cache == "HIT" and static.body == article.body
        base = f"http://127.0.0.1:{stack.varnish_port}"
        runs: dict[str, list[dict]] = {"static": [], "article": []}
        for _ in range(args.rounds):
            for name, path in (("static", STATIC_PATH), ("article", page("throughput"))):
                before = cpu_seconds(stack.varnish_pid)
                run = load(base + path, args.duration, args.connections)
                run["varnish_cpu_us"] = (cpu_seconds(stack.varnish_pid) - before) / max(run["requests"], 1) * 1e6
                runs[name].append(run)
        return {
            "bytes": len(article.body.encode()),
            "runs": runs,
            "static_rps": statistics.median(r["rps"] for r in runs["static"]),
            "article_rps": statistics.median(r["rps"] for r in runs["article"]),
            "static_cpu_us": statistics.median(r["varnish_cpu_us"] for r in runs["static"]),
            "article_cpu_us": statistics.median(r["varnish_cpu_us"] for r in runs["article"]),
            # Each round's two runs are adjacent in time: their ratio is less exposed to the machine's load.
            "round_ratios": [a["rps"] / b["rps"] for a, b in zip(runs["article"], runs["static"], strict=True)],
            "errors": sum(r["errors"] for rs in runs.values() for r in rs),
        }
    finally:
        server.terminate()
        server.wait(timeout=20)
        subprocess.run(["rm", "-rf", str(root)], check=False)


def report(result: dict) -> str:
    lines = ["| measure | median | worst | target |", "|---|---|---|---|"]
    for action in ("publish", "reaffirm", "archive"):
        rows = [r for r in result["freshness"] if r["action"] == action]
        page_ms = [r["page_ms"] for r in rows]
        purged = [r["purged_ms"] for r in rows]
        lines.append(
            f"| {action}: commit to new page through Varnish ({len(rows)}x) | {statistics.median(page_ms):.0f} ms "
            f"| {max(page_ms):.0f} ms | <= 1000 ms |"
        )
        lines.append(
            f"| {action}: commit to purge accepted | {statistics.median(purged):.0f} ms | {max(purged):.0f} ms | |"
        )
    warm_up = [r for r in result["freshness"] if r["action"] == "warm-up publish"][0]
    lines.append(
        f"| (not counted) warm-up publish, maybe an app server's first request | {warm_up['page_ms']:.0f} ms | | |"
    )
    tp = result["throughput"]
    ratio = statistics.median(tp["round_ratios"])
    spread = f"{min(tp['round_ratios']):.0%}-{max(tp['round_ratios']):.0%}"
    lines.append(f"| static object through Varnish ({tp['bytes']} bytes) | {tp['static_rps']:.0f} req/s | | |")
    lines.append(f"| cached article through Varnish | {tp['article_rps']:.0f} req/s | | |")
    lines.append(f"| article / static, median of the rounds' ratios (range) | {ratio:.0%} | {spread} | >= 90 % |")
    cpu = tp["static_cpu_us"] / tp["article_cpu_us"]
    lines.append(
        f"| Varnish CPU per request, static / article (less exposed to load) | {cpu:.0%} "
        f"| {tp['static_cpu_us']:.1f} / {tp['article_cpu_us']:.1f} µs | >= 90 % |"
    )
    lines.append(f"| load errors (non-2xx, socket) | {tp['errors']} | | 0 |")
    return "\n".join(lines)


def main(argv=None) -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--changes", type=int, default=5, help="transitions of each kind")
    parser.add_argument("--duration", type=int, default=2, help="seconds per target and round")
    parser.add_argument("--rounds", type=int, default=7)
    parser.add_argument("--connections", type=int, default=16)
    args = parser.parse_args(argv)
    lacking = varnish_stack.missing()
    if lacking:
        raise SystemExit(f"missing: {', '.join(lacking)} (make varnish-deps redis-deps)")
    slugs = ["throughput", "warm-up"] + [
        f"{kind}-{i}" for i in range(args.changes) for kind in ("publish", "reaffirm", "archive")
    ]
    with varnish_stack.running_stack(
        slugs,
        # Static objects get no Cache-Control from http.server: keep them for the whole run.
        varnish_args=("-p", "default_ttl=3600", "-p", "thread_pool_min=50"),
        extra_ports=1,
        extra_vcl=lambda ports: STATIC_VCL.format(port=ports[0]),
    ) as stack:
        result = {"freshness": freshness(stack, args.changes), "throughput": throughput(stack, args)}
    result["tool"] = result["throughput"]["runs"]["static"][0]["tool"]
    result["args"] = vars(args)
    result["database"] = "postgresql" if os.environ.get("HEALTHLIB_TEST_DB") == "postgres" else "sqlite"
    RESULTS.mkdir(parents=True, exist_ok=True)
    stamp = datetime.datetime.now(datetime.UTC).strftime("%Y%m%d-%H%M%S")
    (RESULTS / f"varnish-{stamp}.json").write_text(json.dumps(result, indent=2))
    print(f"database: {result['database']}, load generator: {result['tool']}, {args.connections} connections")
    print(report(result))


if __name__ == "__main__":
    main()
