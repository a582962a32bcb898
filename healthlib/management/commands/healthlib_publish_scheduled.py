"""Publish what is scheduled to go live.

Run it from cron, e.g. every five minutes::

    manage.py healthlib_publish_scheduled            # publish what is due, in this process
    manage.py healthlib_publish_scheduled --enqueue  # hand the run to the task worker and return
"""

from django.core.management.base import BaseCommand
from django.utils import timezone
from django.utils.translation import gettext as _

from healthlib import tasks
from healthlib.scheduling import publish_due


class Command(BaseCommand):
    help = (
        "Publish every approved article or glossary term whose scheduled go-live time has passed. "
        "Safe to run repeatedly. Exits with status 1 when something due could not be published."
    )

    def add_arguments(self, parser):
        parser.add_argument(
            "--enqueue",
            action="store_true",
            help="Hand the run to the task backend (healthlib.tasks.publish_scheduled) and return.",
        )

    def handle(self, *args, **options):
        if options["enqueue"]:
            task = tasks.publish_scheduled.enqueue()
            self.stdout.write(_("Scheduled publishing handed to the task backend (task %(id)s).") % {"id": task.id})
            return
        result = publish_due()
        for item in result:
            self.stdout.write(
                _("Published “%(title)s” (revision %(n)d) at %(when)s.")
                % {
                    "title": item.title,
                    "n": item.live_revision.number,
                    "when": timezone.localtime(item.last_published_at).strftime("%Y-%m-%d %H:%M %Z"),
                }
            )
        for item, reason in result.skipped:
            self.stderr.write(_("Not published: “%(title)s”: %(reason)s") % {"title": item.title, "reason": reason})
        if not result and not result.skipped:
            self.stdout.write(_("Nothing is due."))
        if result.skipped:
            raise SystemExit(1)
