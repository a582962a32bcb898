"""Debian's Chromium driven by Playwright, shared by the browser test modules."""

from __future__ import annotations

import contextlib
import os
import threading
from collections.abc import Iterator
from pathlib import Path

import pytest

CHROMIUM = "/usr/bin/chromium"
# Without the background-networking flags Chromium keeps dialing out, which this machine refuses.
CHROMIUM_ARGS = [
    "--no-sandbox",
    "--disable-gpu",
    "--disable-background-networking",
    "--disable-component-update",
    "--disable-sync",
    "--no-first-run",
]
#: The marks every browser test module uses: ``pytestmark = BROWSER_TEST_MARKS``.
BROWSER_TEST_MARKS = [
    pytest.mark.browser,
    pytest.mark.django_db(transaction=True),
    pytest.mark.usefixtures("quiet_live_server"),
    pytest.mark.skipif(not Path(CHROMIUM).exists(), reason=f"!!! {CHROMIUM} is missing: browser tests SKIPPED !!!"),
]


@contextlib.contextmanager
def launch_chromium() -> Iterator:
    """A headless Chromium; Django's async guard stands aside while it runs.

    Playwright's sync API runs an event loop in this thread, while the tests' own ORM calls (and
    the database flush after each test) stay synchronous.
    """
    sync_api = pytest.importorskip("playwright.sync_api")
    previous = os.environ.get("DJANGO_ALLOW_ASYNC_UNSAFE")
    os.environ["DJANGO_ALLOW_ASYNC_UNSAFE"] = "true"
    try:
        with sync_api.sync_playwright() as p:
            browser = p.chromium.launch(executable_path=CHROMIUM, headless=True, args=CHROMIUM_ARGS)
            try:
                yield browser
            finally:
                browser.close()
    finally:
        if previous is None:
            os.environ.pop("DJANGO_ALLOW_ASYNC_UNSAFE", None)
        else:
            os.environ["DJANGO_ALLOW_ASYNC_UNSAFE"] = previous


class _ServerRequests:
    """Requests the live server's threads are handling (the test client's, in this thread, are not counted)."""

    def __init__(self) -> None:
        self.count = 0
        self.changed = threading.Condition()

    def started(self, **kwargs) -> None:
        if threading.current_thread() is not threading.main_thread():
            with self.changed:
                self.count += 1

    def finished(self, **kwargs) -> None:
        if threading.current_thread() is not threading.main_thread():
            with self.changed:
                self.count -= 1
                self.changed.notify_all()


@pytest.fixture
def quiet_live_server(browser, live_server, transactional_db):
    """After each browser test: close its pages, then wait for the live server to finish what it was
    answering, before the database is flushed.

    A page can still have a request in flight when a test ends (markdownx fetches its preview when a
    form loads). On PostgreSQL the flush's TRUNCATE then deadlocked with that request's queries.
    Torn down before ``transactional_db`` and ``live_server`` because it depends on them.
    """
    from django.core.signals import request_finished, request_started

    requests = _ServerRequests()
    request_started.connect(requests.started, dispatch_uid="tests.browser.started")
    request_finished.connect(requests.finished, dispatch_uid="tests.browser.finished")
    try:
        yield
        for context in browser.contexts:
            context.close()
        with requests.changed:
            # Bounded: if a request never reports its end, the flush goes ahead as it did before.
            requests.changed.wait_for(lambda: requests.count <= 0, timeout=10)
    finally:
        request_started.disconnect(dispatch_uid="tests.browser.started")
        request_finished.disconnect(dispatch_uid="tests.browser.finished")
