"""``make stress``: readers under write load, on loopback. Asserts zero 5xx and zero leaks.

    .venv/bin/python -m tests.stress.run [--readers 64] [--workers 3] [--seconds 30] [--revisions 100]
                                         [--max-requests 500000] [--write-docs]

1. A fresh SQLite database (WAL) and a FileBasedCache under ``var/stress/``, shared by every process.
2. gunicorn (``--workers`` sync workers) on 127.0.0.1 serving tests/stress/wsgi.py.
3. ``--readers`` threads request article pages, the home page, the A to Z, the glossary, a term,
   search and the Atom feed as fast as they can, recording start and end times, status and every
   revision marker (``zzliveNNN…``, ``zzghostNNN…``) in each response.
4. Meanwhile another process (tests/stress/writer.py) publishes ``--revisions`` new revisions
   through the workflow, each preceded by a ghost draft that is never published.
5. Readers stop when the writer is done and at least ``--seconds`` have passed (bounded by a hard
   limit of 10 minutes and ``--max-requests``).

A **leak** is a response that holds a ghost marker (text that only ever existed in an unpublished
revision), or a live marker in a response that was complete before that revision's ``publish``
call began (so the server read it while it was still only a draft). Any 5xx or transport error
is an **error**. The run fails unless both are zero, every revision was published and readers saw
the new revisions (the check is not vacuous).
"""

from __future__ import annotations

import argparse
import collections
import http.client
import json
import os
import random
import re
import shutil
import signal
import socket
import statistics
import subprocess
import sys
import threading
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parents[2]
WORK = ROOT / "var" / "stress"
DOCS = ROOT / "docs" / "stress.md"
MARKER = re.compile(rb"zz(ghost|live)(\d{3})[0-9a-f]{8}")
HARD_LIMIT = 600.0
ARTICLES = [f"/health/articles/stress-{n}/" for n in range(5)]
#: (path, weight): mostly article pages, plus every other page a marker can reach.
URLS = [(path, 12) for path in ARTICLES] + [
    ("/health/", 4),
    ("/health/articles/", 3),
    ("/health/glossary/", 2),
    ("/health/glossary/t-cell/", 2),
    ("/health/search/?q=revision+marker", 3),
    ("/health/search/?q=immunotherapy", 2),
    ("/health/feeds/atom/", 2),
]


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]


def environment() -> dict[str, str]:
    env = {**os.environ, "DJANGO_SETTINGS_MODULE": "tests.stress.settings", "STRESS_DIR": str(WORK)}
    env["PYTHONPATH"] = str(ROOT) + os.pathsep + env.get("PYTHONPATH", "")
    env.pop("HEALTHLIB_TEST_DB", None)
    return env


class Reader(threading.Thread):
    def __init__(self, port: int, stop: threading.Event, budget: list[int], lock: threading.Lock, seed: int) -> None:
        super().__init__(daemon=True)
        self.port, self.stop, self.budget, self.lock = port, stop, budget, lock
        self.random = random.Random(seed)
        self.records: list[tuple[float, float, str, int, tuple[bytes, ...]]] = []
        self.failures: list[str] = []

    def run(self) -> None:
        paths = [path for path, _ in URLS]
        weights = [weight for _, weight in URLS]
        while not self.stop.is_set():
            with self.lock:
                if self.budget[0] <= 0:
                    return
                self.budget[0] -= 1
            path = self.random.choices(paths, weights)[0]
            started = time.time()
            try:
                connection = http.client.HTTPConnection("127.0.0.1", self.port, timeout=60)
                connection.request("GET", path, headers={"Connection": "close"})
                response = connection.getresponse()
                body = response.read()
                status = response.status
                connection.close()
            except (OSError, http.client.HTTPException) as error:
                self.failures.append(f"{path}: {error!r}")
                continue
            ended = time.time()
            markers = tuple(sorted({match.group(0) for match in MARKER.finditer(body)}))
            self.records.append((started, ended, path, status, markers))


def wait_for(port: int, deadline: float) -> None:
    while time.time() < deadline:
        try:
            connection = http.client.HTTPConnection("127.0.0.1", port, timeout=5)
            connection.request("GET", "/health/")
            if connection.getresponse().status == 200:
                return
        except OSError:
            time.sleep(0.2)
    raise SystemExit("gunicorn did not answer")


def analyse(records, failures, log_path: Path, revisions: int) -> dict:
    entries = [json.loads(line) for line in log_path.read_text().splitlines() if line.strip()]
    began = {entry["live"].encode(): entry["publish_began"] for entry in entries}
    ghosts = {entry["ghost"].encode() for entry in entries}
    leaks: list[str] = []
    seen_live: set[bytes] = set()
    statuses = collections.Counter()
    for _started, ended, path, status, markers in records:
        statuses[status] += 1
        for marker in markers:
            if marker in ghosts or marker.startswith(b"zzghost"):
                leaks.append(f"{path} at {ended:.3f}: ghost draft marker {marker.decode()}")
            elif marker not in began:
                leaks.append(f"{path} at {ended:.3f}: marker {marker.decode()} was never published")
            elif ended < began[marker]:
                leaks.append(
                    f"{path}: {marker.decode()} served {began[marker] - ended:.3f}s before its publication began"
                )
            else:
                seen_live.add(marker)
    errors = [f"HTTP {status}" for status in statuses.elements() if status >= 500] + failures
    latencies = sorted(ended - started for started, ended, *_ in records)
    first = min((r[0] for r in records), default=0.0)
    last = max((r[1] for r in records), default=0.0)
    return {
        "requests": len(records),
        "duration_s": round(last - first, 1),
        "requests_per_s": round(len(records) / (last - first), 1) if last > first else 0.0,
        "statuses": dict(sorted(statuses.items())),
        "errors": len(errors),
        "error_samples": errors[:10],
        "leaks": len(leaks),
        "leak_samples": leaks[:10],
        "revisions_published": len(entries),
        "revisions_wanted": revisions,
        "live_markers_seen": len(seen_live),
        "p50_ms": round(statistics.median(latencies) * 1000, 1) if latencies else None,
        "p99_ms": round(latencies[int(len(latencies) * 0.99) - 1] * 1000, 1) if latencies else None,
        "publish_s_median": round(statistics.median(e["published"] - e["publish_began"] for e in entries), 3)
        if entries
        else None,
    }


def write_docs(result: dict, args) -> None:
    section = (
        "<!-- stress:begin -->\n"
        f"Last run: {time.strftime('%Y-%m-%d %H:%M UTC', time.gmtime())}, {os.cpu_count()} CPUs, "
        f"{args.workers} gunicorn sync workers, {args.readers} reader threads, SQLite (WAL) + FileBasedCache.\n\n"
        "| requests | duration | req/s | p50 | p99 | 5xx + transport errors | leaks | revisions published | new revisions seen by readers |\n"
        "|---|---|---|---|---|---|---|---|---|\n"
        f"| {result['requests']} | {result['duration_s']} s | {result['requests_per_s']} | {result['p50_ms']} ms | "
        f"{result['p99_ms']} ms | {result['errors']} | {result['leaks']} | {result['revisions_published']} | "
        f"{result['live_markers_seen']} |\n\n"
        f"Status codes: {result['statuses']}. Median publish transition: {result['publish_s_median']} s.\n"
        "<!-- stress:end -->"
    )
    text = DOCS.read_text()
    text = re.sub(r"<!-- stress:begin -->.*<!-- stress:end -->", lambda _m: section, text, flags=re.DOTALL)
    DOCS.write_text(text)


def main(argv: list[str]) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--readers", type=int, default=64)
    parser.add_argument("--workers", type=int, default=3)
    parser.add_argument("--seconds", type=float, default=30.0)
    parser.add_argument("--revisions", type=int, default=100)
    parser.add_argument("--max-requests", type=int, default=500_000)
    parser.add_argument("--write-docs", action="store_true")
    args = parser.parse_args(argv)
    if not 2 <= args.workers <= 4 or args.readers < 50:
        parser.error("use 2 to 4 workers and at least 50 readers")

    shutil.rmtree(WORK, ignore_errors=True)
    (WORK / "cache").mkdir(parents=True)
    env = environment()
    python = sys.executable
    print(f"==> fresh database and cache in {WORK}", flush=True)
    subprocess.run([python, "-m", "tests.stress.writer", "setup"], cwd=ROOT, env=env, check=True)
    port = free_port()
    gunicorn = shutil.which("gunicorn", path=str(Path(python).parent)) or "gunicorn"
    server = subprocess.Popen(
        [gunicorn, "tests.stress.wsgi:application", "--bind", f"127.0.0.1:{port}", "--workers", str(args.workers),
         "--worker-class", "sync", "--backlog", "2048", "--timeout", "120", "--log-level", "warning"],
        cwd=ROOT, env=env, start_new_session=True,
    )  # fmt: skip
    log_path = WORK / "published.jsonl"
    try:
        wait_for(port, time.time() + 60)
        print(f"==> gunicorn ({args.workers} workers) on 127.0.0.1:{port}; {args.readers} readers", flush=True)
        stop, lock, budget = threading.Event(), threading.Lock(), [args.max_requests]
        readers = [Reader(port, stop, budget, lock, seed) for seed in range(args.readers)]
        started = time.time()
        for reader in readers:
            reader.start()
        time.sleep(1.0)  # the readers are at full speed before the first publication
        writer = subprocess.Popen(
            [python, "-m", "tests.stress.writer", "publish", "--count", str(args.revisions), "--log", str(log_path)],
            cwd=ROOT,
            env=env,
        )
        while True:
            elapsed = time.time() - started
            done = writer.poll() is not None
            if (done and elapsed >= args.seconds) or elapsed > HARD_LIMIT or budget[0] <= 0:
                break
            time.sleep(0.2)
        stop.set()
        for reader in readers:
            reader.join(timeout=120)
        if writer.poll() is None:
            writer.kill()
            writer.wait()
            print("!! the writer did not finish within the hard limit", flush=True)
        writer_ok = writer.returncode == 0
    finally:
        os.killpg(server.pid, signal.SIGTERM)
        server.wait(timeout=60)

    records = [record for reader in readers for record in reader.records]
    failures = [failure for reader in readers for failure in reader.failures]
    result = analyse(records, failures, log_path, args.revisions)
    result.update(readers=args.readers, workers=args.workers, writer_ok=writer_ok)
    (WORK / "result.json").write_text(json.dumps(result, indent=2))
    print(json.dumps(result, indent=2))
    ok = (
        writer_ok
        and result["errors"] == 0
        and result["leaks"] == 0
        and result["revisions_published"] == args.revisions
        and result["live_markers_seen"] > 0
        and result["duration_s"] >= args.seconds * 0.95
    )
    summary = (
        f"requests served: {result['requests']} in {result['duration_s']} s ({result['requests_per_s']} req/s), "
        f"errors: {result['errors']}, leaks: {result['leaks']}, "
        f"revisions published: {result['revisions_published']}/{args.revisions}"
    )
    print(("==> PASS " if ok else "!! FAIL ") + summary, flush=True)
    if args.write_docs and ok:
        write_docs(result, args)
    return 0 if ok else 1


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
