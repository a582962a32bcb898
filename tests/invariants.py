"""DESIGN.md's invariants as one reusable check: ``assert_invariants(item)``."""

from __future__ import annotations

import copy
import datetime

from django.utils import timezone

from healthlib import publishing, reader_pages, workflow
from healthlib.glossary_automaton import linked_term_slugs
from healthlib.models import Article, Decision, GlossaryTerm, Kind, Review, Revision, State, WorkflowEvent


def assert_invariants(item, *, client=None) -> None:
    """Check every invariant of DESIGN.md that can be read from the database (and, given a test
    ``client``, from the reader's page). Raises AssertionError naming the broken one."""
    model = Article if item.kind == Kind.ARTICLE else GlossaryTerm
    item = model.objects.select_related("live_revision", "latest_revision").get(pk=item.pk)
    revisions = list(Revision.objects.filter(item=item).order_by("number"))
    live = item.live_revision

    # Revisions: numbered 1..n, the latest is the highest, every hash intact.
    assert [r.number for r in revisions] == list(range(1, len(revisions) + 1)), "revision numbers have gaps"
    assert item.latest_revision_id == revisions[-1].pk, "latest_revision is not the newest revision"
    assert item.title == item.latest_revision.title
    assert all(r.hash_is_intact() for r in revisions), "a revision no longer matches its hash"

    # 4. The audit log ends in the item's current state (callers count one event per transition).
    events = WorkflowEvent.objects.filter(item=item)
    last = events.order_by("-id").first()
    assert last.to_state == item.state, f"last event says {last.to_state}, item is {item.state}"

    if live is None:
        # 1. Nothing live: nothing for readers, no review dates.
        assert item.state != State.PUBLISHED
        assert item.next_review_due is None
        if model is Article:
            assert (item.live_title, item.live_body_html, item.live_references) == ("", "", [])
            assert item.live_page_html == "", "a stored page outlived the live revision"
            assert not item.term_mentions.exists(), "glossary mentions outlived the live revision"
        if client is not None:
            # Archived after being live: 410 Gone, or 301 to its replacement; never the page itself.
            expected = {410, 301} if item.is_retired else {404}
            assert client.get(item.get_absolute_url()).status_code in expected, "unpublished content reached readers"
        return

    assert item.state != State.ARCHIVED, "archived content still has a live revision"
    # 1. The live revision was approved, with the same hash, by someone who did not write or submit it.
    assert live.hash_is_intact()
    approvals = Review.objects.filter(revision=live, decision=Decision.APPROVED, content_hash=live.content_hash)
    assert approvals.exists(), "the live revision has no approving review"
    authors = workflow.contributors(item, live)
    assert all(review.reviewer_id not in authors for review in approvals), "live revision approved by its author"
    # ... and the reader-facing copy is exactly that revision, rendered by the one pipeline.
    expected = model()
    publishing.set_live_content(expected, live)
    derived = ("live_revision", "live_reviewers", "live_page_html", "live_page_key")
    live_fields = [f.attname for f in model._meta.concrete_fields if f.name.startswith("live_") and f.name not in derived]  # fmt: skip
    assert {f: getattr(item, f) for f in live_fields} == {f: getattr(expected, f) for f in live_fields}, (
        "live fields differ from the live revision"
    )
    if model is Article:
        # ... and the stored reader page is the one the item's current live fields and dates give.
        rendered = copy.copy(item)
        reader_pages.derive(rendered)
        assert item.live_page_html == rendered.live_page_html, "the stored reader page is stale"
        linked = set(linked_term_slugs(item.live_body_html))
        assert set(item.term_mentions.values_list("slug", flat=True)) == linked, "the term-mention index is stale"

    # 3. Last reviewed = the latest approving or reaffirming review of the live revision, not in the future.
    stamps = Review.objects.filter(
        revision=live, decision__in=[Decision.APPROVED, Decision.REAFFIRMED], content_hash=live.content_hash
    ).values_list("reviewed_at", flat=True)
    assert item.last_reviewed_at == max(stamps), "last reviewed is not the latest review of the live revision"
    assert item.last_reviewed_at <= timezone.now()
    assert item.next_review_due == item.last_reviewed_at.date() + datetime.timedelta(
        days=item.effective_review_interval_days
    )
    if client is not None:
        response = client.get(item.get_absolute_url())
        assert response.status_code == 200
        page = response.content.decode()
        title = item.live_title if model is Article else item.live_term
        assert title.replace("'", "&#x27;") in page
        # 2. Text only in newer, unpublished revisions never reaches the page.
        if item.latest_revision_id != live.pk and model is Article:
            live_lines = set(live.content["body"].splitlines())
            body = item.latest_revision.content["body"]
            unpublished = [line for line in body.splitlines() if line.startswith("Draft ") and line not in live_lines]
            assert not any(line in page for line in unpublished), "an unpublished draft reached readers"
