"""Separate processes for tests/test_cache_processes.py: ``python -m tests.cache_process_helper <command>``.

Commands: ``setup`` (users and two published articles, ``shared`` and ``unrelated``), ``serve`` (a WSGI
server on a free port, printed on the first line), ``edit_behind_the_cache <title> [slug]`` (changes
the live title without any workflow signal), ``publish <title>`` (publishes a new revision of
``shared`` through the workflow).
"""

from __future__ import annotations

import sys

import django


def main(argv: list[str]) -> None:
    django.setup()
    from django.contrib.auth.models import User
    from django.core.management import call_command

    from healthlib import workflow
    from healthlib.conf import healthlib_settings
    from healthlib.models import Article
    from tests.conftest import ARTICLE_CONTENT, edited, make_user

    command = argv[0]
    if command == "setup":
        from django.core.cache import caches

        caches["default"].clear()
        call_command("migrate", verbosity=0)
        editor = make_user("editor", healthlib_settings.EDITOR_GROUP)
        reviewer = make_user("reviewer", healthlib_settings.REVIEWER_GROUP, credentials="MD")
        article = workflow.create_article(editor, slug="shared", article_type="guide", content=ARTICLE_CONTENT)
        workflow.submit(article, editor)
        workflow.approve(article, reviewer)
        workflow.publish(article, editor)
        content = edited(ARTICLE_CONTENT, title="Unrelated", body="## Rest\n\nPlan your day around rest.")
        unrelated = workflow.create_article(editor, slug="unrelated", article_type="guide", content=content)
        workflow.submit(unrelated, editor)
        workflow.approve(unrelated, reviewer)
        workflow.publish(unrelated, editor)
    elif command == "serve":
        from wsgiref.simple_server import WSGIRequestHandler, make_server

        from django.core.wsgi import get_wsgi_application

        class QuietHandler(WSGIRequestHandler):
            def log_message(self, *args) -> None:
                pass

        server = make_server("127.0.0.1", 0, get_wsgi_application(), handler_class=QuietHandler)
        print(server.server_port, flush=True)
        server.serve_forever()
    elif command == "edit_behind_the_cache":
        Article.objects.filter(slug=argv[2] if len(argv) > 2 else "shared").update(live_title=argv[1])
    elif command == "publish":
        editor, reviewer = User.objects.get(username="editor"), User.objects.get(username="reviewer")
        article = Article.objects.get(slug="shared")
        workflow.save_draft(article, editor, edited(ARTICLE_CONTENT, title=argv[1]), based_on=article.latest_revision)
        workflow.submit(article, editor)
        workflow.approve(article, reviewer)
        workflow.publish(article, editor)
    else:
        raise SystemExit(f"unknown command {command!r}")


if __name__ == "__main__":
    main(sys.argv[1:])
