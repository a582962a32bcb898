"""Reader pages in a real browser: keyboard use of inline definitions, and axe-core with zero violations.

axe-core comes from the npm registry (``make axe`` installs it into ``.cache/npm``); Chromium is
Debian's. Screenshots go to ``test-artifacts/reader/`` (git-ignored).
"""

from __future__ import annotations

import json
from pathlib import Path

import pytest
from django.test import override_settings

from tests import reader_fixtures
from tests.browser import BROWSER_TEST_MARKS, CHROMIUM, launch_chromium

ROOT = Path(__file__).resolve().parent.parent
AXE = ROOT / ".cache" / "npm" / "node_modules" / "axe-core" / "axe.min.js"
SCREENSHOTS = ROOT / "test-artifacts" / "reader"

for missing, how in ((CHROMIUM, "install Debian's chromium (make browser-deps)"), (AXE, "run make axe")):
    if not Path(missing).exists():  # pragma: no cover
        print(f"\n!!! {missing} is missing: browser tests in {__name__} are SKIPPED; {how}.\n")

pytestmark = BROWSER_TEST_MARKS

clear_page_cache = reader_fixtures.clear_page_cache
library = reader_fixtures.library
term = reader_fixtures.term
topic = reader_fixtures.topic
wf = reader_fixtures.wf

ARTICLE = "/health/articles/checkpoint-inhibitors/"


@pytest.fixture(scope="module")
def browser():
    with launch_chromium() as chromium:
        yield chromium


@pytest.fixture
def page(browser):
    context = browser.new_context(viewport={"width": 1100, "height": 800})
    page = context.new_page()
    page.set_default_timeout(15_000)
    yield page
    context.close()


def shot(page, name: str) -> None:
    SCREENSHOTS.mkdir(parents=True, exist_ok=True)
    page.screenshot(path=str(SCREENSHOTS / f"{name}.png"), full_page=True)


def definition_box(page):
    return page.evaluate(
        """() => {
            const d = document.activeElement.nextElementSibling;
            const r = d.getBoundingClientRect();
            return {cls: d.className, width: r.width, height: r.height, text: d.innerText};
        }"""
    )


def test_keyboard_only_reader_reveals_inline_definitions(page, live_server, library):
    page.goto(live_server.url + ARTICLE)
    definition = page.locator(".healthlib-body .glossary-definition").first
    assert definition.bounding_box()["width"] <= 1  # visually hidden until asked for
    page.keyboard.press("Tab")
    assert page.evaluate("document.activeElement.className") == "skip-link"
    for _ in range(80):
        page.keyboard.press("Tab")
        if page.evaluate("document.activeElement.classList.contains('glossary-term')"):
            break
    else:
        pytest.fail("Tab never reached a glossary term")
    box = definition_box(page)
    assert box["cls"] == "glossary-definition"
    assert box["width"] > 100 and box["height"] > 10
    assert "white blood cell" in box["text"]
    described = page.evaluate(
        "document.getElementById(document.activeElement.getAttribute('aria-describedby')).textContent"
    )
    assert "white blood cell" in described
    # The focus indicator is visible (an outline of at least 2px).
    outline = page.evaluate("parseFloat(getComputedStyle(document.activeElement).outlineWidth)")
    assert outline >= 2
    shot(page, "article-definition-focused")
    # Escape dismisses it without moving focus (WCAG 1.4.13); it comes back on the next focus.
    page.keyboard.press("Escape")
    assert definition_box(page)["width"] <= 1
    assert page.evaluate("document.activeElement.classList.contains('glossary-term')")
    # Moving on hides it again; Enter on a term follows the link to the term page.
    page.keyboard.press("Shift+Tab")
    assert definition.bounding_box()["width"] <= 1
    page.keyboard.press("Tab")
    page.keyboard.press("Enter")
    page.wait_for_url("**/health/glossary/t-cell/")
    assert page.locator("h1").inner_text() == "T cell"


def test_skip_link_moves_focus_to_the_content(page, live_server, library):
    page.goto(live_server.url + ARTICLE)
    page.keyboard.press("Tab")
    assert page.locator(".skip-link").is_visible()
    page.keyboard.press("Enter")
    assert page.evaluate("document.activeElement.id") == "main"


def test_touch_tap_on_a_term_reaches_its_definition(browser, live_server, library):
    context = browser.new_context(viewport={"width": 390, "height": 800}, has_touch=True, is_mobile=True)
    page = context.new_page()
    page.goto(live_server.url + ARTICLE)
    page.locator(".healthlib-body a.glossary-term").first.tap()
    page.wait_for_url("**/health/glossary/t-cell/")
    assert "white blood cell" in page.locator(".healthlib-short-definition").inner_text()
    context.close()


def test_definitions_are_in_the_page_without_javascript(browser, live_server, library):
    context = browser.new_context(java_script_enabled=False)
    page = context.new_page()
    page.goto(live_server.url + ARTICLE)
    assert "white blood cell" in page.locator(".healthlib-body .glossary-definition").first.text_content()
    context.close()


@pytest.mark.parametrize("width", [1100, 390])
@pytest.mark.parametrize("name, url", [("review-trail", ARTICLE + "reviews/"), ("report-problem", ARTICLE + "report/")])
def test_trust_pages_fit_the_screen(browser, live_server, library, width, name, url):
    """A 64-character hash, the curl line and six columns once widened the trail page past a phone's screen."""
    context = browser.new_context(viewport={"width": width, "height": 800})
    page = context.new_page()
    page.goto(live_server.url + url)
    shot(page, f"{name}-{width}")
    assert page.evaluate("document.documentElement.scrollWidth") <= width
    context.close()


def run_axe(page) -> list[dict]:
    page.add_script_tag(path=str(AXE))
    result = page.evaluate("async () => await axe.run(document)")
    return [
        {"id": v["id"], "impact": v["impact"], "nodes": [n["target"] for n in v["nodes"]][:5]}
        for v in result["violations"]
    ]


@pytest.mark.skipif(not AXE.exists(), reason=f"!!! {AXE} is missing (make axe): axe checks SKIPPED !!!")
@pytest.mark.parametrize(
    "name, url",
    [
        ("home", "/health/"),
        ("article", ARTICLE),
        ("glossary", "/health/glossary/"),
        ("term", "/health/glossary/t-cell/"),
        ("articles-a-z", "/health/articles/"),
        ("search", "/health/search/?q=t+cell"),
        ("search-empty", "/health/search/?q=zzzz"),
        ("review-trail", ARTICLE + "reviews/"),
        ("report-problem", ARTICLE + "report/"),
    ],
)
@override_settings(HEALTHLIB={"AD_SLOTS": ["after_section_1", "end"], "AD_HTML": "<p>House message.</p>"})
def test_axe_finds_no_violations(page, live_server, library, name, url):
    page.goto(live_server.url + url)
    if name == "article":
        assert page.locator(".healthlib-ad").count() == 2
    if name == "search":
        assert page.locator(".healthlib-result").count() >= 1
    shot(page, name)
    violations = run_axe(page)
    assert violations == [], json.dumps(violations, indent=2)
