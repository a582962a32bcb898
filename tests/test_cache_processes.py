"""Page-cache invalidation holds across processes that share a cache (as gunicorn workers do).

Two WSGI server processes share a SQLite file and a FileBasedCache directory (or, under
tests/with_redis.sh, a Redis server). A third process publishes; the next request to either server
shows the new revision, and an unrelated article is still served from the shared cache.
"""

from __future__ import annotations

import os
import subprocess
import sys
import urllib.request
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parent.parent
URL = "http://127.0.0.1:{port}/health/articles/{slug}/"


@pytest.fixture(params=["file", "redis"])
def shared_env(request, tmp_path):
    env = {
        **os.environ,
        "DJANGO_SETTINGS_MODULE": "tests.settings_shared_cache",
        "HEALTHLIB_SHARED_DB": str(tmp_path / "db.sqlite3"),
        "HEALTHLIB_SHARED_CACHE": str(tmp_path / "cache"),
        "PYTHONPATH": str(ROOT),
    }
    env.pop("HEALTHLIB_TEST_DB", None)
    if request.param == "redis":
        if not os.environ.get("HEALTHLIB_TEST_REDIS_URL"):
            pytest.skip("!! Redis: runs under tests/with_redis.sh (make test-redis); SKIPPED here")
        # A database of its own per pytest-xdist worker (tests/settings_redis.py counts up from 1).
        worker = int(os.environ.get("PYTEST_XDIST_WORKER", "gw0").removeprefix("gw") or 0)
        env["HEALTHLIB_SHARED_REDIS"] = f"{os.environ['HEALTHLIB_TEST_REDIS_URL']}/{63 - worker}"
    return env


def run(env, *args: str) -> None:
    subprocess.run(
        [sys.executable, "-m", "tests.cache_process_helper", *args], cwd=ROOT, env=env, check=True, timeout=120
    )


@pytest.fixture
def servers(shared_env):
    run(shared_env, "setup")
    processes = []
    ports = []
    try:
        for _ in range(2):
            process = subprocess.Popen(
                [sys.executable, "-m", "tests.cache_process_helper", "serve"],
                cwd=ROOT,
                env=shared_env,
                stdout=subprocess.PIPE,
                text=True,
            )
            processes.append(process)
            ports.append(int(process.stdout.readline()))
        yield ports
    finally:
        for process in processes:
            process.terminate()
            process.wait(timeout=30)


def fetch(port: int, slug: str = "shared") -> str:
    # One Host for both servers, as behind a load balancer (pages are cached per host).
    request = urllib.request.Request(URL.format(port=port, slug=slug), headers={"Host": "localhost"})
    with urllib.request.urlopen(request, timeout=30) as response:
        assert response.status == 200
        return response.read().decode()


def test_publish_in_one_process_invalidates_pages_cached_by_others(shared_env, servers):
    first, second = servers
    assert '<h1 id="article-title">Checkpoint inhibitors</h1>' in fetch(first)  # cached by the first server
    # Change the database behind the cache's back: the second server still serves the page the
    # first one cached, which proves the two processes share one cache.
    run(shared_env, "edit_behind_the_cache", "Changed without a signal")
    assert '<h1 id="article-title">Checkpoint inhibitors</h1>' in fetch(second)
    # Publishing through the workflow, in yet another process, retires every cached page.
    run(shared_env, "publish", "Immune checkpoint inhibitors")
    assert '<h1 id="article-title">Immune checkpoint inhibitors</h1>' in fetch(second)
    assert '<h1 id="article-title">Immune checkpoint inhibitors</h1>' in fetch(first)


def test_publish_in_one_process_leaves_unrelated_pages_cached_in_all(shared_env, servers):
    first, second = servers
    for port in servers:
        assert '<h1 id="article-title">Unrelated</h1>' in fetch(port, "unrelated")
        assert '<h1 id="article-title">Checkpoint inhibitors</h1>' in fetch(port)
    # Behind the cache's back: a server that renders the unrelated page again would show this title.
    run(shared_env, "edit_behind_the_cache", "Changed without a signal", "unrelated")
    run(shared_env, "publish", "Immune checkpoint inhibitors")
    for port in (second, first):
        assert '<h1 id="article-title">Immune checkpoint inhibitors</h1>' in fetch(port)
        assert '<h1 id="article-title">Unrelated</h1>' in fetch(port, "unrelated")  # still from the cache
