from django.core.management.base import BaseCommand
from django.utils.translation import gettext as _

from healthlib import glossary_linker, reader_pages


class Command(BaseCommand):
    help = _(
        "Re-render and re-link the body of every live article against the published glossary, and store "
        "its reader page again. With --pages-only, only store the pages again (after a deploy that changed "
        "templates or reader settings; until then those pages are rendered per request)."
    )

    def add_arguments(self, parser):
        parser.add_argument("--pages-only", action="store_true", help=_("Store the reader pages, do not re-link."))

    def handle(self, *args, **options):
        if options["pages_only"]:
            changed = reader_pages.refresh_all()
            self.stdout.write(_("Stored %(n)d article page(s) again.") % {"n": changed})
            return
        changed = glossary_linker.relink_articles()
        self.stdout.write(_("Re-linked %(n)d article(s).") % {"n": changed})
