"""Check every live reference URL and keep the result per reference; exit status 1 when any is broken.

Meant for cron (e.g. weekly)::

    manage.py healthlib_check_links                 # check, store, print the broken ones
    manage.py healthlib_check_links --timeout 5 --workers 8
    manage.py healthlib_check_links --enqueue       # hand the check to the task backend's worker

Broken references then show on the review-dates dashboard, in ``healthlib_review_due`` and its
reminders, and as a warning in the pre-publish checklist.
"""

from __future__ import annotations

from django.core.management.base import BaseCommand, CommandError, CommandParser
from django.utils.translation import gettext as _

from healthlib import link_checks, tasks
from healthlib.models import Article


def _positive(value: str) -> float:
    number = float(value)
    if not 0 < number <= 120:
        raise ValueError(value)
    return number


class Command(BaseCommand):
    help = "Check every live reference URL (HEAD, then GET), store the results and list the broken ones."

    def add_arguments(self, parser: CommandParser) -> None:
        parser.add_argument("--timeout", type=_positive, help="Seconds to wait for each server (default: setting).")
        parser.add_argument("--workers", type=int, help="Requests in parallel, 1 to 16 (default: setting).")
        parser.add_argument(
            "--enqueue", action="store_true", help="Hand the check to the task backend (healthlib.tasks) and return."
        )

    def handle(self, *args, **options) -> None:
        if options["enqueue"]:
            result = tasks.check_reference_links.enqueue()
            self.stdout.write(_("Link check handed to the task backend (task %(id)s).") % {"id": result.id})
            return
        workers = options["workers"]
        if workers is not None and not 1 <= workers <= 16:
            raise CommandError(_("--workers must be from 1 to 16."))
        rows = link_checks.check_all(timeout=options["timeout"], workers=workers)
        broken = [row for row in rows if row.broken]
        urls = {row.url for row in rows}
        self.stdout.write(
            _("Checked %(urls)d URL(s) of %(refs)d live reference(s): %(broken)d broken.")
            % {"urls": len(urls), "refs": len(rows), "broken": len(broken)}
        )
        titles = dict(Article.objects.filter(pk__in={r.article_id for r in broken}).values_list("pk", "title"))
        for row in broken:
            self.stdout.write(f"  {titles.get(row.article_id, '?')}: {row.url}  [{row.outcome}]")
        redirected = [row for row in rows if not row.broken and row.redirected]
        for row in redirected:
            self.stdout.write(_("  redirected: %(url)s -> %(final)s") % {"url": row.url, "final": row.final_url})
        if broken:
            raise SystemExit(1)
