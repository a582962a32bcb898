"""List review dates, optionally email reminders; exit status 1 when anything is overdue.

Meant for cron and monitoring::

    manage.py healthlib_review_due                    # print the report
    manage.py healthlib_review_due --email            # and send one reminder per responsible person
    manage.py healthlib_review_due --email --dry-run  # print those emails instead of sending them

Exit status: 0 nothing overdue; 1 something is overdue; 2 reminders could not be sent.
"""

from __future__ import annotations

import logging

from django.core.mail import EmailMessage
from django.core.management.base import BaseCommand, CommandParser
from django.template.loader import render_to_string
from django.utils import timezone
from django.utils.translation import gettext as _

from healthlib.conf import healthlib_settings
from healthlib.notifications import mail_connection
from healthlib.review_due import ReviewDueReport, report, responsible_people

logger = logging.getLogger("healthlib.review_due")


def _kind(item) -> str:
    return str(item.get_kind_display())


def _person(user) -> str:
    if user is None:
        return "-"
    return user.get_full_name() or user.get_username()


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
        parser.add_argument("--soon-days", type=int, default=30, help="What counts as due soon (default 30 days).")
        parser.add_argument(
            "--recent-days", type=int, default=30, help="What counts as recently reviewed (default 30 days)."
        )

    def handle(self, *args, **options) -> None:
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
        """Send (or print) one reminder per responsible person. False when sending failed."""
        overdue_ids = {item.pk for item in overdue}
        due = responsible_people([*overdue, *due_soon])
        # The same people are responsible for an article's references as for its review dates.
        articles = list({row.article_id: row.article for row in broken}.values())
        broken_by_person = {
            person: [row for row in broken if row.article_id in {a.pk for a in items}]
            for person, items in responsible_people(articles).items()
        }
        messages = []
        for person in dict.fromkeys([*due, *broken_by_person]):
            if not person.is_active or not person.email:
                continue
            items = due.get(person, [])
            context = {
                "person": person,
                "name": _person(person),
                "overdue": [item for item in items if item.pk in overdue_ids],
                "due_soon": [item for item in items if item.pk not in overdue_ids],
                "broken_links": broken_by_person.get(person, []),
                "today": result.today,
                "soon_days": result.soon_days,
                "site_name": healthlib_settings.SITE_NAME,
            }
            subject = " ".join(render_to_string("healthlib/email/review_due_subject.txt", context).split())
            body = render_to_string("healthlib/email/review_due_body.txt", context)
            messages.append(EmailMessage(subject, body, healthlib_settings.EMAIL_FROM, [person.email]))
        self.stdout.write("")
        if dry_run:
            self.stdout.write(_("Dry run: %(n)d reminder(s) not sent.") % {"n": len(messages)})
            for message in messages:
                self.stdout.write("")
                self.stdout.write(_("To: %(to)s") % {"to": ", ".join(message.to)})
                self.stdout.write(_("Subject: %(subject)s") % {"subject": message.subject})
                self.stdout.write("")
                self.stdout.write(message.body.rstrip())
            return True
        try:
            sent = mail_connection().send_messages(messages) if messages else 0
        except Exception as error:
            logger.exception("healthlib could not send review-due reminders")
            self.stderr.write(_("Could not send the reminders: %(error)s") % {"error": error})
            return False
        self.stdout.write(_("Sent %(n)d reminder(s).") % {"n": sent or 0})
        return True
