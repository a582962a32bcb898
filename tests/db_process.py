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
    from healthlib import workflow
    from healthlib.exceptions import TransitionNotAllowed
    from healthlib.models import ContentItem, Kind, State

    queue = sorted(
        (item.specific() for item in ContentItem.objects.filter(state=State.DRAFT)),
        key=lambda item: (item.kind == Kind.ARTICLE, item.slug),
    )
    published = 0
    while queue:
        waiting = []
        for item in queue:
            try:
                workflow.submit(item, editor)
            except TransitionNotAllowed:
                waiting.append(item)
                continue
            workflow.approve(item, reviewer)
            workflow.publish(item, editor)
            published += 1
        if len(waiting) == len(queue):
            raise RuntimeError(f"could not publish: {[item.slug for item in waiting]}")
        queue = waiting
    return published


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
    else:
        raise SystemExit(f"unknown command {command!r}")


if __name__ == "__main__":
    main(*sys.argv[1:])
