"""The whole editorial loop in a real browser: Playwright driving Debian's Chromium.

Screenshots of every step go to ``test-artifacts/screenshots/<nn>-<step>.png`` (git-ignored).
"""

from __future__ import annotations

from pathlib import Path

import pytest
from django.urls import reverse
from django.utils import timezone

from healthlib import workflow
from healthlib.conf import healthlib_settings
from healthlib.models import Article, GlossaryTerm, State
from tests.browser import BROWSER_TEST_MARKS, CHROMIUM, launch_chromium
from tests.conftest import ARTICLE_CONTENT, edited, make_user

SCREENSHOTS = Path(__file__).resolve().parent.parent / "test-artifacts" / "screenshots"

if not Path(CHROMIUM).exists():  # pragma: no cover
    print(
        f"\n!!! {CHROMIUM} is missing: the browser tests in {__name__} are SKIPPED. "
        "Install Debian's chromium (make browser-deps, as root) to run them.\n"
    )

pytestmark = BROWSER_TEST_MARKS

BODY = """## What they do

Checkpoint inhibitors help your T cells find cancer.

## Side effects

- Rash
- Tiredness
"""


@pytest.fixture(scope="module")
def browser():
    with launch_chromium() as chromium:
        yield chromium


class Shots:
    """Numbered full-page screenshots; each test starts at its own number so names never collide."""

    def __init__(self, start: int = 1):
        self.n = start - 1
        SCREENSHOTS.mkdir(parents=True, exist_ok=True)

    def __call__(self, page, step: str) -> None:
        self.n += 1
        page.screenshot(path=str(SCREENSHOTS / f"{self.n:02d}-{step}.png"), full_page=True)


@pytest.fixture
def people(db):
    return {
        "editor": make_user("editor", healthlib_settings.EDITOR_GROUP),
        "editor2": make_user("editor2", healthlib_settings.EDITOR_GROUP),
        "reviewer": make_user("reviewer", healthlib_settings.REVIEWER_GROUP, credentials="MD, medical oncology"),
        "dual": make_user(
            "dual", healthlib_settings.EDITOR_GROUP, healthlib_settings.REVIEWER_GROUP, credentials="MD, oncology"
        ),
    }


def login(browser, live_server, username: str):
    context = browser.new_context(viewport={"width": 1280, "height": 900})
    page = context.new_page()
    page.set_default_timeout(15_000)
    page.goto(live_server.url + reverse("admin:login"))
    page.fill("#id_username", username)
    page.fill("#id_password", "pw")
    page.click("input[type=submit]")
    page.wait_for_selector("#site-name")
    return page


def click_action(page, action: str, comment: str | None = None) -> None:
    form = page.locator(f'form[data-action="{action}"]')
    if comment is not None:
        form.locator("textarea[name=comment]").fill(comment)
    summary = form.locator("input[name=change_summary][required]")
    if summary.count():
        summary.fill("First version")
    form.locator("button[type=submit]").click()
    page.wait_for_load_state()


def message_text(page) -> str:
    return page.locator("ul.messagelist").inner_text()


def test_editorial_loop(browser, live_server, people):
    shot = Shots()
    # 1. The editor writes a new article in markdown and sees the live preview.
    editor = login(browser, live_server, "editor")
    shot(editor, "editor-logged-in")
    editor.goto(live_server.url + reverse("admin:healthlib_article_add"))
    editor.fill("#id_slug", "checkpoint-inhibitors")
    editor.select_option("#id_article_type", "treatment")
    editor.fill("#id_title", "Checkpoint inhibitors")
    editor.fill("#id_summary", "Drugs that help your immune system fight cancer.")
    editor.fill("#id_references", "Immunotherapy | National Cancer Institute | https://www.cancer.gov/ | 2022")
    editor.locator("#id_body").click()
    editor.locator("#id_body").press_sequentially(BODY, delay=0)
    preview = editor.locator(".markdownx-preview")
    preview.locator("h2", has_text="Side effects").wait_for()
    assert preview.locator("li", has_text="Tiredness").count() == 1
    shot(editor, "editor-writes-markdown-with-live-preview")
    editor.click("input[name=_continue]")
    editor.wait_for_selector(".healthlib-workspace")
    article = Article.objects.get(slug="checkpoint-inhibitors")
    assert article.latest_revision.content["body"].startswith("## What they do")

    # 2. The editor submits it for medical review.
    click_action(editor, "submit", "Ready for review.")
    assert "Submitted for medical review." in message_text(editor)
    shot(editor, "editor-submitted")
    article.refresh_from_db()
    assert article.state == State.IN_REVIEW

    # 3. The reviewer finds it in the queue, reads the diff and requests changes.
    reviewer = login(browser, live_server, "reviewer")
    reviewer.click(f"a[href='{reverse('admin:healthlib_reviewqueue_changelist')}']")
    reviewer.wait_for_selector(".healthlib-queue")
    assert reviewer.locator(".healthlib-queue-entry").count() == 1
    shot(reviewer, "reviewer-queue")
    reviewer.click(".healthlib-queue-entry a.button")
    reviewer.wait_for_selector(".healthlib-diff-words")
    assert reviewer.locator(".healthlib-diff-words ins", has_text="Checkpoint inhibitors help your T cells").count()
    assert "You are approving revision 1" in reviewer.locator(".healthlib-signing").inner_text()
    shot(reviewer, "reviewer-diff-against-nothing-live")
    click_action(reviewer, "request_changes", "Please mention colitis as a side effect.")
    assert "Changes requested" in message_text(reviewer)
    shot(reviewer, "reviewer-requested-changes")
    article.refresh_from_db()
    assert article.state == State.CHANGES_REQUESTED

    # 4. The editor sees the comment, fixes the text and resubmits.
    editor.goto(live_server.url + reverse("admin:healthlib_article_change", args=[article.pk]))
    assert "Please mention colitis" in editor.locator(".healthlib-comment").inner_text()
    editor.locator("#id_body").click()
    editor.locator("#id_body").press("Control+End")
    editor.locator("#id_body").press_sequentially("\n- Diarrhea or colitis", delay=0)
    editor.locator(".markdownx-preview li", has_text="colitis").wait_for()
    shot(editor, "editor-fixes-text")
    editor.click("input[name=_continue]")
    editor.wait_for_selector(".healthlib-workspace")
    click_action(editor, "submit")
    assert "Submitted for medical review." in message_text(editor)
    shot(editor, "editor-resubmitted")

    # 5. The reviewer sees what changed and approves.
    reviewer.goto(live_server.url + reverse("admin:healthlib_reviewqueue_review", args=[article.pk]))
    reviewer.locator(".healthlib-diff-words").wait_for()
    reviewer.locator("details summary").click()
    assert reviewer.locator(".healthlib-diff-add", has_text="colitis").count() == 1
    assert "You are approving revision 2" in reviewer.locator(".healthlib-signing").inner_text()
    shot(reviewer, "reviewer-sees-fix")
    click_action(reviewer, "approve", "Accurate and clear.")
    assert "Approved." in message_text(reviewer)
    shot(reviewer, "reviewer-approved")

    # 6. The editor publishes.
    editor.goto(live_server.url + reverse("admin:healthlib_article_change", args=[article.pk]))
    click_action(editor, "publish")
    assert "Published" in message_text(editor)
    shot(editor, "editor-published")
    article.refresh_from_db()
    assert article.state == State.PUBLISHED

    # 7. An anonymous reader sees today's review date and the reviewer's credentials.
    reader = browser.new_context().new_page()
    reader.goto(live_server.url + article.get_absolute_url())
    review_line = reader.locator(".healthlib-review").inner_text()
    assert f"Last reviewed on {timezone.localdate():%m/%d/%Y}" in review_line
    assert "MD, medical oncology" in review_line
    assert "colitis" in reader.locator("body").inner_text()
    shot(reader, "reader-sees-reviewed-page")


def test_author_reviewer_cannot_approve_own_work(browser, live_server, people):
    shot = Shots(start=13)
    article = workflow.create_article(people["dual"], slug="own-work", article_type="drug", content=ARTICLE_CONTENT)
    workflow.submit(article, people["dual"])
    page = login(browser, live_server, "dual")
    page.goto(live_server.url + reverse("admin:healthlib_article_change", args=[article.pk]))
    assert page.locator('form[data-action="approve"]').count() == 0
    assert page.locator('form[data-action="withdraw"]').count() == 1
    page.goto(live_server.url + reverse("admin:healthlib_reviewqueue_review", args=[article.pk]))
    assert "another medical reviewer must decide" in page.locator(".healthlib-decision").inner_text()
    assert page.locator('form[data-action="approve"]').count() == 0
    shot(page, "author-reviewer-sees-no-approve-button")
    # A crafted POST, with a valid CSRF token, is refused.
    token = next(c["value"] for c in page.context.cookies() if c["name"] == "csrftoken")
    response = page.request.post(
        live_server.url + reverse("admin:healthlib_article_workflow", args=[article.pk, "approve"]),
        form={"csrfmiddlewaretoken": token, "revision": str(article.latest_revision_id)},
        headers={"Referer": live_server.url + "/admin/"},
    )
    assert response.status == 403
    assert "another medical reviewer must approve it" in response.text()
    article.refresh_from_db()
    assert article.state == State.IN_REVIEW
    assert not article.latest_revision.reviews.exists()


def test_stale_edit_is_refused_without_losing_text(browser, live_server, people):
    shot = Shots(start=14)
    article = workflow.create_article(people["editor"], slug="shared", article_type="drug", content=ARTICLE_CONTENT)
    url = live_server.url + reverse("admin:healthlib_article_change", args=[article.pk])
    first = login(browser, live_server, "editor")
    first.goto(url)
    second = login(browser, live_server, "editor2")
    second.goto(url)
    assert "editor opened this draft just now" in second.locator(".healthlib-presence").inner_text()
    shot(second, "second-editor-sees-presence-notice")
    second.fill("#id_summary", "A summary saved first by editor2.")
    second.click("input[name=_continue]")
    second.wait_for_selector(".messagelist")

    typed = "A careful paragraph that editor one typed and must not lose."
    first.fill("#id_body", typed)
    first.click("input[name=_continue]")
    first.wait_for_selector(".errornote")
    error = first.locator(".errorlist.nonfield").inner_text()
    assert "revision 2" in error and "editor2" in error and "Summary" in error
    assert first.locator("#id_body").input_value() == typed
    shot(first, "stale-edit-refused-text-kept")
    article.refresh_from_db()
    assert article.latest_revision.number == 2
    assert article.latest_revision.content["body"] == ARTICLE_CONTENT["body"]
    assert article.latest_revision.content["summary"] == "A summary saved first by editor2."


def test_history_changelist_dashboard_and_glossary(browser, live_server, people):
    shot = Shots(start=16)
    article = workflow.create_article(people["editor"], slug="hist", article_type="drug", content=ARTICLE_CONTENT)
    workflow.save_draft(
        article, people["editor"], edited(ARTICLE_CONTENT, title="Checkpoint drugs"), based_on=article.latest_revision
    )
    other = workflow.create_article(
        people["editor"], slug="live", article_type="treatment", content=edited(ARTICLE_CONTENT, title="Live one")
    )
    workflow.submit(other, people["editor"])
    workflow.approve(other, people["reviewer"])
    workflow.publish(other, people["editor"])
    page = login(browser, live_server, "editor")
    page.goto(live_server.url + reverse("admin:healthlib_article_history", args=[article.pk]))
    page.click("text=Compare selected revisions")
    page.locator(".healthlib-compare").wait_for()
    assert page.locator(".healthlib-compare ins", has_text="drugs").count() == 1
    shot(page, "history-compare-two-revisions")

    page.goto(live_server.url + reverse("admin:healthlib_article_changelist"))
    assert page.locator("#result_list tbody tr").count() == 2
    page.click("#changelist-filter >> text=Reviewer")
    shot(page, "changelist-with-filters")
    page.goto(live_server.url + reverse("admin:healthlib_reviewdates_changelist"))
    assert "Live one" in page.locator("#recently_reviewed").inner_text()
    shot(page, "review-dates-dashboard")

    page.goto(live_server.url + reverse("admin:healthlib_glossaryterm_add"))
    page.fill("#id_slug", "t-cell")
    page.fill("#id_term", "T cell")
    page.fill("#id_short_definition", "A white blood cell that fights infection.")
    page.locator("#id_full_definition").press_sequentially("T cells **attack** infected cells.", delay=0)
    page.locator(".markdownx-preview strong", has_text="attack").first.wait_for()
    shot(page, "glossary-term-with-preview")
    page.click("input[name=_continue]")
    page.wait_for_selector(".healthlib-workspace")
    assert GlossaryTerm.objects.get(slug="t-cell").latest_revision.content["full_definition"].startswith("T cells")
