from django.core.management.base import BaseCommand
from django.utils.translation import gettext as _

from healthlib import search


class Command(BaseCommand):
    help = _("Rebuild the search index from the live articles and glossary terms.")

    def handle(self, *args, **options):
        count = search.reindex()
        self.stdout.write(_("Indexed %(n)d live item(s).") % {"n": count})
