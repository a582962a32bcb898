"""Send the pending workflow emails, readers' reports and reminders now (``healthlib.notifications``).

For cron (e.g. hourly) or a worker's start-up: a task that a backend lost, or a worker killed
mid-way, leaves emails pending; this sends them::

    manage.py healthlib_send_emails            # send what is due, in this process
    manage.py healthlib_send_emails --enqueue  # hand it to the task worker and return

Exit status 1 when an email could not be sent (it is kept and retried; admin: outgoing emails).
"""

from django.core.management.base import BaseCommand
from django.utils.translation import gettext as _

from healthlib import notifications, tasks


class Command(BaseCommand):
    help = "Send the pending emails (workflow notifications, reader reports, reminders); failed ones are retried."

    def add_arguments(self, parser):
        parser.add_argument(
            "--enqueue", action="store_true", help="Hand the sending to the task backend (healthlib.tasks.send_emails)."
        )

    def handle(self, *args, **options):
        if options["enqueue"]:
            task = tasks.send_emails.enqueue()
            self.stdout.write(_("Emails handed to the task backend (task %(id)s).") % {"id": task.id})
            return
        outcome = notifications.send_pending()
        self.stdout.write(_("Sent %(n)d email(s).") % {"n": len(outcome.sent)})
        if outcome.failed:
            self.stderr.write(
                _("%(n)d email(s) could not be sent: %(error)s; they are retried later and listed in the admin.")
                % {"n": len(outcome.failed), "error": outcome.errors[0]}
            )
            raise SystemExit(1)
