"""The page cache on Redis: a Redis down or too slow is logged and pages are still served (no 5xx);
under ``make test-redis`` (tests/with_redis.sh) the cache tests run on a real RedisCache."""

from __future__ import annotations

import logging
import os
import socket
import threading

import pytest
from django.core.cache import caches
from django.test import Client, override_settings

from healthlib import cache as page_cache
from tests import reader_fixtures
from tests.test_cache_fast_path import FAST_MIDDLEWARE

library = reader_fixtures.library
term = reader_fixtures.term
topic = reader_fixtures.topic
wf = reader_fixtures.wf

pytestmark = pytest.mark.page_cache
REDIS = "django.core.cache.backends.redis.RedisCache"
TIMEOUTS = {"socket_timeout": 0.5, "socket_connect_timeout": 0.5}


def _closed_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]  # closed again on leaving: nothing listens there


@pytest.fixture
def silent_server():
    """A TCP server that accepts connections and never answers (a Redis too slow to wait for)."""
    listener = socket.socket()
    listener.bind(("127.0.0.1", 0))
    listener.listen(16)
    held: list[socket.socket] = []
    stop = threading.Event()

    def accept():
        listener.settimeout(0.2)
        while not stop.is_set():
            try:
                held.append(listener.accept()[0])
            except OSError:
                continue

    thread = threading.Thread(target=accept, daemon=True)
    thread.start()
    yield listener.getsockname()[1]
    stop.set()
    thread.join()
    for conn in held:
        conn.close()
    listener.close()


def _broken_redis(port: int):
    return override_settings(
        CACHES={"default": {"BACKEND": REDIS, "LOCATION": f"redis://127.0.0.1:{port}/0", "OPTIONS": TIMEOUTS}},
        HEALTHLIB={"CACHE_TAG_HEADER": "Surrogate-Key"},
    )


@pytest.fixture(autouse=True)
def _forget_local_pages():
    yield
    page_cache._local_pages.clear()
    page_cache._wsgi_pages.clear()


def _pages(library) -> list[str]:
    return [library["article"].get_absolute_url(), "/health/", "/health/glossary/", "/health/search/?q=cancer"]


@pytest.mark.parametrize("middleware", [None, FAST_MIDDLEWARE], ids=["decorator", "middleware"])
def test_redis_down_pages_are_still_served_and_the_error_logged(library, caplog, middleware):
    settings = {"MIDDLEWARE": middleware} if middleware else {}
    with _broken_redis(_closed_port()), override_settings(**settings), caplog.at_level(logging.ERROR):
        for url in _pages(library):
            for _ in range(2):
                response = Client().get(url)
                assert response.status_code == 200, url
                assert "hl-" in response["Surrogate-Key"]
    assert "page cache could not be read" in caplog.text
    assert "ConnectionError" in caplog.text or "Connection refused" in caplog.text


def test_redis_too_slow_pages_are_still_served(library, caplog, silent_server):
    with _broken_redis(silent_server), caplog.at_level(logging.ERROR):
        response = Client().get(library["article"].get_absolute_url())
    assert response.status_code == 200
    assert "page cache could not be" in caplog.text
    assert "Timeout" in caplog.text


@pytest.mark.skipif(not os.environ.get("HEALTHLIB_TEST_REDIS_URL"), reason="runs under tests/with_redis.sh")
def test_the_suite_runs_on_a_real_redis_here(library):
    """Under ``make test-redis`` the cache tests above and in test_cache_*.py use this RedisCache."""
    from django.core.cache.backends.redis import RedisCache

    cache = caches["default"]
    assert isinstance(cache, RedisCache)
    url = library["article"].get_absolute_url()
    first = Client().get(url)
    key = page_cache.page_key(first.wsgi_request)
    tags, generations, page = cache.get(key)
    assert page[0] == first.content  # the page is stored in Redis, with its tags' generations
    assert tags == ("hl", "hl-a-checkpoint-inhibitors") and generations == page_cache.generations(tags)
    assert Client().get(url)["ETag"] == first["ETag"]
