"""healthlib.admin.queries: the review queue, and the submission stored on the item by ``workflow.submit``.

The queue reads ``ContentItem.submitted_at`` instead of searching the audit log, so these tests
check that the stored submission is what the audit log says, through every transition in and out
of review, and that the queue still follows the workflow's own independence rule
(:func:`healthlib.workflow.contributors`).
"""

from __future__ import annotations

import pytest
from django.db import IntegrityError, connection, transaction
from django.db.migrations.executor import MigrationExecutor
from django.test import override_settings
from django.urls import reverse

from healthlib import workflow
from healthlib.admin.queries import review_queue
from healthlib.models import ContentItem, State, WorkflowEvent
from tests.conftest import ARTICLE_CONTENT, edited

QUEUE_URL = "admin:healthlib_reviewqueue_changelist"
TERM_CONTENT = {"term": "Cytokine", "short_definition": "A messenger protein.", "aliases": [], "related_terms": []}


def new_article(user, slug: str):
    return workflow.create_article(user, slug=slug, article_type="drug", content=edited(ARTICLE_CONTENT, title=slug))


def save(item, user, title: str):
    item.refresh_from_db()
    workflow.save_draft(item, user, edited(ARTICLE_CONTENT, title=title), based_on=item.latest_revision)
    item.refresh_from_db()


def publish(item, editor, reviewer):
    workflow.submit(item, editor)
    workflow.approve(item, reviewer)
    workflow.publish(item, editor)
    item.refresh_from_db()


def last_submit(item) -> WorkflowEvent:
    return WorkflowEvent.objects.filter(item=item, action="healthlib.submit", revision=item.latest_revision_id).latest(
        "created_at", "pk"
    )


def expected_queue(user) -> list[int]:
    """The queue by definition: in review, not a contributor of the latest revision, oldest submit event first."""
    items = [item for item in ContentItem.objects.filter(state=State.IN_REVIEW).select_related("latest_revision")]
    mine = [item for item in items if user.pk not in workflow.contributors(item, item.latest_revision)]
    return [item.pk for item in sorted(mine, key=lambda item: (last_submit(item).created_at, item.pk))]


def queue(user) -> list[int]:
    return [item.pk for item in review_queue(user)]


def assert_stored_submission(item) -> None:
    item.refresh_from_db()
    if item.state != State.IN_REVIEW:
        assert (item.submitted_at, item.submitted_by_id, item.submitted_by_name) == (None, None, "")
        return
    event = last_submit(item)
    assert item.submitted_by_id == event.actor_id
    assert item.submitted_by_name == event.actor_name
    # Taken in the same transaction, just before the event is written.
    assert item.submitted_at <= event.created_at
    assert (event.created_at - item.submitted_at).total_seconds() < 5


# ---------------------------------------------------------------- the stored submission


def test_submit_stores_the_submission_and_leaving_review_clears_it(article, editor, reviewer):
    assert (article.submitted_at, article.submitted_by, article.submitted_by_name) == (None, None, "")
    workflow.submit(article, editor)
    article.refresh_from_db()
    assert article.submitted_by == editor and article.submitted_by_name == "editor"
    assert_stored_submission(article)
    workflow.approve(article, reviewer)
    assert_stored_submission(article)
    article.refresh_from_db()
    assert article.state == State.APPROVED and article.submitted_at is None
    workflow.publish(article, editor)
    assert_stored_submission(article)


@pytest.mark.parametrize("leave", ["withdraw", "request_changes", "archive"])
def test_every_way_out_of_review_clears_the_submission(article, editor, reviewer, superuser, leave):
    workflow.submit(article, editor)
    article.refresh_from_db()
    assert article.submitted_at is not None
    if leave == "withdraw":
        workflow.withdraw(article, editor)
    elif leave == "request_changes":
        workflow.request_changes(article, reviewer, comment="Cite a newer source.")
    else:
        workflow.archive(article, superuser)
    article.refresh_from_db()
    assert article.state != State.IN_REVIEW
    assert (article.submitted_at, article.submitted_by_id, article.submitted_by_name) == (None, None, "")
    assert queue(reviewer) == []


@override_settings(HEALTHLIB={"REQUIRED_APPROVALS": 2})
def test_a_first_of_two_approvals_keeps_the_item_in_the_queue(client, article, editor, reviewer, reviewer2):
    workflow.submit(article, editor)
    article.refresh_from_db()
    submitted_at = article.submitted_at
    workflow.approve(article, reviewer)
    article.refresh_from_db()
    assert article.state == State.IN_REVIEW and article.submitted_at == submitted_at
    client.force_login(reviewer)
    page = client.get(reverse(QUEUE_URL))
    [entry] = page.context["entries"]
    assert entry.approved_by_me and entry.submitted_at == submitted_at
    assert "You approved; waiting for another reviewer" in page.content.decode()
    client.force_login(reviewer2)
    [entry] = client.get(reverse(QUEUE_URL)).context["entries"]
    assert not entry.approved_by_me
    workflow.approve(article, reviewer2)
    assert_stored_submission(article)
    assert queue(reviewer) == []


def test_refused_transitions_leave_the_submission_alone(article, editor, author_reviewer):
    workflow.submit(article, editor)
    article.refresh_from_db()
    stored = (article.submitted_at, article.submitted_by_id, article.submitted_by_name)
    with pytest.raises(workflow.TransitionNotAllowed):
        workflow.submit(article, editor)
    article.refresh_from_db()
    assert (article.submitted_at, article.submitted_by_id, article.submitted_by_name) == stored


def test_the_database_refuses_an_item_in_review_without_a_submission(article):
    with pytest.raises(IntegrityError), transaction.atomic():
        ContentItem.objects.filter(pk=article.pk).update(state=State.IN_REVIEW)
    with pytest.raises(IntegrityError), transaction.atomic():
        ContentItem.objects.filter(pk=article.pk).update(submitted_at=article.created_at)


def test_deleting_the_submitter_keeps_their_name(client, article, editor2, reviewer):
    workflow.submit(article, editor2)
    editor2.delete()
    article.refresh_from_db()
    assert article.submitted_by is None and article.submitted_by_name == "editor2"
    client.force_login(reviewer)
    assert "by editor2" in client.get(reverse(QUEUE_URL)).content.decode()


# ---------------------------------------------------------------- the order of the queue


def test_resubmission_after_changes_requested_moves_the_item_to_the_back(client, editor, editor2, reviewer):
    first, second = new_article(editor, "first"), new_article(editor, "second")
    workflow.submit(first, editor)
    workflow.submit(second, editor)
    assert queue(reviewer) == [first.pk, second.pk]
    workflow.request_changes(first, reviewer, comment="Check the dose.")
    assert queue(reviewer) == [second.pk]
    save(first, editor, "first, corrected")
    workflow.submit(first, editor2)
    assert queue(reviewer) == [second.pk, first.pk] == expected_queue(reviewer)
    first.refresh_from_db()
    assert first.submitted_by == editor2 and first.submitted_by_name == "editor2"
    client.force_login(reviewer)
    page = client.get(reverse(QUEUE_URL))
    assert [e.pk for e in page.context["entries"]] == [second.pk, first.pk]
    assert "by editor2" in page.content.decode()


def test_withdrawn_and_resubmitted_unchanged_moves_to_the_back(editor, reviewer):
    first, second = new_article(editor, "first"), new_article(editor, "second")
    workflow.submit(first, editor)
    workflow.submit(second, editor)
    workflow.withdraw(first, editor)
    assert queue(reviewer) == [second.pk]
    workflow.submit(first, editor)
    assert queue(reviewer) == [second.pk, first.pk] == expected_queue(reviewer)


# ---------------------------------------------------------------- who sees what


def test_every_submitter_of_the_revision_is_kept_out(editor, editor2, reviewer, author_reviewer):
    """Submitted by one person, withdrawn, resubmitted unchanged by another: both submitted it."""
    article = new_article(editor, "shared")
    workflow.submit(article, author_reviewer)
    workflow.withdraw(article, editor)
    workflow.submit(article, editor2)
    article.refresh_from_db()
    assert article.submitted_by == editor2
    assert queue(author_reviewer) == [] == expected_queue(author_reviewer)
    assert queue(reviewer) == [article.pk]
    with pytest.raises(workflow.ReviewerIsAuthor):
        workflow.approve(article, author_reviewer)


def test_queue_follows_the_workflow_rule_across_histories(
    editor, editor2, reviewer, reviewer2, author_reviewer, superuser
):
    dual = author_reviewer
    items = {}
    # Written and submitted by an editor.
    items["plain"] = new_article(editor, "plain")
    workflow.submit(items["plain"], editor)
    # Written by the dual-role user, submitted by an editor.
    items["dual_wrote"] = new_article(dual, "dual-wrote")
    workflow.submit(items["dual_wrote"], editor)
    # An editor's article with a later revision by the dual-role user.
    items["dual_edited"] = new_article(editor, "dual-edited")
    save(items["dual_edited"], dual, "dual edit")
    save(items["dual_edited"], editor, "editor again")
    workflow.submit(items["dual_edited"], editor)
    # The dual-role user wrote the published revision only: a new draft by someone else is not theirs.
    items["before_publication"] = new_article(dual, "before-publication")
    publish(items["before_publication"], editor, reviewer)
    save(items["before_publication"], editor, "after publication")
    workflow.submit(items["before_publication"], editor2)
    # Published, archived, restored by an editor: the restored text is still the dual-role user's.
    items["restored"] = new_article(dual, "restored")
    publish(items["restored"], editor, reviewer)
    workflow.archive(items["restored"], superuser)
    items["restored"].refresh_from_db()
    workflow.restore(
        items["restored"],
        editor,
        revision=items["restored"].latest_revision,
        based_on=items["restored"].latest_revision,
    )
    workflow.submit(items["restored"], editor)
    # Two publications; the dual-role user wrote before the first and after the second.
    items["twice"] = new_article(dual, "twice")
    publish(items["twice"], editor, reviewer)
    save(items["twice"], editor, "second")
    publish(items["twice"], editor, reviewer2)
    save(items["twice"], dual, "third")
    save(items["twice"], editor, "fourth")
    workflow.submit(items["twice"], editor)
    # Sent back and resubmitted by another editor.
    items["returned"] = new_article(editor2, "returned")
    workflow.submit(items["returned"], editor2)
    workflow.request_changes(items["returned"], reviewer, comment="Shorter sentences.")
    save(items["returned"], editor, "returned, shorter")
    workflow.submit(items["returned"], editor)
    # A glossary term, and items that are not in review.
    term = workflow.create_glossary_term(dual, slug="cytokine", content=TERM_CONTENT)
    workflow.submit(term, editor)
    new_article(editor, "draft-only")
    publish(new_article(editor, "live-only"), editor, reviewer)

    pk = {name: item.pk for name, item in items.items()}
    # Oldest submission first; the dual-role user misses exactly what they wrote (since a publication, or
    # word for word) or submitted.
    assert queue(reviewer) == [
        pk["plain"], pk["dual_wrote"], pk["dual_edited"], pk["before_publication"], pk["restored"],
        pk["twice"], pk["returned"], term.pk,
    ]  # fmt: skip
    assert queue(dual) == [pk["plain"], pk["before_publication"], pk["returned"]]
    for user in (reviewer, reviewer2, dual, editor, editor2):
        assert queue(user) == expected_queue(user), user
    for item in [*items.values(), term]:
        assert_stored_submission(item)


def test_queue_page_costs_the_same_whatever_the_history(
    client, editor, reviewer, author_reviewer, django_assert_max_num_queries
):
    for i in range(12):
        article = new_article(author_reviewer if i % 3 == 0 else editor, f"a-{i}")
        if i % 4 == 0:
            publish(article, editor, reviewer)
            save(article, editor, f"a-{i} again")
        workflow.submit(article, editor)
    client.force_login(author_reviewer)
    with django_assert_max_num_queries(7):
        response = client.get(reverse(QUEUE_URL))
    assert [e.pk for e in response.context["entries"]] == expected_queue(author_reviewer)
    assert response.context["page_obj"].paginator.count == len(expected_queue(author_reviewer)) == 9


def test_every_page_follows_the_queue_order(client, monkeypatch, editor, reviewer, author_reviewer):
    monkeypatch.setattr("healthlib.admin.review.QUEUE_PAGE_SIZE", 3)
    articles = [new_article(author_reviewer if i % 4 == 1 else editor, f"a-{i}") for i in range(10)]
    for article in reversed(articles):  # the queue's order is not the order of creation
        workflow.submit(article, editor)
    expected = expected_queue(author_reviewer)
    assert len(expected) == 7 and expected == sorted(expected, reverse=True)
    client.force_login(author_reviewer)
    seen = []
    for number in (1, 2, 3):
        page = client.get(reverse(QUEUE_URL), {"page": number}).context
        assert page["page_obj"].paginator.count == 7
        seen += [entry.pk for entry in page["entries"]]
    assert seen == expected


# ---------------------------------------------------------------- the backfill migration

MIGRATION = ("healthlib", "0007_contentitem_submission")


@pytest.mark.django_db(transaction=True)
def test_migration_backfills_the_submission_from_the_audit_log(editor, editor2, reviewer, author_reviewer):
    plain = new_article(editor, "plain")
    workflow.submit(plain, editor)
    resubmitted = new_article(editor, "resubmitted")
    workflow.submit(resubmitted, author_reviewer)
    workflow.withdraw(resubmitted, editor)
    workflow.submit(resubmitted, editor2)
    returned = new_article(editor, "returned")
    workflow.submit(returned, editor)
    workflow.request_changes(returned, reviewer, comment="Check the dose.")
    loose = new_article(editor, "loose")
    expected = {reviewer.pk: queue(reviewer), author_reviewer.pk: queue(author_reviewer)}

    executor = MigrationExecutor(connection)
    previous = executor.loader.graph.node_map[MIGRATION].parents
    executor.migrate([parent.key for parent in previous if parent.key[0] == "healthlib"])
    old_apps = executor.loader.project_state([parent.key for parent in previous]).apps
    # Before the migration the queue's order came from the audit log only; an item moved into
    # review outside the workflow has no submit event at all.
    old_items = old_apps.get_model("healthlib", "ContentItem").objects
    old_items.filter(pk=loose.pk).update(state="in_review")
    try:
        executor = MigrationExecutor(connection)
        executor.migrate(executor.loader.graph.leaf_nodes())
    finally:
        executor = MigrationExecutor(connection)
        executor.migrate(executor.loader.graph.leaf_nodes())

    for item in (plain, resubmitted, returned):
        item.refresh_from_db()
        if item.state == State.IN_REVIEW:
            event = last_submit(item)
            assert item.submitted_at == event.created_at
            assert (item.submitted_by_id, item.submitted_by_name) == (event.actor_id, event.actor_name)
        else:
            assert (item.submitted_at, item.submitted_by_id, item.submitted_by_name) == (None, None, "")
    resubmitted.refresh_from_db()
    assert resubmitted.submitted_by == editor2
    loose.refresh_from_db()
    assert loose.submitted_at == loose.updated_at and loose.submitted_by is None
    # The queue is unchanged, plus the loose item at the time of its last change.
    assert queue(reviewer) == [*expected[reviewer.pk], loose.pk]
    assert queue(author_reviewer) == [*expected[author_reviewer.pk], loose.pk] == [plain.pk, loose.pk]
