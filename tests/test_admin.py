"""The editors' and reviewers' workspace in the admin: thin views over healthlib.workflow."""

from __future__ import annotations

import re

import pytest
from django.contrib.admin.models import LogEntry
from django.core.cache import cache
from django.test import override_settings
from django.urls import reverse

from healthlib import workflow
from healthlib.admin.review import QUEUE_PAGE_SIZE, REVIEW_DATES_ROWS
from healthlib.exceptions import InvalidContent
from healthlib.forms import references_to_text
from healthlib.models import (
    Article,
    GlossaryTerm,
    Review,
    ReviewerProfile,
    Revision,
    State,
    Topic,
    WorkflowEvent,
)
from tests.conftest import ARTICLE_CONTENT, edited, make_user

ACTIONS = {
    "submit",
    "withdraw",
    "approve",
    "request_changes",
    "publish",
    "schedule",
    "cancel_schedule",
    "reaffirm",
    "archive",
    "restore",
    "review_link",
}


LINK = {"review_link"}
SCHEDULE = {"schedule"}


@pytest.fixture(autouse=True)
def _clear_cache():
    cache.clear()
    yield
    cache.clear()


def change_url(item) -> str:
    model = "article" if isinstance(item, Article) else "glossaryterm"
    return reverse(f"admin:healthlib_{model}_change", args=[item.pk])


def action_url(item, action: str) -> str:
    model = "article" if isinstance(item, Article) else "glossaryterm"
    return reverse(f"admin:healthlib_{model}_workflow", args=[item.pk, action])


def shown_actions(client, item) -> set[str]:
    page = client.get(change_url(item))
    assert page.status_code == 200
    return set(re.findall(r'data-action="(\w+)"', page.content.decode())) & ACTIONS


def snapshot(item):
    item.refresh_from_db()
    return (
        item.state,
        item.latest_revision_id,
        item.live_revision_id,
        Revision.objects.count(),
        Review.objects.count(),
        WorkflowEvent.objects.count(),
    )


def form_data(article: Article, **content) -> dict:
    latest = article.latest_revision
    data = {
        "article_type": article.article_type,
        "topics": [t.pk for t in article.topics.all()],
        "owner": article.owner_id or "",
        "title": latest.content["title"],
        "summary": latest.content["summary"],
        "body": latest.content["body"],
        "references": references_to_text(latest.content["references"]),
        "review_interval_days": article.review_interval_days or "",
        "based_on": latest.pk,
    }
    data.update(content)
    return data


def messages_of(response) -> list[str]:
    return [str(m) for m in response.context["messages"]] if response.context else []


def in_review(article, editor):
    workflow.submit(article, editor, revision=article.latest_revision)
    article.refresh_from_db()
    return article


def approved(article, editor, reviewer):
    in_review(article, editor)
    workflow.approve(article, reviewer, revision=article.latest_revision)
    article.refresh_from_db()
    return article


# ---------------------------------------------------------------- buttons per role


def test_buttons_on_a_draft(client, article, editor, reviewer, author_reviewer):
    client.force_login(editor)
    assert shown_actions(client, article) == {"submit", "archive"} | LINK
    client.force_login(reviewer)
    assert shown_actions(client, article) == set()
    client.force_login(author_reviewer)
    assert shown_actions(client, article) == {"submit", "archive"} | LINK


def test_buttons_in_review(client, article, editor, reviewer, author_reviewer):
    in_review(article, editor)
    client.force_login(editor)
    assert shown_actions(client, article) == {"withdraw", "archive"} | LINK
    client.force_login(reviewer)
    assert shown_actions(client, article) == {"approve", "request_changes"}
    client.force_login(author_reviewer)  # an editor-reviewer who did not write it may review it
    assert shown_actions(client, article) == {"withdraw", "approve", "request_changes", "archive"} | LINK


def test_author_reviewer_sees_no_approve_button_on_own_work(client, author_reviewer, reviewer):
    article = workflow.create_article(author_reviewer, slug="own", article_type="drug", content=ARTICLE_CONTENT)
    in_review(article, author_reviewer)
    client.force_login(author_reviewer)
    assert {"approve", "request_changes"}.isdisjoint(shown_actions(client, article))
    page = client.get(reverse("admin:healthlib_reviewqueue_review", args=[article.pk]))
    assert b'data-action="approve"' not in page.content
    assert "another medical reviewer must decide" in page.content.decode()


def test_buttons_when_approved_and_published(client, article, editor, reviewer):
    approved(article, editor, reviewer)
    client.force_login(editor)
    assert shown_actions(client, article) == {"publish", "archive"} | SCHEDULE | LINK
    workflow.publish(article, editor)
    client.force_login(editor)
    assert shown_actions(client, article) == {"archive"} | LINK
    client.force_login(reviewer)
    assert shown_actions(client, article) == {"reaffirm"}


def test_view_on_site_only_for_live_content(client, article, published_article, editor):
    client.force_login(editor)
    assert published_article.get_absolute_url() in client.get(change_url(published_article)).content.decode()
    draft = workflow.create_article(editor, slug="draft-only", article_type="drug", content=ARTICLE_CONTENT)
    assert draft.get_absolute_url() not in client.get(change_url(draft)).content.decode()


@override_settings(HEALTHLIB={"REQUIRED_APPROVALS": 2})
def test_first_of_two_approvals_says_another_is_needed(client, article, editor, reviewer):
    in_review(article, editor)
    client.force_login(reviewer)
    response = client.post(
        action_url(article, "approve"), {"revision": article.latest_revision_id, "change_summary": "New"}, follow=True
    )
    assert any("Another medical reviewer must also approve revision 1" in m for m in messages_of(response))
    article.refresh_from_db()
    assert article.state == State.IN_REVIEW


def test_buttons_when_archived(client, article, editor):
    workflow.archive(article, editor)
    client.force_login(editor)
    assert shown_actions(client, article) == {"restore"} | LINK


# ---------------------------------------------------------------- actions


def test_submit_approve_publish_through_the_admin(client, article, editor, reviewer):
    client.force_login(editor)
    response = client.post(action_url(article, "submit"), {"revision": article.latest_revision_id}, follow=True)
    assert "Submitted for medical review." in messages_of(response)
    article.refresh_from_db()
    assert article.state == State.IN_REVIEW

    client.force_login(reviewer)
    response = client.post(
        action_url(article, "approve"),
        {"revision": article.latest_revision_id, "comment": "Accurate.", "change_summary": "First version"},
    )
    assert response.status_code == 302
    article.refresh_from_db()
    assert article.state == State.APPROVED
    assert Review.objects.get().comment == "Accurate."

    client.force_login(editor)
    client.post(action_url(article, "publish"), {"revision": article.latest_revision_id})
    article.refresh_from_db()
    assert article.state == State.PUBLISHED
    assert article.live_revision_id == article.latest_revision_id


@pytest.mark.parametrize(
    ("who", "action", "setup"),
    [
        ("reviewer", "submit", None),
        ("reviewer", "archive", None),
        ("editor", "approve", "in_review"),
        ("editor", "request_changes", "in_review"),
        ("reviewer", "publish", "approved"),
        ("editor", "reaffirm", "published"),
        ("reviewer", "restore", None),
    ],
)
def test_direct_post_by_wrong_role_is_403_and_changes_nothing(client, article, editor, reviewer, who, action, setup):
    if setup == "in_review":
        in_review(article, editor)
    elif setup == "approved":
        approved(article, editor, reviewer)
    elif setup == "published":
        approved(article, editor, reviewer)
        workflow.publish(article, editor)
    before = snapshot(article)
    client.force_login({"editor": editor, "reviewer": reviewer}[who])
    revision = article.live_revision_id if action == "reaffirm" else article.latest_revision_id
    response = client.post(action_url(article, action), {"revision": revision, "comment": "x"})
    assert response.status_code == 403
    assert "permission" in response.content.decode()
    assert snapshot(article) == before


def test_crafted_approve_by_the_author_reviewer_is_403(client, author_reviewer, reviewer):
    article = workflow.create_article(author_reviewer, slug="own", article_type="drug", content=ARTICLE_CONTENT)
    in_review(article, author_reviewer)
    before = snapshot(article)
    client.force_login(author_reviewer)
    response = client.post(action_url(article, "approve"), {"revision": article.latest_revision_id})
    assert response.status_code == 403
    assert "another medical reviewer must approve it" in response.content.decode()
    assert snapshot(article) == before


def test_user_without_admin_access_cannot_post(client, article, nobody):
    before = snapshot(article)
    client.force_login(nobody)
    response = client.post(action_url(article, "submit"), {"revision": article.latest_revision_id})
    assert response.status_code == 302 and "/login/" in response["Location"]
    assert snapshot(article) == before


def test_action_needs_post_and_csrf(article, editor):
    from django.test import Client

    client = Client(enforce_csrf_checks=True)
    client.force_login(editor)
    assert client.get(action_url(article, "submit")).status_code == 405
    before = snapshot(article)
    assert client.post(action_url(article, "submit"), {"revision": article.latest_revision_id}).status_code == 403
    assert snapshot(article) == before


def test_unknown_action_is_404(client, article, editor):
    client.force_login(editor)
    assert client.post(action_url(article, "delete_everything"), {}).status_code == 404


def test_refused_action_shows_the_reason_and_changes_nothing(client, article, editor):
    client.force_login(editor)
    before = snapshot(article)
    response = client.post(action_url(article, "publish"), {"revision": article.latest_revision_id}, follow=True)
    assert response.redirect_chain[-1] == (change_url(article), 302)
    [message] = messages_of(response)
    assert "Cannot publish" in message and "draft" in message
    assert snapshot(article) == before


def test_refused_action_answers_409_to_json_clients(client, article, editor):
    client.force_login(editor)
    before = snapshot(article)
    response = client.post(
        action_url(article, "publish"), {"revision": article.latest_revision_id}, HTTP_ACCEPT="application/json"
    )
    assert response.status_code == 409
    assert "Cannot publish" in response.json()["error"]
    assert snapshot(article) == before


def test_approving_a_revision_that_changed_since_is_refused(client, article, editor, reviewer):
    seen = article.latest_revision_id
    workflow.save_draft(article, editor, edited(ARTICLE_CONTENT, title="Newer"), based_on=seen)
    in_review(article, editor)
    before = snapshot(article)
    client.force_login(reviewer)
    response = client.post(action_url(article, "approve"), {"revision": seen, "change_summary": "New"}, follow=True)
    [message] = messages_of(response)
    assert "changed while you were looking at it" in message
    assert snapshot(article) == before
    response = client.post(
        action_url(article, "approve"), {"revision": seen, "change_summary": "New"}, HTTP_ACCEPT="application/json"
    )
    assert response.status_code == 409


def test_request_changes_needs_a_comment(client, article, editor, reviewer):
    in_review(article, editor)
    before = snapshot(article)
    client.force_login(reviewer)
    response = client.post(
        action_url(article, "request_changes"), {"revision": article.latest_revision_id, "comment": "  "}, follow=True
    )
    assert any("comment is required" in m for m in messages_of(response))
    assert snapshot(article) == before
    client.post(
        action_url(article, "request_changes"), {"revision": article.latest_revision_id, "comment": "Cite a trial."}
    )
    article.refresh_from_db()
    assert article.state == State.CHANGES_REQUESTED
    client.force_login(editor)
    page = client.get(change_url(article))
    assert "Cite a trial." in page.content.decode()


def test_action_without_the_revision_seen_is_refused(client, article, editor):
    client.force_login(editor)
    before = snapshot(article)
    response = client.post(action_url(article, "submit"), {}, follow=True)
    assert any("which revision" in m for m in messages_of(response))
    assert snapshot(article) == before


def test_archive_and_restore(client, article, editor):
    client.force_login(editor)
    client.post(action_url(article, "archive"), {"comment": "Out of date."})
    article.refresh_from_db()
    assert article.state == State.ARCHIVED
    client.post(
        action_url(article, "restore"),
        {"revision": article.latest_revision_id, "based_on": article.latest_revision_id},
    )
    article.refresh_from_db()
    assert article.state == State.DRAFT
    assert article.latest_revision.number == 2


def test_next_parameter_must_be_local(client, article, editor):
    client.force_login(editor)
    response = client.post(
        action_url(article, "submit"), {"revision": article.latest_revision_id, "next": "https://evil.example/"}
    )
    assert response["Location"] == change_url(article)


# ---------------------------------------------------------------- create and edit


def test_create_article_through_the_admin(client, editor):
    topic = Topic.objects.create(name="Immunotherapy", slug="immunotherapy")
    client.force_login(editor)
    response = client.post(
        reverse("admin:healthlib_article_add"),
        {
            "slug": "car-t",
            "article_type": "treatment",
            "topics": [topic.pk],
            "owner": "",
            "title": "CAR T-cell therapy",
            "summary": "Your own T cells, changed to fight cancer.",
            "body": "## How it works\n\nDoctors collect your T cells.",
            "references": "CAR T Cells | National Cancer Institute | https://www.cancer.gov/ | 2022",
            "review_interval_days": "180",
            "based_on": "",
        },
    )
    assert response.status_code == 302, response.context["adminform"].form.errors
    article = Article.objects.get(slug="car-t")
    assert article.state == State.DRAFT
    assert article.latest_revision.number == 1
    assert article.latest_revision.content["references"] == [
        {
            "title": "CAR T Cells",
            "publisher": "National Cancer Institute",
            "url": "https://www.cancer.gov/",
            "year": 2022,
        }
    ]
    assert list(article.topics.all()) == [topic]
    assert article.owner == editor
    assert article.review_interval_days == 180
    assert list(article.events.values_list("action", flat=True)) == ["healthlib.create"]


def test_create_with_invalid_reference_shows_field_errors(client, editor):
    client.force_login(editor)
    data = {
        "slug": "car-t",
        "article_type": "treatment",
        "title": "CAR T-cell therapy",
        "body": "Text",
        "references": "CAR T | NCI | javascript:alert(1) | 2022\nSecond | NCI | https://x.org/ | soon",
    }
    response = client.post(reverse("admin:healthlib_article_add"), data)
    assert response.status_code == 200
    errors = response.context["adminform"].form.errors
    assert "Line 2" in errors["references"][0]
    data["references"] = "CAR T | NCI | javascript:alert(1) | 2022"
    response = client.post(reverse("admin:healthlib_article_add"), data)
    errors = response.context["adminform"].form.errors
    assert "Reference 1 (url)" in errors["references"][0]
    assert not Article.objects.exists()
    # The typed text is still there.
    assert "CAR T-cell therapy" in response.content.decode()


def test_create_with_taken_slug_is_a_form_error(client, article, editor):
    client.force_login(editor)
    response = client.post(
        reverse("admin:healthlib_article_add"),
        {"slug": article.slug, "article_type": "drug", "title": "Again", "body": ""},
    )
    assert response.status_code == 200
    assert "slug" in response.context["adminform"].form.errors
    assert Article.objects.count() == 1


def test_edit_saves_a_new_draft_revision(client, article, editor):
    client.force_login(editor)
    response = client.post(change_url(article), form_data(article, body="## New\n\nShorter text."))
    assert response.status_code == 302
    article.refresh_from_db()
    assert article.latest_revision.number == 2
    assert article.latest_revision.content["body"] == "## New\n\nShorter text."
    assert article.latest_revision.based_on.number == 1


def test_saving_unchanged_content_makes_no_revision(client, article, editor):
    client.force_login(editor)
    response = client.post(change_url(article), form_data(article, article_type="drug"))
    assert response.status_code == 302
    article.refresh_from_db()
    assert article.latest_revision.number == 1
    assert article.article_type == "drug"
    assert article.events.filter(action="healthlib.set_details").count() == 1


def test_editing_published_article_keeps_the_live_page(client, published_article, editor):
    client.force_login(editor)
    page = client.get(change_url(published_article)).content.decode()
    assert "Readers see revision 1" in page
    assert "Saving makes a new draft" in page
    client.post(change_url(published_article), form_data(published_article, title="A new title"))
    published_article.refresh_from_db()
    assert published_article.state == State.DRAFT
    assert published_article.live_revision.number == 1
    assert published_article.live_title == ARTICLE_CONTENT["title"]
    page = client.get(change_url(published_article)).content.decode()
    assert "Readers see revision 1" in page and "you are editing a new draft (revision 2)" in page


def test_stale_edit_is_refused_and_keeps_the_typed_text(client, article, editor, editor2):
    editor2.first_name, editor2.last_name = "Dana", "Jones"
    editor2.save()
    stale = form_data(article, body="My long careful paragraph that must not be lost.")
    workflow.save_draft(
        article, editor2, edited(ARTICLE_CONTENT, summary="Dana's summary."), based_on=article.latest_revision
    )
    client.force_login(editor)
    response = client.post(change_url(article), stale)
    assert response.status_code == 200
    page = response.content.decode()
    assert "My long careful paragraph that must not be lost." in page
    [error] = response.context["adminform"].form.non_field_errors()
    assert "revision 2" in error and "Dana Jones" in error and "Summary" in error
    article.refresh_from_db()
    assert article.latest_revision.number == 2
    assert article.latest_revision.content["summary"] == "Dana's summary."
    # A deliberate second save, after seeing the warning, builds on revision 2.
    again = dict(stale, based_on=response.context["adminform"].form["based_on"].value())
    assert str(again["based_on"]) == str(article.latest_revision_id)
    assert client.post(change_url(article), again).status_code == 302
    article.refresh_from_db()
    assert article.latest_revision.number == 3


def test_a_refusal_after_part_of_a_save_rolls_all_of_it_back(client, article, editor, monkeypatch):
    def refuse(*args, **kwargs):
        raise InvalidContent("The review interval is refused.")

    monkeypatch.setattr(workflow, "set_review_interval", refuse)
    client.force_login(editor)
    response = client.post(change_url(article), form_data(article, body="New text.", review_interval_days="90"))
    assert response.status_code == 200
    assert response.context["adminform"].form.non_field_errors() == ["The review interval is refused."]
    assert "New text." in response.content.decode()
    article.refresh_from_db()
    # The new draft revision saved before the refusal is gone with it; the admin logged nothing.
    assert (article.latest_revision.number, Revision.objects.count(), LogEntry.objects.count()) == (1, 1, 0)


def test_content_is_frozen_while_in_review(client, article, editor):
    in_review(article, editor)
    client.force_login(editor)
    response = client.post(change_url(article), form_data(article, body="Sneaky change"))
    assert response.status_code == 302
    article.refresh_from_db()
    assert article.latest_revision.number == 1  # disabled fields ignore posted values
    assert article.state == State.IN_REVIEW


def test_review_interval_goes_through_the_workflow(client, article, editor):
    client.force_login(editor)
    client.post(change_url(article), form_data(article, review_interval_days="90"))
    article.refresh_from_db()
    assert article.review_interval_days == 90
    assert article.events.filter(action="healthlib.set_review_interval").count() == 1


def test_glossary_term_create_and_edit(client, editor):
    client.force_login(editor)
    response = client.post(
        reverse("admin:healthlib_glossaryterm_add"),
        {
            "slug": "t-cell",
            "term": "T cell",
            "aliases": "T lymphocyte, T-cell",
            "short_definition": "A type of white blood cell.",
            "full_definition": "T cells **fight** infection.",
        },
    )
    assert response.status_code == 302, response.context["adminform"].form.errors
    term = GlossaryTerm.objects.get(slug="t-cell")
    assert term.latest_revision.content["aliases"] == ["T lymphocyte", "T-cell"]
    data = {
        "owner": editor.pk,
        "term": "T cell",
        "aliases": "T lymphocyte",
        "short_definition": "A white blood cell that fights infection.",
        "full_definition": "",
        "based_on": term.latest_revision_id,
        "related_terms": "no-such-term",
    }
    response = client.post(change_url(term), data)
    assert response.status_code == 200
    assert "Unknown glossary term" in response.context["adminform"].form.errors["related_terms"][0]
    data["related_terms"] = ""
    assert client.post(change_url(term), data).status_code == 302
    term.refresh_from_db()
    assert term.latest_revision.number == 2


def test_reviewer_sees_a_read_only_page(client, article, reviewer):
    client.force_login(reviewer)
    page = client.get(change_url(article))
    assert page.status_code == 200
    assert b"These drugs help T cells attack cancer." in page.content
    assert b'name="body"' not in page.content
    before = snapshot(article)
    assert client.post(change_url(article), form_data(article, body="x")).status_code == 403
    assert snapshot(article) == before


def test_change_form_shows_readability_and_checklist(client, article, editor):
    client.force_login(editor)
    page = client.get(change_url(article)).content.decode()
    grade = article.latest_revision.readability_grade
    assert f'<span class="healthlib-grade">{grade}</span>' in page
    assert "minute read" in page
    assert 'data-check="summary"' in page


def test_markdownx_widget_is_on_the_body(client, article, editor):
    client.force_login(editor)
    page = client.get(change_url(article)).content.decode()
    assert 'class="markdownx"' in page and "markdownx-preview" in page
    assert "markdownx/js/markdownx" in page


def test_presence_notice(client, article, editor, editor2):
    editor2.first_name = "Dana"
    editor2.save()
    client.force_login(editor2)
    client.get(change_url(article))
    client.force_login(editor)
    page = client.get(change_url(article)).content.decode()
    assert "Dana (editor2) opened this draft" in page
    client.force_login(editor2)
    page = client.get(change_url(article)).content.decode()
    assert "editor opened this draft just now" in page
    assert "Dana (editor2) opened" not in page


def test_presence_notice_says_how_long_ago(client, article, editor, editor2):
    import datetime

    from django.utils import timezone

    from healthlib import presence

    editor2.first_name = "Dana"
    editor2.save()
    presence.touch(article.pk, editor2, now=timezone.now() - datetime.timedelta(minutes=2, seconds=5))
    client.force_login(editor)
    page = client.get(change_url(article)).content.decode()
    assert "Dana (editor2) opened this draft 2\xa0minutes ago." in page


def test_delete_is_disabled(client, article, superuser):
    client.force_login(superuser)
    assert client.get(reverse("admin:healthlib_article_delete", args=[article.pk])).status_code == 403
    page = client.get(reverse("admin:healthlib_article_changelist")).content.decode()
    assert "delete_selected" not in page
    assert Article.objects.filter(pk=article.pk).exists()


# ---------------------------------------------------------------- read-only records and profiles


@pytest.mark.parametrize("model", ["revision", "review", "workflowevent"])
def test_history_records_are_read_only(client, published_article, superuser, model):
    client.force_login(superuser)
    obj = {"revision": Revision, "review": Review, "workflowevent": WorkflowEvent}[model].objects.first()
    assert client.get(reverse(f"admin:healthlib_{model}_add")).status_code == 403
    assert client.get(reverse(f"admin:healthlib_{model}_delete", args=[obj.pk])).status_code == 403
    page = client.get(reverse(f"admin:healthlib_{model}_change", args=[obj.pk]))
    assert page.status_code == 200 and b'type="submit" value="Save"' not in page.content
    assert client.post(reverse(f"admin:healthlib_{model}_change", args=[obj.pk]), {}).status_code == 403


def test_reviewer_edits_only_their_own_profile(client, reviewer, reviewer2, superuser):
    own, other = reviewer.reviewer_profile, reviewer2.reviewer_profile
    client.force_login(reviewer)
    url = reverse("admin:healthlib_reviewerprofile_change", args=[own.pk])
    response = client.post(url, {"display_name": "Dr Rev", "credentials": "MD, PhD", "specialty": "Oncology"})
    assert response.status_code == 302
    own.refresh_from_db()
    assert (own.credentials, own.user) == ("MD, PhD", reviewer)
    other_url = reverse("admin:healthlib_reviewerprofile_change", args=[other.pk])
    assert client.post(other_url, {"display_name": "Hacked", "credentials": ""}).status_code == 403
    other.refresh_from_db()
    assert other.display_name != "Hacked"
    assert client.get(reverse("admin:healthlib_reviewerprofile_add")).status_code == 403
    client.force_login(superuser)
    response = client.post(other_url, {"user": reviewer2.pk, "display_name": "Renamed", "credentials": "PharmD"})
    assert response.status_code == 302
    assert ReviewerProfile.objects.get(pk=other.pk).display_name == "Renamed"


# ---------------------------------------------------------------- changelist


def test_changelist_columns_and_filters(client, published_article, article, editor, reviewer):
    client.force_login(editor)
    url = reverse("admin:healthlib_article_changelist")
    page = client.get(url).content.decode()
    for heading in ["Working title", "Article type", "Workflow state", "Last reviewed", "Next review due"]:
        assert heading in page
    assert client.get(url, {"reviewer": reviewer.pk}).context["cl"].result_count == 1
    assert client.get(url, {"overdue": "yes"}).context["cl"].result_count == 0
    Article.objects.filter(pk=published_article.pk).update(next_review_due="2000-01-01")
    assert client.get(url, {"overdue": "yes"}).context["cl"].result_count == 1
    assert client.get(url, {"due_soon": "yes"}).context["cl"].result_count == 0
    assert client.get(url, {"state__exact": "published"}).context["cl"].result_count == 1


def make_articles(user, n: int, *, submit: bool = False, topic=None):
    for i in range(n):
        article = workflow.create_article(
            user, slug=f"a-{i}", article_type="drug", content=edited(ARTICLE_CONTENT, title=f"Article {i}")
        )
        if topic:
            article.topics.add(topic)
        if submit:
            workflow.submit(article, user)


@pytest.mark.parametrize("n", [10, 200])
def test_changelist_query_count_does_not_grow(client, editor, reviewer, n, django_assert_max_num_queries):
    topic = Topic.objects.create(name="T", slug="t")
    make_articles(editor, n, topic=topic)
    client.force_login(editor)
    with django_assert_max_num_queries(11):
        response = client.get(reverse("admin:healthlib_article_changelist"))
    assert response.context["cl"].result_count == n


@pytest.mark.parametrize("n", [10, 200])
def test_glossary_changelist_query_count_does_not_grow(client, editor, n, django_assert_max_num_queries):
    for i in range(n):
        workflow.create_glossary_term(
            editor,
            slug=f"t-{i}",
            content={
                "term": f"Term {i}",
                "short_definition": "A plain definition.",
                "aliases": [],
                "related_terms": [],
            },
        )
    client.force_login(editor)
    with django_assert_max_num_queries(11):
        response = client.get(reverse("admin:healthlib_glossaryterm_changelist"))
    assert response.context["cl"].result_count == n


@pytest.mark.parametrize("n", [10, 200])
def test_review_queue_query_count_does_not_grow(client, editor, reviewer, n, django_assert_max_num_queries):
    make_articles(editor, n, submit=True)
    client.force_login(reviewer)
    with django_assert_max_num_queries(7):
        response = client.get(reverse("admin:healthlib_reviewqueue_changelist"))
    assert len(response.context["entries"]) == min(n, QUEUE_PAGE_SIZE)
    assert response.context["page_obj"].paginator.count == n
    if n > QUEUE_PAGE_SIZE:
        # The rest is on the next pages, oldest first throughout.
        page = client.get(reverse("admin:healthlib_reviewqueue_changelist"), {"page": 2})
        first_page = {e.pk for e in response.context["entries"]}
        assert len(page.context["entries"]) == min(n - QUEUE_PAGE_SIZE, QUEUE_PAGE_SIZE)
        assert not first_page & {e.pk for e in page.context["entries"]}
        assert "Page 2 of" in page.content.decode()


# ---------------------------------------------------------------- review queue and review page


def test_review_queue_lists_others_work_oldest_first(client, editor, reviewer, author_reviewer):
    first = workflow.create_article(editor, slug="first", article_type="drug", content=ARTICLE_CONTENT)
    own = workflow.create_article(author_reviewer, slug="own", article_type="drug", content=ARTICLE_CONTENT)
    # Not word for word what the dual-role user wrote: that text would be theirs too.
    second = workflow.create_article(
        editor, slug="second", article_type="drug", content=edited(ARTICLE_CONTENT, title="Second")
    )
    workflow.create_article(editor, slug="draft", article_type="drug", content=ARTICLE_CONTENT)
    for item in (first, own, second):
        in_review(item, item.owner)
    client.force_login(author_reviewer)
    entries = client.get(reverse("admin:healthlib_reviewqueue_changelist")).context["entries"]
    assert [e.pk for e in entries] == [first.pk, second.pk]
    # It agrees with the workflow's own rule.
    assert all(author_reviewer.pk not in workflow.contributors(e, e.latest_revision) for e in entries)
    client.force_login(reviewer)
    entries = client.get(reverse("admin:healthlib_reviewqueue_changelist")).context["entries"]
    assert [e.pk for e in entries] == [first.pk, own.pk, second.pk]


def test_review_queue_is_for_reviewers_only(client, editor):
    client.force_login(editor)
    assert client.get(reverse("admin:healthlib_reviewqueue_changelist")).status_code == 403


def test_admin_index_links_the_queue_and_dates_for_reviewers(client, reviewer, editor):
    client.force_login(reviewer)
    page = client.get(reverse("admin:index")).content.decode()
    assert reverse("admin:healthlib_reviewqueue_changelist") in page
    assert reverse("admin:healthlib_reviewdates_changelist") in page
    client.force_login(editor)
    page = client.get(reverse("admin:index")).content.decode()
    assert reverse("admin:healthlib_reviewqueue_changelist") not in page


def test_review_page_shows_diff_against_live_grade_checklist_and_hash(client, published_article, editor, reviewer):
    workflow.save_draft(
        published_article,
        editor,
        edited(ARTICLE_CONTENT, body=ARTICLE_CONTENT["body"] + "\n\nAsk about **fatigue** too."),
        based_on=published_article.latest_revision,
    )
    in_review(published_article, editor)
    latest = published_article.latest_revision
    client.force_login(reviewer)
    page = client.get(reverse("admin:healthlib_reviewqueue_review", args=[published_article.pk])).content.decode()
    assert "Changes against the live revision 1" in page
    assert "<ins>Ask about fatigue too.</ins>" in page
    assert "+Ask about **fatigue** too." in page
    assert f"You are approving revision 2, hash {latest.content_hash[:12]}…" in page
    assert f'<span class="healthlib-grade">{latest.readability_grade}</span>' in page
    assert 'data-check="references"' in page
    assert 'data-action="approve"' in page and 'data-action="request_changes"' in page


def test_diff_view_escapes_html(client, editor, reviewer):
    nasty = edited(
        ARTICLE_CONTENT,
        title="<script>alert('title')</script>",
        body="Hello <script>alert('body')</script> <img src=x onerror=alert(1)> [x](javascript:alert(2))",
    )
    article = workflow.create_article(editor, slug="nasty", article_type="drug", content=nasty)
    in_review(article, editor)
    client.force_login(reviewer)
    page = client.get(reverse("admin:healthlib_reviewqueue_review", args=[article.pk])).content.decode()
    assert "<script>alert" not in page
    assert "onerror=alert" not in page.replace("onerror=alert(1)&gt;", "")
    assert "javascript:alert" not in page.replace("(javascript:alert(2))", "")
    assert "&lt;script&gt;alert(&#x27;body&#x27;)&lt;/script&gt;" in page  # the markdown source, shown as text
    history = client.get(reverse("admin:healthlib_article_history", args=[article.pk])).content.decode()
    assert "<script>alert" not in history


# ---------------------------------------------------------------- history


def test_history_lists_revisions_and_diffs_any_two(client, published_article, editor, reviewer):
    first = published_article.latest_revision
    second = workflow.save_draft(
        published_article, editor, edited(ARTICLE_CONTENT, title="Second title"), based_on=first
    )
    client.force_login(editor)
    url = reverse("admin:healthlib_article_history", args=[published_article.pk])
    page = client.get(url).content.decode()
    assert 'id="revision-1"' in page and 'id="revision-2"' in page
    assert first.content_hash[:12] in page
    assert "Approved — Reviewer, MD" in page
    assert "healthlib.publish" in page
    page = client.get(url, {"a": first.pk, "b": second.pk}).content.decode()
    assert "Changes from revision 1 to revision 2" in page
    assert "<del>Checkpoint inhibitors</del> <ins>Second title</ins>" in page


def test_history_query_count_does_not_grow(client, article, editor, django_assert_max_num_queries):
    for i in range(15):
        workflow.save_draft(article, editor, edited(ARTICLE_CONTENT, title=f"T{i}"), based_on=article.latest_revision)
    client.force_login(editor)
    with django_assert_max_num_queries(15):
        client.get(reverse("admin:healthlib_article_history", args=[article.pk]))


def test_restore_an_old_revision_from_history(client, article, editor):
    first = article.latest_revision
    workflow.save_draft(article, editor, edited(ARTICLE_CONTENT, title="Worse title"), based_on=first)
    article.refresh_from_db()
    client.force_login(editor)
    page = client.get(reverse("admin:healthlib_article_history", args=[article.pk])).content.decode()
    assert "Restore this revision as a new draft" in page
    response = client.post(
        action_url(article, "restore"), {"revision": first.pk, "based_on": article.latest_revision_id}
    )
    assert response.status_code == 302
    article.refresh_from_db()
    assert article.latest_revision.number == 3
    assert article.latest_revision.content == first.content
    assert Revision.objects.filter(item=article).count() == 3  # history is never rewritten


def test_restore_based_on_a_stale_revision_is_refused(client, article, editor):
    first = article.latest_revision
    workflow.save_draft(article, editor, edited(ARTICLE_CONTENT, title="Worse title"), based_on=first)
    before = snapshot(article)
    client.force_login(editor)
    response = client.post(action_url(article, "restore"), {"revision": first.pk, "based_on": first.pk}, follow=True)
    assert any("changed while you were looking" in m for m in messages_of(response))
    assert snapshot(article) == before


def test_history_needs_view_permission(client, article, nobody):
    nobody.is_staff = True
    nobody.save()
    client.force_login(nobody)
    assert client.get(reverse("admin:healthlib_article_history", args=[article.pk])).status_code == 403


def test_reviewer_only_user_cannot_open_queue_without_permission(client, db):
    plain = make_user("plainstaff")
    client.force_login(plain)
    assert client.get(reverse("admin:healthlib_reviewqueue_changelist")).status_code == 403


# ---------------------------------------------------------------- scheduling, review links, dashboard


def test_schedule_and_cancel_through_the_admin(client, article, editor, reviewer):
    approved(article, editor, reviewer)
    client.force_login(editor)
    past = client.post(
        action_url(article, "schedule"),
        {"revision": article.latest_revision_id, "publish_at": "2000-01-01T09:00"},
        follow=True,
    )
    assert any("future" in m for m in messages_of(past))
    article.refresh_from_db()
    assert article.publish_at is None
    response = client.post(
        action_url(article, "schedule"), {"revision": article.latest_revision_id, "publish_at": "2099-06-01T09:30"}
    )
    assert response.status_code == 302
    article.refresh_from_db()
    assert article.publish_at.isoformat() == "2099-06-01T09:30:00+00:00"
    assert "cancel_schedule" in shown_actions(client, article)
    client.post(action_url(article, "cancel_schedule"), {})
    article.refresh_from_db()
    assert article.publish_at is None and article.state == State.APPROVED


def test_reviewer_cannot_schedule(client, article, editor, reviewer):
    approved(article, editor, reviewer)
    client.force_login(reviewer)
    response = client.post(
        action_url(article, "schedule"), {"revision": article.latest_revision_id, "publish_at": "2099-06-01T09:30"}
    )
    assert response.status_code == 403
    article.refresh_from_db()
    assert article.publish_at is None


@pytest.mark.skipif(not LINK, reason="healthlib.preview_links is not there yet")
def test_review_link_is_created_by_editors_only(client, article, editor, reviewer):
    client.force_login(editor)
    response = client.post(
        action_url(article, "review_link"),
        {"revision": article.latest_revision_id, "expires_in_days": "7"},
        follow=True,
    )
    [message] = messages_of(response)
    link = re.search(r"href='(http://testserver/[^']+)'", message).group(1)
    client.logout()
    page = client.get(link.removeprefix("http://testserver"))
    assert page.status_code == 200
    assert b"These drugs help T cells attack cancer." in page.content
    client.force_login(reviewer)
    response = client.post(action_url(article, "review_link"), {"revision": article.latest_revision_id})
    assert response.status_code == 403
    client.force_login(editor)
    response = client.post(
        action_url(article, "review_link"), {"revision": article.latest_revision_id, "expires_in_days": "365"}
    )
    assert response.status_code == 302  # refused by the form, with a message; no link created


def test_review_dates_dashboard(client, published_article, article, editor, reviewer):
    Article.objects.filter(pk=published_article.pk).update(next_review_due="2000-01-01")
    client.force_login(editor)
    response = client.get(reverse("admin:healthlib_reviewdates_changelist"))
    assert response.status_code == 200
    sections = {s["code"]: [row.pk for row, _ in s["rows"]] for s in response.context["sections"]}
    assert sections["overdue"] == [published_article.pk]
    assert sections["recently_reviewed"] == [published_article.pk]
    assert sections["due_soon"] == [] and sections["scheduled"] == []
    assert change_url(published_article) in response.content.decode()


@pytest.mark.parametrize("n", [10, 200])
def test_review_dates_query_count_does_not_grow(client, editor, reviewer, n, django_assert_max_num_queries):
    make_articles(editor, n, submit=True)
    for article in Article.objects.all():
        workflow.approve(article, reviewer)
        workflow.publish(article, editor)
    client.force_login(editor)
    # 11: the reviewers whose credential verification is due are one more query (healthlib.credentials).
    with django_assert_max_num_queries(11):
        response = client.get(reverse("admin:healthlib_reviewdates_changelist"))
    recent = response.context["sections"][2]
    assert len(recent["rows"]) == min(n, REVIEW_DATES_ROWS) and recent["total"] == n
    if n > REVIEW_DATES_ROWS:
        assert f"Showing the first {REVIEW_DATES_ROWS} of {n}." in response.content.decode()


def test_review_dates_needs_a_role(client, db):
    client.force_login(make_user("plainstaff"))
    assert client.get(reverse("admin:healthlib_reviewdates_changelist")).status_code == 403


def test_read_only_visitors_are_not_counted_as_editing(client, published_article, editor, reviewer):
    client.force_login(reviewer)
    page = client.get(change_url(published_article)).content.decode()
    assert "Readers see revision 1" in page and "Saving makes a new draft" not in page
    client.force_login(editor)
    page = client.get(change_url(published_article)).content.decode()
    assert "opened this draft" not in page


def test_the_core_works_without_the_admin(tmp_path):
    """healthlib.workflow and the reader side run in a project without django.contrib.admin."""
    import os
    import subprocess
    import sys
    from pathlib import Path

    script = """
import django
from django.conf import settings
settings.configure(
    INSTALLED_APPS=["django.contrib.auth", "django.contrib.contenttypes", "markdownx", "healthlib"],
    DATABASES={"default": {"ENGINE": "django.db.backends.sqlite3", "NAME": ":memory:"}},
    ROOT_URLCONF="healthlib.urls", USE_TZ=True, SECRET_KEY="x",
    TEMPLATES=[{"BACKEND": "django.template.backends.django.DjangoTemplates", "APP_DIRS": True}],
    MARKDOWNX_MARKDOWNIFY_FUNCTION="healthlib.markup.render_markdown",
)
django.setup()
import sys
from django.core.management import call_command
call_command("migrate", verbosity=0)
from django.contrib.auth.models import Group, User
from healthlib import workflow
user = User.objects.create_user("e")
user.groups.add(Group.objects.get(name="Editors"))
item = workflow.create_article(user, slug="x", article_type="drug",
    content={"title": "T", "summary": "S", "body": "B", "references": []})
# (markdownx itself imports admin widgets; what matters is that the admin app is not needed.)
assert "healthlib.admin" not in sys.modules and "healthlib.forms" not in sys.modules
print("OK", item.state)
"""
    root = str(Path(__file__).resolve().parent.parent)
    env = {**os.environ, "PYTHONPATH": root}
    env.pop("DJANGO_SETTINGS_MODULE", None)
    result = subprocess.run(
        [sys.executable, "-c", script], capture_output=True, text=True, cwd=str(tmp_path), timeout=120, env=env
    )
    assert result.returncode == 0, result.stderr
    assert "OK draft" in result.stdout


# ---------------------------------------------------------------- the authors of restored text (issue 17, finding 2)


def test_restored_text_cannot_be_judged_by_its_author_through_the_admin(
    client, editor, reviewer, reviewer2, author_reviewer
):
    """A reviewer writes R; an editor replaces it and publishes the replacement; the editor restores R."""
    dual = author_reviewer
    r_content = edited(ARTICLE_CONTENT, body="## Overview\n\nWords the dual-role user wrote.")
    article = workflow.create_article(dual, slug="restored", article_type="treatment", content=r_content)
    r = article.latest_revision
    client.force_login(editor)
    assert client.post(change_url(article), form_data(article, body="An editor's replacement.")).status_code == 302
    article.refresh_from_db()
    assert client.post(action_url(article, "submit"), {"revision": article.latest_revision_id}).status_code == 302
    client.force_login(reviewer)
    approval = {"revision": article.latest_revision_id, "change_summary": "Replaced the text"}
    assert client.post(action_url(article, "approve"), approval).status_code == 302
    client.force_login(editor)
    assert client.post(action_url(article, "publish"), {"revision": article.latest_revision_id}).status_code == 302
    article.refresh_from_db()
    assert article.state == State.PUBLISHED
    client.post(action_url(article, "restore"), {"revision": r.pk, "based_on": article.latest_revision_id})
    article.refresh_from_db()
    assert article.latest_revision.content_hash == r.content_hash
    assert client.post(action_url(article, "submit"), {"revision": article.latest_revision_id}).status_code == 302
    article.refresh_from_db()
    assert article.state == State.IN_REVIEW

    client.force_login(dual)
    assert article.pk not in [
        e.pk for e in client.get(reverse("admin:healthlib_reviewqueue_changelist")).context["entries"]
    ]
    page = client.get(reverse("admin:healthlib_reviewqueue_review", args=[article.pk]))
    assert page.context["contributed"] is True and page.context["can_approve"] is False
    assert "approve" not in shown_actions(client, article)
    before = snapshot(article)
    for action, data in [("approve", {}), ("request_changes", {"comment": "Looks fine to me."})]:
        response = client.post(action_url(article, action), {"revision": article.latest_revision_id, **data})
        assert response.status_code == 403
        assert "another medical reviewer" in response.content.decode()
        response = client.post(
            action_url(article, action),
            {"revision": article.latest_revision_id, **data},
            HTTP_ACCEPT="application/json",
        )
        assert response.status_code == 403
    assert snapshot(article) == before
    # Someone who did not write it may.
    client.force_login(reviewer2)
    assert (
        client.post(
            action_url(article, "approve"), {"revision": article.latest_revision_id, "change_summary": "Restored"}
        ).status_code
        == 302
    )
    article.refresh_from_db()
    assert article.state == State.APPROVED


# ---------------------------------------------------------------- saves must name their base (issue 17, finding 5)


@pytest.mark.parametrize("based_on", [None, "", "0"])
def test_change_form_without_its_base_is_refused_and_writes_nothing(client, article, editor, editor2, based_on):
    # Someone else saved after the page was loaded: a post without its base must not replace their revision.
    newer = workflow.save_draft(
        article, editor2, edited(ARTICLE_CONTENT, body="Newer"), based_on=article.latest_revision
    )
    article.refresh_from_db()
    client.force_login(editor)
    data = form_data(article, body="Mine")
    if based_on is None:
        del data["based_on"]
    else:
        data["based_on"] = based_on
    before = snapshot(article)
    response = client.post(change_url(article), data)
    assert response.status_code == 200
    errors = response.context["adminform"].form.non_field_errors()
    assert any("did not say which revision you started from" in e for e in errors), errors
    assert snapshot(article) == before
    assert article.latest_revision == newer


def test_glossary_form_without_its_base_is_refused(client, editor):
    term = workflow.create_glossary_term(
        editor, slug="t-cell", content={"term": "T cell", "short_definition": "A white blood cell."}
    )
    client.force_login(editor)
    before = snapshot(term)
    data = {"owner": editor.pk, "term": "T cell", "short_definition": "Changed without a base."}
    response = client.post(change_url(term), data)
    assert response.status_code == 200
    assert response.context["adminform"].form.non_field_errors()
    assert snapshot(term) == before


@pytest.mark.parametrize("based_on", [None, "", "0"])
def test_restore_without_its_base_is_refused(client, published_article, editor, based_on):
    first = published_article.latest_revision
    workflow.save_draft(published_article, editor, edited(ARTICLE_CONTENT, body="x"), based_on=first)
    client.force_login(editor)
    data = {"revision": first.pk}
    if based_on is not None:
        data["based_on"] = based_on
    before = snapshot(published_article)
    response = client.post(action_url(published_article, "restore"), data, HTTP_ACCEPT="application/json")
    assert response.status_code == 400
    assert "which revision" in response.json()["error"]
    assert snapshot(published_article) == before


# ---------------------------------------------------------------- bylines are one line (issue 17, finding 13)


@pytest.mark.parametrize("field", ["display_name", "credentials", "specialty"])
@pytest.mark.parametrize("breaker", ["\n", "\r", "\u2028", "\u2029", "\x85", "\x0b", "\x1f"])
def test_reviewer_profile_refuses_line_breaks(client, reviewer, field, breaker):
    profile = reviewer.reviewer_profile
    before = (profile.display_name, profile.credentials, profile.specialty)
    client.force_login(reviewer)
    data = {"display_name": "Dr Rev", "credentials": "MD", "specialty": "Oncology"}
    data[field] = f"{data[field]}{breaker}Injected line"
    response = client.post(reverse("admin:healthlib_reviewerprofile_change", args=[profile.pk]), data)
    assert response.status_code == 200
    assert response.context["adminform"].form.errors[field] == [
        "Write this on one line, without line breaks or control characters."
    ]
    profile.refresh_from_db()
    assert (profile.display_name, profile.credentials, profile.specialty) == before
