"""List review dates, optionally email reminders; exit status 1 when anything is overdue.

Meant for cron and monitoring::

    manage.py healthlib_review_due                    # print the report
    manage.py healthlib_review_due --email            # and send one reminder per responsible person
    manage.py healthlib_review_due --email --dry-run  # print those emails instead of sending them
    manage.py healthlib_review_due --enqueue          # hand the reminders to the task worker, return

A person is reminded once a day however often this runs (``healthlib.review_due.send_reminders``).

Exit status: 0 nothing overdue; 1 something is overdue; 2 reminders could not be sent.
"""

from __future__ import annotations

from django.core.management.base import BaseCommand, CommandParser
from django.utils import timezone
from django.utils.translation import gettext as _

from healthlib import tasks
from healthlib.review_due import ReviewDueReport, person_name, reminder_emails, report, send_reminders


def _kind(item) -> str:
    return str(item.get_kind_display())


_person = person_name


def _reviewers(item) -> str:
    return (
        "; ".join(", ".join(p for p in (r.get("name"), r.get("credentials")) if p) for r in item.live_reviewers) or "-"
    )


def _clip(text: str, width: int) -> str:
    return text if len(text) <= width else text[: width - 1] + "…"


class Command(BaseCommand):
    help = (
        "List live content that is overdue or due for medical re-review, recently reviewed content and scheduled "
        "publications. Exits with status 1 when anything is overdue, so cron or monitoring notices."
    )

    def add_arguments(self, parser: CommandParser) -> None:
        parser.add_argument(
            "--email", action="store_true", help="Email each responsible editor and reviewer their due items."
        )
        parser.add_argument(
            "--dry-run", action="store_true", help="With --email: print the emails instead of sending them."
        )
        parser.add_argument(
            "--enqueue",
            action="store_true",
            help="Hand today's reminders to the task backend (healthlib.tasks.send_review_reminders) and return.",
        )
        parser.add_argument("--soon-days", type=int, default=30, help="What counts as due soon (default 30 days).")
        parser.add_argument(
            "--recent-days", type=int, default=30, help="What counts as recently reviewed (default 30 days)."
        )

    def handle(self, *args, **options) -> None:
        if options["enqueue"]:
            task = tasks.send_review_reminders.enqueue(soon_days=options["soon_days"])
            self.stdout.write(_("Reminders handed to the task backend (task %(id)s).") % {"id": task.id})
            return
        result = report(soon_days=options["soon_days"], recent_days=options["recent_days"])
        overdue, due_soon = list(result.overdue), list(result.due_soon)
        broken = result.broken_links()
        self.write_report(result, overdue, due_soon)
        self.section(
            _("Broken reference links"),
            [_("Checked"), _("Article"), _("Result"), _("URL")],
            [
                [timezone.localtime(row.checked_at).date().isoformat(), row.article.title, row.outcome, row.url]
                for row in broken
            ],
            [10, 40, 30, 60],
        )
        status = 1 if overdue else 0
        if options["email"] and not self.remind(result, overdue, due_soon, broken, dry_run=options["dry_run"]):
            status = 2
        if status:
            raise SystemExit(status)

    # ------------------------------------------------------------ the table

    def section(self, title: str, header: list[str], rows: list[list[str]], widths: list[int]) -> None:
        self.stdout.write("")
        self.stdout.write(self.style.MIGRATE_HEADING(f"{title} ({len(rows)})"))
        if not rows:
            self.stdout.write("  " + _("(none)"))
            return
        for row in [header, *rows]:
            cells = [_clip(cell, width).ljust(width) for cell, width in zip(row, widths, strict=True)]
            self.stdout.write(("  " + "  ".join(cells)).rstrip())

    def write_report(self, result: ReviewDueReport, overdue: list, due_soon: list) -> None:
        self.stdout.write(_("Review dates on %(today)s") % {"today": result.today.isoformat()})
        header = [_("Due"), _("Title"), _("Kind"), _("Responsible"), _("Reviewed by")]
        widths = [10, 40, 13, 16, 30]

        def due_rows(items):
            return [
                [item.next_review_due.isoformat(), item.title, _kind(item), _person(item.owner), _reviewers(item)]
                for item in items
            ]

        self.section(_("Overdue"), header, due_rows(overdue), widths)
        self.section(_("Due within %(n)d days") % {"n": result.soon_days}, header, due_rows(due_soon), widths)
        self.section(
            _("Reviewed in the last %(n)d days") % {"n": result.recent_days},
            [_("Reviewed"), _("Title"), _("Kind"), _("Responsible"), _("Reviewed by")],
            [
                [
                    timezone.localtime(item.last_reviewed_at).date().isoformat(),
                    item.title,
                    _kind(item),
                    _person(item.owner),
                    _reviewers(item),
                ]
                for item in result.recently_reviewed
            ],
            widths,
        )
        self.section(
            _("Scheduled to publish"),
            [_("Goes live"), _("Title"), _("Kind"), _("Scheduled by")],
            [
                [
                    timezone.localtime(item.publish_at).strftime("%Y-%m-%d %H:%M %Z"),
                    item.title,
                    _kind(item),
                    _person(item.scheduled_by),
                ]
                for item in result.scheduled
            ],
            [20, 40, 13, 16],
        )

    # ------------------------------------------------------------ reminders

    def remind(self, result: ReviewDueReport, overdue: list, due_soon: list, broken: list, *, dry_run: bool) -> bool:
        """Send (or print) one reminder per responsible person, once a day. False when sending failed."""
        emails = reminder_emails(result, overdue, due_soon, broken)
        self.stdout.write("")
        if dry_run:
            self.stdout.write(_("Dry run: %(n)d reminder(s) not sent.") % {"n": len(emails)})
            for email in emails:
                self.stdout.write("")
                self.stdout.write(_("To: %(to)s") % {"to": ", ".join(email.recipients)})
                self.stdout.write(_("Subject: %(subject)s") % {"subject": email.subject})
                self.stdout.write("")
                self.stdout.write(email.body.rstrip())
            return True
        recorded, outcome = send_reminders(result, emails)
        earlier = len(emails) - len(recorded)
        if earlier:
            self.stdout.write(
                _("%(n)d person(s) were already reminded today (or their reminder waits for a retry).") % {"n": earlier}
            )
        if outcome.failed:
            self.stderr.write(_("Could not send the reminders: %(error)s") % {"error": outcome.errors[0]})
            self.stderr.write(_("They are kept and tried again by the next run (admin: outgoing emails)."))
            return False
        self.stdout.write(_("Sent %(n)d reminder(s).") % {"n": len(outcome.sent)})
        return True
