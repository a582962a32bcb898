from django.core.management.base import BaseCommand, CommandError
from django.db import transaction
from django.utils.translation import gettext as _

from healthlib import purge
from healthlib.conf import healthlib_settings


class Command(BaseCommand):
    help = _(
        "Send the pending purges of the HTTP cache in front (Varnish, a CDN) now. With tags, purge those "
        "tags too; with --all, every reader page (after a deploy that changed templates, once "
        "healthlib_relink --pages-only has stored the pages again)."
    )

    def add_arguments(self, parser):
        parser.add_argument("tags", nargs="*", help=_("Cache tags to purge, e.g. hl-a-flu."))
        parser.add_argument("--all", action="store_true", help=_("Purge every reader page."))

    def handle(self, *args, **options):
        if not healthlib_settings.PURGE_BACKENDS:
            raise CommandError(_("No purge backend is configured (HEALTHLIB['PURGE_BACKENDS'])."))
        tags = [*options["tags"], *([healthlib_settings.CACHE_TAG_PREFIX] if options["all"] else [])]
        if tags:
            with transaction.atomic():
                purge.record(tags)
        outcome = purge.send_pending()
        for alias, count in outcome.sent.items():
            self.stdout.write(_("%(alias)s: purged %(n)d tag(s).") % {"alias": alias, "n": count})
        if outcome.failed:
            raise CommandError(
                _("%(n)d purge(s) failed; they are retried later and listed in the admin.") % {"n": len(outcome.failed)}
            )
