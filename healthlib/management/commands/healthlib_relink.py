from django.core.management.base import BaseCommand, CommandError
from django.utils.translation import gettext as _

from healthlib import cache, derived_work, publishing, tasks


class Command(BaseCommand):
    help = _(
        "Finish the pending derived work (re-links after glossary changes, pages of renamed topics), then "
        "re-render and re-link the body of every live article against the published glossary and store its "
        "reader page again. With --pending, only finish the pending work; with --enqueue, hand it to the "
        "task backend instead (for example before starting a worker). With --pages-only, only store the "
        "pages again (after a deploy that changed templates or reader settings; until then those pages are "
        "rendered per request)."
    )

    def add_arguments(self, parser):
        parser.add_argument("--pages-only", action="store_true", help=_("Store the reader pages, do not re-link."))
        parser.add_argument("--pending", action="store_true", help=_("Only finish the pending derived work."))
        parser.add_argument("--enqueue", action="store_true", help=_("Enqueue the pending work as a task."))

    def handle(self, *args, **options):
        if options["enqueue"]:
            count = derived_work.pending().count()
            tasks.run_derived_work.enqueue()
            self.stdout.write(_("Enqueued the pending derived work (%(n)d row(s)).") % {"n": count})
            return
        outcome = derived_work.run_pending()
        if outcome.pages:
            self.stdout.write(_("Finished the pending work of %(n)d article page(s).") % {"n": outcome.pages})
        if outcome.failed:
            raise CommandError(
                _("%(n)d derived work row(s) failed; their errors are in the admin.") % {"n": len(outcome.failed)}
            )
        if options["pending"]:
            return
        if options["pages_only"]:
            changed = publishing.refresh_all()
            self.stdout.write(_("Stored %(n)d article page(s) again.") % {"n": changed})
        else:
            changed = publishing.relink_articles()
            self.stdout.write(_("Re-linked %(n)d article(s).") % {"n": changed})
        if changed:
            cache.invalidate()  # after the pages are stored, so no reader keeps an old copy
