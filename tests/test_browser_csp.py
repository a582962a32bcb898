"""The admin (with markdownx's live preview) and the reader pages work under the production CSP.

Chromium loads every page with the demo's Content-Security-Policy (``immunotherapy/csp.py``:
Django's own CSP middleware on Django 6, django-csp 4 on 5.2) and records each
``securitypolicyviolation`` event and CSP console message. A page is fine when it shows what it
should and the browser reports zero violations. A positive control proves the recorder works: an
inline script injected on purpose is blocked and recorded.
"""

from __future__ import annotations

from pathlib import Path

import pytest
from django.urls import reverse

from healthlib import workflow
from healthlib.conf import healthlib_settings
from immunotherapy import csp
from tests.browser import BROWSER_TEST_MARKS, CHROMIUM, launch_chromium
from tests.conftest import ARTICLE_CONTENT, edited, make_user

SCREENSHOTS = Path(__file__).resolve().parent.parent / "test-artifacts" / "screenshots"

if not Path(CHROMIUM).exists():  # pragma: no cover
    print(f"\n!!! {CHROMIUM} is missing: the browser tests in {__name__} are SKIPPED.\n")

pytestmark = BROWSER_TEST_MARKS

RECORDER = """
window.__cspViolations = [];
document.addEventListener("securitypolicyviolation", (e) => {
  window.__cspViolations.push(`${e.violatedDirective} blocked ${e.blockedURI || "inline"} at ${e.sourceFile}:${e.lineNumber}`);
});
"""
BODY = "## What they do\n\nCheckpoint inhibitors help your T cells.\n\n## Side effects\n\n- Rash\n- Tiredness\n"


@pytest.fixture(scope="module")
def browser():
    with launch_chromium() as chromium:
        yield chromium


def _reload_middleware(live_server) -> None:
    """The live server built its middleware chain when it started; rebuild it for the new setting."""
    from django.core.handlers.base import BaseHandler

    # The static and media file handlers wrap the real one, and (with MEDIA_URL unset) the media
    # handler answers every request with its own middleware chain: rebuild them all.
    app = live_server.thread.httpd.get_app()
    while app is not None:
        BaseHandler.load_middleware(app)
        app = getattr(app, "application", None)


@pytest.fixture
def csp_settings(settings, live_server):
    from django.core.cache import cache

    original = list(settings.MIDDLEWARE)
    settings.MIDDLEWARE = [csp.MIDDLEWARE, *original]
    for name, value in csp.SETTINGS.items():
        setattr(settings, name, value)
    _reload_middleware(live_server)
    cache.clear()  # no reader page cached by an earlier test without the header
    yield settings
    settings.MIDDLEWARE = original
    _reload_middleware(live_server)


@pytest.fixture
def library(db):
    editor = make_user("editor", healthlib_settings.EDITOR_GROUP)
    make_user("editor2", healthlib_settings.EDITOR_GROUP)
    reviewer = make_user("reviewer", healthlib_settings.REVIEWER_GROUP, credentials="MD")
    term = workflow.create_glossary_term(
        editor, slug="t-cell",
        content={"term": "T cell", "short_definition": "A white blood cell that finds and kills infected cells."},
    )  # fmt: skip
    article = workflow.create_article(
        editor, slug="checkpoint-inhibitors", article_type="treatment", content=ARTICLE_CONTENT
    )
    for item in (term, article):
        workflow.submit(item, editor)
        workflow.approve(item, reviewer)
        workflow.publish(item, editor)
    workflow.save_draft(article, editor, edited(ARTICLE_CONTENT, body=BODY), based_on=article.latest_revision)
    return {"article": article, "term": term}


class Visitor:
    """A browser page that records CSP violations and checks the header is really there."""

    def __init__(self, browser, live_server):
        self.context = browser.new_context(viewport={"width": 1280, "height": 900})
        self.context.add_init_script(RECORDER)
        self.page = self.context.new_page()
        self.page.set_default_timeout(15_000)
        self.console: list[str] = []
        self.page.on("console", self._console)
        self.base = live_server.url
        self.pages = 0

    def _console(self, message) -> None:
        if "Content Security Policy" in message.text or "Content-Security-Policy" in message.text:
            self.console.append(message.text)

    def visit(self, path: str, expect: str | None = None) -> None:
        response = self.page.goto(self.base + path)
        assert response.status == 200, (path, response.status)
        assert "script-src 'self'" in response.headers["content-security-policy"], path
        if expect:
            self.page.get_by_text(expect).first.wait_for()
        self.pages += 1
        self.assert_clean(path)

    def violations(self) -> list[str]:
        return self.page.evaluate("window.__cspViolations") + self.console

    def assert_clean(self, where: str) -> None:
        assert self.violations() == [], (where, self.violations())

    def login(self, username: str) -> None:
        self.page.goto(self.base + reverse("admin:login"))
        self.page.fill("#id_username", username)
        self.page.fill("#id_password", "pw")
        self.page.click("input[type=submit]")
        self.page.wait_for_selector("#site-name")
        self.assert_clean("login")


def test_reader_pages_have_no_csp_violations(browser, live_server, csp_settings, library):
    reader = Visitor(browser, live_server)
    article, term = library["article"], library["term"]
    reader.visit(reverse("healthlib:home"))
    reader.visit(reverse("healthlib:article_index"))
    reader.visit(article.get_absolute_url(), expect="Checkpoint inhibitors")
    reader.visit(term.get_absolute_url(), expect="T cell")
    reader.visit(reverse("healthlib:glossary"))
    reader.visit(reverse("healthlib:search") + "?q=immune")
    # The article page carries JSON-LD: a data block, which CSP leaves alone.
    reader.page.goto(live_server.url + article.get_absolute_url())
    assert reader.page.locator('script[type="application/ld+json"]').count() >= 1
    reader.assert_clean("article with JSON-LD")
    assert reader.pages == 6


def test_admin_and_markdownx_preview_work_under_the_csp(browser, live_server, csp_settings, library):
    editor = Visitor(browser, live_server)
    editor.login("editor")
    article = library["article"]
    editor.visit(reverse("admin:index"))
    editor.visit(reverse("admin:healthlib_article_changelist"), expect="Checkpoint inhibitors")
    # The change form: markdownx's editor posts to the preview endpoint as you type (connect-src 'self').
    editor.visit(reverse("admin:healthlib_article_change", args=[article.pk]))
    body = editor.page.locator("#id_body")
    body.click()
    body.press("End")
    body.press_sequentially("\n\n## Under the policy\n\nTyped in Chromium.", delay=0)
    editor.page.locator(".markdownx-preview h2", has_text="Under the policy").wait_for()
    editor.assert_clean("markdownx preview")
    # The add form, with its JavaScript (prepopulated slug, markdownx) loaded from files.
    editor.visit(reverse("admin:healthlib_article_add"))
    editor.page.fill("#id_title", "Side effects")
    editor.page.locator("#id_body").fill("## Rash\n\nCall your team.")
    editor.page.locator("#id_body").press("End")
    editor.page.locator("#id_body").press_sequentially(" Today.", delay=0)
    editor.page.locator(".markdownx-preview h2", has_text="Rash").wait_for()
    editor.assert_clean("add form")
    editor.visit(reverse("admin:healthlib_glossaryterm_change", args=[library["term"].pk]))
    SCREENSHOTS.mkdir(parents=True, exist_ok=True)
    editor.page.screenshot(path=str(SCREENSHOTS / "csp-admin-change-form.png"))

    reviewer = Visitor(browser, live_server)
    reviewer.login("reviewer")
    reviewer.visit(reverse("admin:healthlib_reviewqueue_changelist"))
    reviewer.visit(reverse("admin:healthlib_workflowevent_changelist"))


def test_the_recorder_catches_a_blocked_inline_script(browser, live_server, csp_settings, library):
    """Positive control: without it, "zero violations" could mean "nothing was recorded"."""
    reader = Visitor(browser, live_server)
    reader.visit(reverse("healthlib:home"))
    reader.page.evaluate(
        "() => { const s = document.createElement('script'); s.textContent = 'window.__ran = 1';"
        " document.head.appendChild(s); }"
    )
    reader.page.wait_for_function("window.__cspViolations.length > 0")
    assert reader.page.evaluate("window.__ran") is None
    assert any("script-src" in v for v in reader.violations())
