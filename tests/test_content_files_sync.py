"""healthlib.content_files.sync and the import and export commands: through the workflow, all or nothing, lossless."""

from __future__ import annotations

import io
from pathlib import Path

import pytest
from django.core.management import CommandError, call_command
from django.db import transaction
from django.test import override_settings

from healthlib import content_files, workflow
from healthlib.exceptions import InvalidContent, NotPermitted, TransitionNotAllowed
from healthlib.models import (
    Article,
    ContentItem,
    GlossaryTerm,
    Kind,
    Review,
    Revision,
    State,
    Topic,
    WorkflowEvent,
)
from tests.conftest import make_user
from tests.content_folders import ARTICLE, BAD_ARTICLES, PD_1, T_CELL, TOPICS, make_folder

# Content that YAML could easily mangle: colons, quotes, YAML keywords, Unicode, multi-line text.
TRICKY_ARTICLE = """\
---
slug: side-effects
type: guide
topics: [treatment-types, side-effects]
title: 'Side effects: what “immune-related” means'
summary: |
  Yes: side effects can start late.
  No: they are not always mild. 50% of people — maybe — notice fatigue.
references:
  - title: 'null'
    publisher: ''
    url: https://example.org/a?b=c&d=e#f
    year: null
  - title: Managing side effects
    publisher: Société française
    url: https://example.org/
    year: 2024
---
## Overview

Tabs\tand trailing spaces\x20\x20\x20
- a list: with colon
"""
SIDE_EFFECTS_TOPIC = "- slug: side-effects\n  name: Side effects\n  description: 'Yes: when to call.'\n"
TRICKY_TERM = """\
---
slug: irae
term: 'yes'
aliases: ['no', 'on', '1.0', '#hash', '- dash']
pronunciation: "ī-ar-ee"
short_definition: 'A side effect: the immune system attacks healthy tissue.'
professional_definition: ''
related_terms: []
---
"""


def tricky_folder(root: Path) -> Path:
    return make_folder(
        root,
        topics=TOPICS + SIDE_EFFECTS_TOPIC,
        articles={"checkpoint-inhibitors.md": ARTICLE, "side-effects.md": TRICKY_ARTICLE},
        glossary={"t-cell.md": T_CELL, "pd-1.md": PD_1, "irae.md": TRICKY_TERM},
    )


def run_import(folder, *args, user="editor") -> str:
    out = io.StringIO()
    call_command("healthlib_import", str(folder), "--user", user, *args, stdout=out)
    return out.getvalue()


def run_export(folder, *args) -> str:
    out, err = io.StringIO(), io.StringIO()
    call_command("healthlib_export", str(folder), *args, stdout=out, stderr=err)
    return out.getvalue() + err.getvalue()


def files(root: Path) -> dict[str, bytes]:
    return {p.relative_to(root).as_posix(): p.read_bytes() for p in sorted(root.rglob("*")) if p.is_file()}


def counts() -> tuple[int, ...]:
    return (
        ContentItem.objects.count(),
        Revision.objects.count(),
        Review.objects.count(),
        WorkflowEvent.objects.count(),
        Topic.objects.count(),
    )


def publish_all(editor, reviewer) -> None:
    """Review and publish every draft, glossary terms first (articles may link to them)."""
    published, held_back = content_files.publish_in_dependency_order(
        ContentItem.objects.filter(state=State.DRAFT), editor, [reviewer]
    )
    assert published and not held_back


# ---------------------------------------------------------------- import


def test_import_creates_drafts_through_the_workflow(tmp_path, editor):
    output = run_import(tricky_folder(tmp_path))
    assert "create article checkpoint-inhibitors" in output
    assert "articles: 2 new, 0 changed, 0 unchanged" in output
    assert set(Topic.objects.values_list("slug", flat=True)) == {"treatment-types", "side-effects"}
    article = Article.objects.get(slug="checkpoint-inhibitors")
    assert (article.state, article.article_type, article.review_interval_days) == (State.DRAFT, "treatment", 180)
    assert [t.slug for t in article.topics.all()] == ["treatment-types"]
    assert article.live_revision is None and article.owner == editor
    assert article.latest_revision.content["title"] == "Checkpoint inhibitors"
    assert article.latest_revision.created_by == editor
    # Terms naming each other got exactly one revision each: no placeholder pass.
    assert Revision.objects.filter(item__kind=Kind.GLOSSARY_TERM).count() == 3
    assert GlossaryTerm.objects.get(slug="t-cell").latest_revision.content["related_terms"] == ["pd-1"]
    assert set(WorkflowEvent.objects.values_list("action", flat=True)) == {"healthlib.create"}
    assert Revision.objects.count() == WorkflowEvent.objects.count() == 5


def test_reimport_is_idempotent(tmp_path, editor):
    folder = tricky_folder(tmp_path)
    run_import(folder)
    before = counts()
    output = run_import(folder)
    assert counts() == before
    assert "articles: 0 new, 0 changed, 2 unchanged" in output
    assert "glossary terms: 0 new, 0 changed, 3 unchanged" in output
    assert "topics: 0 new, 0 changed, 2 unchanged" in output


def test_changed_file_makes_one_new_draft_and_leaves_the_live_page_alone(tmp_path, editor, reviewer):
    folder = tricky_folder(tmp_path)
    run_import(folder)
    publish_all(editor, reviewer)
    article = Article.objects.get(slug="checkpoint-inhibitors")
    live, live_html = article.live_revision, article.live_body_html
    (folder / "articles" / "checkpoint-inhibitors.md").write_text(
        ARTICLE.replace("attack cancer.", "attack cancer cells."), encoding="utf-8"
    )
    before = counts()
    output = run_import(folder)
    assert "update article checkpoint-inhibitors (content)" in output
    assert counts() == (before[0], before[1] + 1, before[2], before[3] + 1, before[4])
    article.refresh_from_db()
    assert article.state == State.DRAFT
    assert article.live_revision == live and article.live_body_html == live_html
    assert "cancer cells" in article.latest_revision.content["body"]
    assert article.latest_revision.based_on == live
    assert article.events.order_by("-pk").first().action == "healthlib.save_draft"
    # Importing the same files again changes nothing more.
    assert counts() == (before[0], before[1] + 1, before[2], before[3] + 1, before[4]) == (*counts(),)
    run_import(folder)
    assert counts() == (before[0], before[1] + 1, before[2], before[3] + 1, before[4])


def test_metadata_changes_go_through_the_workflow_without_a_new_revision(tmp_path, editor):
    folder = tricky_folder(tmp_path)
    run_import(folder)
    text = ARTICLE.replace("type: treatment", "type: drug").replace("[treatment-types]", "[side-effects]")
    (folder / "articles" / "checkpoint-inhibitors.md").write_text(text.replace("180", "90"), encoding="utf-8")
    revisions = Revision.objects.count()
    output = run_import(folder)
    assert "update article checkpoint-inhibitors (type or topics, review interval)" in output
    assert Revision.objects.count() == revisions
    article = Article.objects.get(slug="checkpoint-inhibitors")
    assert (article.article_type, article.review_interval_days) == ("drug", 90)
    assert [t.slug for t in article.topics.all()] == ["side-effects"]
    assert [e.action for e in article.events.order_by("pk")][-2:] == [
        "healthlib.set_details",
        "healthlib.set_review_interval",
    ]


def test_topic_changes_update_the_topic(tmp_path, editor):
    folder = tricky_folder(tmp_path)
    run_import(folder)
    (folder / "topics.yaml").write_text(TOPICS.replace("The main kinds", "All kinds") + SIDE_EFFECTS_TOPIC)
    assert "update topic treatment-types (description)" in run_import(folder)
    assert Topic.objects.get(slug="treatment-types").description == "All kinds of immunotherapy."


@pytest.mark.parametrize(
    "case",
    ["bad front matter YAML", "unknown field", "missing required field", "invalid URL", "unknown topic", "slug/filename mismatch"],
)  # fmt: skip
def test_bad_file_aborts_the_whole_import(tmp_path, editor, case):
    text, line, words = BAD_ARTICLES[case]
    folder = tricky_folder(tmp_path)
    (folder / "articles" / "checkpoint-inhibitors.md").write_text(text, encoding="utf-8")
    with pytest.raises(CommandError) as info:
        run_import(folder)
    message = str(info.value)
    assert "Nothing was imported" in message
    assert f"checkpoint-inhibitors.md:{line}: " in message and words in message
    # The good files in the same folder were not imported either.
    assert counts() == (0, 0, 0, 0, 0)


def test_bad_file_leaves_an_existing_library_untouched(tmp_path, editor):
    folder = tricky_folder(tmp_path)
    run_import(folder)
    before = counts()
    (folder / "articles" / "side-effects.md").write_text(TRICKY_ARTICLE.replace("Overview", "Summary"))
    (folder / "glossary" / "t-cell.md").write_text(T_CELL.replace("[pd-1]", "[pd-1, b-cell]"))
    with pytest.raises(CommandError) as info:
        run_import(folder)
    assert "t-cell.md:8: related_terms: Unknown glossary term “b-cell”" in str(info.value)
    assert counts() == before
    assert "Summary" not in Article.objects.get(slug="side-effects").latest_revision.content["body"]


@pytest.mark.parametrize(
    "name, data, where",
    [
        ("duplicate slug", {"copy.md": ARTICLE}, "copy.md:2: Duplicate slug"),
        ("non-UTF-8", {"checkpoint-inhibitors.md": ARTICLE.encode().replace(b"Drugs", b"Dr\xffugs")}, "checkpoint-inhibitors.md:7: The file is not UTF-8"),
    ],
)  # fmt: skip
def test_more_bad_files_abort_with_file_and_line(tmp_path, editor, name, data, where):
    folder = tricky_folder(tmp_path)
    for file_name, text in data.items():
        path = folder / "articles" / file_name
        path.write_bytes(text if isinstance(text, bytes) else text.encode())
    with pytest.raises(CommandError) as info:
        run_import(folder)
    assert where in str(info.value)
    assert counts() == (0, 0, 0, 0, 0)


@override_settings(HEALTHLIB={"MAX_BODY_CHARS": 300})
def test_oversized_body_aborts(tmp_path, editor):
    folder = tricky_folder(tmp_path)
    (folder / "articles" / "side-effects.md").write_text(TRICKY_ARTICLE + "Long. " * 100)
    with pytest.raises(CommandError) as info:
        run_import(folder)
    assert "side-effects.md:19: body: Too long" in str(info.value)
    assert counts() == (0, 0, 0, 0, 0)


def test_change_to_an_item_in_review_is_refused_and_nothing_is_written(tmp_path, editor):
    folder = tricky_folder(tmp_path)
    run_import(folder)
    workflow.submit(Article.objects.get(slug="checkpoint-inhibitors"), editor)
    (folder / "articles" / "checkpoint-inhibitors.md").write_text(ARTICLE.replace("attack", "fight"))
    (folder / "glossary" / "pd-1.md").write_text(PD_1.replace("brake", "switch"))
    before = counts()
    with pytest.raises(CommandError) as info:
        run_import(folder)
    assert "checkpoint-inhibitors.md: Cannot save draft" in str(info.value)
    assert counts() == before


def test_a_failure_while_applying_rolls_everything_back(tmp_path, editor, monkeypatch):
    calls = []
    real = workflow.create_glossary_term

    def flaky(*args, **kwargs):
        calls.append(kwargs["slug"])
        if len(calls) == 2:
            raise workflow.InvalidContent("disk on fire")
        return real(*args, **kwargs)

    monkeypatch.setattr(workflow, "create_glossary_term", flaky)
    with pytest.raises(CommandError, match="disk on fire"):
        run_import(tricky_folder(tmp_path))
    assert counts() == (0, 0, 0, 0, 0)


def test_dry_run_reports_and_writes_nothing(tmp_path, editor):
    folder = tricky_folder(tmp_path)
    output = run_import(folder, "--dry-run")
    assert "would create article checkpoint-inhibitors" in output
    assert "would create glossary term pd-1" in output
    assert "Dry run, nothing written" in output
    assert counts() == (0, 0, 0, 0, 0)
    run_import(folder)
    (folder / "glossary" / "pd-1.md").write_text(PD_1.replace("brake", "switch"))
    before = counts()
    output = run_import(folder, "--dry-run", "-v", "2")
    assert "would update glossary term pd-1 (content)" in output
    assert "would unchanged glossary term t-cell" not in output and "unchanged glossary term t-cell" in output
    assert counts() == before


def test_submit_sends_new_and_changed_drafts_to_review(tmp_path, editor, reviewer):
    folder = tricky_folder(tmp_path)
    output = run_import(folder, "--submit")
    assert "submitted article checkpoint-inhibitors for medical review" in output
    assert set(ContentItem.objects.values_list("state", flat=True)) == {State.IN_REVIEW}
    submits = WorkflowEvent.objects.filter(action="healthlib.submit")
    assert submits.count() == 5 and set(submits.values_list("actor", flat=True)) == {editor.pk}
    for item in ContentItem.objects.all():
        item = item.specific()
        workflow.approve(item, reviewer)
        workflow.publish(item, editor)
    (folder / "glossary" / "pd-1.md").write_text(PD_1.replace("brake", "switch"))
    output = run_import(folder, "--submit")
    assert "submitted glossary term pd-1" in output and "submitted article" not in output
    assert GlossaryTerm.objects.get(slug="pd-1").state == State.IN_REVIEW
    assert GlossaryTerm.objects.get(slug="t-cell").state == State.PUBLISHED


def test_unknown_user_and_user_without_permission_are_refused(tmp_path, db):
    folder = tricky_folder(tmp_path)
    with pytest.raises(CommandError, match="There is no user “ghost”"):
        run_import(folder, user="ghost")
    make_user("reader")
    with pytest.raises(CommandError, match="may not write drafts"):
        run_import(folder, user="reader")
    assert counts() == (0, 0, 0, 0, 0)


def test_missing_folder(tmp_path, editor):
    with pytest.raises(CommandError, match="No such folder"):
        run_import(tmp_path / "nope")


# ---------------------------------------------------------------- export and round trip


def test_export_writes_live_revisions_and_skips_unpublished(tmp_path, editor, reviewer):
    run_import(tricky_folder(tmp_path / "src"))
    for slug in ("pd-1", "t-cell"):
        term = GlossaryTerm.objects.get(slug=slug)
        workflow.submit(term, editor)
        workflow.approve(term, reviewer)
        workflow.publish(term, editor)
    term = GlossaryTerm.objects.get(slug="pd-1")
    workflow.save_draft(
        term, editor, {**term.latest_revision.content, "pronunciation": "new"}, based_on=term.latest_revision
    )
    output = run_export(tmp_path / "live")
    assert "Exported 0 articles, 2 glossary terms and 2 topics" in output and "(3 skipped)" in output
    assert sorted(files(tmp_path / "live")) == ["glossary/pd-1.md", "glossary/t-cell.md", "topics.yaml"]
    assert "PEE-dee-wun" in (tmp_path / "live" / "glossary" / "pd-1.md").read_text()
    run_export(tmp_path / "latest", "--latest")
    assert len(files(tmp_path / "latest")) == 6
    assert "pronunciation: new" in (tmp_path / "latest" / "glossary" / "pd-1.md").read_text()


def test_export_warns_about_dangling_related_terms_and_leaves_other_files(tmp_path, editor, reviewer):
    run_import(tricky_folder(tmp_path / "src"))
    term = GlossaryTerm.objects.get(slug="pd-1")
    workflow.submit(term, editor)
    workflow.approve(term, reviewer)
    workflow.publish(term, editor)
    stray = tmp_path / "out" / "articles" / "old.md"
    stray.parent.mkdir(parents=True)
    stray.write_text("keep me")
    output = run_export(tmp_path / "out")
    assert "glossary/pd-1.md names related terms that were not exported: t-cell" in output
    assert "old.md is not part of this export" in output
    assert stray.read_text() == "keep me"


def test_export_import_export_is_byte_identical(tmp_path, editor, reviewer):
    with transaction.atomic():
        run_import(tricky_folder(tmp_path / "src"))
        publish_all(editor, reviewer)
        run_export(tmp_path / "a")
        transaction.set_rollback(True)
    assert counts() == (0, 0, 0, 0, 0)  # an empty database again
    run_import(tmp_path / "a")
    publish_all(editor, reviewer)
    run_export(tmp_path / "b")
    first, second = files(tmp_path / "a"), files(tmp_path / "b")
    assert len(first) == 6
    assert first == second
    assert all(b"\r" not in data and data.endswith(b"\n") for data in first.values())
    # Nothing was lost on the way: the tricky strings are intact.
    content = Article.objects.get(slug="side-effects").live_revision.content
    assert content["title"] == "Side effects: what “immune-related” means"
    assert content["references"][0] == {
        "title": "null",
        "publisher": "",
        "url": "https://example.org/a?b=c&d=e#f",
        "year": None,
    }
    assert GlossaryTerm.objects.get(slug="irae").live_revision.content["aliases"] == [
        "no",
        "on",
        "1.0",
        "#hash",
        "- dash",
    ]


def test_latest_export_round_trips_without_publishing(tmp_path, editor):
    with transaction.atomic():
        run_import(tricky_folder(tmp_path / "src"))
        run_export(tmp_path / "a", "--latest")
        transaction.set_rollback(True)
    run_import(tmp_path / "a")
    run_export(tmp_path / "b", "--latest")
    assert files(tmp_path / "a") == files(tmp_path / "b")
    # And the exported folder holds the same content as the hand-written source.
    assert "0 new, 0 changed, 2 unchanged" in run_import(tmp_path / "src")


def test_import_folder_api_returns_the_plan(tmp_path, editor):
    result = content_files.import_folder(tricky_folder(tmp_path), editor, dry_run=True)
    assert result.count("create") == 7 and result.count("create", "topic") == 2
    assert counts() == (0, 0, 0, 0, 0)


def test_set_article_details_needs_edit_permission_and_a_known_type(article, editor, reviewer):
    events = WorkflowEvent.objects.count()
    with pytest.raises(NotPermitted):
        workflow.set_article_details(article, reviewer, article_type="drug", topics=[])
    with pytest.raises(InvalidContent):
        workflow.set_article_details(article, editor, article_type="miracle", topics=[])
    article.refresh_from_db()
    assert article.article_type == "treatment" and WorkflowEvent.objects.count() == events
    workflow.set_article_details(article, editor, article_type="treatment", topics=[])
    assert WorkflowEvent.objects.count() == events  # nothing changed, nothing logged


def test_submit_leaves_a_draft_the_checklist_refuses_and_says_why(tmp_path, editor):
    no_summary = ARTICLE.replace("summary: Drugs that take the brakes off your immune system.\n", "")
    output = run_import(make_folder(tmp_path, articles={"checkpoint-inhibitors.md": no_summary}), "--submit")
    assert "update" not in output and "create article checkpoint-inhibitors - not submitted: " in output
    assert Article.objects.get(slug="checkpoint-inhibitors").state == State.DRAFT
    assert GlossaryTerm.objects.get(slug="pd-1").state == State.IN_REVIEW


def test_topic_name_taken_by_another_slug_is_refused(tmp_path, editor):
    Topic.objects.create(slug="kinds", name="Types of immunotherapy")
    with pytest.raises(CommandError, match=r"topics.yaml:1: Another topic is already named"):
        run_import(make_folder(tmp_path))
    assert ContentItem.objects.count() == 0


# ---------------------------------------------------------------- publishing in dependency order


def test_publish_in_dependency_order_publishes_terms_before_the_articles_that_link_them(
    tmp_path, editor, reviewer, reviewer2
):
    """The article links PD-1 and T cell, so its submit is refused until both are live; reviewers take turns."""
    reviewers = [reviewer, reviewer2]
    linking = ARTICLE.replace(
        "These drugs help T cells attack cancer.",
        "These drugs release [PD-1](/health/glossary/pd-1/), so [T cells](/health/glossary/t-cell/) attack cancer.",
    )
    folder = tricky_folder(tmp_path)
    (folder / "articles" / "checkpoint-inhibitors.md").write_text(linking, encoding="utf-8")
    result = content_files.import_folder(folder, editor)
    created = [change.item for change in result.changes if change.item is not None]
    article = Article.objects.get(slug="checkpoint-inhibitors")
    # Articles first in the input: the function must not depend on the caller's order.
    created.sort(key=lambda item: not isinstance(item.specific(), Article))
    with pytest.raises(TransitionNotAllowed):
        workflow.submit(article, editor)  # the checklist: linked terms are not published yet

    published, held_back = content_files.publish_in_dependency_order(
        created, editor, reviewers, comment="Checked.", change_summary="First version"
    )

    assert held_back == []
    order = [item.slug for item in published]
    assert set(order) == {"t-cell", "pd-1", "irae", "checkpoint-inhibitors", "side-effects"}
    assert order.index("checkpoint-inhibitors") > max(order.index("t-cell"), order.index("pd-1"))
    assert all(ContentItem.objects.get(pk=item.pk).state == State.PUBLISHED for item in published)
    approvals = Review.objects.order_by("pk")
    assert [review.reviewer for review in approvals] == [reviewers[i % 2] for i in range(len(published))]
    assert {(review.comment, review.change_summary) for review in approvals} == {("Checked.", "First version")}


def test_publish_in_dependency_order_returns_what_it_cannot_publish(tmp_path, editor, reviewer):
    no_summary = ARTICLE.replace("summary: Drugs that take the brakes off your immune system.\n", "")
    content_files.import_folder(make_folder(tmp_path, articles={"checkpoint-inhibitors.md": no_summary}), editor)

    published, held_back = content_files.publish_in_dependency_order(
        ContentItem.objects.filter(state=State.DRAFT), editor, [reviewer]
    )

    assert {item.slug for item in published} == {"pd-1", "t-cell"}
    assert [item.slug for item in held_back] == ["checkpoint-inhibitors"]
    assert Article.objects.get(slug="checkpoint-inhibitors").state == State.DRAFT
