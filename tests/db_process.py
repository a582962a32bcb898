"""healthlib in a separate process on a shared SQLite file, for tests that kill or restart a process.

    HEALTHLIB_TEST_SQLITE_FILE=/tmp/x.sqlite3 python tests/db_process.py COMMAND [ARGS]

Commands:
  setup                             migrate and create the accounts "editor" and "reviewer"
  import-and-hang FOLDER N MARKER   run healthlib_import; after N items were created, write MARKER and
                                    hang (inside the import's transaction) until killed
  import FOLDER                     run healthlib_import to the end
  restore FOLDER EXPORT_TO          import, review and publish everything, export again to EXPORT_TO;
                                    print the live snapshot as JSON
  counts                            print the row counts of healthlib's tables as JSON
  term-library N                    N live articles that mention "T cell" (indexed), the term approved
  publish-term BACKEND [STAGE K MARKER]
                                    publish the term with the "immediate" task backend (the re-link runs
                                    after commit, in this process) or the "database" one (only recorded
                                    and queued); with STAGE ("expand": finding the articles, "page": an
                                    article's re-link, "purge": retiring cached pages), write MARKER at
                                    its K-th time, inside its transaction, and hang until killed
  worker [STAGE K MARKER]           run the database backend's worker (``db_worker --batch``), same hang
  restart-worker                    what a site does when it starts its worker: ``healthlib_relink
                                    --enqueue``, then ``db_worker --batch``
  relink-pending                    run ``healthlib_relink --pending`` (what the next run does)
  page-check                        print as JSON the slugs whose stored body, page or term mentions
                                    differ from a full re-render, and the number of pending derived-work rows

The functions are imported by the tests too, so both sides compare the same things.
"""

from __future__ import annotations

import json
import os
import sys
import time
from pathlib import Path

if __name__ == "__main__":
    sys.path.insert(0, str(Path(__file__).resolve().parent.parent))
    os.environ.setdefault("DJANGO_SETTINGS_MODULE", "tests.settings")
    import django

    django.setup()

from django.core.management import call_command  # noqa: E402


def live_snapshot() -> dict:
    """Everything readers see, by slug: every ``live_*`` field, the live content hash, type, topics, interval."""
    from healthlib.models import Article, GlossaryTerm, Topic

    def live_fields(model) -> list[str]:
        # Ids and reviewer names belong to one database's history; the stored page also holds the
        # publication times and the fingerprint of the process that rendered it.
        skip = {"live_revision", "live_reviewers", "live_page_html", "live_page_key"}
        return [f.attname for f in model._meta.concrete_fields if f.name.startswith("live_") and f.name not in skip]

    snapshot: dict = {"topics": {t.slug: [t.name, t.description] for t in Topic.objects.all()}}
    for key, model in (("articles", Article), ("terms", GlossaryTerm)):
        rows = {}
        for item in model.objects.filter(live_revision__isnull=False).select_related("live_revision"):
            row = {name: getattr(item, name) for name in live_fields(model)}
            row["content_hash"] = item.live_revision.content_hash
            row["state"] = item.state
            if model is Article:
                row["article_type"] = item.article_type
                row["topics"] = sorted(item.topics.values_list("slug", flat=True))
                row["review_interval_days"] = item.review_interval_days
            rows[item.slug] = row
        snapshot[key] = rows
    return snapshot


def counts() -> dict[str, int]:
    from healthlib.models import ContentItem, Review, Revision, Topic, WorkflowEvent

    return {model.__name__: model.objects.count() for model in (ContentItem, Revision, Review, WorkflowEvent, Topic)}


def publish_everything(editor, reviewer) -> int:
    """Submit, approve and publish every draft; terms first, retrying items a checklist rule holds back."""
    from healthlib.content_files import publish_in_dependency_order
    from healthlib.models import ContentItem, State

    published, held_back = publish_in_dependency_order(
        ContentItem.objects.filter(state=State.DRAFT), editor, [reviewer]
    )
    if held_back:
        raise RuntimeError(f"could not publish: {[item.slug for item in held_back]}")
    return len(published)


def make_accounts():
    from datetime import date

    from django.contrib.auth.models import Group, User

    from healthlib.models import CredentialVerification, ReviewerProfile

    editor = User.objects.create_user("editor", "editor@example.org", "pw", is_staff=True)
    editor.groups.add(Group.objects.get(name="Editors"))
    reviewer = User.objects.create_user("reviewer", "reviewer@example.org", "pw", is_staff=True)
    reviewer.groups.add(Group.objects.get(name="Medical reviewers"))
    check = CredentialVerification.objects.create(
        reviewer=reviewer,
        reviewer_name="Reviewer",
        credentials="MD",
        verified_on=date.today(),
        verified_by_name="Set-up",
    )
    ReviewerProfile.objects.create(user=reviewer, display_name="Reviewer", credentials="MD", verification=check)
    return editor, reviewer


def build_term_library(n: int) -> None:
    """``n`` live, indexed articles that mention "T cell", and the term "T cell" approved (not yet live)."""
    from django.contrib.auth.models import User

    from healthlib import search, workflow
    from tests.conftest import ARTICLE_CONTENT, edited
    from tests.reader_fixtures import TERM_CONTENT

    editor, reviewer = User.objects.get(username="editor"), User.objects.get(username="reviewer")
    for i in range(n):
        body = ARTICLE_CONTENT["body"] + f"\n\n## Note {i}\n\nYour T cells and article {i}."
        article = workflow.create_article(
            editor, slug=f"article-{i:04d}", article_type="guide", content=edited(ARTICLE_CONTENT, body=body)
        )
        workflow.submit(article, editor)
        workflow.approve(article, reviewer)
        workflow.publish(article, editor)  # outside a test: its after-commit indexing runs
        search.index_item(article)
    term = workflow.create_glossary_term(editor, slug="t-cell", content=TERM_CONTENT)
    workflow.submit(term, editor)
    workflow.approve(term, reviewer)


def page_check() -> dict:
    """Stored bodies, pages and term mentions compared with a full re-render of every live article from
    its markdown against the glossary as committed."""
    from django.apps import apps

    from healthlib import glossary_linker, reader_pages
    from healthlib.glossary_automaton import linked_term_slugs
    from healthlib.markup import render_document
    from healthlib.models import Article, TermMention

    glossary = glossary_linker.get_glossary()
    stale = []
    for article in Article.objects.filter(live_revision__isnull=False).select_related("live_revision"):
        fresh = Article.objects.get(pk=article.pk)
        fresh.live_body_html = glossary.link(render_document(article.live_revision.content["body"]).html).html
        reader_pages.derive(fresh)
        mentions = set(TermMention.objects.filter(article=article).values_list("slug", flat=True))
        stored = (article.live_body_html, article.live_page_html, mentions)
        if (
            fresh.live_body_html,
            fresh.live_page_html,
            set(linked_term_slugs(fresh.live_body_html)),
        ) != stored:
            stale.append(article.slug)
    # By name, so that the check also runs on a healthlib without the table (proving the test fails there).
    work = apps.all_models["healthlib"].get("derivedwork")
    return {"stale": stale, "pending": work.objects.count() if work else None}


#: The task backends a process may be told to use (tests/test_tasks.py).
TASK_BACKENDS = {
    "immediate": {"default": {"BACKEND": "django_tasks.backends.immediate.ImmediateBackend"}},
    "database": {"default": {"BACKEND": "django_tasks_db.DatabaseBackend"}},
}


def hang_at(stage: str, after: int, marker: Path) -> None:
    """Make the ``after``-th run of a step of the derived work write ``marker`` and hang, inside its
    transaction, until the test kills the process."""
    from healthlib import derived_work, publishing

    module, name = {
        "expand": (derived_work, "affected_article_ids"),
        "page": (publishing, "store_page"),
        "purge": (derived_work, "_purge"),
    }[stage]
    original, calls = getattr(module, name), 0

    def counting(*args, **kwargs):
        nonlocal calls
        result = original(*args, **kwargs)
        calls += 1
        if calls == after:
            marker.write_text(str(calls))
            time.sleep(600)  # the test kills us here
        return result

    setattr(module, name, counting)


def main(command: str, *args: str) -> None:
    from django.contrib.auth.models import User

    if command == "setup":
        call_command("migrate", verbosity=0)
        make_accounts()
    elif command == "import-and-hang":
        folder, after, marker = args[0], int(args[1]), Path(args[2])
        from healthlib import workflow

        created = 0

        def counting(original):
            def wrapper(*a, **kw):
                nonlocal created
                result = original(*a, **kw)
                created += 1
                if created == after:
                    marker.write_text(str(created))
                    time.sleep(600)  # the test kills us here, mid-transaction
                return result

            return wrapper

        workflow.create_article = counting(workflow.create_article)
        workflow.create_glossary_term = counting(workflow.create_glossary_term)
        call_command("healthlib_import", folder, "--user", "editor", verbosity=0)
    elif command == "import":
        call_command("healthlib_import", args[0], "--user", "editor", verbosity=0)
    elif command == "restore":
        folder, export_to = args
        call_command("healthlib_import", folder, "--user", "editor", verbosity=0)
        publish_everything(User.objects.get(username="editor"), User.objects.get(username="reviewer"))
        call_command("healthlib_export", export_to, verbosity=0)
        print(json.dumps(live_snapshot(), sort_keys=True))
    elif command == "counts":
        print(json.dumps(counts(), sort_keys=True))
    elif command == "term-library":
        build_term_library(int(args[0]))
    elif command == "publish-term":
        from django.test import override_settings

        from healthlib import workflow
        from healthlib.models import GlossaryTerm

        if len(args) > 1:
            hang_at(args[1], int(args[2]), Path(args[3]))
        with override_settings(TASKS=TASK_BACKENDS[args[0]]):
            workflow.publish(GlossaryTerm.objects.get(slug="t-cell"), User.objects.get(username="editor"))
    elif command == "worker":
        from django.test import override_settings

        if args:
            hang_at(args[0], int(args[1]), Path(args[2]))
        with override_settings(TASKS=TASK_BACKENDS["database"]):
            call_command("db_worker", "--batch", "--no-startup-delay", "--no-reload", verbosity=0)
    elif command == "restart-worker":
        from django.test import override_settings

        with override_settings(TASKS=TASK_BACKENDS["database"]):
            call_command("healthlib_relink", "--enqueue", verbosity=0)
            call_command("db_worker", "--batch", "--no-startup-delay", "--no-reload", verbosity=0)
    elif command == "relink-pending":
        call_command("healthlib_relink", "--pending", verbosity=0)
    elif command == "page-check":
        print(json.dumps(page_check(), sort_keys=True))
    else:
        raise SystemExit(f"unknown command {command!r}")


if __name__ == "__main__":
    main(*sys.argv[1:])
