"""The database side of ``make stress``: ``python -m tests.stress.writer setup|publish``.

``setup`` migrates a fresh database and publishes the articles the readers request.

``publish --count N --log FILE`` publishes N new revisions, round-robin over those articles,
through the workflow. Each round first saves a *ghost* draft (marker ``zzghostNNN…``) that is
never published, then the real draft (``zzliveNNN…``), submits, approves and publishes it. The
log gets one JSON line per round with the wall-clock time just before ``publish`` began and just
after it returned, so the load generator can tell a leak (a marker served before its publication
began, or a ghost marker served at all) from a page that is merely fresh.
"""

from __future__ import annotations

import argparse
import json
import secrets
import sys
import time

import django

SLUGS = [f"stress-{n}" for n in range(5)]
TERM_SLUG = "t-cell"


def content(marker: str) -> dict:
    from tests.conftest import ARTICLE_CONTENT

    return {
        **ARTICLE_CONTENT,
        "summary": f"Immunotherapy summary, revision marker {marker}.",
        "body": f"## Update\n\nRevision marker {marker}.\n\n{ARTICLE_CONTENT['body']}",
    }


def setup() -> None:
    from django.contrib.auth.models import User
    from django.core.management import call_command

    from healthlib import workflow
    from healthlib.conf import healthlib_settings
    from tests.conftest import make_user
    from tests.reader_fixtures import TERM_CONTENT

    call_command("migrate", verbosity=0)
    editor = make_user("editor", healthlib_settings.EDITOR_GROUP)
    reviewer = make_user("reviewer", healthlib_settings.REVIEWER_GROUP, credentials="MD")
    assert User.objects.count() == 2
    term = workflow.create_glossary_term(editor, slug=TERM_SLUG, content=TERM_CONTENT)
    for item_slug in SLUGS:
        article = workflow.create_article(
            editor, slug=item_slug, article_type="treatment", content=content(f"zzinitial{item_slug[-1]}")
        )
        for item in (article,):
            workflow.submit(item, editor)
            workflow.approve(item, reviewer)
            workflow.publish(item, editor)
    workflow.submit(term, editor)
    workflow.approve(term, reviewer)
    workflow.publish(term, editor)


def publish(count: int, log_path: str) -> None:
    from django.contrib.auth.models import User

    from healthlib import workflow
    from healthlib.models import Article

    editor, reviewer = User.objects.get(username="editor"), User.objects.get(username="reviewer")
    with open(log_path, "a", encoding="utf-8") as log:
        for number in range(count):
            article = Article.objects.get(slug=SLUGS[number % len(SLUGS)])
            token = secrets.token_hex(4)
            ghost, live = f"zzghost{number:03d}{token}", f"zzlive{number:03d}{token}"
            drafted_at = time.time()
            ghost_revision = workflow.save_draft(article, editor, content(ghost), based_on=article.latest_revision)
            workflow.save_draft(article, editor, content(live), based_on=ghost_revision)
            workflow.submit(article, editor)
            workflow.approve(article, reviewer)
            publish_began = time.time()
            workflow.publish(article, editor)
            published = time.time()
            entry = {
                "number": number,
                "slug": article.slug,
                "ghost": ghost,
                "live": live,
                "drafted_at": drafted_at,
                "publish_began": publish_began,
                "published": published,
            }
            log.write(json.dumps(entry) + "\n")
            log.flush()


def main(argv: list[str]) -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("command", choices=["setup", "publish"])
    parser.add_argument("--count", type=int, default=100)
    parser.add_argument("--log")
    args = parser.parse_args(argv)
    django.setup()
    if args.command == "setup":
        setup()
    else:
        publish(args.count, args.log)


if __name__ == "__main__":
    main(sys.argv[1:])
